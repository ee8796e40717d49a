"""Tokenizers: turn text into token ids for language models, and back."""

from .bpe import GPT2_SPLIT_PATTERN, BPETokenizer, count_pairs
from .char import CharTokenizer

__all__ = ["BPETokenizer", "CharTokenizer", "GPT2_SPLIT_PATTERN", "count_pairs"]
