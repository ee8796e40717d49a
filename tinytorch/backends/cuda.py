"""`torch.backends.cuda`: CUDA is not present; `matmul.allow_tf32` and friends can be set (no effect)."""


class _MatmulFlags:
    """`torch.backends.cuda.matmul.allow_tf32 = True` (nanoGPT sets it) is stored, not used."""

    def __init__(self):
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True


matmul = _MatmulFlags()


def is_built():
    return False


def flash_sdp_enabled():
    return False


def enable_flash_sdp(enabled):
    """Accepted; tinytorch has one attention kernel."""


enable_mem_efficient_sdp = enable_math_sdp = enable_flash_sdp
