"""`torch.autocast` / `torch.amp.autocast`: accepted as a context manager and decorator, and
honest about what it does here: nothing. PyTorch's CPU autocast runs matrix products in
bfloat16, which NumPy does not have, so under tinytorch the region computes in the tensors'
own dtype (float32 stays float32; results equal PyTorch's with autocast disabled). For
float16 training use tinytorch.acceleration (model.half(), MasterWeights, a loss scaler).
A "cuda" autocast is disabled with a warning, as PyTorch does when CUDA is unavailable.
"""

import functools
import warnings

_state = {"enabled": False, "warned": False}


class autocast:  # noqa: N801  (PyTorch's name)
    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"autocast: Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if device_type not in ("cpu", "cuda"):
            raise RuntimeError(f"autocast: User specified an unsupported autocast device_type '{device_type}'")
        if enabled and device_type == "cuda":
            warnings.warn("User provided device_type of 'cuda', but CUDA is not available (tinytorch runs on the "
                          "CPU). Disabling", UserWarning, stacklevel=2)
            enabled = False
        self.device, self.fast_dtype, self._enabled = device_type, dtype, bool(enabled)
        self._previous = None

    def __enter__(self):
        if self._enabled and not _state["warned"]:
            _state["warned"] = True
            warnings.warn("autocast: tinytorch computes in the tensors' own dtype (NumPy has no bfloat16), so this "
                          "region runs in float32, as PyTorch with autocast disabled", UserWarning, stacklevel=2)
        self._previous, _state["enabled"] = _state["enabled"], self._enabled
        return self

    def __exit__(self, *exc):
        _state["enabled"] = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with autocast(self.device, self.fast_dtype, self._enabled):
                return fn(*args, **kwargs)

        return wrapper


def is_autocast_available(device_type):
    """Whether `autocast(device_type)` can be entered (cpu: yes, computing in float32)."""
    return device_type == "cpu"


def is_autocast_enabled(device_type=None):
    """True inside an enabled autocast region (which, in tinytorch, changes no dtype)."""
    return _state["enabled"]
