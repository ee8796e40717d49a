"""A small English corpus for training character-level and BPE language models.

corpus.txt (~44 KB, plain ASCII) is original prose written for tinytorch: short stories,
a short history of computing and of neural networks, explanations of course ideas, and
teacher-student dialogues. It is not copied from any book or site and is licensed with the
project (MIT).
"""

from functools import lru_cache
from importlib import resources

_FILE = "corpus.txt"


@lru_cache(maxsize=1)
def load_corpus():
    """The corpus text as one str (its license header of `#` lines removed)."""
    text = resources.files(__package__).joinpath(_FILE).read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    start = 0
    while start < len(lines) and lines[start].startswith("#"):
        start += 1
    return "".join(lines[start:]).lstrip("\n")
