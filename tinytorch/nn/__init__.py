"""tinytorch.nn: layers, losses and the Module system (PyTorch's `torch.nn`)."""

from . import functional, init, utils
from .module import Module, Parameter, Sequential, ModuleList, ModuleDict
from .linear import Linear, Identity
from .activation import ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Softmax, LogSoftmax
from .dropout import Dropout
from .flatten import Flatten
from .loss import MSELoss, CrossEntropyLoss, NLLLoss, BCEWithLogitsLoss, BCELoss
from .embedding import Embedding, SinusoidalPositionalEncoding, LearnedPositionalEmbedding
from .attention import MultiHeadAttention, MultiheadAttention
from .conv import Conv2d
from .pooling import MaxPool2d, AvgPool2d, AdaptiveAvgPool2d
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .transformer import TransformerBlock
