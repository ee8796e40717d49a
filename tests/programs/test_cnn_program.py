"""A CNN classifier written as in the PyTorch examples' mnist/main.py, run once with tinytorch
and once with PyTorch from the same initial weights and the same batches: the losses agree
step by step. Only the module passed as `torch` differs between the two runs.

The dataset is a stand-in for MNIST (no downloads): 28x28 images whose label is the quadrant
holding a bright square, so a few steps of training visibly lower the loss.
"""

import numpy as np
import pytest

import tinytorch


def make_net(torch, dropout1=0.25, dropout2=0.5):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(dropout1)
            self.dropout2 = nn.Dropout(dropout2)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.dropout2(x)
            x = self.fc2(x)
            output = F.log_softmax(x, dim=1)
            return output

    return Net()


def stand_in_mnist(n, seed=0):
    """(images (n, 1, 28, 28) float32 normalised as the example does, labels (n,) int64)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    images = rng.random((n, 1, 28, 28), dtype=np.float32) * 0.2
    for i, label in enumerate(labels):
        row, col = divmod(int(label), 2)
        images[i, 0, 14 * row + 3:14 * row + 11, 14 * col + 3:14 * col + 11] += 0.8
    return (images - 0.1307) / 0.3081, labels


def train(model, device, train_loader, optimizer, epoch, torch, log):
    F = torch.nn.functional
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        log.append(loss.item())


def evaluate(model, device, test_loader, torch):
    """The example's test() (renamed: pytest would collect a function called test)."""
    F = torch.nn.functional
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    return test_loss, correct


def main(torch, initial_state=None, epochs=2, n_train=48, batch_size=16, dropout=(0.25, 0.5), order=None):
    """The example's main(): returns the per-step losses, the test results after each epoch,
    the learning rates and the initial weights as NumPy arrays."""
    torch.manual_seed(1)
    device = torch.device("cpu")
    train_kwargs = {"batch_size": batch_size}
    test_kwargs = {"batch_size": 32}
    images, labels = stand_in_mnist(n_train + 32)
    dataset1 = torch.utils.data.TensorDataset(torch.tensor(images[:n_train]), torch.tensor(labels[:n_train]))
    dataset2 = torch.utils.data.TensorDataset(torch.tensor(images[n_train:]), torch.tensor(labels[n_train:]))
    sampler = list(order) if order is not None else None  # a fixed shuffle, the same for both libraries
    train_loader = torch.utils.data.DataLoader(dataset1, sampler=sampler, **train_kwargs)
    test_loader = torch.utils.data.DataLoader(dataset2, **test_kwargs)

    model = make_net(torch, *dropout).to(device)
    if initial_state is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in initial_state.items()})
    start = {k: np.array(v.detach().numpy() if hasattr(v, "detach") else v) for k, v in model.state_dict().items()}
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)

    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    losses, results, lrs = [], [], []
    for epoch in range(1, epochs + 1):
        train(model, device, train_loader, optimizer, epoch, torch, losses)
        results.append(evaluate(model, device, test_loader, torch))
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    return losses, results, lrs, start


def test_cnn_example_trains_on_tinytorch():
    """With dropout on, as the example runs: the loss falls and evaluation is deterministic."""
    losses, results, lrs, _ = main(tinytorch, epochs=3)
    assert np.mean(losses[-3:]) < 0.6 * np.mean(losses[:3])
    assert lrs == pytest.approx([0.7, 0.49, 0.343])
    assert results[-1][1] > results[0][1] or results[0][1] == 32


def test_cnn_example_matches_pytorch_step_by_step():
    torch = pytest.importorskip("torch")
    order = np.random.default_rng(5).permutation(48)
    ours, our_results, our_lrs, start = main(tinytorch, dropout=(0.0, 0.0), order=order)
    theirs, their_results, their_lrs, _ = main(torch, initial_state=start, dropout=(0.0, 0.0), order=order)
    assert len(ours) == len(theirs) == 6
    np.testing.assert_allclose(ours, theirs, rtol=2e-4)
    for (loss, correct), (their_loss, their_correct) in zip(our_results, their_results):
        assert loss == pytest.approx(their_loss, rel=2e-4) and correct == their_correct
    assert our_lrs == pytest.approx(their_lrs)
