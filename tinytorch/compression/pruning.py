"""Pruning: set the least important weights to zero, and keep them zero while training.

Masks are bool buffers named `<param>_mask` (True = kept) on the module that owns the
parameter, so they are saved in `state_dict()`. Nothing is hooked: after every optimizer
step call `apply_masks(model)`, which zeroes the pruned weights (and their gradients) again:

    loss.backward()
    optimizer.step()
    apply_masks(model)   # pruned weights are exactly zero for the next forward

`amount` is the fraction of entries (or, for structured pruning, of slices) that are zero
after the call; pruning again only ever adds to the earlier mask.
"""

import numbers

import numpy as np

from .. import grad_mode
from ..nn.module import Module
from ..seams import replaced, seam
from ..tensor import Tensor


def _check_amount(amount, op):
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real) or not 0 <= amount < 1:
        raise ValueError(f"{op}: amount must be a fraction in [0, 1), got {amount!r}")


def prunable(model, name="weight"):
    """(qualified name, owning module, parameter) for each parameter `name` with >= 2 dims.

    That is the weight matrices and kernels (Linear, Conv2d, Embedding), not biases or
    normalization scales.
    """
    found = []
    for prefix, module in model.named_modules():
        param = module._parameters.get(name)
        if param is not None and param.ndim >= 2:
            found.append((f"{prefix}.{name}" if prefix else name, module, param))
    return found


def _set_mask(module, name, keep):
    """Store the mask (combined with an earlier one) and zero the pruned entries."""
    old = module._buffers.get(f"{name}_mask")
    if old is not None:
        keep = keep & old.data
    module.register_buffer(f"{name}_mask", Tensor(keep))
    _apply(module._parameters[name], keep)
    return module._buffers[f"{name}_mask"]


def _apply(param, keep):
    with grad_mode.no_grad():
        param.data[~keep] = 0
        if param.grad is not None:
            param.grad.data[~keep] = 0


def _smallest(scores, count):
    """Bool array, True for the `count` smallest scores (exactly `count`, ties broken by position)."""
    chosen = np.zeros(scores.size, dtype=bool)
    if count > 0:
        chosen[np.argpartition(scores.reshape(-1), count - 1)[:count]] = True
    return chosen.reshape(scores.shape)


def _scores(module, name, param):
    """|w|, with entries an earlier mask pruned ranked first (-1) so they stay pruned."""
    scores = np.abs(param.data).astype(np.float64)
    old = module._buffers.get(f"{name}_mask")
    if old is not None:
        scores[~old.data] = -1.0
    return scores


@seam("magnitude_prune")
def magnitude_mask(weight, amount):
    """Bool mask of `weight` (an array): False for the round(amount * size) entries of smallest
    |weight| (module 16's magnitude_prune), True elsewhere."""
    return ~_smallest(np.abs(weight), round(amount * weight.size))


@seam("structured_prune")
def structured_mask(weight, amount, norm=2):
    """Bool mask of `weight`'s shape that removes the round(amount * rows) rows (dim 0) of
    smallest L`norm` norm (module 16's structured_prune)."""
    data = np.abs(np.asarray(weight, dtype=np.float64)).reshape(len(weight), -1)
    norms = data.max(axis=1) if norm == np.inf else (data ** norm).sum(axis=1) ** (1 / norm)
    removed = _smallest(norms, round(amount * len(weight)))
    return np.broadcast_to(~removed.reshape((-1,) + (1,) * (np.ndim(weight) - 1)), np.shape(weight)).copy()


def _learners_mask(name, weight, *args):
    """The mask of the learner's pruning function `name` (tinytorch.mine.use()), as bool."""
    return np.asarray(replaced[name](weight, *args), dtype=bool)


def magnitude_prune(target, amount, scope="layer", name="weight"):
    """Unstructured pruning: zero the `amount` fraction of weights with the smallest |w|.

    `target` is a Module (every weight matrix/kernel in it; masks stored as buffers; returns
    {qualified name: mask}) or a single Parameter/Tensor (zeroed in place; returns its bool
    mask, which you re-apply yourself). `scope='layer'` prunes each weight by `amount`;
    `scope='global'` ranks all weights together, so layers with many small weights lose more.
    """
    op = "magnitude_prune"
    _check_amount(amount, op)
    if scope not in ("layer", "global"):
        raise ValueError(f"{op}: scope must be 'layer' or 'global', got {scope!r}")
    learner = "magnitude_prune" in replaced  # rank by |w| with the learner's function: pruned entries are 0
    if isinstance(target, Tensor):
        keep = (_learners_mask("magnitude_prune", target.data, amount) if learner
                else ~_smallest(np.abs(target.data), round(amount * target.data.size)))
        _apply(target, keep)
        return keep
    if not isinstance(target, Module):
        raise TypeError(f"{op}: expected a Module or a Tensor, got {type(target).__name__}")
    entries = prunable(target, name)
    if not entries:
        raise ValueError(f"{op}: {type(target).__name__} has no parameter {name!r} with 2 or more dimensions to prune")
    if scope == "layer":
        return {
            qualified: _set_mask(module, name, _learners_mask("magnitude_prune", param.data, amount) if learner
                                 else ~_smallest(_scores(module, name, param), round(amount * param.data.size)))
            for qualified, module, param in entries
        }
    scores = [_scores(module, name, param) for _, module, param in entries]
    total = sum(s.size for s in scores)
    if learner:  # global: the learner's function ranks every weight of the model at once
        flat = np.concatenate([param.data.reshape(-1) for _, _, param in entries])
        pruned = ~_learners_mask("magnitude_prune", flat, amount)
    else:
        pruned = _smallest(np.concatenate([s.reshape(-1) for s in scores]), round(amount * total))
    masks, start = {}, 0
    for (qualified, module, param), s in zip(entries, scores):
        keep = ~pruned[start:start + s.size].reshape(s.shape)
        masks[qualified] = _set_mask(module, name, keep)
        start += s.size
    return masks


