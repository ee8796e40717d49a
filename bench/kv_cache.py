"""Generation with and without the KV cache: time, speed-up, identical tokens, cache memory.

Model: the GPT of bench/gpt_step.py (4 layers, 4 heads, n_embd 128, vocab 65) with
block_size 256, so a prompt of up to 128 tokens plus 128 new tokens fits without cropping
(for each --batch and --prompt length). Sampling is
seeded (temperature 1.0, top_k 10); both runs use the same seed and must give the same
tokens. Target: >= 8x faster with the cache. NumPy's BLAS is limited to --threads threads
(default 1, like the browser; 0 leaves it at its default). Times are process CPU time.

Run: python bench/kv_cache.py [--batch 1 8] [--prompt 16 64] [--new-tokens 128] [--threads N]
In Pyodide (no BLAS, one thread): node tinytorch_site/programs/pyodide_run.mjs PYODIDE_DIR --mount .:/repo --cwd /repo /repo/bench/kv_cache.py [same options]
"""

import argparse

import numpy as np

import tinytorch
from blas_threads import limit_threads, print_runtime
from cpu_clock import CLOCK_NAME, cpu_time
from tinytorch.models import GPT, GPTConfig

CONFIG = GPTConfig(vocab_size=65, block_size=256, n_layer=4, n_head=4, n_embd=128)
TARGET = 8.0


def timed_generate(model, prompt, new_tokens, use_cache):
    start = cpu_time()
    out = model.generate(prompt, new_tokens, temperature=1.0, top_k=10,
                         generator=tinytorch.Generator(0), use_cache=use_cache)
    return out, cpu_time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--prompt", type=int, nargs="+", default=[16, 64], help="prompt lengths")
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1, help="threads for NumPy's BLAS (0: default)")
    args = parser.parse_args()
    with limit_threads(args.threads):
        print_runtime(args.threads)
        print(f"times in {CLOCK_NAME}")
        tinytorch.manual_seed(0)
        model = GPT(CONFIG).eval()
        print(f"model: {model.num_parameters():,} parameters; {args.new_tokens} new tokens\n")
        print(f"{'batch':>5s} {'prompt':>6s} {'no cache':>10s} {'cache':>10s} {'speed-up':>9s} {'tokens':>10s} {'cache memory':>13s}")
        for batch, length in [(b, p) for b in args.batch for p in args.prompt]:
            prompt = tinytorch.randint(0, CONFIG.vocab_size, (batch, length), generator=tinytorch.Generator(1))
            timed_generate(model, prompt, 4, True)  # warm-up
            plain, plain_s = timed_generate(model, prompt, args.new_tokens, use_cache=False)
            cached, cached_s = timed_generate(model, prompt, args.new_tokens, use_cache=True)
            same = "identical" if np.array_equal(plain.data, cached.data) else "DIFFER"
            memory = sum(c.nbytes for c in model.make_kv_caches(batch))
            speedup = plain_s / cached_s
            verdict = "ok" if speedup >= TARGET and same == "identical" else "MISSED"
            print(f"{batch:5d} {length:6d} {plain_s:9.2f}s {cached_s:9.2f}s {speedup:8.1f}x {same:>10s} "
                  f"{memory / 2**20:10.2f} MiB   (target >= {TARGET:g}x: {verdict})")


if __name__ == "__main__":
    main()
