"""`torch.backends.cudnn`: cuDNN is not present; its flags can still be set (no effect)."""

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available():
    return False


def version():
    return None