def structured_prune(module, amount, dim=0, norm=1, name="weight"):
    """Remove whole slices along `dim` with the smallest L`norm` (e.g. neurons or channels).

    dim=0 removes output neurons of a Linear (rows) or output channels of a Conv2d; then the
    bias of each removed output is masked too, so the output is exactly zero (unlike
    PyTorch's ln_structured, which leaves the bias). Returns the weight's mask.
    """
    op = "structured_prune"
    _check_amount(amount, op)
    if not isinstance(module, Module) or module._parameters.get(name) is None:
        raise TypeError(f"{op}: expected a Module with a parameter {name!r}, got {type(module).__name__}")
    param = module._parameters[name]
    if not isinstance(dim, (int, np.integer)) or not -param.ndim <= dim < param.ndim:
        raise ValueError(f"{op}: dim {dim!r} is out of range for {name} of shape {tuple(param.shape)}")
    if norm not in (1, 2, np.inf):
        raise ValueError(f"{op}: norm must be 1, 2 or inf, got {norm!r}")
    dim = dim % param.ndim
    others = tuple(d for d in range(param.ndim) if d != dim)
    if "structured_prune" in replaced and dim == 0 and norm in (1, 2):  # module 16's: rows, L1 or L2
        keep = _learners_mask("structured_prune", param.data, amount, norm)
        removed = ~keep.reshape(param.shape[0], -1).any(axis=1)
        return _mask_rows(module, name, keep, removed, dim)
    data = np.abs(param.data.astype(np.float64))
    slice_norms = data.max(axis=others) if norm == np.inf else (data ** norm).sum(axis=others) ** (1 / norm)
    old = module._buffers.get(f"{name}_mask")
    if old is not None:
        slice_norms[~old.data.any(axis=others)] = -1.0  # already removed: stay removed
    removed = _smallest(slice_norms, round(amount * param.shape[dim]))  # (size along dim,)
    shape = [1] * param.ndim
    shape[dim] = -1
    keep = np.broadcast_to(~removed.reshape(shape), param.shape).copy()
    return _mask_rows(module, name, keep, removed, dim)


def _mask_rows(module, name, keep, removed, dim):
    """Store `keep` as the mask of `name`, and mask the bias of the removed outputs (dim 0)."""
    mask = _set_mask(module, name, keep)
    bias = module._parameters.get("bias")
    if dim == 0 and name == "weight" and bias is not None:
        _set_mask(module, "bias", ~removed)
    return mask


def apply_masks(model):
    """Zero every pruned entry (data and gradient) again; call after each optimizer step."""
    for module in model.modules():
        for buffer_name, mask in module._buffers.items():
            if buffer_name.endswith("_mask") and mask is not None:
                param = module._parameters.get(buffer_name[:-len("_mask")])
                if param is not None:
                    _apply(param, mask.data)


def remove_masks(model):
    """Make pruning permanent: drop the mask buffers (pruned weights stay zero until trained)."""
    apply_masks(model)
    for module in model.modules():
        for buffer_name in [b for b in module._buffers if b.endswith("_mask")]:
            if buffer_name[:-len("_mask")] in module._parameters:
                del module._buffers[buffer_name]


def sparsity(target, name="weight"):
    """Fraction of zero entries: of a Tensor, or of a Module's prunable weights (see `prunable`)."""
    if isinstance(target, Tensor):
        return float(np.count_nonzero(target.data == 0) / max(target.data.size, 1))
    if not isinstance(target, Module):
        raise TypeError(f"sparsity: expected a Module or a Tensor, got {type(target).__name__}")
    params = [param for _, _, param in prunable(target, name)]
    total = sum(p.data.size for p in params)
    if total == 0:
        raise ValueError(f"sparsity: {type(target).__name__} has no parameter {name!r} with 2 or more dimensions")
    return sum(np.count_nonzero(p.data == 0) for p in params) / total
