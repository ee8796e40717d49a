"""Data augmentation on NumPy batches: it runs on every batch of every epoch, so each
transformation is one vectorized operation over the whole batch, never a loop over images."""

import numpy as np

from ..seams import replaced, seam


def _shifts(values, name, count):
    shifts = np.asarray(values)
    if shifts.shape != (count,) or (shifts.size and not np.issubdtype(shifts.dtype, np.integer)):
        raise ValueError(f"shift_images: {name} must hold one integer shift per image, shape ({count},); "
                         f"got {shifts.dtype} of shape {shifts.shape}")
    return shifts.astype(np.int64)  # (N,); an empty list is float64, a narrow int type could overflow


def shift_images(images, dy, dx):
    """Image n of `images` (N, H, W) moved down by dy[n] rows and right by dx[n] columns (see
    _shift_images), by the implementation in use (a learner's, module 08, or tinytorch's)."""
    return replaced.get("shift_images", _shift_images)(images, dy, dx)


@seam("shift_images")
def _shift_images(images, dy, dx):
    """Image n of `images` (N, H, W) moved down by dy[n] rows and right by dx[n] columns
    (negative: up / left), zeros where nothing moved in: out[n, i, j] = images[n, i - dy[n],
    j - dx[n]]. A new array of the input's dtype; the input is left unchanged.
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"shift_images: expected images of shape (N, H, W), got {images.shape}")
    n, h, w = images.shape
    # A shift by the full size already empties an image; clipping there bounds the padding.
    dy = np.clip(_shifts(dy, "dy", n), -h, h)  # (N,)
    dx = np.clip(_shifts(dx, "dx", n), -w, w)  # (N,)
    m = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0)))
    padded = np.pad(images, ((0, 0), (m, m), (m, m)))  # (N, H + 2m, W + 2m)
    rows = np.arange(h)[None, :] - dy[:, None] + m  # (N, H), inside the padded image
    cols = np.arange(w)[None, :] - dx[:, None] + m  # (N, W)
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]  # (N, H, W)
