"""tinytorch.nn.functional: the functional forms of the layers (PyTorch's `torch.nn.functional`).

Each function lives next to its Module in a topic file; this module only re-exports them.
"""

from .linear import linear
from .activation import relu, leaky_relu, sigmoid, tanh, gelu, silu, softmax, log_softmax
from .dropout import dropout
from .loss import (
    mse_loss, cross_entropy, nll_loss, binary_cross_entropy_with_logits, binary_cross_entropy,
)
from .robust_loss import l1_loss, smooth_l1_loss, huber_loss
from .embedding import embedding
from .attention import scaled_dot_product_attention, attention_weights
from .conv import conv2d
from .conv1d import conv1d
from .pooling import max_pool2d, avg_pool2d, adaptive_avg_pool2d
from .normalization import batch_norm, layer_norm
from .groupnorm import group_norm, normalize
from .padding import pad
from .one_hot import one_hot
