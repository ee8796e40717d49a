"""One training step (forward + loss + backward + optimizer step), tinytorch vs PyTorch.

Models (float32, identical initial weights, same batches):
  mlp  Linear 784->512, ReLU, Linear 512->512, ReLU, Linear 512->10; batch 128   (target <= 1.5x)
  cnn  Conv 1->16 3x3 pad 1, ReLU, MaxPool 2, Conv 16->32 3x3 pad 1, ReLU, MaxPool 2,
       Flatten, Linear 32*7*7->10; 28x28 inputs, batch 64                       (target <= 1.3x, issue 14)
Loss: cross-entropy; optimizer: SGD(lr=0.01, momentum=0.9), or Adam with --optimizer adam.
Reports the median of --repeat timed steps after --warmup untimed ones, and the ratio
tinytorch time / PyTorch time. PyTorch and NumPy's BLAS are limited to --threads threads
(default 1: the browser is single-threaded; use --threads 0 to leave both at their defaults).
With one thread, steps are timed in process CPU time (robust on a loaded machine).

Run: python bench/train_step.py [--threads N] [--repeat N] [--optimizer sgd|adam] [--profile]
In Pyodide (no BLAS, one thread): node tinytorch_site/programs/pyodide_run.mjs PYODIDE_DIR --mount .:/repo --cwd /repo /repo/bench/train_step.py [same options]
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
from cpu_clock import CLOCK_NAME, cpu_time
from tinytorch import nn

try:
    import torch
except ImportError:
    torch = None


def tinytorch_mlp():
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


def tinytorch_cnn():
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 7 * 7, 10))


def torch_twin(model):
    """The same architecture in PyTorch, with our initial weights copied in."""
    layers = []
    for layer in model:
        name = type(layer).__name__
        if name == "Linear":
            layers.append(torch.nn.Linear(layer.in_features, layer.out_features))
        elif name == "Conv2d":
            layers.append(torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                          stride=layer.stride, padding=layer.padding))
        elif name == "MaxPool2d":
            layers.append(torch.nn.MaxPool2d(layer.kernel_size))
        else:
            layers.append(getattr(torch.nn, name)())
    twin = torch.nn.Sequential(*layers)
    twin.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    return twin


def make_optimizer(lib, params, kind):
    optim = tinytorch.optim if lib is tinytorch else torch.optim
    return optim.Adam(params, lr=1e-3) if kind == "adam" else optim.SGD(params, lr=0.01, momentum=0.9)


def median_step_times(steps, repeat, warmup, clock=time.perf_counter):
    """Median seconds per call of each function in `steps`.

    The functions take turns (one call each per round), so load from other processes on a
    shared machine slows all of them alike instead of skewing the ratio.
    """
    for _ in range(warmup):
        for step in steps:
            step()
    times = [[] for _ in steps]
    for _ in range(repeat):
        for step, record in zip(steps, times):
            start = clock()
            step()
            record.append(clock() - start)
    return [statistics.median(record) for record in times]


def bench(name, build, input_shape, batch, args):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *input_shape)).astype(np.float32)
    y = rng.integers(0, 10, batch).astype(np.int64)

    tinytorch.manual_seed(0)
    model = build()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = make_optimizer(tinytorch, model.parameters(), args.optimizer)
    tx, ty = tinytorch.tensor(x), tinytorch.tensor(y)

    def tt_step():
        optimizer.zero_grad()
        loss = loss_fn(model(tx), ty)
        loss.backward()
        optimizer.step()
        return loss

    result = {"model": name}
    if torch is not None:
        twin = torch_twin(model)
        torch_loss = torch.nn.CrossEntropyLoss()
        torch_opt = make_optimizer(torch, twin.parameters(), args.optimizer)
        px, py = torch.from_numpy(x), torch.from_numpy(y)

        def torch_step():
            torch_opt.zero_grad()
            loss = torch_loss(twin(px), py)
            loss.backward()
            torch_opt.step()
            return loss

        # Same weights, same batch: the first losses must agree, or the comparison is moot.
        tinytorch.manual_seed(0)
        check = build()
        first = loss_fn(check(tx), ty).item()
        expected = torch_loss(torch_twin(check)(px), py).item()
        assert abs(first - expected) < 1e-4 * max(1.0, abs(expected)), (first, expected)
        result["tinytorch"], result["torch"] = median_step_times([tt_step, torch_step], args.repeat, args.warmup, args.clock)
    else:
        result["tinytorch"], = median_step_times([tt_step], args.repeat, args.warmup, args.clock)
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(lambda: [tt_step() for _ in range(args.repeat)])
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(12)
        result["profile"] = text.getvalue()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for PyTorch and NumPy's BLAS (0: defaults)")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    parser.add_argument("--profile", action="store_true", help="print tinytorch's top functions by own time")
    args = parser.parse_args()
    # One thread each: process CPU time measures the work itself, which other load on a shared
    # machine barely disturbs; with more threads, wall time (CPU time would add the threads up).
    args.clock = cpu_time if args.threads == 1 else time.perf_counter

    with limit_threads(args.threads, torch):
        print_runtime(args.threads, torch)
        if torch is None:
            print("PyTorch is not installed: tinytorch timings only")
        clock = CLOCK_NAME if args.clock is cpu_time else "wall time"
        print(f"optimizer: {args.optimizer}; median of {args.repeat} steps after {args.warmup} warm-up steps "
              f"({clock}, the two libraries taking turns)\n")

        cases = [("mlp 784-512-512-10, batch 128", tinytorch_mlp, (784,), 128, 1.5)]
        if hasattr(nn, "Conv2d") and hasattr(nn, "MaxPool2d"):
            cases.append(("cnn 28x28, batch 64", tinytorch_cnn, (1, 28, 28), 64, 1.3))
        else:
            print("(cnn skipped: tinytorch.nn has no Conv2d/MaxPool2d yet)\n")
        print(f"{'model':32s} {'tinytorch':>11s} {'pytorch':>11s} {'ratio':>7s} {'target':>7s}")
        for name, build, shape, batch, target in cases:
            r = bench(name, build, shape, batch, args)
            if "torch" in r:
                ratio = r["tinytorch"] / r["torch"]
                verdict = "ok" if ratio <= target else "MISSED"
                print(f"{name:32s} {r['tinytorch'] * 1e3:9.2f}ms {r['torch'] * 1e3:9.2f}ms "
                      f"{ratio:7.2f} {'<= ' + str(target):>7s} {verdict}")
            else:
                print(f"{name:32s} {r['tinytorch'] * 1e3:9.2f}ms")
            if "profile" in r:
                print(r["profile"])


if __name__ == "__main__":
    main()
