"""Your framework: the implementations you wrote in the course, saved once their checks pass,
for later notebooks and the milestones.

    from tinytorch.mine import Linear, Adam   # yours where saved, else tinytorch's (one line each says which)
    import tinytorch.mine as mine
    mine.progress()                           # per module: which checks pass, which components are yours
    mine.status()                             # which implementation `from tinytorch.mine import ...` gives
    mine.clear("Linear")                      # forget your saved Linear (tinytorch's is used again)
    mine.clear()                              # forget every saved implementation

Where: in the browser, the folder `my_tinytorch/` of the course's file browser (stored in the
browser with your notebooks: it survives reloads and kernel restarts); locally `~/.tinytorch/`,
or the folder named by the environment variable TINYTORCH_HOME.

What: `my_tinytorch/<Name>.py` is plain Python: your definition, the imports it needs and the
helpers it calls (your own functions and classes included), written by `save()` when its
check has passed in this session. `yours_or_reference` in the course notebooks calls `save`
for you. `progress.json` holds the latest outcome of every check you ran, written by the
checks themselves. A saved file that no longer loads (syntax error, missing name) or that
you edited and that fails its check again is reported and tinytorch's implementation is used
instead; nothing you wrote is changed or deleted, except by `clear`.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import datetime
import hashlib
import importlib
import inspect
import io
import json
import linecache
import os
import sys
import symtable
import types
from pathlib import Path

from .platform import is_browser

DRIVE = Path("/drive")  # the Pyodide kernel's view of JupyterLite's browser storage
BROWSER_FOLDER = "my_tinytorch"
MANIFEST_NAME = "course_manifest.json"
STATE_FILE = "progress.json"
MARKER = "saved by tinytorch.mine"

# The course's modules, in order: (notebook stem, title, check names as recorded in
# tinytorch.checks.results). tests/test_mine.py verifies this against content/.
MODULES = [
    ("01_tensor", "Tensor", ["broadcast_shape", "matmul", "var", "strides"]),
    ("02_activations", "Activations", ["relu", "sigmoid", "tanh", "gelu", "softmax"]),
    ("03_layers", "Layers", ["linear", "sequential", "dropout"]),
    ("04_losses", "Losses", ["mse_loss", "log_softmax", "cross_entropy", "binary_cross_entropy_with_logits"]),
    ("05_autograd", "Autograd", ["unbroadcast", "add_backward", "mul_backward", "matmul_backward", "sum_backward",
                                 "relu_backward", "sigmoid_backward", "tanh_backward", "topological_sort", "backward"]),
    ("06_optimizers", "Optimizers", ["SGD", "Adam", "AdamW"]),
    ("07_training", "Training", ["clip_grad_norm_", "cosine_lr", "train_one_epoch", "evaluate"]),
    ("08_dataloader", "DataLoader", ["TensorDataset", "collate", "DataLoader", "shift_images"]),
    ("09_convolutions", "Convolutions", ["conv2d_loops", "im2col", "conv2d_im2col", "col2im", "conv2d_backward",
                                         "max_pool2d", "max_pool2d_backward"]),
    ("10_tokenization", "Tokenization", ["CharTokenizer", "get_pair_counts", "merge", "train_bpe", "bpe_encode",
                                         "bpe_decode"]),
    ("11_embeddings", "Embeddings", ["scatter_add_rows", "embedding", "sinusoidal_positions"]),
    ("12_attention", "Attention", ["scaled_dot_product_attention", "multi_head_attention"]),
    ("13_transformers", "Transformers", ["layer_norm", "transformer_block", "sample_next_token"]),
    ("14_profiling", "Profiling", ["count_parameters", "linear_flops", "conv2d_flops", "measure_latency",
                                   "amdahl_speedup"]),
    ("15_quantization", "Quantization", ["calculate_qparams", "quantize", "dequantize", "QuantizedLinear"]),
    ("16_compression", "Compression", ["magnitude_prune", "structured_prune", "low_rank_factorize",
                                       "distillation_loss"]),
    ("17_memoization", "Memoization", ["KVCache", "attend_one_token", "kv_cache_bytes"]),
    ("18_acceleration", "Acceleration", ["matmul_tiled", "bias_gelu", "update_scale"]),
    ("19_benchmarking", "Benchmarking", ["summarize", "pareto_front"]),
    ("20_capstone", "Capstone", ["run_pipeline", "stage_report"]),
]

# The framework components a later notebook or a milestone can take from you: name ->
# (module stem, check name, tinytorch's implementation with the same interface).
COMPONENTS = {
    "Linear": ("03_layers", "linear", "tinytorch.nn:Linear"),
    "Sequential": ("03_layers", "sequential", "tinytorch.nn:Sequential"),
    "Dropout": ("03_layers", "dropout", "tinytorch.nn:Dropout"),
    "SGD": ("06_optimizers", "SGD", "tinytorch.optim:SGD"),
    "Adam": ("06_optimizers", "Adam", "tinytorch.optim:Adam"),
    "AdamW": ("06_optimizers", "AdamW", "tinytorch.optim:AdamW"),
    "TensorDataset": ("08_dataloader", "TensorDataset", "tinytorch.data:TensorDataset"),
    "DataLoader": ("08_dataloader", "DataLoader", "tinytorch.data:DataLoader"),
    "CharTokenizer": ("10_tokenization", "CharTokenizer", "tinytorch.text:CharTokenizer"),
    "Embedding": ("11_embeddings", "embedding", "tinytorch.nn:Embedding"),
    "scaled_dot_product_attention": ("12_attention", "scaled_dot_product_attention",
                                     "tinytorch.nn.functional:scaled_dot_product_attention"),
    "MultiHeadAttention": ("12_attention", "multi_head_attention",
                           "tinytorch.checks.attention:ReferenceMultiHeadAttention"),
    "LayerNorm": ("13_transformers", "layer_norm", "tinytorch.nn:LayerNorm"),
    "TransformerBlock": ("13_transformers", "transformer_block", "tinytorch.nn:TransformerBlock"),
}

_current_notebook = None  # set by check_release(), the first code cell of every course notebook


class SaveError(Exception):
    """The implementation cannot be saved as a file that runs on its own (the message says why)."""


class LoadError(Exception):
    """A saved file does not give a working implementation (the message says why)."""


# --------------------------------------------------------------------------------------------
# Where things are kept
# --------------------------------------------------------------------------------------------

def home() -> Path:
    """The folder holding your saved implementations and progress.json."""
    configured = os.environ.get("TINYTORCH_HOME")
    if configured:
        return Path(configured).expanduser()
    if is_browser() and DRIVE.is_dir():
        return DRIVE / BROWSER_FOLDER
    return Path.home() / ".tinytorch"


def _shown(path: Path) -> str:
    """A path as the learner finds it: relative to the file browser's root in the browser."""
    try:
        return path.relative_to(DRIVE).as_posix() if is_browser() else str(path)
    except ValueError:
        return str(path)


