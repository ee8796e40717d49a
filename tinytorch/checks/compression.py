"""Checks for module 16 (compression): pruning masks, low-rank factorization, distillation loss.

Masks are NumPy bool arrays shaped like the weight, True where a weight is kept (tinytorch's
and PyTorch's convention). The learner's functions are compared with `tinytorch.compression`.
"""

import numpy as np

from .. import grad_mode, nn
from .. import seams
from ..random import manual_seed
from ..tensor import Tensor
from ..course import registry
from .core import add_hints, assert_close, fail, passed, run_learner

# Progressive hints, one tier at a time (`tinytorch.checks.hint(name)`, or a repeated failure):
# the idea, the shapes, the formula in words. Never the code.
add_hints({
    'magnitude_prune': (
        'keep the largest weights by absolute value, drop exactly the requested fraction of the smallest',
        "a boolean mask with the weight's shape; exactly round(amount times size) entries are False, even with ties",
        'rank all entries by |w| (one ranking over the whole array), mark the k smallest as pruned',
    ),
    'structured_prune': (
        'prune whole rows (output units) with the smallest norms, not single weights',
        "one norm per row over all its other axes; the mask is the row decision broadcast to the weight's shape",
        'L1 sums |w| over the row, L2 takes the square root of the sum of squares; mark the k rows with the smallest norms as pruned',
    ),
    'low_rank_factorize': (
        'approximate the weight by a product of two thin matrices from its largest singular values',
        'W (out, in) = U S V^T; keep the first r singular triples: first layer (r, in), second layer (out, r)',
        'first weight = sqrt(S_r) V_r^T, second weight = U_r sqrt(S_r), the bias stays on the second; the error comes from the dropped singular values',
    ),
    'distillation_loss': (
        "mix the usual cross-entropy with a term pulling the student's softened distribution towards the teacher's",
        'both distributions are softmaxes of logits divided by the temperature T, row by row; the KL is averaged over the batch',
        'alpha T^2 KL(p_teacher || p_student) + (1 - alpha) CE(student, labels)',
    ),
})

exercise = registry.module("16_compression", "Compression")


def _expect_mask(name, case, got, shape):
    if not isinstance(got, np.ndarray) or got.dtype != np.bool_:
        kind = f"{got.dtype} array" if isinstance(got, np.ndarray) else type(got).__name__
        fail(name, case, f"expected a bool mask (NumPy array), got {kind}",
             "build the mask with comparisons or np.ones(shape, dtype=bool), True = kept")
    if got.shape != shape:
        fail(name, case, f"expected a mask of the weight's shape {shape}, got shape {got.shape}",
             "the mask has one entry per weight")
    if not got.flags.writeable:
        fail(name, case, "the mask is a read-only view (a broadcast shares one row of memory)",
             "return a copy, an array of its own, so it can be edited like any mask")


# ---------------------------------------------------------------------- magnitude pruning


def _magnitude_cases():
    rng = np.random.default_rng(6)
    return [
        ("random (8, 16), amount 0.5", rng.standard_normal((8, 16)).astype(np.float32), 0.5),
        ("large negative weights are important: (6,), amount 0.5",
         np.array([-5.0, 0.1, -0.2, 3.0, 0.05, -4.0], np.float32), 0.5),
        ("amount 0 keeps everything", rng.standard_normal((3, 4)).astype(np.float32), 0.0),
        ("amount 0.9 of a conv kernel (4, 3, 3, 3)", rng.standard_normal((4, 3, 3, 3)).astype(np.float32), 0.9),
        ("ties: [1, 1, 1, 1, 2, 2], amount 0.5 prunes exactly 3",
         np.array([1.0, 1.0, 1.0, 1.0, 2.0, 2.0], np.float32), 0.5),
        ("half the weights already 0, amount 0.3",
         np.where(rng.random((10, 10)) < 0.5, 0.0, rng.standard_normal((10, 10))).astype(np.float32), 0.3),
        ("amount 0.29 of 100 weights: 29 pruned (0.29 * 100 = 28.999999999999996)",
         rng.standard_normal(100).astype(np.float32), 0.29),
    ]


