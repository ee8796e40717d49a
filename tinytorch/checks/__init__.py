"""Exercise checks: the notebooks call these on the learner's own code.

Each check runs the learner's function or class on varied inputs (edge cases included),
compares with tinytorch's own implementation, prints `PASS name: ...` or a `FAIL` report naming
the input, expected and got values and a hint, and raises `CheckFailed` on failure.

Every check is declared as an exercise of the course (tinytorch.course.registry) in its
module's file; this package exports all of them, `check_<name>` as each file defines it.
"""

from ..course import registry
from . import (  # noqa: F401  (one file per course module, in course order: importing them declares the exercises)
    tensor, activations, layers, losses, autograd, optim, training, data, conv, text, embeddings,
    attention, transformer, profiling, quantization, compression, memoization, acceleration, benchmarking,
)
from .core import CheckFailed, assert_close, check_function, hint, results, yours_or_reference  # noqa: F401

globals().update({e.check.__name__: e.check for e in registry.EXERCISES.values()})
__all__ = ["CheckFailed", "assert_close", "check_function", "hint", "results", "yours_or_reference",
           *(e.check.__name__ for e in registry.EXERCISES.values())]
