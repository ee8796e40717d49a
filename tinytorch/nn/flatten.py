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
