"""Module 01 checks: right solutions pass; stubs and typical mistakes fail with a useful report."""

import numpy as np
import pytest

from tinytorch import Tensor
from tinytorch.checks import CheckFailed, check_broadcast_shape, check_matmul, check_strides, check_var

from solutions import load_solution


def broadcast_shape(a, b):
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if x != y and x != 1 and y != 1:
            raise ValueError("incompatible")
        out.append(y if x == 1 else x)
    return tuple(out)


def broadcast_shape_named(a, b):
    try:
        return broadcast_shape(a, b)
    except ValueError:
        raise ValueError(f"shapes {a} and {b} cannot be broadcast together") from None


# The notebook's own solutions, so the course as shipped is what passes the checks.
matmul, var, strides = load_solution("01_tensor", "matmul", "var", "strides")


@pytest.mark.parametrize("check, solution", [
    (check_broadcast_shape, broadcast_shape_named), (check_matmul, matmul), (check_var, var),
    (check_strides, strides),
])
def test_solution_passes_and_stub_fails(check, solution, passes_and_stub_fails):
    passes_and_stub_fails(check, solution)


def test_broadcast_shape_mistakes():
    # aligning on the left instead of the right
    def left_aligned(a, b):
        n = max(len(a), len(b))
        a, b = tuple(a) + (1,) * (n - len(a)), tuple(b) + (1,) * (n - len(b))
        return tuple(max(x, y) for x, y in zip(a, b))

    with pytest.raises(CheckFailed, match=r"expected \(8, 7, 6, 5\), got \(8, 1, 6, 1\)"):
        check_broadcast_shape(left_aligned)
    # max() instead of "the other one": wrong when one size is 0
    def with_max(a, b):
        n = max(len(a), len(b))
        a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
        if any(x != y and 1 not in (x, y) for x, y in zip(a, b)):
            raise ValueError(f"shapes {a} and {b}")
        return tuple(max(x, y) for x, y in zip(a, b))

    with pytest.raises(CheckFailed, match=r"shapes \(0, 3\) and \(1, 3\): expected \(0, 3\), got \(1, 3\)"):
        check_broadcast_shape(with_max)
    with pytest.raises(CheckFailed, match="expected a tuple, got list"):
        check_broadcast_shape(lambda a, b: list(np.broadcast_shapes(a, b)))
    with pytest.raises(CheckFailed, match="does not mention"):
        check_broadcast_shape(broadcast_shape)  # ValueError("incompatible") names no shapes
    with pytest.raises(CheckFailed, match="expected ValueError, but it returned"):
        check_broadcast_shape(  # no compatibility test: (3,) and (4,) give (3,)
            lambda a, b: tuple(y if x == 1 else x for x, y in zip(a, b)) if len(a) == len(b) else np.broadcast_shapes(a, b)
        )


def test_matmul_mistakes():
    with pytest.raises(CheckFailed, match="expected a tinytorch.Tensor, got ndarray"):
        check_matmul(lambda a, b: a.data @ b.data)
    # relying on broadcasting to reject bad shapes: (2, 1) @ (3, 4) slips through
    def no_shape_check(a, b):
        return Tensor((a.data[..., :, :, None] * b.data[..., None, :, :]).sum(axis=-2))

    with pytest.raises(CheckFailed, match=r"expected ValueError|does not mention"):
        check_matmul(no_shape_check)
    # summing over the wrong axis
    def wrong_axis(a, b):
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(f"{a.shape} {b.shape}")
        return Tensor((a.data[..., :, :, None] * b.data[..., None, :, :]).sum(axis=-1))

    with pytest.raises(CheckFailed, match="expected shape"):
        check_matmul(wrong_axis)
    # only 2-D: batches fail with a readable report
    def only_2d(a, b):
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(f"{a.shape} {b.shape}")
        return Tensor(np.einsum("ik,kj->ij", a.data, b.data))

    with pytest.raises(CheckFailed, match=r"batch times matrix .*raised ValueError"):
        check_matmul(only_2d)
    # float64 constants upcast a float32 result
    with pytest.raises(CheckFailed, match="expected dtype torch.float32, got torch.float64"):
        check_matmul(lambda a, b: Tensor(matmul(a, b).data.astype(np.float64)))


def test_var_mistakes():
    def no_keepdim(x, dim=None, keepdim=False, correction=1):
        mean = x.mean(dim)
        squares = ((x - mean) ** 2).sum(dim, keepdim=keepdim)
        return squares / (x.numel() // max(mean.numel(), 1) - correction)

    with pytest.raises(CheckFailed, match="keepdim=True"):
        check_var(no_keepdim)

    def one_pass(x, dim=None, keepdim=False, correction=1):
        n = x.numel() // x.mean(dim, keepdim=True).numel()
        mean = x.mean(dim, keepdim=keepdim)
        return ((x * x).mean(dim, keepdim=keepdim) - mean * mean) * (n / (n - correction))

    with pytest.raises(CheckFailed, match="cancels catastrophically"):
        check_var(one_pass)

    def biased(x, dim=None, keepdim=False, correction=1):
        return var(x, dim, keepdim, 0)

    with pytest.raises(CheckFailed, match=r"all elements \(4, 3\)"):
        check_var(biased)


def test_strides_mistakes():
    with pytest.raises(CheckFailed, match="column-major"):
        check_strides(lambda shape, itemsize: tuple(reversed(strides(shape, itemsize))))
    with pytest.raises(CheckFailed, match=r"expected \(4, 1\), got \(16, 4\)|expected \(16, 4\), got \(4, 1\)"):
        check_strides(lambda shape, itemsize: strides(shape, 1))
    with pytest.raises(CheckFailed, match="expected a tuple"):
        check_strides(lambda shape, itemsize: list(strides(shape, itemsize)))
