"""One GPT training step (forward + loss + backward + AdamW step), tinytorch vs PyTorch.

Model: vocab 65, block 64, 4 layers, 4 heads, n_embd 128, tied head, tanh GELU; batch 16,
float32. The PyTorch twin has the same architecture and our initial weights (checked by
comparing the first loss). Reports the median of --repeat steps after --warmup ones, taking
turns so load from other processes hits both alike. Target: ratio <= 2.5.
PyTorch and NumPy's BLAS are limited to --threads threads (default 1: the browser is
single-threaded; --threads 0 leaves both at their defaults).

Run: python bench/gpt_step.py [--threads N] [--repeat N] [--profile]
"""

import argparse
import cProfile
import io
import pstats
import statistics
import time

import numpy as np

import tinytorch
from blas_threads import limit_threads, print_runtime
from tinytorch.models import GPT, GPTConfig

try:
    import torch
except ImportError:
    torch = None

CONFIG = GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128)
BATCH = 16
TARGET = 2.5


def torch_twin(model):
    """PyTorch GPT with the same module names as tinytorch's, so state dicts copy across."""
    c = model.config
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(c.n_embd)
            self.attn = nn.MultiheadAttention(c.n_embd, c.n_head, batch_first=True)
            self.ln2 = nn.LayerNorm(c.n_embd)
            self.mlp = nn.ModuleDict(dict(fc=nn.Linear(c.n_embd, 4 * c.n_embd), proj=nn.Linear(4 * c.n_embd, c.n_embd)))

        def forward(self, x, mask):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False, is_causal=True)[0]
            return x + self.mlp["proj"](nn.functional.gelu(self.mlp["fc"](self.ln2(x)), approximate="tanh"))

    class TorchGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(c.vocab_size, c.n_embd)
            self.wpe = nn.Embedding(c.block_size, c.n_embd)
            self.blocks = nn.ModuleList(Block() for _ in range(c.n_layer))
            self.ln_f = nn.LayerNorm(c.n_embd)
            self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, idx, targets):
            t = idx.shape[1]
            mask = nn.Transformer.generate_square_subsequent_mask(t)
            x = self.wte(idx) + self.wpe(torch.arange(t))
            for block in self.blocks:
                x = block(x, mask)
            logits = self.lm_head(self.ln_f(x))
            return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

    twin = TorchGPT()
    twin.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    return twin


def median_step_times(steps, repeat, warmup):
    """Median seconds per call of each function, calling them in turn each round."""
    for _ in range(warmup):
        for step in steps:
            step()
    times = [[] for _ in steps]
    for _ in range(repeat):
        for step, record in zip(steps, times):
            start = time.perf_counter()
            step()
            record.append(time.perf_counter() - start)
    return [statistics.median(record) for record in times]


def run(args):
    rng = np.random.default_rng(0)
    x = rng.integers(0, CONFIG.vocab_size, (BATCH, CONFIG.block_size))
    y = rng.integers(0, CONFIG.vocab_size, (BATCH, CONFIG.block_size))
    tinytorch.manual_seed(0)
    model = GPT(CONFIG)
    twin = torch_twin(model) if torch is not None else None
    optimizer = tinytorch.optim.AdamW(model.parameters(), lr=1e-3)
    tx, ty = tinytorch.tensor(x), tinytorch.tensor(y)

    def tt_step():
        optimizer.zero_grad()
        _, loss = model(tx, ty)
        loss.backward()
        optimizer.step()

    steps = [tt_step]
    if twin is not None:
        px, py = torch.from_numpy(x), torch.from_numpy(y)
        ours, theirs = model(tx, ty)[1].item(), twin(px, py).item()
        assert abs(ours - theirs) < 1e-4, f"first losses differ: tinytorch {ours}, PyTorch {theirs}"
        torch_opt = torch.optim.AdamW(twin.parameters(), lr=1e-3)

        def torch_step():
            torch_opt.zero_grad()
            twin(px, py).backward()
            torch_opt.step()

        steps.append(torch_step)
    times = median_step_times(steps, args.repeat, args.warmup)
    print(f"parameters: {model.num_parameters():,}; batch {BATCH} x {CONFIG.block_size} tokens")
    print(f"tinytorch: {times[0] * 1e3:8.1f} ms/step")
    if twin is not None:
        ratio = times[0] / times[1]
        print(f"PyTorch:   {times[1] * 1e3:8.1f} ms/step")
        print(f"ratio:     {ratio:8.2f}   (target <= {TARGET}: {'ok' if ratio <= TARGET else 'MISSED'})")
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(lambda: [tt_step() for _ in range(args.repeat)])
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(15)
        print(text.getvalue())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for PyTorch and NumPy's BLAS (0: defaults)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print tinytorch's top functions by own time")
    args = parser.parse_args()
    with limit_threads(args.threads, torch):
        print_runtime(args.threads, torch)
        if torch is None:
            print("PyTorch is not installed: tinytorch timings only")
        print(f"median of {args.repeat} steps after {args.warmup} warm-up steps\n")
        run(args)


if __name__ == "__main__":
    main()
