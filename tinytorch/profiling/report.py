"""profile(model, example_input): one real forward, measured layer by layer."""

import time
from dataclasses import dataclass

from .. import grad_mode
from ..seams import replaced, seam
from ..tensor import Tensor
from .flops import count_call_flops
from .hooks import intercept_forwards
from .timing import check_counts, summarize


@seam("count_parameters")
def count_parameters(model, trainable_only=False):
    """Number of scalar parameters (each shared parameter once)."""
    return sum(p.data.size for p in model.parameters() if p.requires_grad or not trainable_only)


def parameter_bytes(model):
    """Bytes held by parameters and buffers (each shared tensor once)."""
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.data.nbytes for t in tensors)


def _nbytes(value):
    if isinstance(value, Tensor):
        return value.data.nbytes
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value)
    return 0


def _shape(value):
    if isinstance(value, Tensor):
        return tuple(value.shape)
    if isinstance(value, (tuple, list)) and value:
        return _shape(value[0])
    return ()


def _as_inputs(example_input, op):
    """Tuple of positional inputs: a Tensor, or a tuple/list of Tensors."""
    inputs = tuple(example_input) if isinstance(example_input, (tuple, list)) else (example_input,)
    if not inputs or not all(isinstance(x, Tensor) for x in inputs):
        raise TypeError(
            f"{op}: example_input must be a Tensor or a tuple of Tensors, got {type(example_input).__name__}"
        )
    return inputs


@dataclass
class LayerRecord:
    """One module call: `seconds` is its own time (children's calls excluded)."""

    name: str
    type: str
    output_shape: tuple
    params: int
    flops: int | None  # None: no FLOP rule for this module type
    activation_bytes: int
    seconds: float
    leaf: bool


@dataclass
class ProfileReport:
    """Per-layer table plus totals; prints as a plain-text table (terminal and notebook)."""

    layers: list
    total_params: int
    total_flops: int
    parameter_bytes: int
    activation_bytes: int
    total_seconds: float
    input_shape: tuple

    def rows(self):
        """Layers worth a row: leaves and modules that do work of their own (e.g. attention)."""
        return [r for r in self.layers if r.leaf or r.params or r.flops]

    def __str__(self):
        header = ("name", "type", "output shape", "params", "FLOPs", "act. bytes", "time ms")
        body = [
            (r.name, r.type, str(r.output_shape), f"{r.params:,}",
             "?" if r.flops is None else f"{r.flops:,}", f"{r.activation_bytes:,}", f"{r.seconds * 1e3:.3f}")
            for r in self.rows()
        ]
        total = ("total", "", f"in {self.input_shape}", f"{self.total_params:,}", f"{self.total_flops:,}",
                 f"{self.activation_bytes:,}", f"{self.total_seconds * 1e3:.3f}")
        table = [header] + body + [total]
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        right = {3, 4, 5, 6}  # numbers align right
        fmt = lambda row: "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
        rule = "-" * len(fmt(header))
        lines = [fmt(header), rule] + [fmt(row) for row in body] + [rule, fmt(total)]
        lines.append(f"parameter memory {self.parameter_bytes:,} bytes; "
                     f"activation memory {self.activation_bytes:,} bytes (outputs of the rows above)")
        if any(r.flops is None for r in self.rows()):
            lines.append("FLOPs '?': no rule for that module type (see profiling.register_flop_rule)")
        return "\n".join(lines)

    __repr__ = __str__


def profile(model, example_input, warmup=1):
    """Run `model(example_input)` (no grad) and measure every submodule's call.

    `example_input` is a Tensor, or a tuple of Tensors passed as separate arguments.
    `warmup` untimed forwards run first, so one-off costs (first allocations) stay out.
    FLOPs follow the rules in `profiling.flops` from the shapes that actually flowed;
    activation bytes are the sizes of each row's output; times are each module's own.
    """
    inputs = _as_inputs(example_input, "profile")
    check_counts("profile", warmup, 1)
    with grad_mode.no_grad():
        for _ in range(warmup):
            model(*inputs)
    calls = []  # (start order, record), filled as each call returns
    stack = []  # children's time per active call, to turn inclusive into own time

    def around(name, module, forward, args, kwargs):
        order = len(calls) + len(stack)  # calls started before this one
        stack.append(0.0)
        start = time.perf_counter()
        output = forward(*args, **kwargs)
        inclusive = time.perf_counter() - start
        children = stack.pop()
        if stack:
            stack[-1] += inclusive
        leaf = not module._modules
        calls.append((order, LayerRecord(
            name=name or "(model)", type=type(module).__name__, output_shape=_shape(output),
            params=sum(p.data.size for p in module.parameters(recurse=leaf)),
            flops=count_call_flops(module, args, kwargs, output),
            activation_bytes=_nbytes(output), seconds=inclusive - children, leaf=leaf,
        )))
        return output

    with grad_mode.no_grad(), intercept_forwards(model.named_modules(), around):
        start = time.perf_counter()
        model(*inputs)
        total = time.perf_counter() - start
    calls = [record for _, record in sorted(calls, key=lambda item: item[0])]
    report = ProfileReport(
        layers=calls,
        total_params=int(replaced.get("count_parameters", count_parameters)(model)),
        total_flops=sum(c.flops or 0 for c in calls),
        parameter_bytes=parameter_bytes(model),
        activation_bytes=0,
        total_seconds=total,
        input_shape=_shape(inputs),
    )
    report.activation_bytes = sum(r.activation_bytes for r in report.rows())
    return report


def forward_backward_time(model, example_input, loss_fn=None, warmup=2, repeats=10):
    """{'forward': LatencyStats, 'backward': LatencyStats} of a training step's two halves.

    `loss_fn(output) -> scalar Tensor` (default: output.sum()); its time counts as forward.
    Gradients are reset to None after each repeat.
    """
    check_counts("forward_backward_time", warmup, repeats)
    inputs = _as_inputs(example_input, "forward_backward_time")
    loss_fn = loss_fn or (lambda out: out.sum())
    forward, backward = [], []
    for i in range(warmup + repeats):
        start = time.perf_counter()
        loss = loss_fn(model(*inputs))
        middle = time.perf_counter()
        loss.backward()
        end = time.perf_counter()
        model.zero_grad()
        if i >= warmup:
            forward.append(middle - start)
            backward.append(end - middle)
    return {"forward": summarize(forward), "backward": summarize(backward)}
