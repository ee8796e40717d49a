"""Compression (course module 16): pruning, low-rank factorization, knowledge distillation."""

from .pruning import apply_masks, magnitude_prune, prunable, remove_masks, sparsity, structured_prune
from .low_rank import low_rank_factorize
from .distillation import distillation_loss

__all__ = [
    "apply_masks", "magnitude_prune", "prunable", "remove_masks", "sparsity", "structured_prune",
    "low_rank_factorize", "distillation_loss",
]
