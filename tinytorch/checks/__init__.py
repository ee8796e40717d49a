"""Exercise checks: the notebooks call these on the learner's own code.

Each check runs the learner's function or class on varied inputs (edge cases included),
compares with tinytorch's reference, prints `PASS name: ...` or a `FAIL` report naming the
input, expected and got values and a hint, and raises `CheckFailed` on failure.
"""

from .core import CheckFailed, assert_close, check_function, hint, results, yours_or_reference

# one file per course module, in course order
from .tensor import check_broadcast_shape, check_matmul, check_var, check_strides
from .activations import check_relu, check_sigmoid, check_tanh, check_gelu, check_softmax
from .layers import check_linear, check_sequential, check_dropout
from .losses import check_mse_loss, check_log_softmax, check_cross_entropy, check_binary_cross_entropy_with_logits
from .autograd import (check_unbroadcast, check_add_backward, check_mul_backward, check_matmul_backward,
                       check_sum_backward, check_relu_backward, check_sigmoid_backward, check_tanh_backward,
                       check_topological_sort, check_backward)
from .optim import check_sgd, check_adam, check_adamw
from .training import check_clip_grad_norm, check_cosine_lr, check_train_one_epoch, check_evaluate
from .data import check_tensor_dataset, check_collate, check_dataloader, check_shift_images
from .conv import (check_conv2d_loops, check_im2col, check_conv2d_im2col, check_col2im, check_conv2d_backward,
                   check_max_pool2d, check_max_pool2d_backward)
from .text import check_char_tokenizer, check_pair_counts, check_merge, check_train_bpe, check_bpe_encode, check_bpe_decode
from .embeddings import check_scatter_add_rows, check_embedding, check_sinusoidal_positions
from .attention import check_scaled_dot_product_attention, check_multi_head_attention
from .transformer import check_layer_norm, check_transformer_block, check_sample_next_token
from .profiling import check_count_parameters, check_linear_flops, check_conv2d_flops, check_measure_latency, check_amdahl_speedup
from .quantization import check_calculate_qparams, check_quantize, check_dequantize, check_quantized_linear
from .compression import check_magnitude_prune, check_structured_prune, check_low_rank_factorize, check_distillation_loss
from .memoization import check_kv_cache, check_cached_attention, check_kv_cache_bytes
from .acceleration import check_matmul_tiled, check_bias_gelu, check_update_scale
from .benchmarking import check_summarize, check_pareto_front, check_run_pipeline, check_stage_report
