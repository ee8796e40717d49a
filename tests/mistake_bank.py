"""The mistake bank: plausible wrong solutions of every exercise, written as small edits of the
course's own solution (tests/solutions.py), each with the kind of mistake it is.

`MISTAKES[module][name]` lists `(mistake, old text, new text)`: the solution of `name` in
`content/<module>.py` with `old` replaced by `new` once. tests/test_mistakes.py runs the check
of each exercise on every one of them: the check must reject it.
"""

MISTAKES = {
    "01_tensor": {
        "broadcast_shape": [
            ("pads the shorter shape on the right", "padded_a = (1,) * (n - len(a)) + tuple(a)", "padded_a = tuple(a) + (1,) * (n - len(a))"),
            ("keeps the left size even when it is 1", "result.append(size_b if size_a == 1 else size_a)", "result.append(size_a)"),
            ("takes the larger size (1 meets 0 gives 1)", "result.append(size_b if size_a == 1 else size_a)", "result.append(max(size_a, size_b))"),
            ("never raises on a mismatch", "if size_a != size_b and size_a != 1 and size_b != 1:", "if False:"),
        ],
        "matmul": [
            ("sums over the wrong axis", "products.sum(axis=-2)", "products.sum(axis=-1)"),
            ("transposes b", "b.data[..., None, :, :]", "np.swapaxes(b.data, -1, -2)[..., None, :, :]"),
            ("off by one: drops b's last column", "b.data[..., None, :, :]", "b.data[..., None, :, :-1]"),
        ],
        "var": [
            ("ignores the correction", "/ (count - correction)", "/ count"),
            ("correction with the wrong sign", "/ (count - correction)", "/ (count + correction)"),
            ("divides by every element, not the group size", "count = x.numel() // mean.numel()", "count = x.numel()"),
            ("mean without keepdim", "mean = x.mean(dim, keepdim=True)", "mean = x.mean(dim, keepdim=keepdim)"),
        ],
        "strides": [
            ("forgets the itemsize", "step = itemsize", "step = 1"),
            ("walks the shape left to right", "for size in reversed(shape):", "for size in shape:"),
            ("forgets to reverse", "return tuple(reversed(result))", "return tuple(result)"),
            ("off by one: multiplies before storing", "result.append(step)\n        step *= size", "step *= size\n        result.append(step)"),
        ],
    },
    "02_activations": {
        "relu": [
            ("absolute value", "np.maximum(x.data, 0)", "np.abs(x.data)"),
            ("keeps the negative side", "np.maximum(x.data, 0)", "np.minimum(x.data, 0)"),
            ("leaky", "np.maximum(x.data, 0)", "np.maximum(x.data, 0.01 * x.data)"),
        ],
        "sigmoid": [
            ("branches swapped", "1 / (1 + e), e / (1 + e)", "e / (1 + e), 1 / (1 + e)"),
            ("exponent sign", "np.exp(-np.abs(v))", "np.exp(np.abs(v))"),
            ("condition flipped", "v >= 0", "v <= 0"),
            ("naive formula (overflows)", "np.where(v >= 0, 1 / (1 + e), e / (1 + e))", "1 / (1 + np.exp(-v))"),
        ],
        "tanh": [
            ("half the argument", "np.tanh(x.data)", "np.tanh(x.data / 2)"),
            ("naive exp formula (inf / inf)", "np.tanh(x.data)", "(np.exp(x.data) - np.exp(-x.data)) / (np.exp(x.data) + np.exp(-x.data))"),
            ("arctan", "np.tanh(x.data)", "np.arctan(x.data)"),
        ],
        "gelu": [
            ("wrong constant 0.0447", "0.044715", "0.0447"),
            ("sqrt(pi / 2) for sqrt(2 / pi)", "np.sqrt(2 / np.pi)", "np.sqrt(np.pi / 2)"),
            ("forgets the 0.5", "0.5 * v *", "v *"),
            ("square instead of cube", "v * v * v", "v * v"),
        ],
        "softmax": [
            ("global max, not per row", "v.max(axis=dim, keepdims=True)", "v.max()"),
            ("sums over everything", "e.sum(axis=dim, keepdims=True)", "e.sum()"),
            ("ignores dim when summing", "e / e.sum(axis=dim, keepdims=True)", "e / e.sum(axis=-1, keepdims=True)"),
            ("no shift (overflows)", "np.exp(v - v.max(axis=dim, keepdims=True))", "np.exp(v)"),
        ],
    },
    "03_layers": {
        "Linear": [
            ("weight not transposed", "x @ self.weight.T", "x @ self.weight"),
            ("forgets the bias", "out = out + self.bias", "out = out"),
            ("init bound from out_features", "bound = 1 / math.sqrt(in_features)", "bound = 1 / math.sqrt(out_features)"),
            ("init in (0, bound) only", "tt.rand(out_features, in_features) * (2 * bound) - bound", "tt.rand(out_features, in_features) * bound"),
        ],
        "Sequential": [
            ("runs the modules backwards", "for module in self._modules.values():", "for module in reversed(list(self._modules.values())):"),
            ("len off by one", "return len(self._modules)", "return len(self._modules) - 1"),
            ("index off by one", "return list(self._modules.values())[index]", "return list(self._modules.values())[index - 1]"),
            ("names from 1", "self.add_module(str(i), module)", "self.add_module(str(i + 1), module)"),
        ],
        "Dropout": [
            ("keeps with probability p", "keep = tt.rand(*x.shape).data >= self.p", "keep = tt.rand(*x.shape).data < self.p"),
            ("does not rescale", " / np.asarray(1 - self.p, dtype=x.dtype)", ""),
            ("drops in eval mode too", "if not self.training or self.p == 0:", "if self.p == 0:"),
            ("scales by 1/p", "np.asarray(1 - self.p, dtype=x.dtype)", "np.asarray(self.p, dtype=x.dtype)"),
        ],
    },
    "04_losses": {
        "mse_loss": [
            ("sum, not mean", "((input - target) ** 2).mean()", "((input - target) ** 2).sum()"),
            ("absolute error", "((input - target) ** 2).mean()", "(input - target).abs().mean()"),
            ("divides by the batch only", "((input - target) ** 2).mean()", "((input - target) ** 2).sum() / input.shape[0]"),
        ],
        "log_softmax": [
            ("no shift (overflows)", "shifted = x - Tensor(x.data.max(axis=dim, keepdims=True))", "shifted = x"),
            ("global max, not per row", "x.data.max(axis=dim, keepdims=True)", "x.data.max()"),
            ("sums over everything", ".sum(dim, keepdim=True)", ".sum()"),
            ("adds the log-sum-exp", "return shifted - shifted", "return shifted + shifted"),
        ],
        "cross_entropy": [
            ("forgets the minus", "return -picked.mean()", "return picked.mean()"),
            ("sum, not mean", "return -picked.mean()", "return -picked.sum()"),
            ("softmax over the batch", "log_softmax(logits, dim=1)", "log_softmax(logits, dim=0)"),
            ("picks class 0", "log_probs[np.arange(len(target.data)), target.data]", "log_probs[np.arange(len(target.data)), 0]"),
        ],
        "binary_cross_entropy_with_logits": [
            ("target flipped", "logits * target", "logits * (1 - target)"),
            ("exp of -x, not -|x| (overflows)", "(-logits.abs()).exp()", "(-logits).exp()"),
            ("sum, not mean", ".log()).mean()", ".log()).sum()"),
        ],
    },
    "05_autograd": {
        "unbroadcast": [
            ("sums the last axis, not the leading one", "grad = grad.sum(axis=0)", "grad = grad.sum(axis=-1)"),
            ("drops the size-1 axes", "grad = grad.sum(axis=axis, keepdims=True)", "grad = grad.sum(axis=axis, keepdims=False)"),
            ("ignores added leading axes", "while grad.ndim > len(shape):", "while False:"),
            ("ignores stretched size-1 axes", "if size == 1 and grad.shape[axis] != 1:", "if False:"),
        ],
        "add_backward": [
            ("no unbroadcast", "return unbroadcast(grad, a.shape), unbroadcast(grad, b.shape)", "return grad, grad"),
            ("minus for b", "unbroadcast(grad, b.shape)", "unbroadcast(-grad, b.shape)"),
            ("a's shape for both", "unbroadcast(grad, b.shape)", "unbroadcast(grad, a.shape)"),
        ],
        "mul_backward": [
            ("factors swapped", "unbroadcast(grad * b, a.shape), unbroadcast(grad * a, b.shape)", "unbroadcast(grad * a, a.shape), unbroadcast(grad * b, b.shape)"),
            ("no unbroadcast", "return unbroadcast(grad * b, a.shape), unbroadcast(grad * a, b.shape)", "return grad * b, grad * a"),
            ("forgets the upstream grad", "unbroadcast(grad * b, a.shape), unbroadcast(grad * a, b.shape)", "unbroadcast(b, a.shape), unbroadcast(a, b.shape)"),
        ],
        "matmul_backward": [
            ("b not transposed", "grad @ np.swapaxes(b, -1, -2)", "grad @ b"),
            ("no unbroadcast", "return unbroadcast(grad_a, a.shape), unbroadcast(grad_b, b.shape)", "return grad_a, grad_b"),
            (".T transposes every axis", "np.swapaxes(a, -1, -2) @ grad", "a.T @ grad"),
        ],
        "sum_backward": [
            ("forgets to put the axes back", "grad = np.expand_dims(grad, dim)", "pass"),
            ("keepdim test inverted", "if not keepdim:", "if keepdim:"),
            ("dim None means axis 0", "dim = tuple(range(len(shape)))", "dim = 0"),
            ("does not broadcast", "return np.broadcast_to(grad, shape)", "return grad"),
        ],
        "relu_backward": [
            ("passes the gradient at 0", "x > 0", "x >= 0"),
            ("forgets the upstream grad", "np.where(x > 0, grad, 0.0)", "np.where(x > 0, 1.0, 0.0)"),
            ("x instead of 0", "np.where(x > 0, grad, 0.0)", "np.where(x > 0, grad, x)"),
        ],
        "sigmoid_backward": [
            ("forgets the upstream grad", "grad * out * (1 - out)", "out * (1 - out)"),
            ("sign", "grad * out * (1 - out)", "grad * out * (1 + out)"),
            ("drops a factor", "grad * out * (1 - out)", "grad * (1 - out)"),
        ],
        "tanh_backward": [
            ("1 - out", "grad * (1 - out * out)", "grad * (1 - out)"),
            ("sign", "grad * (1 - out * out)", "grad * (1 + out * out)"),
            ("forgets the upstream grad", "grad * (1 - out * out)", "(1 - out * out)"),
        ],
        "topological_sort": [
            ("no visited set", "if id(node) in visited:\n            continue", "if False:\n            continue"),
            ("reversed", "return order", "return order[::-1]"),
            ("pre-order (node before its parents)", "stack.append((node, True))", "order.append(node)"),
        ],
        "backward": [
            ("a leaf shares the gradient array", "node.grad = Tensor(np.array(g))", "node.grad = Tensor(g)"),
            ("overwrites an existing .grad", "node.grad = Tensor(node.grad.data + g)", "node.grad = Tensor(g)"),
            ("keeps only the last use's gradient", "grads[key] = grads[key] + parent_grad if key in grads else parent_grad", "grads[key] = parent_grad"),
            ("visits nodes in forward order", "reversed(topological_sort(root))", "topological_sort(root)"),
        ],
    },
    "06_optimizers": {
        "SGD": [
            ("steps up the gradient", "p.data -= lr * g", "p.data += lr * g"),
            ("momentum as an average", 'momentum * state["momentum_buffer"] + g', 'momentum * state["momentum_buffer"] + (1 - momentum) * g'),
            ("weight decay sign", "g = g + weight_decay * p.data", "g = g - weight_decay * p.data"),
        ],
        "Adam": [
            ("no bias correction", 'm_hat = state["exp_avg"] / (1 - beta1 ** t)', 'm_hat = state["exp_avg"]'),
            ("eps inside the square root", "np.sqrt(v_hat) + eps", "np.sqrt(v_hat + eps)"),
            ("second moment not squared", "(1 - beta2) * g * g", "(1 - beta2) * g"),
            ("step counted from 0", 'state["step"] += 1\n                t = state["step"]', 't = state["step"]\n                state["step"] += 1'),
        ],
        "AdamW": [
            ("decay added to the gradient (Adam's L2)", 'AdamW."""\n\n    decoupled = True', 'AdamW."""\n\n    decoupled = False'),
            ("no default weight decay", "weight_decay=1e-2):", "weight_decay=0):"),
            ("decays after the update", "p.data *= 1 - lr * weight_decay", "p.data *= 1 - weight_decay"),
        ],
    },
    "07_training": {
        "clip_grad_norm_": [
            ("clips when below", "if total > max_norm:", "if total < max_norm:"),
            ("squared norm", "total = math.sqrt(", "total = ("),
            ("inverted scale", "scale = max_norm / (total + 1e-6)", "scale = total / max_norm"),
        ],
        "cosine_lr": [
            ("warmup off by one", "lr_max * (step + 1) / warmup_steps", "lr_max * step / warmup_steps"),
            ("full cosine period", "math.cos(math.pi * progress)", "math.cos(2 * math.pi * progress)"),
            ("progress ignores warmup", "progress = (step - warmup_steps) / (total_steps - warmup_steps)", "progress = step / total_steps"),
            ("0 after the end, not lr_min", "if step >= total_steps:\n        return lr_min", "if step >= total_steps:\n        return 0.0"),
        ],
        "train_one_epoch": [
            ("never zeroes the gradients", "        optimizer.zero_grad()\n", ""),
            ("mean of batch means", "total += loss.item() * len(y)", "total += loss.item()"),
            ("ignores max_grad_norm", "if max_grad_norm is not None:", "if False:"),
            ("leaves eval mode on", "    model.train()\n", ""),
        ],
        "evaluate": [
            ("stays in train mode", "model.eval()", "pass"),
            ("always ends in train mode", "model.train(was_training)", "model.train()"),
            ("accuracy per batch count", '"accuracy": correct / count', '"accuracy": correct / len(loader)'),
            ("argmax over the batch", "argmax(axis=1)", "argmax(axis=0)"),
        ],
    },
    "08_dataloader": {
        "TensorDataset": [
            ("no length check", "if len(set(sizes)) != 1:", "if False:"),
            ("returns the first tensor only", "return tuple(t[index] for t in self.tensors)", "return self.tensors[0][index]"),
            ("len counts tensors", "return self.tensors[0].shape[0]", "return len(self.tensors)"),
        ],
        "collate": [
            ("ints as float32", "dtype=np.int64", "dtype=np.float32"),
            ("fields not transposed", "for field in zip(*samples)", "for field in samples"),
            ("concatenates instead of stacking", "Tensor(np.stack([s.data for s in samples]))", "Tensor(np.concatenate([s.data for s in samples]))"),
        ],
        "DataLoader": [
            ("always drops the last batch", "else math.ceil(n / self.batch_size)", "else n // self.batch_size"),
            ("never shuffles", "if self.shuffle else", "if False else"),
            ("accepts batch_size 0", "or batch_size < 1:", "or batch_size < 0:"),
            ("batches one short", "order[start:start + self.batch_size]", "order[start:start + self.batch_size - 1]"),
        ],
        "shift_images": [
            ("shift sign", "- dy[:, None] + m", "+ dy[:, None] + m"),
            ("dx for the rows", "rows = np.arange(H)[None, :] - dy[:, None] + m", "rows = np.arange(H)[None, :] - dx[:, None] + m"),
            ("forgets the padding offset", "- dy[:, None] + m", "- dy[:, None]"),
        ],
    },
    "09_convolutions": {
        "conv2d_loops": [
            ("forgets the bias", "out[n, o] += bias[o]", "pass"),
            ("ignores the stride", "i * stride:i * stride + kh", "i:i + kh"),
            ("flips the kernel", "window * weight[o]", "window * weight[o, :, ::-1, ::-1]"),
            ("output size ignores padding", "(H + 2 * padding - kh) // stride + 1, (W", "(H - kh) // stride + 1, (W"),
        ],
        "im2col": [
            ("channels last in a row", "transpose(0, 2, 3, 1, 4, 5)", "transpose(0, 2, 3, 4, 5, 1)"),
            ("ignores the stride", "[:, :, ::stride, ::stride]", "[:, :, :, :]"),
            ("ignores the padding", "xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))", "xp = x"),
        ],
        "conv2d_im2col": [
            ("weight reshaped the wrong way", "weight.reshape(O, -1).T", "weight.reshape(-1, O)"),
            ("forgets the bias", "out += bias", "pass"),
            ("output axes transposed", "transpose(0, 3, 1, 2)", "transpose(0, 3, 2, 1)"),
            ("reshapes straight to (N, O, Ho, Wo)", "out.reshape(N, Ho, Wo, O).transpose(0, 3, 1, 2)", "out.reshape(N, O, Ho, Wo)"),
        ],
        "col2im": [
            ("overwrites overlaps", "b:b + stride * Wo:stride] += windows", "b:b + stride * Wo:stride] = windows"),
            ("cuts the wrong border", "return xp[:, :, padding:padding + H, padding:padding + W]", "return xp[:, :, :H, :W]"),
            ("window axes transposed", "windows[:, :, :, :, a, b].transpose(0, 3, 1, 2)", "windows[:, :, :, :, a, b].transpose(0, 3, 2, 1)"),
        ],
        "conv2d_backward": [
            ("bias gradient over the wrong axes", "grad.sum(axis=(0, 2, 3))", "grad.sum(axis=(0, 1, 2))"),
            ("weight flattened the wrong way", "g @ weight.reshape(O, -1)", "g @ weight.reshape(-1, O).T"),
            ("averages the weight gradient", "grad_weight = (g.T @ rows).reshape(weight.shape)", "grad_weight = (g.T @ rows).reshape(weight.shape) / len(rows)"),
        ],
        "max_pool2d": [
            ("default stride 1", "stride = stride or kernel_size", "stride = stride or 1"),
            ("average pooling", ".max(axis=(-2, -1))", ".mean(axis=(-2, -1))"),
            ("stride on one axis only", "[:, :, ::stride, ::stride]", "[:, :, ::stride, ::kernel_size]"),
        ],
        "max_pool2d_backward": [
            ("overlapping windows overwrite", "+= np.where(winner == a * k + b, grad, 0)", "= np.where(winner == a * k + b, grad, 0)"),
            ("average-pool gradient", "np.where(winner == a * k + b, grad, 0)", "grad / (k * k)"),
            ("window position transposed", "winner == a * k + b", "winner == b * k + a"),
        ],
    },
    "10_tokenization": {
        "CharTokenizer": [
            ("vocabulary with repeats", "self.itos = sorted(set(text))", "self.itos = sorted(text)"),
            ("vocab_size off by one", "return len(self.itos)", "return len(self.itos) + 1"),
            ("KeyError, not ValueError, for an unknown character", "if unknown:", "if False:"),
            ("decode off by one", "self.itos[int(i)]", "self.itos[int(i) - 1]"),
        ],
        "get_pair_counts": [
            ("pairs two apart", "zip(ids, ids[1:])", "zip(ids, ids[2:])"),
            ("counts only presence", "counts.get(pair, 0) + 1", "1"),
            ("ignores the given counts", "counts = {} if counts is None else counts", "counts = {}"),
        ],
        "merge": [
            ("steps one after a merge (overlaps)", "i += 2", "i += 1"),
            ("matches the wrong second id", "ids[i + 1] == pair[1]", "ids[i + 1] == pair[0]"),
            ("drops the last id", "while i < len(ids):", "while i < len(ids) - 1:"),
        ],
        "train_bpe": [
            ("merges the least frequent pair", "key=lambda p: (-counts[p], p)", "key=lambda p: (counts[p], p)"),
            ("one merge too many", "range(256, vocab_size)", "range(256, vocab_size + 1)"),
            ("ignores how often a chunk repeats", "counts.get(pair, 0) + weight", "counts.get(pair, 0) + 1"),
        ],
        "encode": [
            ("latest merge first", 'key=lambda p: merges.get(p, float("inf"))', "key=lambda p: -merges.get(p, -1)"),
            ("does not split into chunks", "for chunk in re.findall(GPT2_SPLIT_PATTERN, text):", "for chunk in [text]:"),
            ("merges only once per chunk", "ids = merge(ids, pair, merges[pair])", "ids = merge(ids, pair, merges[pair])\n            break"),
        ],
        "decode": [
            ("parts joined backwards", "vocab[new] = vocab[a] + vocab[b]", "vocab[new] = vocab[b] + vocab[a]"),
            ("drops invalid bytes", 'errors="replace"', 'errors="ignore"'),
            ("keeps only the first part", "vocab[new] = vocab[a] + vocab[b]", "vocab[new] = vocab[a]"),
        ],
    },
    "11_embeddings": {
        "scatter_add_rows": [
            ("buffered += loses repeated ids", "np.add.at(out, ids.reshape(-1), grad.reshape(-1, grad.shape[-1]))", "out[ids.reshape(-1)] += grad.reshape(-1, grad.shape[-1])"),
            ("float64 result", "dtype=grad.dtype", "dtype=np.float64"),
            ("assigns instead of adding", "np.add.at(out, ids.reshape(-1), grad.reshape(-1, grad.shape[-1]))", "out[ids.reshape(-1)] = grad.reshape(-1, grad.shape[-1])"),
        ],
        "Embedding": [
            ("padding row gets gradient", "table_grad[self.padding_idx] = 0", "pass"),
            ("padding row not zeroed at init", "self.weight.data[padding_idx] = 0", "pass"),
            ("forgets the upstream gradient", "scatter(g, ids, self.num_embeddings)", "scatter(np.ones_like(g), ids, self.num_embeddings)"),
        ],
        "sinusoidal_positions": [
            ("sin and cos swapped", "table[:, 0::2] = np.sin(angle)", "table[:, 0::2] = np.cos(angle)"),
            ("base 1000", "10000.0 **", "1000.0 **"),
            ("i instead of 2i", "np.arange(0, d_model, 2) / d_model", "np.arange(0, (d_model + 1) // 2) / d_model"),
        ],
    },
    "12_attention": {
        "scaled_dot_product_attention": [
            ("no scaling", " * (1.0 / math.sqrt(query.shape[-1]))", ""),
            ("softmax over the queries", "scores.softmax(dim=-1)", "scores.softmax(dim=-2)"),
            ("causal triangle upside down", "np.tril(", "np.triu("),
            ("bool mask inverted", "scores.masked_fill(~mask,", "scores.masked_fill(mask,"),
        ],
        "head_weights": [
            ("heads split without swapping T and H", ".reshape(batch, length, mha.num_heads, mha.head_dim).transpose(0, 2, 1, 3)", ".reshape(batch, mha.num_heads, length, mha.head_dim)"),
            ("no scaling", " / np.sqrt(mha.head_dim)", ""),
            ("the mask hides the past", "np.tril(np.ones((length, length), dtype=bool))", "np.triu(np.ones((length, length), dtype=bool))"),
            ("softmax over the queries", "weights / weights.sum(axis=-1, keepdims=True)", "weights / weights.sum(axis=-2, keepdims=True)"),
            ("no max subtracted (overflows)", "np.exp(scores - scores.max(axis=-1, keepdims=True))", "np.exp(scores)"),
        ],
        "MultiHeadAttention": [
            ("heads split without the transpose", ".reshape(batch, x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)", ".reshape(batch, self.num_heads, x.shape[1], self.head_dim)"),
            ("padding mask not inverted", "mask = ~pad[:, None, None, :]", "mask = pad[:, None, None, :]"),
            ("forgets the output projection", "return self.out_proj(merged)", "return merged"),
            ("values from the keys", "self.v_proj(value)", "self.v_proj(key)"),
        ],
    },
    "13_transformers": {
        "LayerNorm": [
            ("unbiased variance", "var = (centered * centered).mean(dim=-1, keepdim=True)", "var = (centered * centered).sum(dim=-1, keepdim=True) / (x.shape[-1] - 1)"),
            ("eps outside the square root", "(var + self.eps).sqrt()", "(var.sqrt() + self.eps)"),
            ("forgets the bias", "* self.weight + self.bias", "* self.weight"),
            ("mean over everything", "mean = x.mean(dim=-1, keepdim=True)", "mean = x.mean()"),
        ],
        "TransformerBlock": [
            ("post-norm", "return x + self.mlp(self.ln2(x))", "return self.ln2(x + self.mlp(x))"),
            ("not causal", "is_causal=True", "is_causal=False"),
            ("no residual around attention", "x = x + attended", "x = attended"),
            ("ln1 before the MLP", "self.mlp(self.ln2(x))", "self.mlp(self.ln1(x))"),
        ],
        "sample_next_token": [
            ("multiplies by the temperature", "logits = logits / temperature", "logits = logits * temperature"),
            ("top-k off by one", "[:, vocab - top_k, None]", "[:, vocab - top_k - 1, None]"),
            ("greedy takes the smallest", "logits.argmax(axis=-1)", "logits.argmin(axis=-1)"),
        ],
    },
    "14_profiling": {
        "count_parameters": [
            ("always trainable only", "p.requires_grad or not trainable_only", "p.requires_grad"),
            ("counts rows, not elements", "p.data.size", "len(p.data)"),
            ("bytes, not parameters", "p.data.size", "p.data.nbytes"),
        ],
        "linear_flops": [
            ("multiplies only", "flops = 2 * n *", "flops = n *"),
            ("bias counted once", "flops += n * module.out_features", "flops += module.out_features"),
            ("one input row", "n = output.data.size // module.out_features", "n = 1"),
        ],
        "conv2d_flops": [
            ("ignores groups", "(module.in_channels // module.groups)", "module.in_channels"),
            ("multiplies only", "flops = 2 * size", "flops = size"),
            ("bias once per channel", "flops += size", "flops += module.out_channels"),
        ],
        "measure_latency": [
            ("no warm-up", "for _ in range(warmup):\n        fn(*args)", "for _ in range(warmup):\n        pass"),
            ("min and max, not p10 and p90", "[10, 50, 90]", "[0, 50, 100]"),
            ("keeps the end time, not the duration", "times.append(timer() - start)", "times.append(timer())"),
        ],
        "amdahl_speedup": [
            ("multiplies by the speedup", "fraction / speedup", "fraction * speedup"),
            ("returns the time, not the speedup", "return 1.0 / (", "return ("),
            ("accelerates the wrong part", "(1.0 - fraction) + fraction / speedup", "(1.0 - fraction) / speedup + fraction"),
        ],
    },
    "15_quantization": {
        "calculate_qparams": [
            ("unsigned range", "qmax = 2 ** (num_bits - 1) - 1", "qmax = 2 ** num_bits - 1"),
            ("a zero range gives scale 0", "scale = np.where(scale > 0, scale, 1.0)", "pass"),
            ("range not widened to include 0", "low = np.minimum(np.asarray(min_val, dtype=np.float64), 0.0)", "low = np.asarray(min_val, dtype=np.float64)"),
            ("zero point sign", "qmin - low / scale", "qmin + low / scale"),
        ],
        "quantize": [
            ("no clip (wraps around)", "np.clip(np.round(x / scale) + zero_point, qmin, qmax)", "(np.round(x / scale) + zero_point)"),
            ("floor, not round", "np.round(", "np.floor("),
            ("multiplies by the scale", "x / scale", "x * scale"),
            ("zero point sign", "+ zero_point", "- zero_point"),
        ],
        "dequantize": [
            ("subtracts in int8 (overflows)", "q.astype(np.int32)", "q"),
            ("zero point sign", "(q.astype(np.int32) - zero_point)", "(q.astype(np.int32) + zero_point)"),
            ("divides by the scale", ") * scale)", ") / scale)"),
        ],
        "QuantizedLinear": [
            ("forgets the input zero point", "(qx.astype(np.int32) - self.input_zero_point)", "qx.astype(np.int32)"),
            ("forgets the bias", "out += self.bias.data", "pass"),
            ("one scale per input column", "quantize(w, scale[:, None], 0, symmetric=True)", "quantize(w, scale[None, :], 0, symmetric=True)"),
            ("accumulates in int8", "(qx.astype(np.int32) - self.input_zero_point) @ self.weight.data.astype(np.int32).T", "(qx - np.int8(self.input_zero_point)) @ self.weight.data.T"),
        ],
    },
    "16_compression": {
        "magnitude_prune": [
            ("signed ranking", "np.argsort(np.abs(weight),", "np.argsort(weight,"),
            ("prunes the largest", "kind=\"stable\")[:k]", "kind=\"stable\")[weight.size - k:]"),
            ("int, not round", "k = round(amount * weight.size)", "k = int(amount * weight.size)"),
        ],
        "structured_prune": [
            ("L1 and L2 swapped", "if norm == 1 else", "if norm == 2 else"),
            ("signed sums", "magnitude = np.abs(weight)", "magnitude = weight"),
            ("counts weights, not rows", "[:round(amount * weight.shape[0])]", "[:round(amount * weight.size)]"),
            ("missing copy (read-only mask)", "weight.shape).copy()", "weight.shape)"),
        ],
        "low_rank_factorize": [
            ("forgets the bias", "second.bias.data[...] = linear.bias.data", "pass"),
            ("absolute error, not relative", "np.sqrt(np.sum(s[rank:] ** 2) / np.sum(s ** 2))", "np.sqrt(np.sum(s[rank:] ** 2))"),
            ("smallest singular values", "root = np.sqrt(s[:rank])", "root = np.sqrt(s[-rank:])"),
        ],
        "distillation_loss": [
            ("forgets T squared", "alpha * temperature ** 2 * kl", "alpha * kl"),
            ("KL the wrong way round", "(log_p_teacher.exp() * (log_p_teacher - log_p_student))", "(log_p_student.exp() * (log_p_student - log_p_teacher))"),
            ("alpha on both terms", "(1 - alpha) * hard", "alpha * hard"),
            ("student not softened", "(student_logits / temperature).log_softmax(dim=1)", "student_logits.log_softmax(dim=1)"),
        ],
    },
    "17_memoization": {
        "KVCache": [
            ("no overflow check", "if stop > self.max_len:", "if False:"),
            ("returns the whole buffer", "return self.keys[:, :, :stop], self.values[:, :, :stop]", "return self.keys, self.values"),
            ("never advances", "self.length = stop", "pass"),
            ("stores keys as values", "self.values[:, :, start:stop] = v", "self.values[:, :, start:stop] = k"),
        ],
        "attend_one_token": [
            ("no scaling", " / math.sqrt(size)", ""),
            ("attends to the new token only", "keys, values = cache.append(k, v)", "cache.append(k, v)\n    keys, values = k, v"),
            ("normalizes over everything", "weights /= weights.sum(axis=-1, keepdims=True)", "weights /= weights.sum()"),
        ],
        "kv_cache_bytes": [
            ("keys only", "int(2 * n_layer", "int(n_layer"),
            ("always 4 bytes", "np.dtype(dtype).itemsize", "4"),
            ("one layer", "2 * n_layer * batch_size", "2 * batch_size"),
        ],
    },
    "18_acceleration": {
        "matmul_tiled": [
            ("overwrites partial sums", "block += a[i:i + tile, p:p + tile] @ b[p:p + tile, j:j + tile]", "block[...] = a[i:i + tile, p:p + tile] @ b[p:p + tile, j:j + tile]"),
            ("misses the last row tile", "for i in range(0, m, tile):", "for i in range(0, m - tile, tile):"),
            ("always float64", "dtype=np.result_type(a, b)", "dtype=np.float64"),
        ],
        "bias_gelu": [
            ("bias gradient not summed", "slope.reshape(-1, slope.shape[-1]).sum(axis=0)", "slope"),
            ("drops a term of the derivative", "slope += 0.5 * (1.0 + t)", "pass"),
            ("forgets the upstream gradient", "slope *= g", "pass"),
        ],
        "update_scale": [
            ("grows one step late", "if good_steps == growth_interval:", "if good_steps > growth_interval:"),
            ("overflow keeps the count", "return scale * backoff_factor, 0", "return scale * backoff_factor, good_steps"),
            ("growth keeps the count", "return scale * growth_factor, 0", "return scale * growth_factor, good_steps"),
        ],
        "CompiledMLP": [
            ("forgets the bias", "h = product(h, w)  # a new (N, out) array\n                h += b", "h = product(h, w)  # a new (N, out) array"),
            ("weight not transposed", "w = layer.weight.data.T.copy()", "w = layer.weight.data.copy()"),
            ("keeps a view of the source's weight", "w = layer.weight.data.T.copy()", "w = layer.weight.data.T"),
            ("ReLU after every layer, the last included", 'self.steps.append(("linear", products[name], w, b))', 'self.steps += [("linear", products[name], w, b), ("relu",)]'),
            ("combines the scales in place (changes the source layer)", "scale = input_scale * layer.weight_scale.data", "scale = layer.weight_scale.data\n                scale *= input_scale"),
            ("rescales by the weight scale only", "scale = input_scale * layer.weight_scale.data", "scale = layer.weight_scale.data.copy()"),
            ("forgets the zero point", ".astype(np.int32) - zero_point", ".astype(np.int32)"),
            ("widens the int8 weights to float32", "w = layer.weight.data.T.copy()", "w = layer.weight.data.T.astype(np.float32)"),
        ],
    },
    "19_benchmarking": {
        "summarize": [
            ("bootstraps the mean", "medians = np.median(t[picks], axis=1)", "medians = np.mean(t[picks], axis=1)"),
            ("cuts the whole tail on each side", "tail = (1 - confidence) / 2 * 100", "tail = (1 - confidence) * 100"),
            ("deciles, not quartiles", "[25, 50, 75]", "[10, 50, 90]"),
        ],
        "speedup_interval": [
            ("ratio of means", "float(np.median(a) / np.median(b))", "float(np.mean(a) / np.mean(b))"),
            ("ratio inverted", "float(np.median(a) / np.median(b))", "float(np.median(b) / np.median(a))"),
            ("tails not halved", "tail = (1 - confidence) / 2 * 100", "tail = (1 - confidence) * 100"),
            ("a resampled without replacement", "rng.integers(0, a.size, (resamples, a.size))", "np.argsort(rng.random((resamples, a.size)), axis=1)"),
        ],
        "pareto_front": [
            ("no strict improvement needed", "return at_least_as_good and better", "return at_least_as_good"),
            ("minimizes the wrong way", "all(q[k] <= r[k] for k in minimize)", "all(q[k] >= r[k] for k in minimize)"),
            ("better on every key", "better = any(", "better = all("),
        ],
    },
    "20_capstone": {
        "shrink_hidden": [
            ("keeps the weakest neurons", "np.argsort(-np.linalg.norm(weight, axis=1))", "np.argsort(np.linalg.norm(weight, axis=1))"),
            ("ranks by L1 norm", "np.argsort(-np.linalg.norm(weight, axis=1))", "np.argsort(-np.abs(weight).sum(axis=1))"),
            ("drops the kept neurons' biases", "smaller.bias.data = layers[i].bias.data[keep].copy()", "smaller.bias.data = layers[i].bias.data[:len(keep)].copy()"),
            ("int, not round", "[:round(len(weight) * (1 - amount))]", "[:int(len(weight) * (1 - amount))]"),
            ("next layer keeps the first columns", "layers[j].weight.data[:, keep].copy()", "layers[j].weight.data[:, :len(keep)].copy()"),
        ],
        "run_pipeline": [
            ("no baseline row", 'rows = [{"stage": "baseline", "model": model, **measure(model)}]', "rows = []"),
            ("measures the model before the stage", "model = stage(model)\n        rows.append({\"stage\": name, \"model\": model, **measure(model)})", "rows.append({\"stage\": name, \"model\": model, **measure(model)})\n        model = stage(model)"),
            ("every stage starts from the baseline", "model = stage(model)", "current = stage(model)"),
        ],
        "stage_report": [
            ("size ratio inverted", 'previous["size_bytes"] / row["size_bytes"]', 'row["size_bytes"] / previous["size_bytes"]'),
            ("the first row compares with the last", "rows[max(i - 1, 0)]", "rows[i - 1]"),
            ("speedup inverted", 'previous["latency_ms"] / row["latency_ms"]', 'row["latency_ms"] / previous["latency_ms"]'),
            ("totals against the previous row", 'first["size_bytes"] / row["size_bytes"]', 'previous["size_bytes"] / row["size_bytes"]'),
        ],
        "pick_deployment": [
            ("budget counted from the best row", 'floor = rows[0]["accuracy"] - max_accuracy_drop', 'floor = max(row["accuracy"] for row in rows) - max_accuracy_drop'),
            ("the budget's bound excluded", 'row["accuracy"] >= floor', 'row["accuracy"] > floor'),
            ("the largest objective", "return min(allowed", "return max(allowed"),
            ("skips the Pareto front", "allowed = [row for row in front if", "allowed = [row for row in rows if"),
            ("ignores the budget", "allowed = [row for row in front if row[\"accuracy\"] >= floor]", "allowed = front"),
        ],
    },
}

# Definitions executed again after a mutated one, because they are built from it.
REBUILT_WITH = {("06_optimizers", "AdamW"): ("Adam",)}