def _in_kernel() -> bool:
    ipython = sys.modules.get("IPython")
    return bool(ipython and getattr(ipython, "get_ipython", lambda: None)() is not None)


def persisting() -> bool:
    """Whether check outcomes are written to progress.json: in a notebook (browser or local
    Jupyter) or when TINYTORCH_HOME is set; not in plain scripts or the library's tests."""
    if os.environ.get("TINYTORCH_HOME"):
        return True
    if is_browser():
        return DRIVE.is_dir()
    return _in_kernel()


def _now() -> str:
    return datetime.datetime.now().strftime("%Y-%m-%d %H:%M")


def _read_state() -> dict:
    path = home() / STATE_FILE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    if not isinstance(state, dict):
        state = {}
    state.setdefault("checks", {})
    state.setdefault("saved", {})
    return state


def _write_state(state: dict) -> None:
    folder = home()
    folder.mkdir(parents=True, exist_ok=True)
    path, text = folder / STATE_FILE, json.dumps(state, indent=1, sort_keys=True) + "\n"
    if is_browser():
        # Overwriting a .json file in JupyterLite's drive leaves the kernel busy forever
        # (jupyterlite/xeus#272, Pyodide kernel too); writing a new one works.
        path.unlink(missing_ok=True)
        path.write_text(text, encoding="utf-8")
    else:
        partial = path.with_name(path.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)


def _notebook() -> str | None:
    """The notebook running this code, when known (course notebooks say it in their first cell)."""
    if _current_notebook:
        return _current_notebook
    session = os.environ.get("JPY_SESSION_NAME")  # set by Jupyter Server for local kernels
    return Path(session).name if session else None


