"""Tokenizer speed on the bundled corpus: BPE training/encoding/decoding and char encoding.

Run: python bench/bench_text.py   (pure Python + NumPy; the same code runs in Pyodide)
"""

import platform
import sys
import time

import numpy as np

from tinytorch.datasets import load_corpus
from tinytorch.text import BPETokenizer, CharTokenizer


def best_of(fn, repeat=3):
    """Fastest of `repeat` runs, in seconds, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main():
    print(f"Python {sys.version.split()[0]} on {platform.machine()}, NumPy {np.__version__}")
    text = load_corpus()
    n_bytes = len(text.encode("utf-8"))
    print(f"corpus: {len(text)} characters, {n_bytes} bytes")

    char = CharTokenizer(text)
    seconds, ids = best_of(lambda: char.encode(text))
    print(f"CharTokenizer: vocab {char.vocab_size}, encode {seconds * 1e3:.1f} ms, "
          f"decode {best_of(lambda: char.decode(ids))[0] * 1e3:.1f} ms")

    for vocab_size in (512, 1024, 2048):
        tok = BPETokenizer()
        train_s, _ = best_of(lambda: tok.train(text, vocab_size))
        tok._cache.clear()  # time a cold encode: every distinct chunk is encoded once
        start = time.perf_counter()
        ids = tok.encode(text)
        encode_s = time.perf_counter() - start
        decode_s, _ = best_of(lambda: tok.decode(ids))
        print(f"BPETokenizer vocab {vocab_size}: train {train_s:.3f} s, encode (cold cache) "
              f"{encode_s:.3f} s, decode {decode_s * 1e3:.1f} ms, {len(ids)} tokens "
              f"({n_bytes / len(ids):.2f} bytes/token)")

    raw = BPETokenizer(pattern=None)
    train_s, _ = best_of(lambda: raw.train(text, 512), repeat=1)
    print(f"BPETokenizer(pattern=None) vocab 512: train {train_s:.3f} s, "
          f"{len(raw.encode(text))} tokens")


if __name__ == "__main__":
    main()
