"""Knowledge distillation (Hinton et al., 2015): a student learns from a teacher's soft outputs."""

import numbers

import numpy as np

from ..seams import replaced, seam
from ..tensor import Tensor


def _log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def distillation_loss(student_logits, teacher_logits, targets, temperature=4.0, alpha=0.5):
    """The distillation loss (see _distillation_loss) by the implementation in use (module 16's
    exercise once tinytorch.mine.use() puts the learner's in)."""
    return replaced.get("distillation_loss", _distillation_loss)(student_logits, teacher_logits, targets,
                                                                 temperature, alpha)


@seam("distillation_loss")
def _distillation_loss(student_logits, teacher_logits, targets, temperature=4.0, alpha=0.5):
    """alpha * T^2 * KL(p_teacher || p_student) + (1 - alpha) * cross_entropy(student, targets).

    p = softmax(logits / T): a temperature T > 1 softens both distributions, so the student
    also learns how the teacher ranks the wrong classes. The KL term is averaged over the
    batch (PyTorch's reduction='batchmean') and multiplied by T^2, which keeps its gradient
    scale independent of T. Logits (N, C), targets (N,) class indices. One fused node with
    gradients for both logits (detach the teacher's logits, or compute them under no_grad,
    to train only the student).
    """
    op = "distillation_loss"
    for name, t in (("student_logits", student_logits), ("teacher_logits", teacher_logits)):
        if not isinstance(t, Tensor) or t.ndim != 2:
            shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"{op}: {name} must be a (N, C) Tensor, got {shape}")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"{op}: student_logits {tuple(student_logits.shape)} and teacher_logits "
            f"{tuple(teacher_logits.shape)} must have the same shape"
        )
    n, classes = student_logits.shape
    labels = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{op}: targets must be {n} integer class indices (shape ({n},)), got {labels.dtype} {labels.shape}")
    if n and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{op}: target {labels.max() if labels.max() >= classes else labels.min()} is out of range for {classes} classes")
    for name, value, ok in (("temperature", temperature, lambda v: v > 0), ("alpha", alpha, lambda v: 0 <= v <= 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or not ok(value):
            raise ValueError(f"{op}: {name} must be {'> 0' if name == 'temperature' else 'in [0, 1]'}, got {value!r}")

    s, t, T = student_logits.data, teacher_logits.data, float(temperature)
    log_ps, log_pt = _log_softmax(s / T), _log_softmax(t / T)  # (N, C) softened
    pt = np.exp(log_pt)
    kl = (pt * (log_pt - log_ps)).sum() / n
    log_p = _log_softmax(s)  # (N, C) at temperature 1 for the hard labels
    rows = np.arange(n)
    ce = -log_p[rows, labels].sum() / n
    loss = np.asarray(alpha * T * T * kl + (1 - alpha) * ce, dtype=s.dtype)

    def backward(g):
        # d(T^2 KL)/ds = T (p_s - p_t);  d CE/ds = softmax(s) - onehot
        grad_s = alpha * T * (np.exp(log_ps) - pt)
        hard = np.exp(log_p)
        hard[rows, labels] -= 1
        grad_s = (grad_s + (1 - alpha) * hard) * (g / n)
        # d(T^2 KL)/dt = T p_t (d - sum(p_t d)),  d = log p_t - log p_s
        d = log_pt - log_ps
        grad_t = alpha * T * pt * (d - (pt * d).sum(axis=1, keepdims=True)) * (g / n)
        return grad_s.astype(s.dtype), grad_t.astype(t.dtype)

    return Tensor._result(loss, (student_logits, teacher_logits), backward, "DistillationLossBackward")