def record_check(name: str, passed: bool) -> None:
    """Called by tinytorch.checks after every check: keep its outcome in progress.json."""
    if not persisting():
        return
    try:
        state = _read_state()
        entry = {"passed": bool(passed), "time": _now()}
        if _notebook():
            entry["notebook"] = _notebook()
        state["checks"][name] = entry
        _write_state(state)
    except OSError:
        pass  # a read-only or full storage must never break a check


# --------------------------------------------------------------------------------------------
# Saving: the definition, the imports and helpers it needs, as one file that runs on its own
# --------------------------------------------------------------------------------------------

def _history() -> list[str]:
    """The source of every cell run in this kernel, oldest first (IPython's `In`)."""
    main = sys.modules.get("__main__")
    cells = getattr(main, "In", None)
    if not isinstance(cells, list):
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython and hasattr(ipython, "get_ipython") else None
        cells = shell.user_ns.get("In", []) if shell is not None else []
    return [cell for cell in cells if isinstance(cell, str)]


def _own_functions(cls: type) -> list[types.FunctionType]:
    """The functions written inside the body of `cls` (methods, static/class methods, properties)."""
    found = []
    for value in vars(cls).values():
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, property):
            found += [f for f in (value.fget, value.fset, value.fdel) if f is not None]
        elif isinstance(value, types.FunctionType):
            found.append(value)
    prefix = cls.__qualname__ + "."
    return [f for f in found if f.__qualname__.startswith(prefix) and isinstance(f, types.FunctionType)]


def _definition_in(text: str, name: str, line: int | None = None) -> str | None:
    """The source of the top-level `def name`/`class name` in `text` (containing `line`, if given)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    lines = text.splitlines(keepends=True)
    found = None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            if line is None or start <= line <= node.end_lineno:
                found = "".join(lines[start - 1:node.end_lineno])
    return found


def _source_of(obj) -> str:
    """The source of a function or class defined in a notebook cell."""
    name = obj.__name__
    functions = _own_functions(obj) if isinstance(obj, type) else [inspect.unwrap(obj)]
    for function in functions:
        code = getattr(function, "__code__", None)
        if code is None:
            continue
        text = "".join(linecache.getlines(code.co_filename))
        source = _definition_in(text, name, code.co_firstlineno) if text else None
        if source:
            return source
    for cell in reversed(_history()):  # e.g. a class without methods
        source = _definition_in(cell, name)
        if source:
            return source
    raise SaveError(f"its source code was not found (define {name} with `def` or `class` in a notebook cell)")


def _global_names(source: str) -> dict[str, int]:
    """Names `source` reads from the module's globals -> the first line that uses each."""
    table = symtable.symtable(source, "<saved>", "exec")
    module_bound = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    wanted = set()

    def walk(scope, top):
        for symbol in scope.get_symbols():
            if not symbol.is_referenced():
                continue
            if top and not (symbol.is_assigned() or symbol.is_imported()):
                wanted.add(symbol.get_name())
            elif not top and symbol.is_global() and not symbol.is_declared_global():
                wanted.add(symbol.get_name())
        for child in scope.get_children():
            walk(child, False)

    walk(table, True)
    wanted -= module_bound
    first = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and node.id in wanted:
            first[node.id] = min(first.get(node.id, node.lineno), node.lineno)
    return {name: first.get(name, 1) for name in sorted(wanted)}


def _is_literal(value) -> bool:
    if isinstance(value, (bool, int, float, complex, str, bytes, type(None))):
        return True
    if isinstance(value, (tuple, list, frozenset, set)):
        return all(_is_literal(v) for v in value)
    if isinstance(value, dict):
        return all(_is_literal(k) and _is_literal(v) for k, v in value.items())
    return False


def _public_import(value, alias: str) -> str | None:
    """`from tinytorch.nn import Linear`-style import giving `value` as `alias`, if there is one:
    the shortest public module path that has it."""
    if isinstance(value, types.ModuleType):
        module = value.__name__
        if module == alias:
            return f"import {module}"
        return f"import {module} as {alias}"
    module, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
    if not module or not qualname or "." in qualname or "<" in qualname or module == "__main__":
        return None
    parts = module.split(".")
    for end in range(1, len(parts) + 1):
        candidate = ".".join(parts[:end])
        if any(part.startswith("_") for part in parts[1:end]) and end < len(parts):
            continue
        try:
            if getattr(importlib.import_module(candidate), qualname, None) is value:
                return f"from {candidate} import {qualname}" + ("" if qualname == alias else f" as {alias}")
        except Exception:  # noqa: BLE001 - an unimportable prefix is simply skipped
            continue
    return None


