"""`torch.amp.GradScaler`: dynamic loss scaling with PyTorch's interface and per-optimizer
bookkeeping (unscale_ at most once per optimizer per step, step once, then update).

The scaling rule is tinytorch.acceleration's `next_loss_scale`. A disabled scaler does
nothing: `scale` returns its input, `step` just calls `optimizer.step()`, `unscale_` and
`update` return at once. PyTorch disables a "cuda" scaler when CUDA is unavailable (with a
warning); so does this one, since tinytorch has no CUDA.
"""

import warnings

import numpy as np

from ..acceleration.mixed_precision import next_loss_scale
from ..tensor import Tensor

_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


class GradScaler:
    """scaler.scale(loss).backward(); scaler.step(optimizer); scaler.update()."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        device = str(getattr(device, "type", device)).split(":")[0]
        if enabled and device == "cuda":
            warnings.warn("GradScaler is enabled, but CUDA is not available (tinytorch runs on the CPU).  Disabling.",
                          UserWarning, stacklevel=2)
            enabled = False
        elif device not in ("cpu", "cuda"):
            raise RuntimeError(f"GradScaler: unsupported device {device!r}; tinytorch runs on the CPU")
        if growth_factor <= 1.0:
            raise ValueError(f"GradScaler: The growth factor must be > 1.0, got {growth_factor}")
        if not 0 < backoff_factor < 1:
            raise ValueError(f"GradScaler: The backoff factor must be < 1.0 (and > 0), got {backoff_factor}")
        if isinstance(growth_interval, bool) or not isinstance(growth_interval, int) or growth_interval <= 0:
            raise ValueError(f"GradScaler: growth_interval must be a positive int, got {growth_interval!r}")
        self._device, self._enabled = device, bool(enabled)
        self._scale, self._init_scale = float(init_scale), float(init_scale)
        self._growth_factor, self._backoff_factor = float(growth_factor), float(backoff_factor)
        self._growth_interval, self._growth_tracker = growth_interval, 0
        self._per_optimizer = {}  # id(optimizer) -> {"stage": ..., "found_inf": bool}

    def is_enabled(self):
        return self._enabled

    def get_scale(self):
        """The current scale as a Python float (1.0 when disabled)."""
        return self._scale if self._enabled else 1.0

    def scale(self, outputs):
        """outputs * scale: a tensor, or tensors in (nested) lists and tuples."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            return outputs * np.asarray(self._scale, dtype=outputs.data.dtype)
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(item) for item in outputs)
        raise ValueError(f"GradScaler.scale: outputs must be a Tensor or an iterable of Tensors, got {type(outputs).__name__}")

    def _state(self, optimizer):
        return self._per_optimizer.setdefault(id(optimizer), {"stage": _READY, "found_inf": False})

    def unscale_(self, optimizer):
        """Divide the optimizer's gradients by the scale, in place, and note any inf/NaN."""
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inverse = np.float32(1.0 / self._scale)
        found = False
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.data * inverse.astype(p.grad.data.dtype)
                found = found or not bool(np.isfinite(grad).all())
                p.grad.data = grad
        state["stage"], state["found_inf"] = _UNSCALED, found

    def step(self, optimizer, *args, **kwargs):
        """optimizer.step() unless the (unscaled) gradients hold inf/NaN; its result, or None if skipped."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale=None):
        """Back off after any inf/NaN this step, grow after `growth_interval` clean steps,
        or set `new_scale` (a float or one-element tensor) directly."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale.item() if isinstance(new_scale, Tensor) else new_scale)
        else:
            if not self._per_optimizer:
                raise AssertionError("No inf checks were recorded prior to update.")
            found_inf = any(state["found_inf"] for state in self._per_optimizer.values())
            self._scale, self._growth_tracker = next_loss_scale(
                self._scale, self._growth_tracker, found_inf, self._growth_factor, self._backoff_factor,
                self._growth_interval)
        self._per_optimizer = {}

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = int(new_interval)

    def state_dict(self):
        """PyTorch's keys; empty when disabled."""
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor, "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if not state_dict:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._scale = float(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])
