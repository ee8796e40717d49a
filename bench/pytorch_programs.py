"""Training steps of programs written the PyTorch way, tinytorch vs PyTorch, side by side.

The models are the ones of tests/programs (the same code runs on both libraries, only the
module passed as `torch` differs) plus the small CNN of bench/train_step.py:
  gpt-nano   nanoGPT model.py, 4 layers, 4 heads, width 128, context 64, batch 16, AdamW   (target <= 1.5x)
  gpt-tiny   the same code, 2 layers, 2 heads, width 32, context 16, batch 8               (target <= 1.5x)
             both with nanoGPT's masked_fill + softmax attention; "+sdpa" rows use its flash path
  mnist-cnn  the PyTorch examples' mnist/main.py Net (convs 32/64, dropout, two linears),
             batch 64, Adadelta                                                           (target <= 1.3x)
  small-cnn  bench/train_step.py's CNN, batch 64, SGD with momentum                       (target <= 1.3x)
Each step is forward + loss + backward + optimizer step on a fixed batch, float32, identical
initial weights (the first losses are checked to agree). Median of --repeat steps after
--warmup ones; one thread each by default (process CPU time). Each library runs each program
in processes of its own, --rounds of them taking turns, and the median of their medians is
reported (why: bench/apart.py); --together times both in one process, taking turns.
"faults" is the median of each library's page faults per step (memory the step had to get
from the operating system afresh; Unix only).

Run: python bench/pytorch_programs.py [--threads N] [--repeat N] [--rounds N] [--together] [--only NAME] [--profile NAME]
"""

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import tinytorch
from apart import median_of, report, take_turns
from blas_threads import limit_threads, print_runtime
from cpu_clock import CLOCK_NAME, cpu_time
from train_step import median_step_times, tinytorch_cnn, torch_twin

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "programs"))
from test_cnn_program import make_net  # noqa: E402  (the program code lives with its tests)
from test_gpt_program import GPTConfig, build_gpt  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

try:
    import resource
except ImportError:  # Windows
    resource = None


def counting_faults(step, counts):
    """`step`, appending the page faults each call takes to `counts`."""
    if resource is None:
        return step

    def counted():
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        value = step()
        counts.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        return value

    return counted


def median_or_none(counts):
    return statistics.median(counts) if counts else None


def faults_column(count):
    """A row's page faults per step (None: not counted here)."""
    return f"{'-':>7s}" if count is None else f"{count:7.0f}"


def check_first_losses(name, first, expected):
    """Same weights and batch: the same first loss (dropout aside), or the comparison is moot."""
    if "cnn" not in name:
        assert abs(first - expected) < 1e-4 * max(1.0, abs(expected)), (name, first, expected)


def row_text(name, target, t_ours, t_theirs, faults_ours, faults_theirs):
    """A program's row: both times, their ratio against the target, page faults per step."""
    ratio = t_ours / t_theirs
    verdict = "ok" if ratio <= target else "MISSED"
    return (f"{name:16s} {t_ours * 1e3:9.2f}ms {t_theirs * 1e3:9.2f}ms {ratio:7.2f} {'<= ' + str(target):>7s}"
            f" {faults_column(faults_ours)} {faults_column(faults_theirs)}  {verdict}")


def numpy_state(model):
    return {k: np.array(v.detach().numpy() if hasattr(v, "detach") else v) for k, v in model.state_dict().items()}


def gpt_case(lib, config, batch, state):
    """A step of nanoGPT's train loop (AdamW, grad clipping) on a fixed batch."""
    lib.manual_seed(0)
    model = build_gpt(lib, config)
    if state is not None:
        model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.integers(0, config.vocab_size, (batch, config.block_size)))
    y = lib.tensor(rng.integers(0, config.vocab_size, (batch, config.block_size)))
    optimizer = model.configure_optimizers(0.1, 1e-3, (0.9, 0.95), "cpu")

    def step():
        logits, loss = model(x, y)
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    return model, step


def classifier_case(lib, model, batch, make_optimizer, state, log_softmax_output):
    """A step of a classifier on a fixed batch of 28x28 images."""
    if state is not None:
        model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, batch))
    optimizer = make_optimizer(lib, model.parameters())
    F = lib.nn.functional
    model.train()

    def step():
        optimizer.zero_grad()
        output = model(x)
        loss = F.nll_loss(output, y) if log_softmax_output else F.cross_entropy(output, y)
        loss.backward()
        optimizer.step()
        return loss.item()

    return model, step


