"""Mixed precision: float16 storage and arithmetic, float32 master weights, loss scaling.

float16 halves memory and memory traffic, but its smallest normal number is ~6e-5 and its
largest 65504: small gradients underflow to zero and large ones overflow to inf. The loss
scaler multiplies the loss by a big factor before backward (so gradients stay representable),
divides the gradients by it before the update, and when it finds inf/NaN skips that update
and halves the factor. After `growth_interval` clean steps it tries a larger factor again.

    model.half(); master = MasterWeights(model)
    optimizer = SGD(master.parameters(), lr=0.1); scaler = LossScaler()
    loss = loss_fn(model(x.half()).float(), y)
    scaler.scale(loss).backward()
    master.copy_grads_to_master()
    scaler.step(optimizer); scaler.update()
    master.copy_master_to_model(); model.zero_grad()
"""

import numbers

import numpy as np

from .. import grad_mode
from ..nn.module import Parameter
from ..seams import replaced, seam
from ..tensor import Tensor


def _positive(op, name, value, low=0.0, inclusive=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or \
            not (value >= low if inclusive else value > low):
        raise ValueError(f"{op}: {name} must be {'>=' if inclusive else '>'} {low}, got {value!r}")


@seam("update_scale")
def next_loss_scale(scale, good_steps, found_inf, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000):
    """(new scale, new count of clean steps) after one step of dynamic loss scaling.

    An overflow (`found_inf`) multiplies the scale by `backoff_factor` and restarts the count;
    a clean step adds one to it, and the `growth_interval`-th clean step in a row multiplies
    the scale by `growth_factor` and restarts the count. The rule of `LossScaler.update` (and
    of PyTorch's GradScaler), as a pure function.
    """
    if found_inf:
        return scale * backoff_factor, 0
    good_steps += 1
    if good_steps == growth_interval:
        return scale * growth_factor, 0
    return scale, good_steps


class LossScaler:
    """Dynamic loss scaling with PyTorch's GradScaler interface: scale, unscale_, step, update."""

    def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                 enabled=True):
        _positive("LossScaler", "init_scale", init_scale)
        _positive("LossScaler", "growth_factor", growth_factor, 1.0)
        if not 0 < backoff_factor < 1:
            raise ValueError(f"LossScaler: backoff_factor must be in (0, 1), got {backoff_factor!r}")
        if isinstance(growth_interval, bool) or not isinstance(growth_interval, int) or growth_interval < 1:
            raise ValueError(f"LossScaler: growth_interval must be an int >= 1, got {growth_interval!r}")
        self._scale = float(init_scale)
        self.growth_factor, self.backoff_factor = float(growth_factor), float(backoff_factor)
        self.growth_interval, self.enabled = growth_interval, enabled
        self._good_steps = 0
        self.skipped_steps = 0
        self._found_inf = None  # per step: None until unscale_, then True/False

    def get_scale(self):
        return self._scale if self.enabled else 1.0

    def scale(self, loss):
        """loss * scale (call .backward() on the result)."""
        if not isinstance(loss, Tensor):
            raise TypeError(f"LossScaler.scale: expected a Tensor loss, got {type(loss).__name__}")
        return loss * self._scale if self.enabled else loss

    def unscale_(self, optimizer):
        """Divide the optimizer's gradients by the scale (in float32) and check them for inf/NaN.

        A disabled scaler leaves the gradients alone and finds nothing, however often it is called."""
        if not self.enabled:
            return False
        if self._found_inf is not None:
            raise RuntimeError("LossScaler.unscale_: already called since the last update()")
        found = False
        inverse = 1.0 / self.get_scale()
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.data.astype(np.float32) * np.float32(inverse)
                found = found or not np.all(np.isfinite(grad))
                p.grad.data = grad.astype(p.grad.data.dtype)
        self._found_inf = found
        return found

    def step(self, optimizer):
        """optimizer.step() unless the gradients had inf/NaN; returns True if it stepped."""
        if not self.enabled:
            optimizer.step()
            return True
        if self._found_inf is None:
            self.unscale_(optimizer)
        if self._found_inf:
            self.skipped_steps += 1
            return False
        optimizer.step()
        return True

    def update(self):
        """Halve the scale after an overflow; grow it after `growth_interval` clean steps."""
        if not self.enabled:
            return
        if self._found_inf is None:
            raise RuntimeError("LossScaler.update: call step(optimizer) (or unscale_) first")
        rule = replaced.get("update_scale", next_loss_scale)  # module 18's, once in use
        self._scale, self._good_steps = rule(self._scale, self._good_steps, self._found_inf,
                                             self.growth_factor, self.backoff_factor, self.growth_interval)
        self._found_inf = None

    def state_dict(self):
        return {"scale": self._scale, "growth_factor": self.growth_factor, "backoff_factor": self.backoff_factor,
                "growth_interval": self.growth_interval, "good_steps": self._good_steps}

    def load_state_dict(self, state):
        self._scale, self._good_steps = float(state["scale"]), int(state["good_steps"])
        self.growth_factor, self.backoff_factor = float(state["growth_factor"]), float(state["backoff_factor"])
        self.growth_interval = int(state["growth_interval"])


class MasterWeights:
    """float32 copies of a (float16) model's parameters; the optimizer updates these.

    Small updates (lr * grad) vanish when added to a float16 weight (float16 has ~3 decimal
    digits); accumulated into a float32 master copy they are kept.
    """

    def __init__(self, model):
        self.model_params = list(model.parameters())
        if not self.model_params:
            raise ValueError(f"MasterWeights: {type(model).__name__} has no parameters")
        self.master_params = [Parameter(p.data.astype(np.float32)) for p in self.model_params]

    def parameters(self):
        return iter(self.master_params)

    def copy_grads_to_master(self):
        """Master gradients (float32) from the model's gradients (float16)."""
        for p, master in zip(self.model_params, self.master_params):
            master.grad = None if p.grad is None else Tensor(p.grad.data.astype(np.float32))

    def copy_master_to_model(self):
        """Round the updated master weights into the model's storage dtype."""
        with grad_mode.no_grad():
            for p, master in zip(self.model_params, self.master_params):
                p.data[...] = master.data.astype(p.data.dtype)
