"""Datasets and batching, with PyTorch's `torch.utils.data` names."""

from .dataloader import DataLoader, default_collate
from .dataset import Dataset, TensorDataset

__all__ = ["DataLoader", "Dataset", "TensorDataset", "default_collate"]
