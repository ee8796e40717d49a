"""`tinytorch import ARCHIVE` and `tinytorch export [ARCHIVE]` (see archive.py)."""

from ..platform import WORK_ARCHIVE
from .archive import export_work, import_work, notebooks_folder
from .course import overwrite_flags


def add_parsers(commands) -> None:
    parser = commands.add_parser("import", help="restore a work archive downloaded from the course site",
                                 description=import_work.__doc__)
    parser.add_argument("archive", metavar="ARCHIVE")
    parser.add_argument("--notebooks", default=None, help=f"notebooks folder (default: {notebooks_folder()})")
    overwrite_flags(parser)
    parser.set_defaults(run=lambda args: import_work(args.archive, args.notebooks, overwrite=args.overwrite))

    parser = commands.add_parser("export", help="your local work as an archive for the course site",
                                 description=export_work.__doc__)
    parser.add_argument("archive", nargs="?", default=WORK_ARCHIVE, metavar="ARCHIVE",
                        help=f"file to write (default: {WORK_ARCHIVE})")
    parser.add_argument("--notebooks", default=None, help=f"notebooks folder (default: {notebooks_folder()})")
    parser.set_defaults(run=lambda args: export_work(args.archive, args.notebooks))