@exercise("magnitude_prune", seam="magnitude_prune")
def check_magnitude_prune(magnitude_prune):
    """magnitude_prune(weight, amount) -> bool mask: False for the round(amount * size)
    entries of smallest |weight|, True elsewhere. The weight itself is not modified."""
    name = "magnitude_prune"
    cases = _magnitude_cases()
    for case, weight, amount in cases:
        original = weight.copy()
        got = run_learner(name, case, magnitude_prune, weight, amount)
        _expect_mask(name, case, got, weight.shape)
        if not np.array_equal(weight, original):
            fail(name, case, "the weight array was modified", "only compute the mask; the caller applies it")
        count = round(amount * weight.size)
        pruned = int(np.count_nonzero(~got))
        if pruned != count:
            hint = "prune exactly round(amount * weight.size) entries"
            if "ties" in case or "already 0" in case:
                hint = ("a threshold comparison (|w| <= t) prunes every weight tied with the threshold: sort instead, "
                        "ranking all |w| and taking the first k gives exactly k positions")
            elif "0.29" in case:
                hint = "use round(amount * size), not int(...): in floating point 0.29 * 100 = 28.999999999999996"
            elif amount == 0:
                hint = "with amount 0 nothing is pruned (watch out for slices like [:-0] or argpartition with k - 1 = -1)"
            fail(name, case, f"expected {count} of {weight.size} entries pruned (False), got {pruned}", hint)
        magnitude = np.abs(weight)
        if count and count < weight.size and magnitude[~got].max() > magnitude[got].min():
            hint = "rank by magnitude |w|: large negative weights matter as much as large positive ones"
            fail(name, case, f"a pruned weight (|w| = {magnitude[~got].max():.4g}) is larger than a kept one "
                             f"(|w| = {magnitude[got].min():.4g})", hint)
        if "ties" not in case and "already 0" not in case:  # no ties: the mask is unique
            expected = seams.tinytorch("magnitude_prune")(weight, amount)
            assert_close(name, case, got.astype(np.int8), expected.astype(np.int8), atol=0)
    passed(name, len(cases), [case.split(":")[0] for case, *_ in cases])


# ---------------------------------------------------------------------- structured pruning


def _library_structured(weight, amount, norm):
    return seams.tinytorch("structured_prune")(weight, amount, norm)


