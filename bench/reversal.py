"""Train the small GPT of tinytorch.models.recipes.train_reversal on 8-digit reversal.

Prints the model size, training time and exact-sequence accuracy on unseen test sequences
(target >= 98 %), for each --seed. NumPy's BLAS is limited to --threads threads (default 1,
like the browser; 0 leaves it at its default).

Run: python bench/reversal.py [--seeds 0 1 2] [--threads N] [--steps N]
"""

import argparse

from blas_threads import limit_threads, print_runtime
from tinytorch.models.recipes import train_reversal


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1, help="threads for NumPy's BLAS (0: default)")
    parser.add_argument("--steps", type=int, default=150)
    args = parser.parse_args()
    with limit_threads(args.threads):
        print_runtime(args.threads)
        for seed in args.seeds:
            run = train_reversal(seed=seed, steps=args.steps)
            params = run.model.num_parameters()
            verdict = "ok" if run.test_accuracy >= 0.98 else "MISSED"
            print(f"seed {seed}: {params:,} parameters, {args.steps} steps in {run.seconds:5.2f} s, "
                  f"final loss {run.losses[-1]:.4f}, test exact-sequence accuracy {run.test_accuracy:.1%} "
                  f"(target >= 98 %: {verdict})")


if __name__ == "__main__":
    main()
