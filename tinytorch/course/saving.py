"""A learner's implementation as a Python file that runs on its own: its definition, the
imports it needs, the constants it reads and the notebook's helpers it calls (`build_source`),
and loading such a file back (`load_source`)."""

from __future__ import annotations

import ast
import builtins
import hashlib
import importlib
import inspect
import linecache
import symtable
import sys
import types

from . import storage

MARKER = "saved by tinytorch.mine"


class SaveError(Exception):
    """The implementation cannot be saved as a file that runs on its own (the message says why)."""


class LoadError(Exception):
    """A saved file does not give a working implementation (the message says why)."""


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


def global_names(source: str) -> dict[str, int]:
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


def public_import(value, alias: str) -> str | None:
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
    if module == f"my_tinytorch.{qualname}":  # another of the learner's saved components (see load_source)
        return f"from tinytorch.mine import {qualname}" + ("" if qualname == alias else f" as {alias}")
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
        for needed, line in global_names(source).items():
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
        statement = public_import(value, needed)
        if statement:
            imports.append(statement)
        elif _is_literal(value):
            constants.append(f"{needed} = {value!r}")
        else:
            raise SaveError(f"{user} uses `{needed}` (a {type(value).__name__} made in the notebook); only "
                            f"imports, functions, classes and plain constants can be saved with it")

    include(obj, name)
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
    if name != obj.__name__:  # saved under the exercise's name: after the definition it names
        blocks.append(f"{name} = {obj.__name__}")
    return "\n\n\n".join(block for block in blocks if block) + "\n"


def header(name: str, notebook: str | None, when: str) -> str:
    """The comment at the top of a saved file: what it is, and what the learner may do with it."""
    where = f" from {notebook}" if notebook else ""
    return (f"# Your {name}, {MARKER}{where} on {when}, after its check passed.\n"
            f"# tinytorch uses it in place of its own after `tinytorch.mine.use()`; "
            f"`from tinytorch.mine import {name}` gives it too.\n"
            f"# You may edit it (it is checked again when used) or delete it (tinytorch's is used then).\n\n")


def body(text: str) -> str:
    """A saved file without its header comment."""
    lines = text.splitlines(keepends=True)
    while lines and (lines[0].startswith("#") or not lines[0].strip()):
        lines.pop(0)
    return "".join(lines)


def digest(text: str) -> str:
    return hashlib.sha256(body(text).encode("utf-8")).hexdigest()[:16]


def load_source(source: str, name: str, filename: str):
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
    for missing, line in global_names(source).items():
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


def write(name: str, obj, notebook: str | None) -> tuple[str, object]:
    """Save `obj` (defined in a notebook) as `<home>/<name>.py` and note it in progress.json.

    Returns (what happened: "saved", "unchanged" or "not saved: <why>", the path or None).
    The caller makes sure `obj` is what passed the check of `name`.
    """
    try:
        text_body = build_source(obj, name)
        load_source(text_body, name, "<saved>")
    except (SaveError, LoadError) as error:
        return f"not saved: {error}", None
    except Exception as error:  # noqa: BLE001 - saving must never break a notebook
        return f"not saved: {type(error).__name__}: {error}", None
    path = storage.home() / f"{name}.py"
    try:
        existing = path.read_text(encoding="utf-8") if path.exists() else None
    except OSError:
        existing = None
    state = storage.read_state()
    if existing is not None and body(existing) == text_body and name in state["saved"]:
        return "unchanged", path
    text = header(name, notebook, storage.now()) + text_body
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        entry = {"time": storage.now(), "digest": digest(text)}
        if notebook:
            entry["notebook"] = notebook
        state["saved"][name] = entry
        storage.write_state(state)
    except OSError as error:
        return f"not saved: {error}", None
    return "saved", path
