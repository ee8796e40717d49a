"""Optimizer: the base class that holds parameter groups and per-parameter state.

Mirrors `torch.optim.Optimizer`: `param_groups` is a list of dicts, each with a `params` list
and its own hyper-parameters (missing ones come from `defaults`); `state[p]` holds what an
algorithm remembers about parameter `p` between steps (momentum buffers, moment estimates).
Subclasses implement `step()`, updating `p.data` in place.
"""

import copy
import numbers

import numpy as np

from .. import versions
from ..tensor import Tensor


def check_hyperparameter(op, name, value, low=0.0, high=None, high_inclusive=False):
    """Raise a ValueError naming `op` unless `low <= value` (and `value < high` if given)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a number, got {value!r}")
    if not np.isfinite(value) or value < low:
        raise ValueError(f"{op}: invalid {name} {value!r}, expected >= {low}")
    if high is not None and (value > high if high_inclusive else value >= high):
        bound = "<=" if high_inclusive else "<"
        raise ValueError(f"{op}: invalid {name} {value!r}, expected {bound} {high}")


class Optimizer:
    """Base class: `params` is an iterable of tensors, or of dicts defining parameter groups."""

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}  # parameter -> dict of its state (Tensors hash by identity)
        self.param_groups = []
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params must be an iterable of tensors or dicts, got a single Tensor; "
                "pass model.parameters() or [tensor]"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {value}" for key, value in sorted(group.items()) if key != "params"]
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group):
        """Add a group of parameters (dict with `params`), e.g. to fine-tune new layers."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a param group must be a dict, got {type(param_group).__name__}")
        params = param_group.get("params")
        if params is None:
            raise ValueError(f"{name}: a param group must have a 'params' entry")
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{name}: can only optimize Tensors (e.g. nn.Parameter), but parameter {i} "
                    f"is a {type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"{name}: can't optimize a non-leaf Tensor (parameter {i}, produced by "
                    f"{p.grad_fn}); optimize the tensor it was computed from, or .detach() it"
                )
            if not np.issubdtype(p.dtype, np.floating):
                raise TypeError(f"{name}: parameter {i} has dtype {p.dtype}; only floating-point tensors can be optimized")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in seen for p in params):
            raise ValueError(f"{name}: some parameters appear more than once (in this group or in another group)")
        group = {**self.defaults, **param_group, "params": params}
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group):
        """Validate a group's hyper-parameters; subclasses extend this."""
        check_hyperparameter(type(self).__name__, "lr", group["lr"])

    def zero_grad(self, set_to_none=True):
        """Clear gradients: drop them (default, as PyTorch) or fill them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.data.fill(0)

    def step(self):
        raise NotImplementedError(f"{type(self).__name__}.step is not implemented")

    def _updates(self):
        """(group, p) for every parameter that has a gradient, for a `step()` that updates
        `p.data` in place; each update then counts as an in-place change of p (its version is
        bumped), so a graph that saved p before the step cannot backward, as in PyTorch."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    yield group, p
                    versions.bump(p.data)

    # ------------------------------------------------------------------ saving and loading

    def state_dict(self):
        """Copy of the state, as PyTorch lays it out: parameters are replaced by their index.

        `{"state": {index: {name: array or number}}, "param_groups": [{..., "params": [index]}]}`.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: copy.deepcopy(v) for k, v in group.items() if k != "params"}, "params": ids})
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = {k: _copy_value(v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore state saved by `state_dict()` from an optimizer over same-shaped parameters."""
        name = type(self).__name__
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the state has {len(saved_groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        params_by_index = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: parameter group {i} has {len(saved['params'])} "
                    f"parameters in the state but {len(group['params'])} in this optimizer"
                )
            params_by_index.update(zip(saved["params"], group["params"]))
        new_state = {}
        for index, values in state_dict["state"].items():
            p = params_by_index.get(int(index))
            if p is None:
                raise ValueError(f"{name}.load_state_dict: state for unknown parameter index {index}")
            for key, value in values.items():
                if isinstance(value, np.ndarray) and value.ndim and value.shape != p.shape:
                    raise ValueError(
                        f"{name}.load_state_dict: state '{key}' of parameter {index} has shape "
                        f"{value.shape}, but the parameter has shape {p.shape}"
                    )
            new_state[p] = {k: _copy_value(v, p.dtype) for k, v in values.items()}
        self.state = new_state
        for saved, group in zip(saved_groups, self.param_groups):
            group.update({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})


def _copy_value(value, dtype=None):
    """An independent copy of one state entry (arrays keep or take the parameter's dtype)."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.ndarray) and value.ndim:
        return value.astype(dtype or value.dtype, copy=True)
    if isinstance(value, np.ndarray):
        return value.item()
    return copy.deepcopy(value)