def build_cases():
    """name -> (target ratio, builder(lib, state) -> (model, step))."""
    nano = GPTConfig(block_size=64, vocab_size=65, n_layer=4, n_head=4, n_embd=128)
    tiny = GPTConfig(block_size=16, vocab_size=65, n_layer=2, n_head=2, n_embd=32)
    sdpa = lambda c: GPTConfig(**{**c.__dict__, "flash": True})  # noqa: E731

    def mnist(lib, state):
        lib.manual_seed(0)
        return classifier_case(lib, make_net(lib), 64, lambda lib, p: lib.optim.Adadelta(p, lr=1.0), state, True)

    def small(lib, state):
        tinytorch.manual_seed(0)
        ours = tinytorch_cnn()
        model = ours if lib is tinytorch else torch_twin(ours)
        return classifier_case(lib, model, 64, lambda lib, p: lib.optim.SGD(p, lr=0.01, momentum=0.9), state, False)

    return {
        "gpt-nano": (1.5, lambda lib, state: gpt_case(lib, nano, 16, state)),
        "gpt-nano+sdpa": (1.5, lambda lib, state: gpt_case(lib, sdpa(nano), 16, state)),
        "gpt-tiny": (1.5, lambda lib, state: gpt_case(lib, tiny, 8, state)),
        "gpt-tiny+sdpa": (1.5, lambda lib, state: gpt_case(lib, sdpa(tiny), 8, state)),
        "mnist-cnn": (1.3, mnist),
        "small-cnn": (1.3, small),
    }


def run(name, target, build, args):
    model, ours = build(tinytorch, None)
    row = f"{name:16s}"
    if torch is None:
        (t,) = median_step_times([ours], args.repeat, args.warmup, args.clock)
        return row + f" {t * 1e3:9.2f}ms"
    _, theirs = build(torch, numpy_state(model))
    check_first_losses(name, ours(), theirs())
    faults_ours, faults_theirs = [], []
    t_ours, t_theirs = median_step_times(
        [counting_faults(ours, faults_ours), counting_faults(theirs, faults_theirs)], args.repeat, args.warmup, args.clock)
    return row_text(name, target, t_ours, t_theirs, median_or_none(faults_ours), median_or_none(faults_theirs))


def steps_here(name, library, args):
    """Time one library's steps of a program in this process: {"first", "time", "faults"}."""
    build = build_cases()[name][1]
    if library is tinytorch:
        _, step = build(tinytorch, None)
    else:  # tinytorch's initial weights, made without running a tinytorch step
        model, _ = build(tinytorch, None)
        _, step = build(library, numpy_state(model))
    first = step()
    faults = []
    (seconds,) = median_step_times([counting_faults(step, faults)], args.repeat, args.warmup, args.clock)
    return {"first": first, "time": seconds, "faults": median_or_none(faults)}


def run_apart(name, target, args):
    """The program's row, each library timed in processes of its own that take turns."""
    options = ["--threads", str(args.threads), "--repeat", str(args.repeat), "--warmup", str(args.warmup), "--steps", name]
    libraries = ["tinytorch"] + (["torch"] if torch is not None else [])
    results = take_turns(__file__, options, libraries, args.rounds)
    t_ours = median_of(results["tinytorch"], "time")
    if torch is None:
        return f"{name:16s} {t_ours * 1e3:9.2f}ms"
    check_first_losses(name, results["tinytorch"][0]["first"], results["torch"][0]["first"])
    return row_text(name, target, t_ours, median_of(results["torch"], "time"),
                    median_of(results["tinytorch"], "faults"), median_of(results["torch"], "faults"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for PyTorch and NumPy's BLAS (0: defaults)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--only", action="append", help="run only this case (repeatable)")
    parser.add_argument("--profile", help="print tinytorch's top functions for this case instead of timing")
    parser.add_argument("--rounds", type=int, default=3, help="processes per library and program")
    parser.add_argument("--together", action="store_true", help="both libraries in one process, taking turns")
    parser.add_argument("--steps", help=argparse.SUPPRESS)  # internal: time this program's steps here
    parser.add_argument("--library", help=argparse.SUPPRESS)  # internal: with --steps, tinytorch or torch
    args = parser.parse_args()
    args.clock = cpu_time if args.threads == 1 else time.perf_counter
    cases = build_cases()
    with limit_threads(args.threads, torch):
        if args.steps:
            report(steps_here(args.steps, tinytorch if args.library == "tinytorch" else torch, args))
            return
        print_runtime(args.threads, torch)
        if args.profile:
            _, step = cases[args.profile][1](tinytorch, None)
            step()
            profile = cProfile.Profile(args.clock)  # CPU time, as the timings: wall time on a loaded machine misleads
            profile.runcall(lambda: [step() for _ in range(args.repeat)])
            text = io.StringIO()
            pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(25)
            print(text.getvalue())
            return
        clock = CLOCK_NAME if args.clock is cpu_time else "wall time"
        how = ("in one process, taking turns" if args.together
               else f"median of {args.rounds} processes per library, taking turns")
        print(f"median of {args.repeat} steps after {args.warmup} warm-up steps ({clock}; {how})\n")
        print(f"{'program':16s} {'tinytorch':>11s} {'pytorch':>11s} {'ratio':>7s} {'target':>7s}"
              f" {'faults':>7s} {'(torch)':>7s}")
        for name, (target, build) in cases.items():
            if not args.only or name in args.only:
                print(run(name, target, build, args) if args.together else run_apart(name, target, args), flush=True)


if __name__ == "__main__":
    main()