@exercise("structured_prune", seam="structured_prune")
def check_structured_prune(structured_prune):
    """structured_prune(weight, amount, norm=2) -> bool mask of weight's shape that removes the
    round(amount * rows) rows (output neurons / channels, dim 0) of smallest L`norm` norm."""
    name = "structured_prune"
    rng = np.random.default_rng(7)
    l1_vs_l2 = np.array([[1.0, 1.0, 1.0, 1.0], [3.0, 0.0, 0.0, 0.0], [5.0, 5.0, 5.0, 5.0]], np.float32)
    rows = (rng.standard_normal((8, 5)) * np.arange(1, 9)[rng.permutation(8), None]).astype(np.float32)
    cases = [
        ("Linear weight (8, 5), amount 0.5, L2", rows, 0.5, 2),
        ("Linear weight (8, 5), amount 0.25, L1", rows, 0.25, 1),
        ("L1 and L2 disagree: rows [1,1,1,1] and [3,0,0,0], L1", l1_vs_l2, 1 / 3, 1),
        ("L1 and L2 disagree: rows [1,1,1,1] and [3,0,0,0], L2", l1_vs_l2, 1 / 3, 2),
        ("negative rows count by magnitude (4, 3), L1", np.array(
            [[-9.0, -9.0, -9.0], [0.1, 0.2, 0.1], [1.0, -1.0, 1.0], [2.0, 2.0, -2.0]], np.float32), 0.5, 1),
        ("conv kernels (6, 3, 3, 3): whole output channels, L2",
         (rng.standard_normal((6, 3, 3, 3)) * np.arange(1, 7)[:, None, None, None]).astype(np.float32), 0.5, 2),
        ("amount 0 keeps every row", rows, 0.0, 2),
    ]
    for case, weight, amount, norm in cases:
        got = run_learner(name, case, structured_prune, weight.copy(), amount, norm)
        if isinstance(got, np.ndarray) and got.shape == weight.shape[:1]:
            fail(name, case, f"expected a mask of the weight's shape {weight.shape}, got one entry per row {got.shape}",
                 "broadcast the per-row decision over the other dims (and copy it: a broadcast view is read-only)")
        _expect_mask(name, case, got, weight.shape)
        expected = _library_structured(weight, amount, norm)
        others = tuple(range(1, weight.ndim))
        if not np.all(got.all(axis=others) | ~got.any(axis=others)):
            fail(name, case, "the mask removes single weights, not whole rows",
                 "decide per row (axis 0), then repeat that decision along the other axes")
        hint = f"the L{norm} norm of each row over all its other axes (" + (
            "the sum of |w|" if norm == 1 else "the square root of the sum of w^2") + \
            "); remove the round(amount * rows) smallest"
        other_norm = _library_structured(weight, amount, 1 if norm == 2 else 2)
        if "disagree" in case or (np.array_equal(got, other_norm) and not np.array_equal(other_norm, expected)):
            hint = "use the norm asked for: L1 sums |w|, L2 takes the root of the sum of squares; they rank these rows differently"
        elif "negative" in case:
            hint = "norms use |w|: a row of -9s is the most important one here"
        assert_close(name, case, got.astype(np.int8), expected.astype(np.int8), hint, atol=0)
    passed(name, len(cases), [case.split(":")[0] for case, *_ in cases])


# ---------------------------------------------------------------------- low-rank factorization


def _linear_layers(model):
    if not isinstance(model, nn.Sequential) or len(model) != 2:
        return None
    first, second = model[0], model[1]
    if not (isinstance(first, nn.Linear) and isinstance(second, nn.Linear)):
        return None
    return first, second


