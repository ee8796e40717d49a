"""`torch.backends.cpu`."""


def get_cpu_capability():
    """tinytorch's kernels are NumPy's: no particular vector instruction set is targeted."""
    return "DEFAULT"
