"""`torch.cuda` as seen on a machine without a GPU: nothing is available, seeding does nothing."""


def is_available():
    """False: tinytorch has no GPU backend."""
    return False


def device_count():
    return 0


def is_bf16_supported(including_emulation=True):
    return False


def manual_seed(seed):
    """Nothing to seed (PyTorch also ignores this call without CUDA)."""


manual_seed_all = manual_seed


def synchronize(device=None):
    """Nothing runs asynchronously."""


def empty_cache():
    """No GPU memory to release."""


def current_device():
    raise RuntimeError("cuda.current_device: no CUDA device is available (torch.cuda.is_available() is False)")