def _namespace_of(obj) -> dict:
    if isinstance(obj, type):
        functions = _own_functions(obj)
        if functions:
            return functions[0].__globals__
        return vars(sys.modules.get(obj.__module__, sys.modules["__main__"]))
    return inspect.unwrap(obj).__globals__


def _is_notebook_definition(value, namespace) -> bool:
    return (isinstance(value, (type, types.FunctionType))
            and getattr(value, "__module__", None) == namespace.get("__name__", "__main__")
            and "<" not in getattr(value, "__qualname__", "<"))


def build_source(obj, name: str | None = None) -> str:
    """The text of a file that defines `obj` (as `name`) on its own: the imports it needs, the
    constants it reads, the notebook's functions and classes it uses, then its definition."""
    name = name or obj.__name__
    namespace = _namespace_of(obj)
    imports, constants, definitions, aliases = [], [], {}, []
    visiting = set()

    def include(value, alias, depth=0):
        key = id(value)
        if key in visiting:
            return
        visiting.add(key)
        source = _source_of(value)
        for needed, line in _global_names(source).items():
            if needed == value.__name__:
                continue
            resolve_name(needed, line, value.__name__, depth)
        definitions[value.__name__] = source  # after its dependencies: bases are defined first

    def resolve_name(needed, line, user, depth):
        if needed not in namespace:
            if hasattr(builtins, needed):
                return
            raise SaveError(f"{user} uses `{needed}` (line {line} of its cell), which is not defined "
                            f"in this notebook")
        value = namespace[needed]
        if hasattr(builtins, needed) and getattr(builtins, needed) is value:
            return
        if _is_notebook_definition(value, namespace):
            include(value, needed, depth + 1)
            if needed != value.__name__:
                aliases.append(f"{needed} = {value.__name__}")
            return
        statement = _public_import(value, needed)
        if statement:
            imports.append(statement)
        elif _is_literal(value):
            constants.append(f"{needed} = {value!r}")
        else:
            raise SaveError(f"{user} uses `{needed}` (a {type(value).__name__} made in the notebook); only "
                            f"imports, functions, classes and plain constants can be saved with it")

    include(obj, name)
    if name != obj.__name__:
        aliases.append(f"{name} = {obj.__name__}")
    plain = sorted({s for s in imports if s.startswith("import ")})
    grouped = {}  # from-imports of one module on one line
    for statement in sorted({s for s in imports if s.startswith("from ")}):
        module, _, names = statement[len("from "):].partition(" import ")
        grouped.setdefault(module, []).append(names)
    froms = [f"from {module} import {', '.join(names)}" for module, names in grouped.items()]
    blocks = ["\n".join(plain + froms)] if imports else []
    if constants:
        blocks.append("\n".join(sorted(set(constants))))
    main = definitions.pop(obj.__name__)
    blocks += [text.rstrip("\n") for text in definitions.values()]
    if aliases:
        blocks.append("\n".join(dict.fromkeys(aliases)))
    blocks.append(main.rstrip("\n"))
    return "\n\n\n".join(block for block in blocks if block) + "\n"


def _header(name: str, check: str, notebook: str | None) -> str:
    where = f" from {notebook}" if notebook else ""
    return (f"# Your {name}, {MARKER}{where} on {_now()}, after check {check!r} passed.\n"
            f"# Later notebooks and the milestones load it with `from tinytorch.mine import {name}`.\n"
            f"# You may edit it (it is checked again when loaded) or delete it (tinytorch's is used then).\n\n")


def _body(text: str) -> str:
    """A saved file without its header comment."""
    lines = text.splitlines(keepends=True)
    while lines and (lines[0].startswith("#") or not lines[0].strip()):
        lines.pop(0)
    return "".join(lines)


def _digest(text: str) -> str:
    return hashlib.sha256(_body(text).encode("utf-8")).hexdigest()[:16]


def _reference_path(reference) -> str | None:
    statement = _public_import(reference, getattr(reference, "__name__", "x")) if reference is not None else None
    if not statement or not statement.startswith("from "):
        return None
    module, _, rest = statement[len("from "):].partition(" import ")
    return f"{module}:{rest.split(' as ')[0]}"


