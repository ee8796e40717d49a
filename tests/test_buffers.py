"""tinytorch.buffers: the pool that hands a training step's freed result arrays out again. It
must never hand out an array something can still read, and a step must reuse, not grow."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinytorch as tt
import tinytorch.nn.functional as F
from tinytorch import kernels
from tinytorch.buffers import BufferPool

KB = 1 << 10


def pool(max_bytes=1 << 20):
    return BufferPool(min_bytes=4 * KB, max_bytes=max_bytes)


def test_a_freed_array_is_handed_out_again():
    buffers = pool()
    first = buffers.take((32, 32), np.float32)
    address = first.ctypes.data
    del first
    again = buffers.take((32, 32), np.float32)
    assert again.ctypes.data == address
    assert buffers.nbytes == 32 * 32 * 4


@pytest.mark.parametrize("holder", ["variable", "view", "tensor", "list", "transpose of a reshape"])
def test_an_array_something_still_refers_to_is_not_handed_out(holder):
    buffers = pool()
    array = buffers.take((32, 32), np.float32)
    array[...] = 7.0
    kept = {
        "variable": lambda a: a,
        "view": lambda a: a[1:],
        "tensor": tt.from_numpy,  # shares the array, as in PyTorch
        "list": lambda a: [a],
        "transpose of a reshape": lambda a: a.reshape(16, 64).T,
    }[holder](array)
    del array
    other = buffers.take((32, 32), np.float32)
    other[...] = -1.0
    values = kept[0] if holder == "list" else kept
    values = values.data if isinstance(values, tt.Tensor) else values
    assert np.all(values == 7.0)
    assert buffers.nbytes == 2 * 32 * 32 * 4


def test_small_and_huge_arrays_are_left_to_numpy():
    buffers = pool(max_bytes=64 * KB)
    assert buffers.take((10,), np.float32) is None  # 40 bytes < min_bytes
    assert buffers.take((32, 1024), np.float32) is None  # 128 kB > max_bytes
    assert buffers.nbytes == 0


def test_shapes_and_dtypes_are_kept_apart():
    buffers = pool()
    a = buffers.take((32, 32), np.float32)
    del a
    b = buffers.take((32, 32), np.float64)
    c = buffers.take((1024,), np.float32)
    assert (b.shape, b.dtype, c.shape, c.dtype) == ((32, 32), np.float64, (1024,), np.float32)
    assert buffers.nbytes == 32 * 32 * 4 + 32 * 32 * 8 + 1024 * 4


def test_the_least_recently_used_shapes_are_forgotten_and_their_arrays_in_use_stay_intact():
    buffers = pool(max_bytes=64 * KB)
    old = buffers.take((4 * KB,), np.float32)  # 16 kB
    old[...] = 3.0
    spare = buffers.take((2 * KB,), np.float32)  # 8 kB
    del spare
    held = [buffers.take((2, 2 * KB), np.float32) for _ in range(3)]  # 16 kB each, in use: 72 kB in all
    assert buffers.nbytes == 8 * KB + 48 * KB  # the oldest shape, old's, was forgotten
    newer = buffers.take((4 * KB,), np.float32)
    newer[...] = -1.0
    assert buffers.nbytes == 64 * KB  # then the spare's shape, for newer
    assert np.all(old == 3.0)  # forgotten by the pool, still the caller's
    assert len({array.ctypes.data for array in held + [old, newer]}) == 5


def test_clear_forgets_everything():
    buffers = pool()
    kept = buffers.take((32, 32), np.float32)
    buffers.clear()
    assert buffers.nbytes == 0
    assert buffers.take((32, 32), np.float32) is not kept


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["take", "drop"]), st.integers(0, 2), st.integers(0, 7)), max_size=40))
def test_arrays_in_use_never_share_memory_and_keep_their_values(actions):
    """Any order of takes and drops: every array still held keeps what its holder wrote."""
    buffers = BufferPool(min_bytes=1, max_bytes=24 * KB)  # room for ~3 arrays: eviction happens too
    shapes = [(1024,), (32, 32), (2, 1024)]
    held = {}  # slot -> (array, value written)
    for step, (action, shape, slot) in enumerate(actions):
        if action == "take":
            array = buffers.take(shapes[shape], np.float32)
            array[...] = step
            held[slot] = (array, step)
        else:
            held.pop(slot, None)
        for array, value in held.values():
            assert np.all(array == value)
        assert buffers.nbytes <= buffers.max_bytes


# ------------------------------------------------------------------ in a training step

@pytest.fixture
def native_pool(monkeypatch):
    """tinytorch's pool as natively (also when these tests run in Pyodide), empty."""
    monkeypatch.setattr(kernels, "BROWSER", False)
    monkeypatch.setattr(kernels, "RESULTS", BufferPool(min_bytes=kernels.RESULTS.min_bytes,
                                                       max_bytes=kernels.RESULTS.max_bytes,
                                                       on_reuse=kernels.RESULTS.on_reuse))
    return kernels.RESULTS


