"""One training step (forward + loss + backward + optimizer step), tinytorch vs PyTorch.

Models (float32, identical initial weights, same batches):
  mlp  Linear 784->512, ReLU, Linear 512->512, ReLU, Linear 512->10; batch 128   (target <= 1.5x)
  cnn  Conv 1->16 3x3 pad 1, ReLU, MaxPool 2, Conv 16->32 3x3 pad 1, ReLU, MaxPool 2,
       Flatten, Linear 32*7*7->10; 28x28 inputs, batch 64                       (target <= 1.3x, issue 14)
Loss: cross-entropy; optimizer: SGD(lr=0.01, momentum=0.9), or Adam with --optimizer adam.
Reports the median of --repeat timed steps after --warmup untimed ones, and the ratio
tinytorch time / PyTorch time: each library in processes of its own, --rounds of them taking
turns (why: bench/apart.py); --together (and in Pyodide) both in one process, taking turns. PyTorch and NumPy's BLAS are limited to --threads threads
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
import sys
import time

import numpy as np

import tinytorch
from apart import median_of, report, take_turns
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


def training_step(model, loss_fn, optimizer, x, y):
    """One step on the batch (x, y), with either library's objects."""
    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def make_steps(build, input_shape, batch, args):
    """(tinytorch's step, PyTorch's step or None) on one fixed batch, from the same weights."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *input_shape)).astype(np.float32)
    y = rng.integers(0, 10, batch).astype(np.int64)

    tinytorch.manual_seed(0)
    model = build()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = make_optimizer(tinytorch, model.parameters(), args.optimizer)
    tx, ty = tinytorch.tensor(x), tinytorch.tensor(y)

    tt_step = training_step(model, loss_fn, optimizer, tx, ty)
    if torch is None:
        return tt_step, None
    twin = torch_twin(model)
    torch_loss = torch.nn.CrossEntropyLoss()
    torch_opt = make_optimizer(torch, twin.parameters(), args.optimizer)
    px, py = torch.from_numpy(x), torch.from_numpy(y)

    torch_step = training_step(twin, torch_loss, torch_opt, px, py)
    # Same weights, same batch: the first losses must agree, or the comparison is moot.
    tinytorch.manual_seed(0)
    check = build()
    first = loss_fn(check(tx), ty).item()
    expected = torch_loss(torch_twin(check)(px), py).item()
    assert abs(first - expected) < 1e-4 * max(1.0, abs(expected)), (first, expected)
    return tt_step, torch_step


def bench(key, args):
    """{"tinytorch": seconds, "torch": seconds (with PyTorch), "profile": text (--profile)}."""
    _, build, shape, batch, _ = CASES[key]
    tt_step, torch_step = make_steps(build, shape, batch, args)
    result = {}
    if torch_step is None:
        result["tinytorch"], = median_step_times([tt_step], args.repeat, args.warmup, args.clock)
    elif args.together or sys.platform == "emscripten":
        result["tinytorch"], result["torch"] = median_step_times([tt_step, torch_step], args.repeat, args.warmup, args.clock)
    else:
        options = ["--threads", str(args.threads), "--repeat", str(args.repeat), "--warmup", str(args.warmup),
                   "--optimizer", args.optimizer, "--model", key]
        results = take_turns(__file__, options, ["tinytorch", "torch"], args.rounds)
        result = {library: median_of(results[library], "time") for library in results}
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(lambda: [tt_step() for _ in range(args.repeat)])
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(12)
        result["profile"] = text.getvalue()
    return result


def time_here(key, library, args):
    """A child process of `bench`: one library's median step time on this model."""
    _, build, shape, batch, _ = CASES[key]
    steps = make_steps(build, shape, batch, args)
    (seconds,) = median_step_times([steps[0] if library == "tinytorch" else steps[1]], args.repeat, args.warmup, args.clock)
    return {"time": seconds}


CASES = {  # key: (row name, model builder, input shape, batch, target ratio)
    "mlp": ("mlp 784-512-512-10, batch 128", tinytorch_mlp, (784,), 128, 1.5),
    "cnn": ("cnn 28x28, batch 64", tinytorch_cnn, (1, 28, 28), 64, 1.3),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for PyTorch and NumPy's BLAS (0: defaults)")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    parser.add_argument("--rounds", type=int, default=3, help="processes per library and model")
    parser.add_argument("--together", action="store_true", help="both libraries in one process, taking turns")
    parser.add_argument("--profile", action="store_true", help="print tinytorch's top functions by own time")
    parser.add_argument("--model", help=argparse.SUPPRESS)  # internal: with --library, time one library here
    parser.add_argument("--library", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # One thread each: process CPU time measures the work itself, which other load on a shared
    # machine barely disturbs; with more threads, wall time (CPU time would add the threads up).
    args.clock = cpu_time if args.threads == 1 else time.perf_counter

    with limit_threads(args.threads, torch):
        if args.library:
            report(time_here(args.model, args.library, args))
            return
        print_runtime(args.threads, torch)
        if torch is None:
            print("PyTorch is not installed: tinytorch timings only")
        clock = CLOCK_NAME if args.clock is cpu_time else "wall time"
        how = ("tinytorch only" if torch is None
               else "in one process, taking turns" if args.together or sys.platform == "emscripten"
               else f"median of {args.rounds} processes per library, taking turns")
        print(f"optimizer: {args.optimizer}; median of {args.repeat} steps after {args.warmup} warm-up steps "
              f"({clock}; {how})\n")
        keys = ["mlp"]
        if hasattr(nn, "Conv2d") and hasattr(nn, "MaxPool2d"):
            keys.append("cnn")
        else:
            print("(cnn skipped: tinytorch.nn has no Conv2d/MaxPool2d yet)\n")
        print(f"{'model':32s} {'tinytorch':>11s} {'pytorch':>11s} {'ratio':>7s} {'target':>7s}")
        for key in keys:
            name, target = CASES[key][0], CASES[key][4]
            r = bench(key, args)
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
