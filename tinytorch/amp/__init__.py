"""Automatic mixed precision with PyTorch's `torch.amp` names: GradScaler and autocast."""

from .autocast import autocast, is_autocast_available, is_autocast_enabled
from .grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "is_autocast_available", "is_autocast_enabled"]
