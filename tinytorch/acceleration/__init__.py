"""Acceleration (course module 18): formulations and fused ops measured on the running platform,
float16 mixed precision with loss scaling, and an inference compiler for MLPs."""

from ..nn.im2col import col2im, conv_output_size, im2col
from .formulations import (
    CONV2D_FORMULATIONS, MATMUL_FORMULATIONS, conv2d_im2col_einsum, conv2d_im2col_matmul, conv2d_naive,
    conv2d_tensordot, matmul_blocked, matmul_einsum, matmul_naive, matmul_tensordot, matmul_vectorized,
)
from .choose import TimingTable, choose_fastest
from .fusion import FUSION_CANDIDATES, bias_gelu, gelu_op_chain
from .mixed_precision import LossScaler, MasterWeights, next_loss_scale
from .compile import LAYER_PRODUCTS, CompiledMLP

__all__ = [
    "CONV2D_FORMULATIONS", "MATMUL_FORMULATIONS", "col2im", "conv2d_im2col_einsum", "conv2d_im2col_matmul",
    "conv2d_naive", "conv2d_tensordot", "conv_output_size", "im2col", "matmul_blocked", "matmul_einsum",
    "matmul_naive", "matmul_tensordot", "matmul_vectorized", "TimingTable", "choose_fastest",
    "FUSION_CANDIDATES", "bias_gelu", "gelu_op_chain", "LossScaler", "MasterWeights", "next_loss_scale",
    "LAYER_PRODUCTS", "CompiledMLP",
]
