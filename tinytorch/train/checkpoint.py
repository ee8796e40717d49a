"""Checkpoints: a model's weights, optimizer and scheduler state and extras in one `.npz` file.

Layout of the archive (readable with plain `np.load`):

    model/<name>               one array per entry of model.state_dict()
    optimizer/<index>/<key>    the optimizer's per-parameter arrays (momentum, moments)
    extra/<name>               array (or Tensor, or NumPy scalar) extras
    meta                       JSON text: format version, optimizer type, hyper-parameters,
                               scalar optimizer state (step counts), scheduler state and the
                               JSON-able extras (epoch, metrics, config, ...)

No pickle is involved, so loading a checkpoint cannot run code.
"""

import json

import numpy as np

from ..tensor import Tensor

FORMAT = "tinytorch-checkpoint"
VERSION = 1


def save_checkpoint(path, model, optimizer=None, scheduler=None, **extra):
    """Write `model` (and `optimizer`, `scheduler`, extras such as epoch=3) to `path`.

    Extras may be JSON values (numbers, strings, lists, dicts, None), NumPy arrays or
    scalars, or Tensors; they come back with the same types from `load_checkpoint`.
    """
    arrays = {f"model/{name}": value.numpy() for name, value in model.state_dict().items()}
    meta = {"format": FORMAT, "version": VERSION, "extra": {}, "extra_arrays": {}}
    if optimizer is not None:
        state = optimizer.state_dict()
        scalars = {}
        for index, entries in state["state"].items():
            for key, value in entries.items():
                if isinstance(value, np.ndarray):
                    arrays[f"optimizer/{index}/{key}"] = value
                else:
                    scalars.setdefault(str(index), {})[key] = value
        meta["optimizer"] = {"type": type(optimizer).__name__, "param_groups": state["param_groups"],
                             "scalars": scalars}
    if scheduler is not None:
        meta["scheduler"] = {"type": type(scheduler).__name__, "state": scheduler.state_dict()}
    for name, value in extra.items():
        if isinstance(value, (Tensor, np.ndarray, np.generic)):
            kind = "tensor" if isinstance(value, Tensor) else "scalar" if isinstance(value, np.generic) else "array"
            arrays[f"extra/{name}"] = np.asarray(value.data if isinstance(value, Tensor) else value)
            meta["extra_arrays"][name] = kind
        else:
            meta["extra"][name] = value
    try:
        arrays["meta"] = np.array(json.dumps(meta))
    except TypeError as error:
        raise TypeError(
            f"save_checkpoint: extras must be JSON values, NumPy arrays or Tensors ({error})"
        ) from None
    # Write through a file object: np.savez would append ".npz" to any other file name.
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load_checkpoint(path, model, optimizer=None, scheduler=None):
    """Restore what `save_checkpoint` wrote into `model` (and `optimizer`, `scheduler`).

    Returns the extras as a dict, e.g. {"epoch": 3}. Raises a clear error, before changing
    anything it can check, when the file does not fit the model or optimizer.
    """
    with np.load(path, allow_pickle=False) as archive:
        contents = {key: archive[key] for key in archive.files}
    if "meta" not in contents:
        raise ValueError(f"load_checkpoint: {path} is not a tinytorch checkpoint (no 'meta' entry)")
    meta = json.loads(str(contents["meta"]))
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise ValueError(f"load_checkpoint: {path} has unsupported format {meta.get('format')!r} "
                         f"version {meta.get('version')!r}")
    for what, obj in (("optimizer", optimizer), ("scheduler", scheduler)):
        if obj is None:
            continue
        if what not in meta:
            raise ValueError(f"load_checkpoint: {path} holds no {what} state; "
                             f"it was saved without {what}=")
        if meta[what]["type"] != type(obj).__name__:
            raise ValueError(f"load_checkpoint: {path} holds {meta[what]['type']} state, "
                             f"which cannot be loaded into a {type(obj).__name__}")

    model_state = {key[len("model/"):]: array for key, array in contents.items() if key.startswith("model/")}
    try:
        model.load_state_dict(model_state)
    except (RuntimeError, ValueError) as error:
        raise type(error)(f"load_checkpoint: {path} does not fit the model:\n{error}") from None
    if optimizer is not None:
        optimizer.load_state_dict(_optimizer_state(meta["optimizer"], contents))
    if scheduler is not None:
        scheduler.load_state_dict(meta["scheduler"]["state"])

    extras = dict(meta["extra"])
    for name, kind in meta["extra_arrays"].items():
        array = contents[f"extra/{name}"]
        extras[name] = Tensor(array) if kind == "tensor" else array[()] if kind == "scalar" else array
    return extras


def _optimizer_state(saved, contents):
    """Rebuild `Optimizer.state_dict()` from the JSON part and the arrays."""
    state = {int(index): dict(values) for index, values in saved["scalars"].items()}
    for key, array in contents.items():
        if key.startswith("optimizer/"):
            _, index, name = key.split("/", 2)
            state.setdefault(int(index), {})[name] = array
    # JSON turns tuples (Adam's betas) into lists; give them back their Python type.
    groups = [{k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in group.items()}
              for group in saved["param_groups"]]
    return {"state": state, "param_groups": groups}
