"""The seams: tinytorch calls a replaceable implementation at each exercise's place, and a
replacement is used everywhere tinytorch uses that piece (and only until it is restored)."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn, seams


@pytest.fixture(autouse=True)
def _restore():
    yield
    seams.restore()


def recording(name, calls):
    """tinytorch's own implementation of `name`, recording each call's seam name."""
    own = seams.tinytorch(name)

    def spy(*args):
        calls.append(name)
        return own(*args)
    return spy


def test_every_autograd_seam_is_called_by_a_training_step():
    calls = []
    for name in ("unbroadcast", "add_backward", "mul_backward", "matmul_backward", "sum_backward",
                 "relu_backward", "sigmoid_backward", "tanh_backward", "topological_sort"):
        seams.replace(name, recording(name, calls))
    x = tt.randn(4, 3)
    w = tt.randn(3, 2, requires_grad=True)
    b = tt.randn(2, requires_grad=True)
    h = nn.ReLU()(x @ w + b)
    loss = (h.sigmoid() * h.tanh()).sum()
    loss.backward()
    assert set(calls) == {"unbroadcast", "add_backward", "mul_backward", "matmul_backward", "sum_backward",
                          "relu_backward", "sigmoid_backward", "tanh_backward", "topological_sort"}


def test_a_replacement_changes_the_gradients_and_restore_undoes_it(leaf):
    x = leaf(5)
    seams.replace("relu_backward", lambda grad, x: 2 * grad * (x > 0))
    x.relu().sum().backward()
    np.testing.assert_allclose(x.grad.data, 2.0 * (x.data > 0))
    seams.restore("relu_backward")
    x.grad = None
    x.relu().sum().backward()
    np.testing.assert_allclose(x.grad.data, 1.0 * (x.data > 0))


def test_a_replaced_backward_engine_runs_instead_of_tinytorchs(leaf):
    ran = []

    def engine(root, grad=None):
        ran.append(root)
        seams.tinytorch("backward")(root, grad)

    seams.replace("backward", engine)
    x = leaf(3)
    loss = (x * x).sum()
    loss.backward()
    assert ran == [loss]
    np.testing.assert_allclose(x.grad.data, 2 * x.data)


def test_tinytorch_topological_sort_puts_every_node_after_its_inputs(leaf):
    x = leaf(2)
    a = x * 2
    b = a + 1
    c = a * b
    order = seams.tinytorch("topological_sort")(c)
    position = {id(t): i for i, t in enumerate(order)}
    assert order[-1] is c and len(order) == 4
    for node in order:
        assert all(position[id(p)] < position[id(node)] for p in node._parents if p.requires_grad)


def test_unknown_or_uncallable_replacements_are_refused():
    with pytest.raises(KeyError, match="no seam named 'relu_backwards'"):
        seams.replace("relu_backwards", print)
    with pytest.raises(TypeError, match="must be callable"):
        seams.replace("relu_backward", 3)


# ------------------------------------------------------------------------------------------
# Modules 01-08: forward ops, layers, losses, optimizers, the training loop, data
# ------------------------------------------------------------------------------------------

def doubled(name):
    """tinytorch's own `name` (an exercise's forward interface: Tensors in, a Tensor out),
    with its result doubled: a replacement whose effect is visible."""
    own = seams.tinytorch(name)

    def twice(*args, **kwargs):
        return own(*args, **kwargs) * 2
    return twice


def test_every_framework_exercise_of_modules_01_to_08_has_a_seam():
    from tinytorch.course import registry
    import tinytorch.checks  # noqa: F401  (declares the exercises)

    early = [e for e in registry.EXERCISES.values() if e.module[:2] <= "08"]
    not_components = {"broadcast_shape", "strides"}  # NumPy broadcasts and lays out memory itself
    assert {e.name for e in early if e.seam is None} == not_components
    for e in early:
        if e.seam is not None:
            assert e.seam == e.name and e.tinytorch() is seams.tinytorch(e.name)


@pytest.mark.parametrize("name, run", [
    ("relu", lambda x: nn.ReLU()(x)),
    ("sigmoid", lambda x: nn.Sigmoid()(x)),
    ("tanh", lambda x: nn.Tanh()(x)),
    ("gelu", lambda x: nn.GELU(approximate="tanh")(x)),
    ("softmax", lambda x: nn.Softmax(dim=1)(x)),
    ("log_softmax", lambda x: nn.LogSoftmax(dim=1)(x)),
    ("var", lambda x: x.var(dim=1)),
])
def test_a_replaced_forward_op_computes_what_the_layers_and_methods_give(name, run, leaf):
    x = leaf(3, 4)
    own = run(x).data
    seams.replace(name, doubled(name))
    out = run(x)
    np.testing.assert_allclose(out.data, 2 * own)
    out.sum().backward()  # the graph is still recorded: gradients reach the input
    assert x.grad is not None and x.grad.shape == (3, 4)


def test_a_replaced_matmul_computes_tensor_products_and_linear_layers(leaf):
    x, w = leaf(5, 3), leaf(3, 2)
    layer = nn.Linear(3, 2).double()
    product, affine = (x @ w).data, layer(x).data
    calls = []

    def matmul(a, b):
        calls.append((a.shape, b.shape))
        return seams.tinytorch("matmul")(a, b)

    seams.replace("matmul", matmul)
    np.testing.assert_allclose((x @ w).data, product)
    out = layer(x)
    np.testing.assert_allclose(out.data, affine)
    assert calls == [((5, 3), (3, 2)), ((5, 3), (3, 2))]
    out.sum().backward()  # tinytorch's backward rule still gives every gradient
    assert layer.weight.grad.shape == (2, 3) and x.grad.shape == (5, 3)


def test_replaced_losses_compute_the_loss_modules_but_not_their_options():
    logits = tt.randn(4, 3, requires_grad=True)
    labels = tt.tensor([0, 2, 1, 2])
    probs = tt.rand(4, 3)
    cases = [
        ("cross_entropy", nn.CrossEntropyLoss(), (logits, labels), nn.CrossEntropyLoss(label_smoothing=0.1)),
        ("mse_loss", nn.MSELoss(), (logits, probs), nn.MSELoss(reduction="sum")),
        ("binary_cross_entropy_with_logits", nn.BCEWithLogitsLoss(), (logits, probs),
         nn.BCEWithLogitsLoss(reduction="sum")),
    ]
    for name, loss, args, with_option in cases:
        own, own_option = loss(*args).item(), with_option(*args).item()
        seams.replace(name, doubled(name))
        assert loss(*args).item() == pytest.approx(2 * own)
        assert with_option(*args).item() == pytest.approx(own_option)  # the exercise has no such option
        seams.restore(name)


def test_a_replaced_optimizer_is_the_one_tinytorchs_recipe_builds():
    from tinytorch.models import recipes
    from tinytorch.datasets import sequences

    built = []

    class Recorded(tt.optim.AdamW):
        def __init__(self, *args, **kwargs):
            built.append(kwargs)
            super().__init__(*args, **kwargs)

    seams.replace("AdamW", Recorded)
    task = sequences.reversal_task(3)
    data = sequences.make_reversal(8, length=3, seed=0, split="train")
    recipes.train_sequence_model(task, data, data, n_embd=8, n_layer=1, n_head=2, steps=1, batch_size=4)
    assert built == [{"lr": 5e-3, "weight_decay": 0.0}]


@pytest.mark.parametrize("name", ["Linear", "Sequential", "Dropout", "SGD", "Adam", "AdamW",
                                  "TensorDataset", "DataLoader"])
def test_class_seams_give_the_replacement_where_tinytorch_looks_it_up(name):
    own = seams.tinytorch(name)
    assert seams.implementation(name) is own

    class Theirs(own):
        pass

    seams.replace(name, Theirs)
    assert seams.implementation(name) is Theirs and name in seams.looked_up


def test_replaced_training_pieces_run_inside_fit():
    tt.manual_seed(0)
    x, y = tt.randn(12, 4), tt.tensor(np.arange(12) % 3)
    loader = tt.data.DataLoader(tt.data.TensorDataset(x, y), batch_size=4)
    model = nn.Linear(4, 3)
    ran = []

    def train_one_epoch(model, loss_fn, optimizer, loader, max_grad_norm=None):
        ran.append(("train_one_epoch", max_grad_norm))
        return seams.tinytorch("train_one_epoch")(model, loss_fn, optimizer, loader, max_grad_norm)

    def evaluate(model, loader, loss_fn):
        ran.append(("evaluate", None))
        return {"loss": 1.5, "accuracy": 0.25}

    def clip(parameters, max_norm):
        ran.append(("clip_grad_norm_", max_norm))
        return seams.tinytorch("clip_grad_norm_")(parameters, max_norm)

    for name, fn in (("train_one_epoch", train_one_epoch), ("evaluate", evaluate), ("clip_grad_norm_", clip)):
        seams.replace(name, fn)
    history = tt.train.fit(model, nn.CrossEntropyLoss(), tt.optim.SGD(model.parameters(), lr=0.1), loader,
                           epochs=1, val_loader=loader, clip_grad_norm=0.5, log=None)
    assert ran[0] == ("train_one_epoch", 0.5) and ran[-1] == ("evaluate", None)
    assert ran.count(("clip_grad_norm_", 0.5)) == len(loader)  # tinytorch's epoch clips through the seam
    assert history["val_loss"] == [1.5] and "accuracy" not in history.records[0]  # yours returns the loss only


def test_a_replaced_cosine_lr_and_shift_images_are_what_tinytorch_computes():
    own_lr = tt.optim.lr_scheduler.warmup_cosine_lr(3, 10, 0.1)
    images = np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)
    own_shift = tt.data.shift_images(images, [1, 0], [0, -1])
    seams.replace("cosine_lr", lambda step, total_steps, lr_max, lr_min=0.0, warmup_steps=0: 0.5)
    seams.replace("shift_images", lambda images, dy, dx: np.zeros_like(images))
    assert tt.optim.lr_scheduler.warmup_cosine_lr(3, 10, 0.1) == 0.5 != own_lr
    assert not tt.data.shift_images(images, [1, 0], [0, -1]).any() and own_shift.any()


def test_a_replaced_collate_makes_the_batches_and_tinytorchs_own_keeps_the_fast_path():
    x, y = tt.arange(6).reshape(3, 2).float(), tt.tensor([0, 1, 2])
    dataset = tt.data.TensorDataset(x, y)
    samples = []

    def collate(batch):
        samples.append(len(batch))
        return seams.tinytorch("collate")(batch)

    seams.replace("collate", collate)
    batch = next(iter(tt.data.DataLoader(dataset, batch_size=2)))
    assert samples == [2] and batch[0].data.tolist() == [[0.0, 1.0], [2.0, 3.0]]

    def timed(batch):  # tinytorch's own, wrapped (as tinytorch.mine.use() wraps it to count its time)
        raise AssertionError("the fast path does not collate sample by sample")
    timed.__wrapped__ = seams.tinytorch("collate")
    seams.replace("collate", timed)
    assert next(iter(tt.data.DataLoader(dataset, batch_size=2)))[1].data.tolist() == [0, 1]