def save(obj, check: str | None = None, *, name: str | None = None, reference=None, quiet: bool = False):
    """Save your implementation `obj` (a function or class defined in a notebook) once its check
    has passed in this session, as `<home>/<name>.py`; later notebooks and the milestones get it
    with `from tinytorch.mine import <name>`. Prints one line saying what happened; returns the
    file's path, or None when nothing was saved (check not passed, source not found, ...)."""
    from .checks import core

    name = name or getattr(obj, "__name__", None)
    if not name:
        return _said(quiet, f"not saved: {obj!r} has no name")
    if check is None:
        check = COMPONENTS.get(name, (None, name))[1]
    outcome = core.results.get(check)
    if not outcome:
        state = "failed" if check in core.results else "has not been run yet"
        return _said(quiet, f"{name} not saved: its check ({check}) {state} in this session")
    checked = core.checked.get(check)
    if checked is not None and isinstance(checked[1], (type, types.FunctionType)) and checked[1] is not obj:
        return _said(quiet, f"{name} not saved: it is not the {name} that passed check {check} "
                            f"(run its check cell again)")
    try:
        body = build_source(obj, name)
        _load_source(body, name, "<saved>")
    except (SaveError, LoadError) as error:
        return _said(quiet, f"{name} not saved: {error}")
    except Exception as error:  # noqa: BLE001 - saving must never break a notebook
        return _said(quiet, f"{name} not saved: {type(error).__name__}: {error}")
    path = home() / f"{name}.py"
    try:
        existing = path.read_text(encoding="utf-8") if path.exists() else None
    except OSError:
        existing = None
    state = _read_state()
    if existing is not None and _body(existing) == body and name in state["saved"]:
        return path if quiet else _said(False, f"{name} is saved in {_shown(path)} (unchanged)", path)
    notebook = _notebook() or _module_notebook(check)
    text = _header(name, check, notebook) + body
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        entry = {"check": check, "time": _now(), "digest": _digest(text)}
        if checked is not None:
            entry["check_function"] = checked[0]
        if notebook:
            entry["notebook"] = notebook
        reference_path = _reference_path(reference) or COMPONENTS.get(name, (None, None, None))[2]
        if reference_path:
            entry["reference"] = reference_path
        state["saved"][name] = entry
        _write_state(state)
    except OSError as error:
        return _said(quiet, f"{name} not saved: {error}")
    if not quiet:
        print(f"Saved your {name} in {_shown(path)}: later notebooks and the milestones get it with "
              f"`from tinytorch.mine import {name}`.")
    return path


def _said(quiet, message, value=None):
    if not quiet:
        print(message)
    return value


def autosave(check: str, yours, reference) -> str:
    """For yours_or_reference: save `yours` quietly; a short note for its message ('' if unchanged)."""
    if not persisting() or not isinstance(yours, (type, types.FunctionType)):
        return ""
    name = yours.__name__
    path = home() / f"{name}.py"
    try:
        before = path.read_text(encoding="utf-8") if path.exists() else None
    except OSError:
        before = None
    result = save(yours, check, name=name, reference=reference, quiet=True)
    if result is None:
        return ""
    try:
        after = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    return "" if after == before else f" Saved as {_shown(path)} for later notebooks and the milestones."


def _module_notebook(check: str) -> str | None:
    for stem, _, checks in MODULES:
        if check in checks:
            return f"modules/{stem}.ipynb"
    return None


# --------------------------------------------------------------------------------------------
# Loading: yours if it is saved and works, else tinytorch's, with one line saying which
# --------------------------------------------------------------------------------------------

def _load_source(source: str, name: str, filename: str):
    """Run a saved file in a namespace of its own; return its `name`, or raise LoadError."""
    try:
        code = compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as error:
        raise LoadError(f"SyntaxError: {error.msg} (line {error.lineno})") from None
    namespace = {"__name__": f"my_tinytorch.{name}", "__file__": filename, "__builtins__": builtins}
    try:
        exec(code, namespace)
    except Exception as error:  # noqa: BLE001 - any error in the learner's file is reported
        line = _error_line(error, filename)
        raise LoadError(f"{type(error).__name__}: {error}" + (f" (line {line})" if line else "")) from None
    if name not in namespace:
        raise LoadError(f"it does not define {name}")
    for missing, line in _global_names(source).items():
        if missing not in namespace and not hasattr(builtins, missing):
            raise LoadError(f"NameError: name {missing!r} is not defined (line {line})")
    return namespace[name]


