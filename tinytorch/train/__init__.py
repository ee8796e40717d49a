"""Training helpers: the `fit` loop, `evaluate`, `accuracy` and checkpoints."""

from .checkpoint import load_checkpoint, save_checkpoint
from .loop import History, evaluate, fit, format_epoch, train_one_epoch
from .metrics import accuracy

__all__ = ["fit", "evaluate", "train_one_epoch", "History", "format_epoch", "accuracy",
           "save_checkpoint", "load_checkpoint"]
