"""tinytorch.nn: layers, losses and the Module system (PyTorch's `torch.nn`)."""

from . import functional, init, utils
from .module import Module, Parameter, Sequential, ModuleList, ModuleDict
from .linear import Linear, Identity
from .activation import ReLU, LeakyReLU, Sigmoid, Tanh, GELU, SiLU, Softmax, LogSoftmax
from .dropout import Dropout
from .flatten import Flatten, Unflatten
from .loss import MSELoss, CrossEntropyLoss, NLLLoss, BCEWithLogitsLoss, BCELoss
from .robust_loss import L1Loss, SmoothL1Loss, HuberLoss
from .embedding import Embedding, SinusoidalPositionalEncoding, LearnedPositionalEmbedding
from .attention import MultiHeadAttention
from .multihead import MultiheadAttention
from .conv import Conv2d
from . import im2col  # noqa: F401  (declares module 09's convolution seams)
from .conv1d import Conv1d
from .pooling import MaxPool2d, AvgPool2d, AdaptiveAvgPool2d
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .groupnorm import GroupNorm
from .transformer import TransformerBlock
from .transformer_encoder import TransformerEncoderLayer, TransformerEncoder
from .rnn import RNN, LSTM, GRU
