"""`torch.accelerator`: tinytorch runs on the CPU, so there is no accelerator."""


def is_available():
    return False


def device_count():
    return 0


def current_accelerator(check_available=False):
    """None: no accelerator (PyTorch returns None too when none is present)."""
    return None
