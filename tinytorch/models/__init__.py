"""tinytorch.models: complete models built from tinytorch.nn (a small GPT with a KV cache)."""

from .kv_cache import KVCache, kv_cache_bytes
from .gpt import GPT, GPTConfig
from .recipes import SequenceRun, train_reversal, train_sequence_model
