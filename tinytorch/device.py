"""`torch.device`: where a tensor lives. tinytorch computes on the CPU only; a CUDA or MPS device
can be named (programs build `torch.device("cuda" if ... else "cpu")`), but putting a tensor
there raises a clear error."""

_KNOWN_TYPES = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "ipu", "hpu", "mtia")


class device:
    """`device("cpu")`, `device("cuda:0")`, `device("cuda", 0)`; prints and compares like PyTorch's."""

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        elif isinstance(type, int) and not isinstance(type, bool):  # `device(0)` means cuda:0
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string, an index or a device, got {type!r}")
        name, _, number = type.partition(":")
        if name not in _KNOWN_TYPES:
            raise RuntimeError(
                f"device: expected one of {', '.join(_KNOWN_TYPES)} device type at start of device string: {type}"
            )
        if number:
            if index is not None or not number.isdigit():
                raise RuntimeError(f"device: invalid device string: {type!r}")
            index = int(number)
        self.type = name
        self.index = index

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))


CPU = device("cpu")


def check_device(where, op):
    """Accept `where` (None, a string or a device) when it names the CPU; raise otherwise."""
    if where is None:
        return CPU
    where = device(where)
    if where.type != "cpu":
        raise RuntimeError(
            f"{op}: device '{where}' is not available: tinytorch computes on the CPU only "
            "(torch.cuda.is_available() is False); use device='cpu'"
        )
    return CPU