@exercise("low_rank_factorize", seam="low_rank_factorize")
def check_low_rank_factorize(low_rank_factorize):
    """low_rank_factorize(linear, rank) -> (Sequential(Linear(in, rank, bias=False),
    Linear(rank, out)), relative Frobenius error of the rank-r weight)."""
    name = "low_rank_factorize"
    manual_seed(8)
    rng = np.random.default_rng(8)
    structured = nn.Linear(12, 10)
    u, v = rng.standard_normal((10, 3)), rng.standard_normal((3, 12))
    structured.weight.data[...] = (u @ v + 0.01 * rng.standard_normal((10, 12))).astype(np.float32)
    cases = [
        ("Linear(12, 10), rank 3", structured, 3),
        ("Linear(16, 8), rank 1", nn.Linear(16, 8), 1),
        ("Linear(6, 9), full rank 6: exact", nn.Linear(6, 9), 6),
        ("Linear(20, 5, bias=False), rank 2", nn.Linear(20, 5, bias=False), 2),
    ]
    x = Tensor(rng.standard_normal((7, 20)).astype(np.float32))
    for case, linear, rank in cases:
        got = run_learner(name, case, low_rank_factorize, linear, rank)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail(name, case, f"expected a pair (model, error), got {type(got).__name__}", "return model, error")
        model, error = got
        layers = _linear_layers(model)
        if layers is None:
            fail(name, case, f"expected Sequential(Linear, Linear), got {type(model).__name__}",
                 "nn.Sequential(nn.Linear(in, rank, bias=False), nn.Linear(rank, out))")
        first, second = layers
        out_features, in_features = linear.weight.shape
        if first.weight.shape != (rank, in_features) or second.weight.shape != (out_features, rank):
            fail(name, case, f"expected weights of shapes {(rank, in_features)} and {(out_features, rank)}, got "
                             f"{first.weight.shape} and {second.weight.shape}",
                 "first Linear(in_features, rank), then Linear(rank, out_features)")
        if first.bias is not None:
            fail(name, case, "the first Linear has a bias", "only the second layer needs the original bias: bias=False")
        if (second.bias is None) != (linear.bias is None):
            fail(name, case, "the second Linear's bias does not match the original layer's",
                 "copy linear.bias into the second layer (and use bias=False when the original has none)")
        reference, expected_error = seams.tinytorch("low_rank_factorize")(linear, rank)
        inputs = Tensor(x.data[:, :in_features])
        with grad_mode.no_grad():
            got_out = run_learner(name, case, model, inputs)
            expected_out = reference(inputs)
        hint = ("keep the LARGEST singular values: u[:, :rank], s[:rank], vt[:rank] (np.linalg.svd sorts them "
                "in decreasing order); first.weight = s-weighted vt rows, second.weight = u columns")
        if linear.bias is not None and second.bias is not None and not np.allclose(second.bias.data, linear.bias.data):
            hint = "copy the original bias into the second layer"
        assert_close(name, case + ", output", got_out, expected_out, hint, atol=1e-4, rtol=1e-3)
        try:
            error = float(error)
        except (TypeError, ValueError):
            fail(name, case, f"the error should be a number, got {type(error).__name__}")
        if not np.isclose(error, expected_error, atol=1e-5, rtol=1e-4):
            fail(name, case, f"relative error: expected {expected_error:.6g}, got {error:.6g}",
                 "||W - W_r||_F / ||W||_F = sqrt(sum of the dropped s**2) / sqrt(sum of all s**2)")
    passed(name, len(cases), [case.split(":")[0] for case, *_ in cases])


# ---------------------------------------------------------------------- distillation


@exercise("distillation_loss", seam="distillation_loss")
def check_distillation_loss(distillation_loss):
    """distillation_loss(student_logits, teacher_logits, targets, temperature=4.0, alpha=0.5):
    alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * cross_entropy(s, targets),
    a scalar Tensor that backpropagates to the student's logits."""
    name = "distillation_loss"
    rng = np.random.default_rng(9)
    logits = lambda n, c, spread=2.0: (rng.standard_normal((n, c)) * spread).astype(np.float32)
    labels = lambda n, c: rng.integers(0, c, n)
    cases = [
        ("batch (4, 5), T=4, alpha=0.5", logits(4, 5), logits(4, 5), labels(4, 5), 4.0, 0.5),
        ("T=1, alpha=0.5", logits(6, 3), logits(6, 3), labels(6, 3), 1.0, 0.5),
        ("T=2, alpha=0.9", logits(5, 10), logits(5, 10), labels(5, 10), 2.0, 0.9),
        ("alpha=0: cross-entropy only", logits(4, 4), logits(4, 4), labels(4, 4), 3.0, 0.0),
        ("alpha=1: teacher only", logits(4, 4), logits(4, 4), labels(4, 4), 3.0, 1.0),
        ("student equals teacher, alpha=1: loss 0", *(lambda a: (a, a.copy()))(logits(3, 6)), labels(3, 6), 4.0, 1.0),
        ("large logits (+-300), T=1", logits(4, 5, 300.0), logits(4, 5, 300.0), labels(4, 5), 1.0, 0.5),
        ("a single sample (1, 3), T=5", logits(1, 3), logits(1, 3), labels(1, 3), 5.0, 0.7),
    ]
    for case, s, t, y, temperature, alpha in cases:
        student = Tensor(s.copy(), requires_grad=True)
        teacher = Tensor(t.copy())
        got = run_learner(name, case, distillation_loss, student, teacher, Tensor(y), temperature, alpha,
                          strict_float=True)
        if not isinstance(got, Tensor) or got.data.size != 1:
            kind = f"a Tensor of shape {got.shape}" if isinstance(got, Tensor) else type(got).__name__
            fail(name, case, f"expected a scalar Tensor, got {kind}", "average over the batch: a single number")
        reference_student = Tensor(s.copy(), requires_grad=True)
        expected = seams.tinytorch("distillation_loss")(reference_student, Tensor(t.copy()), Tensor(y), temperature, alpha)
        value, want = float(got.data), float(expected.data)
        hint = _distillation_hint(value, s, t, y, temperature, alpha)
        if not np.isfinite(value) and np.isfinite(want):
            fail(name, case, f"numerically unstable: expected loss {want:.6g}, got {value}", hint)
        if not np.isclose(value, want, rtol=1e-4, atol=1e-5):
            fail(name, case, f"expected loss {want:.6g}, got {value:.6g}", hint)
        if not got.requires_grad:
            fail(name, case, "the loss does not require grad: backward cannot reach the student's logits",
                 "build it from Tensor operations on student_logits (log_softmax, *, sum, ...), not from .data")
        run_learner(name, case + " (backward)", got.backward)
        expected.backward()
        if student.grad is None:
            fail(name, case, "after loss.backward(), student_logits.grad is None",
                 "build the loss from Tensor operations on student_logits, not on NumPy copies")
        assert_close(name, case + ", gradient of the student logits", student.grad, reference_student.grad,
                     "the gradient follows from the value: compare the formula term by term", atol=1e-5, rtol=1e-3)
    passed(name, len(cases), [case.split(":")[0] for case, *_ in cases])


