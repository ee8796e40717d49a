"""Training helpers: accuracy, evaluate, fit/History, checkpoints; digits end to end."""

import numpy as np
import pytest

import tinytorch
from tinytorch import nn
from tinytorch.data import DataLoader, TensorDataset
from tinytorch.datasets import load_digits
from tinytorch.optim import SGD, Adam
from tinytorch.optim.lr_scheduler import CosineAnnealingLR, StepLR
from tinytorch.train import (History, accuracy, evaluate, fit, format_epoch, load_checkpoint,
                             save_checkpoint)


def blobs(n=96, seed=0):
    """Three well-separated Gaussian blobs in 2-D: (n, 2) float32 and (n,) int64."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[0, 4], [4, -2], [-4, -2]], dtype=np.float32)
    x = centres[y] + rng.standard_normal((n, 2)).astype(np.float32)
    return x.astype(np.float32), y.astype(np.int64)


def blob_loader(seed=0, shuffle=True, n=96):
    x, y = blobs(n)
    return DataLoader(TensorDataset(tinytorch.tensor(x), tinytorch.tensor(y)), batch_size=16,
                      shuffle=shuffle, generator=tinytorch.Generator(seed))


def small_model(seed=0):
    tinytorch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 3))


# ---------------------------------------------------------------------- accuracy

def test_accuracy_counts_argmax_hits():
    logits = tinytorch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.1, 0.2, 0.3], [5.0, 0.0, 0.0]])
    assert accuracy(logits, tinytorch.tensor([0, 1, 0, 0])) == 0.75
    assert accuracy(logits.numpy(), np.array([1, 1, 2, 0])) == 0.75


def test_accuracy_on_sequences_and_images():
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((2, 5, 4)).astype(np.float32)  # (B, T, C)
    targets = scores.argmax(-1)
    targets[0, 0] = (targets[0, 0] + 1) % 4
    assert accuracy(scores, targets) == 9 / 10
    images = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)  # (N, C, H, W)
    assert accuracy(images, images.argmax(1)) == 1.0


@pytest.mark.parametrize("logits, targets, message", [
    (np.zeros((4, 3)), np.zeros(5, dtype=np.int64), r"logits \(4, 3\) and targets \(5,\)"),
    (np.zeros((4, 3)), np.zeros(4, dtype=np.float32), "float32"),
    (np.zeros((4, 3)), np.zeros((4, 3), dtype=np.int64), r"targets \(4, 3\)"),
    (np.zeros((0, 3)), np.zeros(0, dtype=np.int64), "empty batch"),
])
def test_accuracy_errors(logits, targets, message):
    with pytest.raises(ValueError, match=message):
        accuracy(logits, targets)


# ---------------------------------------------------------------------- evaluate

def test_evaluate_averages_over_samples_and_restores_mode():
    model = small_model()
    model.train()
    x, y = blobs(40)
    loader = DataLoader(TensorDataset(tinytorch.tensor(x), tinytorch.tensor(y)), batch_size=16)
    metrics = evaluate(model, loader, nn.CrossEntropyLoss())
    assert model.training  # restored
    model.eval()
    with tinytorch.no_grad():
        logits = model(tinytorch.tensor(x))
        expected_loss = nn.CrossEntropyLoss()(logits, tinytorch.tensor(y)).item()
    # Batches of 16, 16, 8 weighted by size give the full-data mean.
    assert metrics["loss"] == pytest.approx(expected_loss, rel=1e-5)
    assert metrics["accuracy"] == accuracy(logits, y)
    model.eval()
    evaluate(model, loader)
    assert not model.training


def test_evaluate_does_not_record_gradients():
    model = small_model()
    evaluate(model, blob_loader(), nn.CrossEntropyLoss())
    assert all(p.grad is None for p in model.parameters())


def test_evaluate_regression_has_no_accuracy():
    tinytorch.manual_seed(0)
    model = nn.Linear(2, 1)
    x = np.ones((8, 2), dtype=np.float32)
    loader = DataLoader(TensorDataset(tinytorch.tensor(x), tinytorch.tensor(np.zeros((8, 1), np.float32))), batch_size=4)
    assert set(evaluate(model, loader, nn.MSELoss())) == {"loss"}


def test_evaluate_errors():
    model = small_model()
    with pytest.raises(ValueError, match="pair \\(inputs, targets\\), got 3 items"):
        evaluate(model, [[np.zeros((1, 2)), np.zeros(1), np.zeros(1)]])
    with pytest.raises(ValueError, match="no batches"):
        evaluate(model, [])


# ---------------------------------------------------------------------- fit and History

def test_fit_learns_blobs_and_logs_one_line_per_epoch():
    model = small_model()
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = StepLR(optimizer, step_size=2, gamma=0.5)
    lines = []
    history = fit(model, nn.CrossEntropyLoss(), optimizer, blob_loader(), epochs=4,
                  val_loader=blob_loader(shuffle=False), scheduler=scheduler, log=lines.append)
    assert len(history) == 4 and len(lines) == 4
    assert history["epoch"] == [1, 2, 3, 4]
    assert history["lr"] == [0.1, 0.1, 0.05, 0.05]
    assert history["loss"][-1] < history["loss"][0]
    assert history.last["val_accuracy"] > 0.9
    assert set(history.last) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"}
    assert lines[0].startswith("epoch 1/4  loss ") and "val_acc " in lines[0] and lines[0].endswith("s")
    assert model.training


def test_fit_updates_every_parameter_and_respects_clipping():
    model = small_model()
    before = [p.data.copy() for p in model.parameters()]
    fit(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.5), blob_loader(), 1,
        clip_grad_norm=1e-3, log=None)
    moved = [np.abs(p.data - b).max() for p, b in zip(model.parameters(), before)]
    # Each of the 6 steps moves parameters by at most lr * max_norm.
    assert all(0 < m <= 6 * 0.5 * 1e-3 + 1e-6 for m in moved)


def test_format_epoch():
    record = {"epoch": 3, "loss": 0.21134, "accuracy": 0.9375, "lr": 0.001, "seconds": 0.42}
    assert format_epoch(record, 10) == "epoch  3/10  loss 0.2113  acc 93.75%  lr 0.001  0.4s"


def test_history_access():
    history = History([{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": 1.0}])
    assert history["loss"] == [2.0, 1.0] and history.last["epoch"] == 2
    assert [r["epoch"] for r in history] == [1, 2]
    with pytest.raises(KeyError, match="no metric 'val_loss'; recorded: epoch, loss"):
        history["val_loss"]


def test_fit_errors():
    model = small_model()
    optimizer = SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs must be a positive int, got 0"):
        fit(model, nn.CrossEntropyLoss(), optimizer, blob_loader(), 0)
    with pytest.raises(FloatingPointError, match="loss became nan at batch 0"):
        x, y = blobs(16)
        x[0, 0] = np.nan
        loader = DataLoader(TensorDataset(tinytorch.tensor(x), tinytorch.tensor(y)), batch_size=16)
        fit(model, nn.CrossEntropyLoss(), optimizer, loader, 1, log=None)


# ---------------------------------------------------------------------- checkpoints

def make_run(seed=0):
    model = small_model(seed)
    optimizer = Adam(model.parameters(), lr=0.01)
    scheduler = CosineAnnealingLR(optimizer, T_max=6)
    return model, optimizer, scheduler


def test_checkpoint_resume_equals_uninterrupted_training(tmp_path):
    path = tmp_path / "run.ckpt"  # any file name: no ".npz" gets appended
    loss_fn = nn.CrossEntropyLoss()
    model, optimizer, scheduler = make_run()
    tinytorch.manual_seed(1)  # dropout draws from the default generator
    fit(model, loss_fn, optimizer, blob_loader(seed=1), 2, scheduler=scheduler, log=None)
    save_checkpoint(path, model, optimizer, scheduler, epoch=2, note="half way", best=[0.5, 0.75])
    tinytorch.manual_seed(2)
    fit(model, loss_fn, optimizer, blob_loader(seed=2), 2, scheduler=scheduler, log=None)

    resumed, resumed_opt, resumed_sched = make_run(seed=7)  # different init: all overwritten
    extras = load_checkpoint(path, resumed, resumed_opt, resumed_sched)
    assert extras == {"epoch": 2, "note": "half way", "best": [0.5, 0.75]}
    tinytorch.manual_seed(2)
    fit(resumed, loss_fn, resumed_opt, blob_loader(seed=2), 2, scheduler=resumed_sched, log=None)
    for (name, a), b in zip(model.state_dict().items(), resumed.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert resumed_sched.get_last_lr() == scheduler.get_last_lr()
    assert resumed_opt.param_groups[0]["betas"] == (0.9, 0.999)


def test_checkpoint_round_trip_is_exact(tmp_path):
    path = tmp_path / "ckpt.npz"
    model, optimizer, _ = make_run()
    fit(model, nn.CrossEntropyLoss(), optimizer, blob_loader(), 1, log=None)
    extras = dict(step=np.int64(7), mean=np.float32(0.1), table=np.arange(6).reshape(2, 3),
                  weights=tinytorch.tensor([1.5, 2.5]), config={"hidden": 16, "lr": 0.01, "tags": None})
    save_checkpoint(path, model, optimizer, **extras)
    other, other_opt, _ = make_run(seed=3)
    loaded = load_checkpoint(path, other, other_opt)
    for a, b in zip(model.state_dict().values(), other.state_dict().values()):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    saved_state, loaded_state = optimizer.state_dict(), other_opt.state_dict()
    assert saved_state["param_groups"] == loaded_state["param_groups"]
    for index, entries in saved_state["state"].items():
        assert entries["step"] == loaded_state["state"][index]["step"]
        np.testing.assert_array_equal(entries["exp_avg_sq"], loaded_state["state"][index]["exp_avg_sq"])
    assert type(loaded["step"]) is np.int64 and loaded["step"] == 7
    assert type(loaded["mean"]) is np.float32 and loaded["mean"] == np.float32(0.1)
    np.testing.assert_array_equal(loaded["table"], extras["table"])
    assert isinstance(loaded["weights"], tinytorch.Tensor)
    np.testing.assert_array_equal(loaded["weights"].numpy(), [1.5, 2.5])
    assert loaded["config"] == extras["config"]
    with np.load(path) as archive:  # plain NumPy can read it
        assert "model/0.weight" in archive.files


def test_checkpoint_model_only(tmp_path):
    path = tmp_path / "weights.npz"
    model = small_model()
    save_checkpoint(path, model)
    other = small_model(seed=5)
    assert load_checkpoint(path, other) == {}
    np.testing.assert_array_equal(other[0].weight.data, model[0].weight.data)


def test_checkpoint_errors(tmp_path):
    path = tmp_path / "ckpt.npz"
    model, optimizer, _ = make_run()
    save_checkpoint(path, model)
    tinytorch.manual_seed(0)
    wider = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 3))
    with pytest.raises(RuntimeError, match=r"(?s)does not fit the model:\n.*size mismatch for 0.weight"):
        load_checkpoint(path, wider)
    deeper = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 3), nn.Linear(3, 3))
    with pytest.raises(RuntimeError, match=r"Missing key\(s\) in state_dict: \"4.weight\""):
        load_checkpoint(path, deeper)
    with pytest.raises(ValueError, match="holds no optimizer state"):
        load_checkpoint(path, model, optimizer)
    save_checkpoint(path, model, optimizer)
    with pytest.raises(ValueError, match="holds Adam state, which cannot be loaded into a SGD"):
        load_checkpoint(path, model, SGD(model.parameters(), lr=0.1))
    with pytest.raises(TypeError, match="extras must be JSON values"):
        save_checkpoint(path, model, when=object())
    np.savez(tmp_path / "plain.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="is not a tinytorch checkpoint"):
        load_checkpoint(tmp_path / "plain.npz", model)


# ---------------------------------------------------------------------- end to end

def train_digits_mlp(seed):
    digits = load_digits()
    flat = lambda x: tinytorch.tensor(x.reshape(len(x), -1))  # (N, 64)
    train = DataLoader(TensorDataset(flat(digits.x_train), tinytorch.tensor(digits.y_train)),
                       batch_size=32, shuffle=True, generator=tinytorch.Generator(seed))
    test = DataLoader(TensorDataset(flat(digits.x_test), tinytorch.tensor(digits.y_test)), batch_size=256)
    tinytorch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = Adam(model.parameters(), lr=3e-3)
    scheduler = CosineAnnealingLR(optimizer, T_max=10)
    fit(model, nn.CrossEntropyLoss(), optimizer, train, 10, scheduler=scheduler, log=None)
    return evaluate(model, test)["accuracy"]


def test_digits_mlp_reaches_95_percent_deterministically():
    first = train_digits_mlp(seed=0)
    assert first >= 0.95
    assert train_digits_mlp(seed=0) == first
