"""Every exercise of the course, declared once, beside its check:

    exercise = registry.module("05_autograd", "Autograd")

    @exercise("relu_backward", seam="relu_backward")
    def check_relu_backward(relu_backward): ...

An exercise that implements a piece of the framework is a *component*: tinytorch has its own
implementation of it, named by `seam=` (where tinytorch calls it, see tinytorch.seams) or by
`tinytorch=` ("module:attribute"), and the learner's replaces it once its check passes
(`tinytorch.mine.use()`). The module table, the component table, the exports of
tinytorch.checks and which check to run again on a saved file all derive from these
declarations; a check hands the object it tested to `progress.record` itself.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from dataclasses import dataclass
from typing import Callable

from .. import seams
from . import progress


class CheckFailed(AssertionError):
    """The learner's implementation disagrees with tinytorch's (the message says where)."""

    def _render_traceback_(self):
        """What IPython and Jupyter show in place of a traceback: the report, once (the cell
        still fails: the exception is raised as usual)."""
        first, *rest = str(self).splitlines() or [""]
        return [f"\x1b[1;31m{first}\x1b[0m", *rest]


@dataclass(frozen=True)
class Exercise:
    name: str  # the component's name: saved as my_tinytorch/<name>.py, `use("<name>")`
    module: str  # the notebook's stem, e.g. "05_autograd"
    check: Callable  # the check, as the notebooks call it
    seam: str | None = None  # where tinytorch calls this piece (tinytorch.seams)
    tinytorch_path: str | None = None  # "module:attribute" of tinytorch's implementation
    interface: str | None = None  # what the learner implements, e.g. "relu_backward(grad, x) -> grad_x"

    @property
    def is_component(self) -> bool:
        """True when the exercise implements a piece of the framework that tinytorch also has."""
        return self.seam is not None or self.tinytorch_path is not None

    @property
    def notebook(self) -> str:
        return f"modules/{self.module}.ipynb"

    def tinytorch(self):
        """tinytorch's own implementation of this component."""
        if self.seam is not None:
            return seams.tinytorch(self.seam)
        if self.tinytorch_path is None:
            raise LookupError(f"{self.name} is an exercise of {self.module}, not a component of the framework")
        module, _, attribute = self.tinytorch_path.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def signature(self) -> str:
        """The interface the learner implements (declared, or tinytorch's signature)."""
        if self.interface:
            return self.interface
        try:
            return f"{self.name}{inspect.signature(self.tinytorch())}"
        except (LookupError, TypeError, ValueError):
            return self.name


EXERCISES: dict[str, Exercise] = {}  # name -> Exercise, in declaration (= course) order
MODULES: dict[str, str] = {}  # notebook stem -> title


def module(stem: str, title: str):
    """The `exercise` decorator of one module's checks (the module's checks file calls this once)."""
    MODULES[stem] = title

    def exercise(name: str, *, seam: str | None = None, tinytorch: str | None = None,
                 interface: str | None = None):
        def declare(check):
            if name in EXERCISES:
                raise ValueError(f"exercise {name!r} is declared twice ({EXERCISES[name].module} and {stem})")
            if seam is not None:
                seams.tinytorch(seam)  # an unknown seam is a mistake in the declaration

            @functools.wraps(check)
            def run(learner, *args, **kwargs):
                try:
                    with seams.tinytorch_only():
                        result = check(learner, *args, **kwargs)
                except Exception:
                    progress.record(entry, learner, passed=False)
                    raise
                progress.record(entry, learner, passed=True)
                return result

            entry = Exercise(name, stem, run, seam, tinytorch, interface)
            EXERCISES[name] = entry
            run.exercise = entry
            return run
        return declare
    return exercise


def modules() -> list[tuple[str, str, list[str]]]:
    """(notebook stem, title, exercise names) per module, in course order."""
    return [(stem, title, [e.name for e in EXERCISES.values() if e.module == stem])
            for stem, title in sorted(MODULES.items())]


def components() -> dict[str, Exercise]:
    """The exercises that implement a piece of the framework, by name."""
    return {name: e for name, e in EXERCISES.items() if e.is_component}


def exercise_named(name: str) -> Exercise:
    try:
        return EXERCISES[name]
    except KeyError:
        raise KeyError(f"no exercise named {name!r}; the course's are: {', '.join(EXERCISES)}") from None
