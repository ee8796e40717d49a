"""Setuptools hook (the project's metadata is in pyproject.toml): the wheel carries the course's
student-edition notebooks, made by the site builder's own `write_notebooks`
(tinytorch_site/notebooks.py) from content/ and milestones/, so `tinytorch course` writes
exactly the site's notebooks on a learner's machine. The solutions never enter the wheel.
The builder imports tinytorch (hence numpy and jupytext in pyproject's build requirements)."""

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

REPO = Path(__file__).resolve().parent
COURSE_NOTEBOOKS = "tinytorch/cli/course_notebooks"  # tinytorch.cli.course.PACKAGED


class BuildWithCourse(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout (tinytorch.cli.course)
        sys.path.insert(0, str(REPO))  # the site builder and this tinytorch, from the source tree
        from tinytorch_site.notebooks import write_notebooks

        write_notebooks(Path(self.build_lib) / COURSE_NOTEBOOKS, "student")


setup(cmdclass={"build_py": BuildWithCourse})