def _error_line(error: BaseException, filename: str) -> int | None:
    line = None
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == filename:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _reference(name: str, entry: dict | None):
    path = (entry or {}).get("reference") or COMPONENTS.get(name, (None, None, None))[2]
    if not path:
        return None
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def _recheck(obj, entry: dict) -> str | None:
    """Run the check again on an edited file; None if it passes, else its first report line."""
    from . import checks

    function = getattr(checks, entry.get("check_function") or f"check_{entry.get('check', '')}", None)
    if function is None:
        return None
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            function(obj)
    except checks.CheckFailed as failure:
        return str(failure).splitlines()[0]
    except Exception as error:  # noqa: BLE001
        return f"{type(error).__name__}: {error}"
    return None


def resolve(name: str):
    """(implementation, one-line explanation) for `name`: yours if saved and working, else tinytorch's."""
    state = _read_state()
    entry = state["saved"].get(name)
    path = home() / f"{name}.py"
    module = (entry or {}).get("notebook") or _module_notebook(COMPONENTS.get(name, ("", ""))[1] if name in COMPONENTS else "")
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else None
    except OSError as error:
        text, unreadable = None, error
    else:
        unreadable = None
    reference = None
    try:
        reference = _reference(name, entry)
    except Exception:  # noqa: BLE001
        reference = None
    if text is None:
        if reference is None:
            raise AttributeError(f"tinytorch.mine has no {name}: you have not saved one, and it is not one of "
                                 f"the course's components ({', '.join(COMPONENTS)})")
        if unreadable:
            why = f"cannot read {_shown(path)}: {unreadable}"
        elif module:
            why = f"yours is not saved yet: {module} saves it once its check passes"
        else:
            why = "yours is not saved yet"
        return reference, f"{name}: tinytorch's ({why})"
    try:
        obj = _load_source(text, name, str(path))
    except LoadError as error:
        if reference is None:
            raise ImportError(f"{name}: your {_shown(path)} failed to load: {error}") from None
        return reference, (f"{name}: tinytorch's; your {_shown(path)} failed to load: {error} "
                           f"(the file is left as it is)")
    edited = entry is None or entry.get("digest") != _digest(text)
    if edited and entry is not None:
        failure = _recheck(obj, entry)
        if failure and reference is not None:
            return reference, (f"{name}: tinytorch's; your edited {_shown(path)} fails its check: {failure} "
                               f"(the file is left as it is)")
        return obj, f"{name}: yours ({_shown(path)}, edited after saving; check {entry.get('check')} passes)"
    saved = f", saved {entry['time']}" if entry and entry.get("time") else ""
    return obj, f"{name}: yours ({_shown(path)}{saved})"


def load(name: str, quiet: bool = False):
    """Your `name` if saved and working, else tinytorch's; prints one line saying which."""
    obj, message = resolve(name)
    if not quiet:
        print(message)
    return obj


def __getattr__(name: str):
    """`from tinytorch.mine import Linear`: see load()."""
    if name.startswith("_"):
        raise AttributeError(name)
    try:
        return load(name)
    except AttributeError as error:
        print(error)  # `from ... import` replaces the message with a generic one
        raise


# --------------------------------------------------------------------------------------------
# Progress, status, clearing
# --------------------------------------------------------------------------------------------

def _saved_files() -> dict[str, Path]:
    """Files in home() that tinytorch saved (progress.json entries or the header marker)."""
    folder = home()
    state = _read_state()
    found = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.py")):
            try:
                first = path.read_text(encoding="utf-8").split("\n", 1)[0]
            except OSError:
                first = ""
            if path.stem in state["saved"] or MARKER in first:
                found[path.stem] = path
    return found


def status() -> None:
    """Print, for every framework component, which implementation `from tinytorch.mine import ...`
    gives, then the names of your other saved functions and classes."""
    others = [name for name in _saved_files() if name not in COMPONENTS]
    print(f"Your saved implementations: {_shown(home())}")
    for name in COMPONENTS:
        output = io.StringIO()
        try:
            with contextlib.redirect_stdout(output):
                _, message = resolve(name)
        except (AttributeError, ImportError) as error:
            message = f"{name}: {error}"
        print("  " + message)
    if others:
        print(f"Also saved (imported the same way): {', '.join(others)}")


