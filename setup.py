"""Setuptools hook (the project's metadata is in pyproject.toml): the wheel carries the course's
student-edition notebooks, made by the site builder's own `write_notebooks` from content/ and
milestones/, so `tinytorch course` writes exactly the site's notebooks on a learner's machine.
The solutions never enter the wheel."""

import importlib.util
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
        sys.path.insert(0, str(REPO))  # build.py imports the site builder (tinytorch_site) and tinytorch
        spec = importlib.util.spec_from_file_location("tinytorch_build", REPO / "build.py")
        site = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(site)
        site.write_notebooks(Path(self.build_lib) / COURSE_NOTEBOOKS, "student")


setup(cmdclass={"build_py": BuildWithCourse})
