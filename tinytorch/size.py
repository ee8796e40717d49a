"""`torch.Size`: a tuple of dimension sizes that prints as PyTorch's (`torch.Size([2, 3])`).

Tensors report `.shape` as a plain tuple (it equals a Size of the same numbers); Size exists so
programs that build or print one work unchanged.
"""


class Size(tuple):
    """`Size([2, 3]) == (2, 3)`; `numel()` is the product of the sizes."""

    def __new__(cls, sizes=()):
        return super().__new__(cls, (int(n) for n in sizes))

    def numel(self):
        count = 1
        for n in self:
            count *= n
        return count

    def __repr__(self):
        return f"torch.Size({list(self)})"

    def __getitem__(self, index):
        item = super().__getitem__(index)
        return Size(item) if isinstance(index, slice) else item
