"""Bad input raises a clear error that names the operation and the offending shapes or values."""

import re

import numpy as np
import pytest

import tinytorch as tt


def shapes(*parts):
    """A regex matching the given shape reprs in order, e.g. shapes((2, 3), (4,))."""
    return ".*".join(re.escape(str(p)) for p in parts)


@pytest.mark.parametrize("op, name", [
    (lambda a, b: a + b, "add"), (lambda a, b: a - b, "sub"), (lambda a, b: a * b, "mul"),
    (lambda a, b: a / b, "div"), (lambda a, b: a**b, "pow"), (lambda a, b: a.maximum(b), "maximum"),
    (lambda a, b: a.minimum(b), "minimum"), (lambda a, b: a < b, "lt"), (lambda a, b: a == b, "eq"),
])
def test_incompatible_shapes_name_the_op_and_both_shapes(op, name):
    with pytest.raises(ValueError, match=f"^{name}: shapes " + shapes((2, 3), (4,)) + " cannot be broadcast"):
        op(tt.ones(2, 3), tt.ones(4))


def test_broadcasting_is_not_silently_wrong_in_either_direction():
    with pytest.raises(ValueError, match=shapes((3,), (3, 2))):
        tt.ones(3) + tt.ones(3, 2)  # (3,) aligns with the last dim (2), not the first


def test_matmul_alignment():
    with pytest.raises(ValueError, match=r"^matmul: shapes \(3, 4\) and \(5, 2\) are not aligned: 4 != 5$"):
        tt.ones(3, 4) @ tt.ones(5, 2)
    with pytest.raises(ValueError, match=r"matmul: shapes \(3,\) and \(4,\) are not aligned: 3 != 4"):
        tt.ones(3) @ tt.ones(4)
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4,\) are not aligned: 3 != 4"):
        tt.ones(2, 3) @ tt.ones(4)


def test_matmul_batch_dims_and_scalars():
    with pytest.raises(ValueError, match=r"matmul: batch dimensions of shapes \(2, 3, 4\) and \(3, 4, 5\)"):
        tt.ones(2, 3, 4) @ tt.ones(3, 4, 5)
    with pytest.raises(ValueError, match=r"matmul: both operands need at least 1 dimension.*\(\) and \(3,\)"):
        tt.tensor(2.0) @ tt.ones(3)


def test_reshape_names_shapes_and_sizes():
    with pytest.raises(ValueError, match=r"^reshape: cannot reshape tensor of shape \(2, 3\) \(6 elements\) into \(4, 2\)$"):
        tt.ones(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match=r"reshape: .*\(2, 3\).*\(-1, 4\)"):
        tt.ones(2, 3).view(-1, 4)


def test_cat_errors():
    with pytest.raises(ValueError, match=r"^cat: tensors must have the same shape except in dim 1, got \(2, 3\) and \(3, 3\)$"):
        tt.cat([tt.ones(2, 3), tt.ones(3, 3)], dim=1)
    with pytest.raises(ValueError, match=r"cat: .*\(2, 3\) and \(2, 3, 1\)"):
        tt.cat([tt.ones(2, 3), tt.ones(2, 3, 1)])
    with pytest.raises(ValueError, match="cat: expected a non-empty list"):
        tt.cat([])
    with pytest.raises(ValueError, match="cat: zero-dimensional"):
        tt.cat([tt.tensor(1.0), tt.tensor(2.0)])
    with pytest.raises(IndexError, match="cat: dim 2 is out of range for a tensor with 2 dimensions"):
        tt.cat([tt.ones(2, 3), tt.ones(2, 3)], dim=2)


def test_stack_errors():
    with pytest.raises(ValueError, match=r"^stack: tensors must have the same shape, got \(2, 3\) and \(3, 2\)$"):
        tt.stack([tt.ones(2, 3), tt.ones(3, 2)])
    with pytest.raises(ValueError, match="stack: expected a non-empty list"):
        tt.stack([])
    with pytest.raises(IndexError, match="stack: dim 3 is out of range for stacking tensors with 2 dimensions"):
        tt.stack([tt.ones(2, 3), tt.ones(2, 3)], dim=3)


def test_where_and_masked_fill_shapes():
    with pytest.raises(ValueError, match=r"^where: shapes \(2,\), \(3,\) and \(3,\)"):
        tt.where(tt.tensor([True, False]), tt.ones(3), tt.zeros(3))
    with pytest.raises(ValueError, match=r"masked_fill: mask of shape \(4,\) does not broadcast to \(2, 3\)"):
        tt.ones(2, 3).masked_fill(tt.tensor([True, False, True, True]), 0.0)
    with pytest.raises(ValueError, match=r"masked_fill: mask of shape \(2, 2, 3\) does not broadcast to \(2, 3\)"):
        tt.ones(2, 3).masked_fill(tt.tensor(np.ones((2, 2, 3), dtype=bool)), 0.0)


