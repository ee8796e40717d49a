"""`save` / `load`: tensors, state_dicts and nested containers, without pickle.

A file is a zip archive holding `tinytorch.json` (the structure: dicts, lists, tuples, numbers,
strings, and references to arrays) and one `.npy` file per array, written and read with
`allow_pickle=False`. Loading therefore only ever builds plain data and tensors: it can never run
code, which is what PyTorch promises with `weights_only=True`. Objects that are not data (a whole
Module, an optimizer, a function) are refused with a clear error when saving.
"""

import io
import json
import os
import zipfile
from collections import OrderedDict

import numpy as np

from .device import check_device
from .tensor import Tensor

_STRUCTURE = "tinytorch.json"
_FORMAT = "tinytorch-save-1"


def _not_saveable(obj):
    kind = type(obj).__name__
    advice = (
        "; save its state_dict() instead: torch.save(obj.state_dict(), path), then "
        "obj.load_state_dict(torch.load(path))" if hasattr(obj, "state_dict") else ""
    )
    return TypeError(
        f"save: cannot save an object of type {kind}: tinytorch saves tensors, NumPy arrays, numbers, "
        f"strings, None and dicts/lists/tuples of them (no pickle){advice}"
    )


class _Writer:
    """Turns an object into JSON-ready data, collecting its arrays (each tensor once)."""

    def __init__(self):
        self.arrays = []
        self.tensor_ids = {}  # id(tensor) -> array number, so shared tensors stay shared
        self.keep_alive = []  # ids are only unique while the objects live

    def _array(self, array):
        self.arrays.append(array)
        return len(self.arrays) - 1

    def encode(self, obj):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if type(obj) in (int, float):
            return obj
        if isinstance(obj, Tensor):
            if id(obj) not in self.tensor_ids:
                self.tensor_ids[id(obj)] = self._array(obj.data)
                self.keep_alive.append(obj)
            from .nn import Parameter  # at call time: nn imports this package's tensors

            return {"tensor": self.tensor_ids[id(obj)], "requires_grad": obj.requires_grad,
                    "parameter": isinstance(obj, Parameter)}
        if isinstance(obj, np.ndarray):
            return {"ndarray": self._array(obj)}
        if isinstance(obj, np.generic):
            return {"scalar": self._array(np.asarray(obj))}
        if isinstance(obj, dict):
            kind = "OrderedDict" if isinstance(obj, OrderedDict) else "dict"
            return {kind: [[self.encode(k), self.encode(v)] for k, v in obj.items()]}
        if isinstance(obj, list):
            return [self.encode(v) for v in obj]
        if isinstance(obj, tuple):
            return {"tuple": [self.encode(v) for v in obj]}
        raise _not_saveable(obj)


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True):
    """Write `obj` (tensors, arrays, numbers, strings, None, and dicts/lists/tuples of them, e.g.
    a state_dict) to the path or binary file object `f`."""
    if pickle_module is not None:
        raise ValueError("save: pickle_module is not supported; tinytorch never pickles")
    writer = _Writer()
    structure = json.dumps({"format": _FORMAT, "object": writer.encode(obj)})
    with _opened(f, "w") as archive:
        archive.writestr(_STRUCTURE, structure)
        for number, array in enumerate(writer.arrays):
            buffer = io.BytesIO()
            try:
                np.save(buffer, array, allow_pickle=False)
            except ValueError:
                raise TypeError(f"save: cannot save an array of dtype {array.dtype} (only numeric and bool arrays)") from None
            archive.writestr(f"arrays/{number}.npy", buffer.getvalue())


class _opened:
    """A zip archive on a path or on an open binary file (which is left open)."""

    def __init__(self, f, mode):
        self.f, self.mode = f, mode

    def __enter__(self):
        target = os.fspath(self.f) if isinstance(self.f, (str, os.PathLike)) else self.f
        try:
            self.archive = zipfile.ZipFile(target, self.mode, compression=zipfile.ZIP_STORED)
        except zipfile.BadZipFile:
            raise RuntimeError("load: this is not a file written by torch.save / tinytorch.save") from None
        return self.archive

    def __exit__(self, *exc):
        self.archive.close()
        return False


def _check_map_location(map_location):
    """Accept the map_location forms that put tensors on the CPU."""
    if map_location is None or callable(map_location) and not isinstance(map_location, str):
        return
    if isinstance(map_location, dict):
        for target in map_location.values():
            check_device(target, "load(map_location=)")
        return
    check_device(map_location, "load(map_location=)")


class _Reader:
    """Rebuilds the saved object from its JSON structure and arrays."""

    def __init__(self, archive):
        self.archive = archive
        self.tensors = {}  # array number -> Tensor, so shared tensors come back shared

    def _array(self, number):
        if not isinstance(number, int):
            raise RuntimeError("load: the file's structure is damaged (bad array reference)")
        try:
            raw = self.archive.read(f"arrays/{number}.npy")
        except KeyError:
            raise RuntimeError(f"load: the file is missing array {number}") from None
        try:
            return np.load(io.BytesIO(raw), allow_pickle=False)
        except ValueError:  # e.g. an array of Python objects, which only pickle could rebuild
            raise RuntimeError(f"load: array {number} is not an array of numbers; tinytorch never unpickles") from None

    def decode(self, data):
        if isinstance(data, list):
            return [self.decode(v) for v in data]
        if not isinstance(data, dict):
            return data
        if len(data) == 1 or "tensor" in data:
            kind, value = next(iter(data.items()))
            if kind == "tensor":
                return self._tensor(value, data.get("requires_grad", False), data.get("parameter", False))
            if kind == "ndarray":
                return self._array(value)
            if kind == "scalar":
                return self._array(value)[()]
            if kind == "tuple":
                return tuple(self.decode(v) for v in value)
            if kind in ("dict", "OrderedDict"):
                pairs = [(_hashable(self.decode(k)), self.decode(v)) for k, v in value]
                return OrderedDict(pairs) if kind == "OrderedDict" else dict(pairs)
        raise RuntimeError(f"load: the file's structure is damaged (unknown entry {sorted(data)})")

    def _tensor(self, number, requires_grad, parameter):
        if number not in self.tensors:
            array = self._array(number)
            if parameter:
                from .nn import Parameter  # at call time: nn imports this package's tensors

                t = Parameter(array, requires_grad=requires_grad)
            else:
                t = Tensor(array, requires_grad=requires_grad)
            self.tensors[number] = t
        return self.tensors[number]


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, (list, tuple)) else key


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **pickle_load_args):
    """Read an object written by `save` from a path or binary file object. Tensors are loaded on
    the CPU (`map_location` may name the CPU, or map other devices to it). Loading never runs
    code, whatever `weights_only` says."""
    _check_map_location(map_location)
    with _opened(f, "r") as archive:
        names = set(archive.namelist())
        if _STRUCTURE not in names:
            if any(name.endswith("data.pkl") for name in names):
                raise RuntimeError(
                    "load: this file was written by PyTorch's torch.save, which stores pickled Python "
                    "objects, and tinytorch never unpickles. Convert it in PyTorch, e.g. "
                    "numpy.savez(path, **{k: v.numpy() for k, v in state_dict.items()}), and load "
                    "those arrays with numpy.load"
                )
            raise RuntimeError("load: this is not a file written by torch.save / tinytorch.save")
        header = json.loads(archive.read(_STRUCTURE))
        if not isinstance(header, dict) or header.get("format") != _FORMAT:
            raise RuntimeError(f"load: unknown file format {header.get('format') if isinstance(header, dict) else header!r}")
        return _Reader(archive).decode(header["object"])
