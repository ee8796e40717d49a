"""The training loop: `fit` a model for some epochs, `evaluate` it, keep a `History`.

One epoch = for each batch: forward, loss, zero_grad, backward, (clip), optimizer step; then
a scheduler step. This is exactly the loop a learner writes by hand; `fit` just adds
bookkeeping (average loss and accuracy, timing, a printed line per epoch).
"""

import math
import time

import numpy as np

from ..grad_mode import no_grad
from ..seams import replaced, seam
from ..tensor import Tensor
from .metrics import class_dim, correct_count


class History:
    """Per-epoch metrics from `fit`: `history["val_accuracy"]` is one value per epoch.

    `records` is the list of per-epoch dicts (keys: epoch, loss, accuracy, val_loss,
    val_accuracy, lr, seconds; the ones that apply) and `last` the latest of them.
    """

    def __init__(self, records=None):
        self.records = list(records or [])

    def append(self, record):
        self.records.append(dict(record))

    def __getitem__(self, name):
        if not any(name in record for record in self.records):
            known = sorted({key for record in self.records for key in record})
            raise KeyError(f"History: no metric {name!r}; recorded: {', '.join(known) or 'none yet'}")
        return [record.get(name) for record in self.records]

    def __len__(self):
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    @property
    def last(self):
        return self.records[-1] if self.records else None

    def __repr__(self):
        keys = list(self.records[0]) if self.records else []
        return f"History({len(self)} epochs: {', '.join(keys)})"


def _batch(batch, op):
    """(inputs, targets) as Tensors from a loader's batch."""
    if not isinstance(batch, (list, tuple)) or len(batch) != 2:
        kind = f"{len(batch)} items" if isinstance(batch, (list, tuple)) else type(batch).__name__
        raise ValueError(f"{op}: each batch must be a pair (inputs, targets), got {kind}")
    return tuple(b if isinstance(b, Tensor) else Tensor(b) for b in batch)


class _Totals:
    """Running sums that turn per-batch losses and counts into epoch averages."""

    def __init__(self):
        self.loss = self.samples = self.correct = self.labels = 0
        self.classification = True

    def add(self, outputs, targets, loss):
        n = targets.shape[0] if targets.ndim else 1
        if loss is not None:
            self.loss += loss * n  # the loss is a batch mean: weight it by the batch size
        self.samples += n
        if self.classification and class_dim(outputs, targets) is not None:
            self.correct += correct_count(outputs, targets)
            self.labels += targets.data.size
        else:
            self.classification = False

    def metrics(self, prefix="", with_loss=True):
        result = {}
        if with_loss and self.samples:
            result[prefix + "loss"] = self.loss / self.samples
        if self.classification and self.labels:
            result[prefix + "accuracy"] = self.correct / self.labels
        return result


def evaluate(model, loader, loss_fn=None):
    """Average loss (if `loss_fn` is given) and accuracy over `loader` (see _evaluate); with a
    loss function, by the implementation in use (a learner's, module 07, or tinytorch's)."""
    if loss_fn is None:
        return _evaluate(model, loader)
    return replaced.get("evaluate", _evaluate)(model, loader, loss_fn)


@seam("evaluate")
def _evaluate(model, loader, loss_fn=None):
    """Average loss (if `loss_fn` is given) and accuracy (for classification) over `loader`.

    Runs in eval mode without recording gradients, then restores the model's mode.
    Returns a dict such as {"loss": 0.12, "accuracy": 0.97}.
    """
    was_training = model.training
    model.eval()
    totals = _Totals()
    try:
        with no_grad():
            for batch in loader:
                inputs, targets = _batch(batch, "evaluate")
                outputs = model(inputs)
                loss = float(loss_fn(outputs, targets).item()) if loss_fn is not None else None
                totals.add(outputs, targets, loss)
    finally:
        model.train(was_training)
    if not totals.samples:
        raise ValueError("evaluate: the loader produced no batches")
    return totals.metrics(with_loss=loss_fn is not None)


def train_one_epoch(model, loss_fn, optimizer, loader, clip_grad_norm=None):
    """One pass over `loader` in training mode; returns {"loss": ..., "accuracy": ...}.

    A learner's `train_one_epoch` (module 07) in use returns the average loss only: then the
    result is {"loss": ...}."""
    mine = replaced.get("train_one_epoch")
    if mine is not None and getattr(mine, "__wrapped__", mine) is not epoch_loss:
        return {"loss": float(mine(model, loss_fn, optimizer, loader, clip_grad_norm))}
    return _train_one_epoch(model, loss_fn, optimizer, loader, clip_grad_norm)


@seam("train_one_epoch")
def epoch_loss(model, loss_fn, optimizer, loader, max_grad_norm=None):
    """The average training loss per sample of one epoch (train_one_epoch with the exercise's
    interface, module 07)."""
    return _train_one_epoch(model, loss_fn, optimizer, loader, max_grad_norm)["loss"]


def _train_one_epoch(model, loss_fn, optimizer, loader, clip_grad_norm=None):
    from ..nn.utils import clip_grad_norm_  # tinytorch.nn imports more than this loop needs

    model.train()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    totals = _Totals()
    for step, batch in enumerate(loader):
        inputs, targets = _batch(batch, "fit")
        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
        value = float(loss.item())
        if not math.isfinite(value):
            raise FloatingPointError(
                f"fit: the loss became {value} at batch {step}; try a smaller learning rate "
                "or clip_grad_norm"
            )
        optimizer.zero_grad()
        loss.backward()
        if clip_grad_norm is not None:
            clip_grad_norm_(params, clip_grad_norm)
        optimizer.step()
        totals.add(outputs, targets, value)
    if not totals.samples:
        raise ValueError("fit: the training loader produced no batches")
    return totals.metrics()


def format_epoch(record, epochs):
    """One plain-text line, e.g. 'epoch  3/10  loss 0.2113  acc 93.75%  ...  0.4s'."""
    width = len(str(epochs))
    parts = [f"epoch {record['epoch']:>{width}}/{epochs}"]
    for key, label in (("loss", "loss"), ("accuracy", "acc"),
                       ("val_loss", "val_loss"), ("val_accuracy", "val_acc")):
        if key in record:
            value = record[key]
            parts.append(f"{label} {value:.2%}" if key.endswith("accuracy") else f"{label} {value:.4f}")
    parts.append(f"lr {record['lr']:.3g}")
    parts.append(f"{record['seconds']:.1f}s")
    return "  ".join(parts)


def fit(model, loss_fn, optimizer, train_loader, epochs, val_loader=None, scheduler=None,
        clip_grad_norm=None, log=print):
    """Train `model` for `epochs` epochs and return the `History` of per-epoch metrics.

    After each epoch: evaluate on `val_loader` (if given), step `scheduler` (if given) and
    call `log` with one line of text (pass `log=None` for silence).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"fit: epochs must be a positive int, got {epochs!r}")
    history = History()
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]  # the rate used during this epoch
        record = {"epoch": epoch, **train_one_epoch(model, loss_fn, optimizer, train_loader, clip_grad_norm)}
        if val_loader is not None:
            val = evaluate(model, val_loader, loss_fn)
            record.update({"val_" + key: value for key, value in val.items()})
        if scheduler is not None:
            scheduler.step()
        record["lr"] = float(lr)
        record["seconds"] = time.perf_counter() - start
        history.append(record)
        if log is not None:
            log(format_epoch(record, epochs))
    return history
