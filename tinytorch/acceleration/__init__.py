"""Acceleration (course module 18): formulations compared on the running platform."""

from .formulations import (
    CONV2D_FORMULATIONS, MATMUL_FORMULATIONS, conv2d_im2col_einsum, conv2d_im2col_matmul, conv2d_naive,
    conv2d_tensordot, conv_output_size, im2col, matmul_blocked, matmul_einsum, matmul_naive,
    matmul_tensordot, matmul_vectorized,
)
