"""A character-level language model written with tensors only, in the style of public
from-scratch examples (makemore, nanoGPT's get_batch): data as a long tensor, batches from
`torch.randint`, an embedding table and an MLP as plain leaf tensors, manual SGD under
`torch.no_grad()`, gradient clipping by norm, `@torch.no_grad()` evaluation, sampling under
`torch.inference_mode()`, and progress printed with f"{loss:.4f}". Run with tinytorch and with
PyTorch on the same batches, the losses and the gradient norms agree step by step."""

import tinytorch

from conftest import Replay, assert_steps_match, pattern

TEXT = "the quick brown fox jumps over the lazy dog. " * 6


def train_char_model(torch, replay, steps=24, block_size=4, batch_size=8):
    F = torch.nn.functional
    device = "cuda" if torch.cuda.is_available() else "cpu"
    chars = sorted(set(TEXT))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in TEXT], dtype=torch.long)
    n = int(0.9 * len(data))
    train_data, val_data = data[:n], data[n:]
    vocab, emb, hidden = len(chars), 6, 32

    def get_batch(split):
        source = train_data if split == "train" else val_data
        ix = replay.randint(len(source) - block_size, (batch_size,))
        x = torch.stack([source[i:i + block_size] for i in ix])
        y = source[ix + block_size]  # the character after each context
        return x.to(device), y.to(device)

    params = [torch.tensor(pattern(shape, seed), requires_grad=True, device=device)
              for seed, shape in enumerate([(vocab, emb), (block_size * emb, hidden), (hidden,), (hidden, vocab), (vocab,)])]
    C, W1, b1, W2, b2 = params

    def forward(x):
        e = C[x]  # (B, T, emb)
        h = torch.tanh(e.view(e.shape[0], -1) @ W1 + b1)  # (B, hidden)
        return h @ W2 + b2  # (B, vocab)

    @torch.no_grad()
    def estimate_loss(split):
        x, y = get_batch(split)
        logits = forward(x)
        # cross-entropy spelled out with gather, as hand-written examples do
        logp = logits.log_softmax(dim=-1)
        return -logp.gather(1, y.unsqueeze(1)).mean()

    losses, norms, log = [], [], []
    for step in range(steps):
        x, y = get_batch("train")
        loss = F.cross_entropy(forward(x), y)
        for p in params:
            p.grad = None
        loss.backward()
        total = torch.sqrt(sum((p.grad ** 2).sum() for p in params))
        clip = min(1.0, 1.0 / (total.item() + 1e-6))
        lr = 0.5 if step < steps // 2 else 0.05
        with torch.no_grad():
            for p in params:
                p -= lr * clip * p.grad
        losses.append(loss.item())
        norms.append(total.item())
        if step % 4 == 0:
            log.append(f"step {step}: train loss {loss:.4f}, val loss {estimate_loss('val'):.4f}")

    with torch.inference_mode():
        context = torch.zeros((1, block_size), dtype=torch.long)
        for _ in range(5):
            probs = F.softmax(forward(context[:, -block_size:]), dim=-1)
            nxt = probs.argmax(dim=-1, keepdim=True)  # greedy: the same in both libraries
            context = torch.cat([context, nxt], dim=1)
    sample = "".join(chars[i] for i in context[0, block_size:].tolist())
    return {"losses": losses, "norms": norms, "log": log, "sample": sample}


def test_trains_with_tinytorch():
    result = train_char_model(tinytorch, Replay(tinytorch))
    first, last = result["losses"][:6], result["losses"][-6:]
    assert sum(last) < sum(first) - 1.0  # batches are noisy: compare the averages of 6 steps
    assert result["log"][0].startswith("step 0: train loss ") and len(result["log"]) == 6
    assert len(result["sample"]) == 5


def test_matches_pytorch_step_by_step(torch_module):
    replay = Replay(tinytorch)
    ours = train_char_model(tinytorch, replay)
    theirs = train_char_model(torch_module, Replay(torch_module, replay.drawn))
    assert_steps_match(ours["losses"], theirs["losses"])
    assert_steps_match(ours["norms"], theirs["norms"])
    assert ours["log"] == theirs["log"]
    assert ours["sample"] == theirs["sample"]
