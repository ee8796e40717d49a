"""`python -m tinytorch`: the `tinytorch` command (see tinytorch.cli)."""

import sys

from .cli import main

sys.exit(main())
