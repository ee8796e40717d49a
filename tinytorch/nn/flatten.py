"""Flatten: merge dims start_dim..end_dim into one (by default all but the batch dim)."""

from .module import Module, check_input


class Flatten(Module):
    """(N, C, H, W) -> (N, C*H*W) with the defaults start_dim=1, end_dim=-1."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        check_input(input, "Flatten")
        ndim = input.ndim
        for d in (self.start_dim, self.end_dim):
            if not -max(ndim, 1) <= d < max(ndim, 1):
                raise IndexError(
                    f"Flatten: dim {d} is out of range for input of shape {tuple(input.shape)} "
                    f"(start_dim={self.start_dim}, end_dim={self.end_dim})"
                )
        if ndim and self.start_dim % ndim > self.end_dim % ndim:
            raise ValueError(f"Flatten: start_dim {self.start_dim} comes after end_dim {self.end_dim} for shape {tuple(input.shape)}")
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim `dim` into `unflattened_size`: Unflatten(1, (C, H, W)) turns (N, C*H*W) into (N, C, H, W)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, input):
        check_input(input, "Unflatten")
        shape = tuple(input.shape)
        if not -max(len(shape), 1) <= self.dim < max(len(shape), 1):
            raise IndexError(f"Unflatten: dim {self.dim} is out of range for input of shape {shape}")
        dim = self.dim % len(shape)
        sizes = self.unflattened_size
        known = 1
        for size in sizes:
            known *= size if size != -1 else 1
        if sizes.count(-1) > 1 or (-1 not in sizes and known != shape[dim]) or \
                (-1 in sizes and (known == 0 or shape[dim] % known)):
            raise RuntimeError(f"Unflatten: unflattened_size {sizes} does not fit dim {self.dim} "
                               f"(size {shape[dim]}) of input {shape}")
        return input.reshape(shape[:dim] + sizes + shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
