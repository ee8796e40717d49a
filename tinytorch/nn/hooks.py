"""Forward hooks of Modules (`register_forward_hook`, `register_forward_pre_hook`): functions
called around `forward`, each removable through the handle its registration returns."""

import itertools

import numpy as np

from ..device import check_device, device
from ..dtypes import to_numpy

_next_id = itertools.count()


class RemovableHandle:
    """Returned by hook registration: `handle.remove()` (or leaving a `with handle:` block)
    unregisters the hook."""

    def __init__(self, hooks):
        self.hooks_dict_ref = hooks
        self.id = next(_next_id)

    def remove(self):
        self.hooks_dict_ref.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def add_hook(hooks, hook, prepend, with_kwargs):
    """Register `hook` in the ordered dict `hooks` (first when `prepend`); returns its handle."""
    if not callable(hook):
        raise TypeError(f"hook must be callable, got {type(hook).__name__}")
    handle = RemovableHandle(hooks)
    hooks[handle.id] = (hook, with_kwargs)
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def run_with_hooks(module, args, kwargs):
    """module.forward(*args, **kwargs) with its pre-hooks before and forward hooks after."""
    for hook, with_kwargs in list(module._forward_pre_hooks.values()):
        if with_kwargs:
            result = hook(module, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError("forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                                       f"but got {result!r}")
                args, kwargs = result
        else:
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
    output = module.forward(*args, **kwargs)
    for hook, with_kwargs in list(module._forward_hooks.values()):
        result = hook(module, args, kwargs, output) if with_kwargs else hook(module, args, output)
        if result is not None:
            output = result
    return output


def parse_to(args, kwargs, tensor_type):
    """The NumPy dtype that Module.to(*args, **kwargs) asks for (None: keep), after checking the device.

    Accepts what PyTorch's does: a device ("cpu", "cpu:0" or a `tinytorch.device`), a dtype, a
    tensor (its dtype), each positionally or as device= / dtype=, plus non_blocking=.
    """
    kwargs = dict(kwargs)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    unknown = set(kwargs) - {"device", "dtype"}
    if unknown or len(args) > 3:
        raise TypeError(f"Module.to: unexpected arguments {sorted(unknown) or args!r}")
    wanted = kwargs.get("dtype")
    items = list(args) + ([kwargs["device"]] if kwargs.get("device") is not None else [])
    for item in items:
        if isinstance(item, bool):  # non_blocking passed positionally
            continue
        if isinstance(item, tensor_type):
            wanted = item.data.dtype
        elif isinstance(item, (str, device)):
            check_device(item, "Module.to")
        elif item is not None:
            if wanted is not None:
                raise TypeError("Module.to: pass the dtype once, positionally or as dtype=")
            wanted = item
    wanted = to_numpy(wanted, "Module.to")
    if wanted is not None and not np.issubdtype(wanted, np.floating):
        raise TypeError(f"Module.to: only floating-point dtypes are supported, got {wanted}")
    return wanted