def test_backward_on_non_scalar_needs_gradient():
    y = tt.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"^backward: grad can be implicitly created only for scalar outputs, got shape \(2, 3\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"backward: gradient shape \(3,\) does not match tensor shape \(2, 3\)"):
        y.backward(np.ones(3))


def test_backward_twice():
    x = tt.ones(3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="^backward: trying to backward through the graph a second time.*retain_graph=True"):
        y.backward()


def test_backward_without_grad():
    with pytest.raises(RuntimeError, match="backward: this tensor does not require grad"):
        tt.ones(3).sum().backward()


@pytest.mark.parametrize("make", [
    lambda: tt.tensor([1, 2], requires_grad=True),
    lambda: tt.Tensor(np.array([1, 2]), requires_grad=True),
    lambda: tt.arange(3).requires_grad_(),
    lambda: setattr(tt.tensor([True]), "requires_grad", True),
    lambda: tt.zeros(2, dtype=tt.int64, requires_grad=True),
])
def test_requires_grad_on_integer_tensor(make):
    with pytest.raises(RuntimeError, match="requires_grad: only floating-point tensors can require gradients, got dtype (int64|int32|bool)"):
        make()


def test_requires_grad_cannot_change_on_non_leaf():
    y = tt.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="only leaf tensors.*detach"):
        y.requires_grad = False


@pytest.mark.parametrize("index, message", [
    (5, "index 5 is out of bounds for axis 0 with size 3"),
    (-4, "index -4 is out of bounds for axis 0 with size 3"),
    ((0, 7), "index 7 is out of bounds for axis 1 with size 4"),
    ([0, 3], "index 3 is out of bounds for axis 0 with size 3"),
    ((0, 0, 0), "too many indices"),
])
def test_indexing_out_of_range(index, message):
    with pytest.raises(IndexError, match=r"^index: .*" + re.escape(message) + r".*\(tensor shape \(3, 4\)\)"):
        tt.ones(3, 4)[index]


def test_index_tensor_out_of_range():
    with pytest.raises(IndexError, match=r"index 10 is out of bounds.*\(tensor shape \(5, 2\)\)"):
        tt.ones(5, 2)[tt.tensor([1, 10])]


@pytest.mark.parametrize("call, message", [
    (lambda t: t.sum(dim=3), "sum: dim 3 is out of range for a tensor with 2 dimensions"),
    (lambda t: t.mean(dim=-3), "mean: dim -3 is out of range"),
    (lambda t: t.softmax(dim=2), "softmax: dim 2 is out of range"),
    (lambda t: t.max(dim=5), "max: dim 5 is out of range"),
    (lambda t: t.transpose(0, 2), "transpose: dim 2 is out of range"),
    (lambda t: t.unsqueeze(3), "unsqueeze: dim 3 is out of range for a tensor with 2 dimensions"),
    (lambda t: t.unsqueeze(-4), "unsqueeze: dim -4 is out of range"),
    (lambda t: t.split(1, dim=2), "split: dim 2 is out of range"),
    (lambda t: t.argmax(dim=2), "argmax: dim 2 is out of range"),
])
def test_dim_out_of_range(call, message):
    with pytest.raises(IndexError, match="^" + re.escape(message)):
        call(tt.ones(2, 3))


def test_shape_op_errors():
    t = tt.ones(2, 3)
    with pytest.raises(ValueError, match=r"permute: dims \(0, 3\) are not a permutation of the 2 dims of shape \(2, 3\)"):
        t.permute(0, 3)
    with pytest.raises(ValueError, match=r"permute: dims \(0, 0\)"):
        t.permute(0, 0)
    with pytest.raises(ValueError, match=r"expand: cannot expand shape \(2, 3\) to \(2, 4\)"):
        t.expand(2, 4)
    with pytest.raises(ValueError, match=r"expand: cannot expand shape \(2, 3\) to \(-1, 2, 3\)"):
        t.expand(-1, 2, 3)
    with pytest.raises(ValueError, match=r"sum: dim \(1, -1\) names the same dimension twice"):
        t.sum(dim=(1, -1))
    with pytest.raises(ValueError, match=r"split: sizes \[1, 1\] do not add up to 3"):
        t.split([1, 1], dim=1)
    with pytest.raises(ValueError, match="split: split_size must be positive, got 0"):
        t.split(0)
    with pytest.raises(ValueError, match="chunk: chunks must be positive"):
        t.chunk(0)
    with pytest.raises(ValueError, match=r"topk: k=4 is out of range for dim -1 of size 3"):
        t.topk(4)
    with pytest.raises(ValueError, match=r"repeat: needs at least 2 sizes for shape \(2, 3\)"):
        t.repeat(2)
    with pytest.raises(ValueError, match=r"tril: needs at least 2 dimensions, got shape \(3,\)"):
        tt.ones(3).tril()
    with pytest.raises(ValueError, match="flatten: start_dim 1 comes after end_dim 0"):
        t.flatten(1, 0)
    with pytest.raises(IndexError, match="softmax: dim 1 is out of range for a tensor with 0 dimensions"):
        tt.tensor(1.0).softmax(dim=1)  # dim 0 and -1 of a 0-d tensor are valid, as in PyTorch


