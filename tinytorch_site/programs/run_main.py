"""Loaded by pyodide_run.mjs inside Pyodide: runs a script or module as `__main__`, as
`python SCRIPT` or `python -m MODULE` would, and returns its exit status."""

import os
import runpy
import sys


def run(argv, module: bool, paths) -> int:
    """Run argv[0] (a path, or a module name if `module`) with sys.argv = argv."""
    sys.argv = list(argv)
    # as `python` does: the script's folder, or for -m the working directory, comes first
    sys.path[:0] = [*paths, os.getcwd() if module else os.path.dirname(os.path.abspath(sys.argv[0]))]
    sys.dont_write_bytecode = True  # no __pycache__ written into mounted host folders
    try:
        if module:
            runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(sys.argv[0], run_name="__main__")
    except SystemExit as exit:
        return exit_status(exit.code)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


def exit_status(code) -> int:
    """The process exit status for SystemExit(code), as CPython computes it."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
