"""Run inside the bundled Pyodide at build time (tinytorch_site.in_pyodide): replaces Python
sources by bytecode in copies of the standard library zip and the wheels in FOLDER.

    compile_bytecode.py FOLDER --imports pyodide_kernel,numpy --keep-sources tinytorch

In WebAssembly, compiling source at import is most of the kernel's start-up time. Only the
modules that the given imports load are compiled (bytecode is bigger and compresses worse,
and the site must stay small); they ship as bytecode only, as Pyodide's own compiled builds
do, except in the packages named by --keep-sources, whose sources stay next to their bytecode
so that learners' tracebacks show the code.
"""

import argparse
import importlib
import importlib._bootstrap_external as bootstrap
import importlib.util
import os
import sys
import zipfile

SITE = f"/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages/"
STDLIB = f"/lib/python{sys.version_info[0]}{sys.version_info[1]}.zip/"
STDLIB_ARCHIVE = "python_stdlib.zip"


def loaded_files(imports) -> set[str]:
    """The files of every module that importing `imports` loads."""
    for module in imports:
        importlib.import_module(module)
    return {getattr(m, "__file__", None) for m in list(sys.modules.values())} - {None}


def compile_archive(path: str, prefix: str, used: set[str], keep_source: bool) -> tuple[int, int]:
    """Rewrite the zip at `path` (its members live under `prefix` at run time) with bytecode
    for the members in `used` (all .py members if keep_source); returns (compiled, failed)."""
    out, renamed, failed = {}, {}, 0
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            data = zf.read(info)
            name = info.filename
            if not (name.endswith(".py") and (keep_source or prefix + name in used)):
                out[name] = data
                continue
            try:
                code = compile(data, prefix + name, "exec", dont_inherit=True)
            except (SyntaxError, ValueError):
                failed += 1
                out[name] = data
                continue
            if keep_source:
                out[name] = data
                folder, base = os.path.split(name)
                pyc = os.path.join(folder, "__pycache__", base[:-3] + f".{sys.implementation.cache_tag}.pyc")
                out[pyc] = bytes(bootstrap._code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False))
            else:
                out[name + "c"] = bytes(bootstrap._code_to_timestamp_pyc(code, 0, 0))
                renamed[name] = name + "c"
    if not renamed and not keep_source:
        return 0, 0
    for record in [n for n in out if n.endswith(".dist-info/RECORD")]:
        out[record] = updated_record(out[record], renamed, [n for n in out if "/__pycache__/" in n])
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in out.items():
            zf.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED, 9)
    os.replace(tmp, path)
    return len(renamed), failed


def updated_record(record: bytes, renamed: dict[str, str], added: list[str]) -> bytes:
    """A wheel's RECORD listing each compiled file under its new name, plus `added`
    (pyc entries may omit the hash)."""
    lines = []
    for line in record.decode().splitlines():
        name = line.split(",")[0]
        lines.append(f"{renamed[name]},," if name in renamed else line)
    lines += [f"{name},," for name in added]
    return "".join(f"{line}\n" for line in lines).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", help="holds python_stdlib.zip and the wheels to compile")
    parser.add_argument("--imports", required=True, help="comma-separated modules whose loading is compiled")
    parser.add_argument("--keep-sources", default="", help="comma-separated packages that keep their sources")
    args = parser.parse_args()
    del sys.argv[1:]  # the kernel's IPython application, imported below, parses sys.argv too
    keep_sources = set(filter(None, args.keep_sources.split(",")))
    if "" in sys.path:
        sys.path.remove("")  # the working directory holds nothing to compile
    used = loaded_files(args.imports.split(","))
    for name in sorted(os.listdir(args.folder)):
        path = os.path.join(args.folder, name)
        if name == STDLIB_ARCHIVE:
            compiled, failed = compile_archive(path, STDLIB, used, keep_source=False)
        elif name.endswith(".whl"):
            compiled, failed = compile_archive(path, SITE, used, keep_source=name.split("-")[0] in keep_sources)
        else:
            continue
        print(f"{name}: {compiled} modules compiled" + (f", {failed} left as source" if failed else ""))


if __name__ == "__main__":
    main()