def test_a_training_step_reuses_the_previous_steps_arrays(native_pool):
    tt.manual_seed(0)
    model = tt.nn.Sequential(tt.nn.Linear(64, 256), tt.nn.GELU(), tt.nn.LayerNorm(256), tt.nn.Linear(256, 64))
    optimizer = tt.optim.AdamW(model.parameters(), lr=1e-3)
    x = tt.randn(256, 64)
    sizes = []
    for _ in range(4):
        loss = (model(x) + model(x)).square().mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        del loss
        sizes.append(native_pool.nbytes)
    assert sizes[0] > 0  # the step's large results were pooled
    assert sizes[1] == sizes[2] == sizes[3]  # and later steps took them again instead of more


def test_results_kept_across_steps_are_never_overwritten(native_pool):
    """A learner keeping each step's output (e.g. to plot it) sees the values it had."""
    tt.manual_seed(0)
    model = tt.nn.Sequential(tt.nn.Linear(64, 256), tt.nn.GELU(), tt.nn.LayerNorm(256), tt.nn.Linear(256, 256))
    optimizer = tt.optim.SGD(model.parameters(), lr=0.1)
    x = tt.randn(256, 64)
    kept, copies = [], []
    for _ in range(4):
        out = model(x)
        hidden = model[1](model[0](x))  # a GELU output, held as a view
        out.square().mean().backward()
        optimizer.step()
        optimizer.zero_grad()
        kept.append((out, hidden.data[::2]))
        copies.append((out.data.copy(), hidden.data[::2].copy()))
    assert native_pool.nbytes > 0
    for (out, view), (out_then, view_then) in zip(kept, copies):
        np.testing.assert_array_equal(out.data, out_then)
        np.testing.assert_array_equal(view, view_then)


