"""Datasets and batching, with PyTorch's `torch.utils.data` names, and batch augmentation."""

from .augment import shift_images
from .dataloader import DataLoader, default_collate
from .dataset import Dataset, TensorDataset

__all__ = ["DataLoader", "Dataset", "TensorDataset", "default_collate", "shift_images"]