def progress_rows() -> list[dict]:
    """Per module: module stem, title, passing/total checks, the failing and not-run checks and
    the saved implementations (yours), from progress.json."""
    state = _read_state()
    checks, saved = state["checks"], _saved_files()
    by_check = {entry.get("check"): name for name, entry in state["saved"].items() if name in saved}
    rows = []
    for stem, title, names in MODULES:
        rows.append({
            "module": stem, "title": title, "total": len(names),
            "passing": sum(bool(checks.get(n, {}).get("passed")) for n in names),
            "failing": [n for n in names if n in checks and not checks[n].get("passed")],
            "not_run": [n for n in names if n not in checks],
            "yours": [by_check[n] for n in names if n in by_check],
        })
    return rows


def progress() -> None:
    """Print, per module, how many of its checks pass (latest outcome) and which of its
    implementations are saved as yours."""
    state = _read_state()
    rows = progress_rows()
    print(f"Your progress (from {_shown(home() / STATE_FILE)})\n")
    for row in rows:
        notes = []
        if row["failing"]:
            notes.append("failing: " + ", ".join(row["failing"]))
        if row["not_run"]:
            notes.append("not started" if len(row["not_run"]) == row["total"] else "not run: " + ", ".join(row["not_run"]))
        if row["yours"]:
            notes.append("yours: " + ", ".join(row["yours"]))
        mark = "done" if row["passing"] == row["total"] else f"{row['passing']}/{row['total']}"
        print(f"  {row['module'][:2]} {row['title']:<14s} {mark:>5s}  " + "; ".join(notes))
    known = {name for _, _, names in MODULES for name in names}
    others = sorted(set(state["checks"]) - known)
    if others:
        print("\n  other checks: " + ", ".join(
            f"{n} {'passes' if state['checks'][n].get('passed') else 'fails'}" for n in others))
    saved = _saved_files()
    print(f"\n{sum(r['passing'] for r in rows)} of {sum(r['total'] for r in rows)} checks pass. "
          f"Saved in {_shown(home())}: {len(saved)} implementation{'' if len(saved) == 1 else 's'} of yours.")


def clear(name: str | None = None, *, progress: bool = False) -> list[str]:
    """Delete your saved `name` (or, without a name, every implementation tinytorch saved);
    with `progress=True` also forget the recorded check outcomes. Other files in the folder
    are never touched. Returns the names removed."""
    state = _read_state()
    files = _saved_files()
    targets = [name] if name is not None else list(files)
    removed = []
    for target in targets:
        path = files.get(target)
        if path is not None:
            path.unlink()
            removed.append(target)
        state["saved"].pop(target, None)
    if progress:
        state["checks"] = {}
    if removed or progress or name in state["saved"]:
        _write_state(state)
    elif name is not None and not removed:
        print(f"Nothing to clear: no saved {name} in {_shown(home())}.")
        return removed
    what = ", ".join(removed) if removed else "no saved implementations"
    print(f"Cleared {what}" + (" and the recorded check outcomes" if progress else "")
          + ": tinytorch's implementations are used instead.")
    return removed


# --------------------------------------------------------------------------------------------
# Course releases: is the site's notebook newer than the learner's saved copy?
# --------------------------------------------------------------------------------------------

def _manifest_path() -> Path | None:
    configured = os.environ.get("TINYTORCH_COURSE_MANIFEST")
    if configured:
        return Path(configured)
    if is_browser() and DRIVE.is_dir():
        return DRIVE / MANIFEST_NAME
    return None


def check_release(notebook: str, digest: str) -> None:
    """The first code cell of every course notebook (inserted by the site's build): remembers
    which notebook this is, and says so when the course site has a different (newer) version
    of it than this copy, which the browser keeps from an earlier release. Does nothing else,
    and nothing outside the browser."""
    global _current_notebook
    _current_notebook = notebook
    path = _manifest_path()
    if path is None:
        return
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        current = manifest.get("notebooks", {}).get(notebook)
    except (OSError, ValueError, AttributeError):
        return
    if not current or current == digest:
        return
    stem = Path(notebook).stem
    print(f"Note: the course has a newer version of this notebook. This is the copy your browser saved "
          f"from an earlier release.\n"
          f"To get the new version and keep yours: right-click {Path(notebook).name} in the file browser, "
          f"Rename it (e.g. to {stem}_mine.ipynb), then open {notebook} again.\n"
          f"Or keep working in this copy: nothing changes unless you do that.")