def test_pooled_steps_compute_what_unpooled_steps_compute(native_pool, monkeypatch):
    def losses():
        tt.manual_seed(0)
        model = tt.nn.Sequential(tt.nn.Linear(64, 256), tt.nn.GELU(), tt.nn.LayerNorm(256), tt.nn.Linear(256, 10))
        optimizer = tt.optim.Adam(model.parameters(), lr=1e-2)
        x, y = tt.randn(512, 64), tt.randint(0, 10, (512,))
        values = []
        for _ in range(5):
            loss = F.cross_entropy(model(x) * 1.0, y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            values.append(loss.item())
        return values

    pooled = losses()
    assert native_pool.nbytes > 0
    monkeypatch.setattr(kernels, "RESULTS", BufferPool(min_bytes=1 << 40, max_bytes=1 << 41))  # pools nothing
    assert losses() == pooled


def test_the_browser_pools_nothing(monkeypatch):
    monkeypatch.setattr(kernels, "BROWSER", True)
    assert kernels.result_buffer((1024, 1024), np.float32) is None
    assert kernels.empty((1024, 1024), np.float32).shape == (1024, 1024)


def test_memory_measured_with_tracemalloc_sees_every_result(native_pool):
    """The notebooks measure a forward pass's memory with tracemalloc: a pooled result from an
    earlier pass would be invisible to it, so while it traces nothing is pooled."""
    import tracemalloc

    model = tt.nn.Sequential(tt.nn.Linear(64, 512), tt.nn.GELU(), tt.nn.Linear(512, 512))
    x = tt.randn(256, 64)
    model(x)  # the pool now holds this pass's results
    assert native_pool.nbytes > 0
    tracemalloc.start()
    try:
        out = model(x)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held >= out.data.nbytes + 3 * 256 * 512 * 4  # the output, the GELU's result and saved parts


def test_release_buffers_empties_the_pool(native_pool):
    kept = kernels.empty((256, 256), np.float32)
    assert native_pool.nbytes == kept.nbytes
    kernels.release_buffers()
    assert native_pool.nbytes == 0


def test_a_product_with_nothing_to_sum_fills_a_reused_buffer_with_zeros(native_pool):
    dirty = kernels.empty((256, 256), np.float32)
    dirty[...] = np.nan
    del dirty
    out = kernels.mm(np.ones((256, 0), np.float32), np.ones((0, 256), np.float32))
    np.testing.assert_array_equal(out, np.zeros((256, 256), np.float32))


@pytest.mark.parametrize("op", ["relu", "dropout", "max_pool2d", "layer_norm", "gelu", "add", "broadcast add",
                                "softmax", "masked_fill", "chunk", "clip_grad_norm_"])
def test_ops_write_every_element_of_a_reused_buffer(native_pool, op):
    """Each pooled op's result and gradient, computed on buffers left full of NaN, equal the
    ones computed on fresh memory."""
    def run():
        tt.manual_seed(0)
        x = tt.randn(64, 16, 16, 16, requires_grad=True)
        out = {
            "relu": lambda: F.relu(x),
            "dropout": lambda: F.dropout(x, 0.3),
            "max_pool2d": lambda: F.max_pool2d(x, 2),
            "layer_norm": lambda: F.layer_norm(x, (16,), tt.ones(16), tt.zeros(16)),
            "gelu": lambda: F.gelu(x),
            "add": lambda: x + x * 2.0,
            "broadcast add": lambda: x + x[:1],
            "softmax": lambda: F.softmax(x, dim=-1),
            "masked_fill": lambda: x.masked_fill(tt.tensor(np.tri(16, dtype=bool)), -1.0),
            "chunk": lambda: tt.cat([c * (i + 1) for i, c in enumerate(x.chunk(3, dim=1)[:2])], dim=1),  # one unused
            "clip_grad_norm_": lambda: x * 1.0,
        }[op]()
        out.backward(tt.ones_like(out) * tt.arange(float(out.shape[-1])))  # unequal gradients
        if op == "clip_grad_norm_":
            tt.nn.utils.clip_grad_norm_([x], 1.0)
        return out.data.copy(), x.grad.data.copy()

    native_pool.clear()
    fresh = run()
    for entries in native_pool._entries.values():  # every pooled array, now unused: poison it
        for _, array in entries:
            array[...] = np.nan
    again = run()
    np.testing.assert_array_equal(again[0], fresh[0])
    np.testing.assert_array_equal(again[1], fresh[1])


def test_a_result_in_a_reused_array_starts_at_version_zero(native_pool):
    """As in PyTorch, a new tensor has seen no in-place change, whatever its memory held."""
    x = tt.randn(256, 256)
    first = x * x
    first.add_(1.0)
    first.mul_(2.0)
    assert first._version == 2
    address = first.data.ctypes.data
    del first
    second = x * x
    assert second.data.ctypes.data == address  # the same memory, handed out again
    assert second._version == 0
    second.add_(1.0)
    assert second._version == 1