def _distillation_hint(value, s, t, y, temperature, alpha):
    """A hint aimed at the mistake that gives `value`, when it is a known one."""
    T, ce = temperature, _cross_entropy(s, y)
    kl = _kl(t / T, s / T)
    mistakes = [
        (alpha * kl + (1 - alpha) * ce, "multiply the KL term by T**2 (it keeps the gradient's size independent of T)"),
        (alpha * T * T * _kl(s / T, t / T) + (1 - alpha) * ce,
         "KL(p_teacher || p_student) = sum p_teacher * (log p_teacher - log p_student): the teacher's probabilities "
         "weight the sum"),
        (alpha * T * T * kl / s.shape[1] + (1 - alpha) * ce,
         "sum the KL over the classes and average over the batch (PyTorch's reduction='batchmean'), not a mean "
         "over every element"),
        (alpha * T * T * _kl(t, s / T) + (1 - alpha) * ce, "divide the teacher's logits by T too"),
        (alpha * T * T * kl + (1 - alpha) * _cross_entropy(s / T, y),
         "the cross-entropy with the true labels uses the student's plain logits (temperature 1)"),
        ((1 - alpha) * T * T * kl + alpha * ce, "alpha weights the teacher's term, 1 - alpha the labels' term"),
    ]
    for wrong, hint in mistakes:
        if np.isclose(value, wrong, rtol=1e-4, atol=1e-6) and not np.isclose(value, alpha * T * T * kl + (1 - alpha) * ce):
            return hint
    return ("alpha * T**2 * KL(p_teacher || p_student) + (1 - alpha) * CE, with p = softmax(logits / T); KL summed "
            "over the classes, averaged over the batch")


def _log_softmax(z):
    """tinytorch's log_softmax over the classes, in float64 (the hints compare candidate formulas)."""
    return Tensor(z.astype(np.float64)).log_softmax(dim=1).data


def _kl(p_logits, q_logits):
    """KL(softmax(p) || softmax(q)) averaged over the batch."""
    log_p, log_q = _log_softmax(p_logits), _log_softmax(q_logits)
    return float((np.exp(log_p) * (log_p - log_q)).sum() / len(p_logits))


def _cross_entropy(s, y):
    return float(-_log_softmax(s)[np.arange(len(y)), y].mean())