def test_value_errors():
    with pytest.raises(ValueError, match=r"item: only one-element tensors can be converted, got shape \(2,\)"):
        tt.ones(2).item()
    with pytest.raises(RuntimeError, match=r"bool: the truth value of a tensor of shape \(2,\) is ambiguous"):
        bool(tt.ones(2))
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'fast'"):
        tt.ones(2).gelu(approximate="fast")
    with pytest.raises(TypeError, match="mean: input dtype must be floating point, got torch.int64; use .float"):
        tt.arange(3).mean()
    empty_mean = tt.zeros(0, 3).mean(dim=0)  # not an error: nan, as in PyTorch
    assert empty_mean.shape == (3,) and np.all(np.isnan(empty_mean.data))
    with pytest.raises(ValueError, match=r"max: cannot reduce an empty tensor of shape \(0,\)"):
        tt.zeros(0).max()
    with pytest.raises(TypeError, match="only one-element integer tensors can be used as an index"):
        [1, 2][tt.tensor(1.0)]


def test_inplace_errors():
    x = tt.ones(3)
    with pytest.raises(ValueError, match=r"add_: shape \(2,\) does not broadcast to the tensor's shape \(3,\)"):
        x += tt.ones(2)
    with pytest.raises(ValueError, match=r"add_: shape \(2, 3\) does not broadcast to the tensor's shape \(3,\)"):
        x.add_(tt.ones(2, 3))  # would silently change the shape otherwise
    with pytest.raises(TypeError, match="mul_: result dtype float32 cannot be stored in a tensor of dtype torch.int64"):
        tt.arange(3).mul_(0.5)
    with pytest.raises(ValueError, match="sub_: this tensor is a read-only view.*clone"):
        tt.ones(3, 1).expand(3, 2).sub_(1)
    with pytest.raises(ValueError, match=r"copy_: shape \(2,\) does not broadcast to the tensor's shape \(3,\)"):
        x.copy_(tt.ones(2))
    with pytest.raises(ValueError, match=r"copy_: shape \(2, 3\) does not broadcast to the tensor's shape \(3,\)"):
        x.copy_(tt.ones(2, 3))
    with pytest.raises(IndexError, match=r"setitem: index 5 is out of bounds.*\(tensor shape \(3,\)\)"):
        x[5] = 1.0
    with pytest.raises(ValueError, match=r"setitem: .*\(tensor shape \(3,\), value shape \(2,\)\)"):
        x[:] = np.ones(2)


def test_creation_errors():
    with pytest.raises(ValueError, match=r"size must be non-negative integers, got \(2, -1\)"):
        tt.zeros(2, -1)
    with pytest.raises(TypeError, match=r"ones: size must be a tuple of integers, got \(2.5,\)"):
        tt.ones(2.5)


def test_multinomial_errors():
    from tinytorch.functional_ops import multinomial

    with pytest.raises(ValueError, match="multinomial: weights must be finite and non-negative"):
        multinomial(tt.tensor([0.5, -0.1]), 1)
    with pytest.raises(ValueError, match="multinomial: every row needs a positive total weight"):
        multinomial(tt.tensor([[0.0, 0.0]]), 1)
    with pytest.raises(ValueError, match="multinomial: cannot draw 3 samples without replacement from 2 categories"):
        multinomial(tt.tensor([0.5, 0.5]), 3)
    with pytest.raises(ValueError, match=r"multinomial: input must be 1-D or 2-D, got shape \(1, 1, 2\)"):
        multinomial(tt.ones(1, 1, 2), 1)


def test_gradcheck_errors():
    from tinytorch.gradcheck import gradcheck

    with pytest.raises(ValueError, match="gradcheck: no input requires grad"):
        gradcheck(lambda x: x * 2, [tt.ones(2, dtype=tt.float64)])
