"""A training script in the style of the PyTorch examples: a classifier trained with AdamW on
batches drawn with `torch.randint`, checkpointed halfway with `torch.save` (model + optimizer
state + progress) and resumed from `torch.load` in a fresh model and optimizer. The resumed run
must repeat the original losses exactly, and the losses must match PyTorch's step by step."""

import tinytorch

from conftest import Replay, assert_steps_match, fill_parameters


def train_with_checkpoint(torch, path, replay, steps=8):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(8, 16)
            self.fc2 = nn.Linear(16, 3)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    x = torch.linspace(-2, 2, 64 * 8).reshape(64, 8).sin().to(device)
    y = (x.sum(dim=1) > 0).long() + (x[:, 0] > 0.5).long()  # 3 classes

    def make():
        model = Net().to(device)
        fill_parameters(torch, model)
        return model, torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)

    def step(model, optimizer, ix):
        loss = F.cross_entropy(model(x[ix]), y[ix])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    model, optimizer = make()
    losses, batches = [], []
    for i in range(steps):
        ix = replay.randint(len(x), (16,)).to(device)
        batches.append(ix)
        losses.append(step(model, optimizer, ix))
        if i == steps // 2 - 1:
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": i + 1,
                        "losses": list(losses)}, path)
            print(f"checkpoint at step {i + 1}, loss {losses[-1]:.4f}")

    checkpoint = torch.load(path, map_location=device, weights_only=True)
    model, optimizer = make()  # fresh objects, then everything comes from the file
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    resumed = list(checkpoint["losses"])
    for ix in batches[checkpoint["step"]:]:
        resumed.append(step(model, optimizer, ix))
    with torch.no_grad():
        accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
    return {"losses": losses, "resumed": resumed, "accuracy": accuracy}


def test_resumed_run_repeats_the_original(tmp_path):
    result = train_with_checkpoint(tinytorch, tmp_path / "ckpt.pt", Replay(tinytorch))
    assert result["resumed"] == result["losses"]
    assert result["losses"][-1] < result["losses"][0]


def test_losses_match_pytorch_step_by_step(tmp_path, torch_module):
    replay = Replay(tinytorch)
    ours = train_with_checkpoint(tinytorch, tmp_path / "ours.pt", replay)
    theirs = train_with_checkpoint(torch_module, tmp_path / "theirs.pt", Replay(torch_module, replay.drawn))
    assert_steps_match(ours["losses"], theirs["losses"])
    assert_steps_match(ours["resumed"], theirs["resumed"])
    assert abs(ours["accuracy"] - theirs["accuracy"]) < 1e-6
