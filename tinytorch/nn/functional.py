"""tinytorch.nn.functional: the functional forms of the layers (PyTorch's `torch.nn.functional`).

Each function lives next to its Module in a topic file; this module only re-exports them.
"""

from .linear import linear
from .activation import relu, leaky_relu, sigmoid, tanh, gelu, softmax, log_softmax
from .dropout import dropout
from .loss import (
    mse_loss, cross_entropy, nll_loss, binary_cross_entropy_with_logits, binary_cross_entropy,
)
from .embedding import embedding
from .attention import scaled_dot_product_attention, attention_weights
from .conv import conv2d
from .pooling import max_pool2d, avg_pool2d, adaptive_avg_pool2d
from .normalization import batch_norm, layer_norm
