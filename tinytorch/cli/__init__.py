"""The `tinytorch` command (console script of the wheel; also `python -m tinytorch`): the
local side of the course, like TinyTorch's `tito`. Course layer: the framework never imports it.

    tinytorch course [DIR] [--work ARCHIVE]   the course notebooks, with your browser work merged in
    tinytorch import ARCHIVE                  restore a work archive (framework, progress, notebooks)
    tinytorch export [ARCHIVE]                your local work as an archive the course site imports
    tinytorch progress                        your progress table
    tinytorch milestone NN                    run a milestone on your framework
    tinytorch doctor                          what is installed and missing
    tinytorch grade ARCHIVE...                instructors: run every check on learners' archives, CSV

In a notebook (the course site included): `tinytorch.cli.download_work()` offers your work as
a download; `tinytorch.cli.import_work("tinytorch-work.zip")` restores an uploaded archive.
"""

from __future__ import annotations

import argparse
import sys

from .archive import download_work, export_work, import_work, make_work_archive

__all__ = ["main", "download_work", "export_work", "import_work", "make_work_archive"]


def parser() -> argparse.ArgumentParser:
    from . import archive_commands, course, doctor, grade, run

    top = argparse.ArgumentParser(prog="tinytorch", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    course.add_parser(commands)
    archive_commands.add_parsers(commands)
    run.add_parsers(commands)
    doctor.add_parser(commands)
    grade.add_parser(commands)
    return top


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except (OSError, ValueError) as error:  # a missing file, a file that is not an archive, ...
        print(f"tinytorch {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0
