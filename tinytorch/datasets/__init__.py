"""Small datasets that ship inside the package or are generated; nothing is downloaded."""

from .digits import Digits, load_digits
from .synthetic import make_blobs, make_spirals, make_xor, xor_truth_table

__all__ = ["Digits", "load_digits", "make_blobs", "make_spirals", "make_xor", "xor_truth_table"]

from .sequences import (
    IGNORE_INDEX, SequenceTask, addition_task, exact_match_accuracy, make_addition, make_reversal,
    make_sorting, reversal_task, sorting_task,
)
__all__ += ["IGNORE_INDEX", "SequenceTask", "addition_task", "exact_match_accuracy", "make_addition",
            "make_reversal", "make_sorting", "reversal_task", "sorting_task"]
from .corpus import load_corpus
__all__ += ["load_corpus"]
