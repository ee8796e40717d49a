"""Module 03 checks: right classes pass; stubs and typical mistakes fail with a useful report."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.checks import CheckFailed, check_dropout, check_linear, check_sequential
from tinytorch.nn import Module, Parameter

from solutions import load_solution


# The notebook's own solutions, so the course as shipped is what passes the checks.
Linear, Sequential, Dropout = load_solution("03_layers", "Linear", "Sequential", "Dropout")


@pytest.mark.parametrize("check, solution", [(check_linear, Linear), (check_sequential, Sequential), (check_dropout, Dropout)])
def test_solution_passes_and_stub_fails(check, solution, passes_and_stub_fails):
    passes_and_stub_fails(check, solution)


def test_linear_mistakes():
    class NotAModule:
        def __init__(self, *args, **kwargs):
            pass

    with pytest.raises(CheckFailed, match="expected a tinytorch.nn.Module"):
        check_linear(NotAModule)

    class Transposed(Linear):  # weight stored (in, out)
        def __init__(self, in_features, out_features, bias=True):
            super().__init__(in_features, out_features, bias)
            self.weight = Parameter(tt.rand(in_features, out_features))

    with pytest.raises(CheckFailed, match=r"weight has shape \(5, 3\), expected \(3, 5\)"):
        check_linear(Transposed)

    class PlainTensors(Linear):  # Tensors, not Parameters: never registered
        def __init__(self, in_features, out_features, bias=True):
            super().__init__(in_features, out_features, bias)
            w = tt.Tensor(self.weight.data)
            del self.weight
            self.weight = w

    with pytest.raises(CheckFailed, match=r"expected parameters \['bias', 'weight'\], found \['bias'\]"):
        check_linear(PlainTensors)

    class NormalInit(Linear):  # N(0, 1): far too large
        def __init__(self, in_features, out_features, bias=True):
            super().__init__(in_features, out_features, bias)
            self.weight.data[...] = np.random.default_rng(0).standard_normal(self.weight.shape)

    with pytest.raises(CheckFailed, match="outside the bound"):
        check_linear(NormalInit)

    class ZeroInit(Linear):
        def __init__(self, in_features, out_features, bias=True):
            super().__init__(in_features, out_features, bias)
            self.weight.data[...] = 0

    with pytest.raises(CheckFailed, match="weight mean 0.0000, std 0.0000"):
        check_linear(ZeroInit)

    class NumpyForward(Linear):  # right values, but no graph
        def forward(self, x):
            return tt.Tensor(x.data @ self.weight.data.T + self.bias.data)

    with pytest.raises(CheckFailed, match="does not require grad"):
        check_linear(NumpyForward)

    class NoTranspose(Linear):
        def forward(self, x):
            return x @ self.weight + self.bias

    with pytest.raises(CheckFailed, match=r"input \(8, 5\): raised ValueError"):
        check_linear(NoTranspose)

    class IgnoresBiasFlag(Linear):
        def __init__(self, in_features, out_features, bias=True):
            super().__init__(in_features, out_features, True)

    with pytest.raises(CheckFailed, match="expected only a weight parameter"):
        check_linear(IgnoresBiasFlag)


def test_sequential_mistakes():
    class PlainList(Module):
        def __init__(self, *modules):
            super().__init__()
            self.layers = list(modules)

        def __len__(self):
            return len(self.layers)

        def __getitem__(self, index):
            return self.layers[index]

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    with pytest.raises(CheckFailed, match="register each module as a child"):
        check_sequential(PlainList)

    class Reversed(Sequential):
        def forward(self, x):
            for module in reversed(list(self._modules.values())):
                x = module(x)
            return x

    with pytest.raises(CheckFailed, match=r"sequential on Reversed\(Linear\(4, 8\), ReLU\(\), Linear\(8, 2\)\)"):
        check_sequential(Reversed)

    class NoLen(Sequential):
        __len__ = None

    with pytest.raises(CheckFailed, match=r"len\(NoLen"):
        check_sequential(NoLen)


def test_dropout_mistakes():
    class NotInverted(Dropout):  # forgets to rescale
        def forward(self, x):
            if not self.training:
                return x
            return x * tt.Tensor((tt.rand(*x.shape).data >= self.p).astype(x.dtype))

    with pytest.raises(CheckFailed, match=r"multiplied by 1, expected 1/\(1-p\) = 2"):
        check_dropout(NotInverted)

    class KeepsP(Dropout):  # keeps with probability p instead of dropping
        def forward(self, x):
            if not self.training:
                return x
            keep = tt.rand(*x.shape).data < self.p
            return x * tt.Tensor(keep.astype(x.dtype) / np.float32(1 - self.p))

    with pytest.raises(CheckFailed, match=r"80.0% of the elements are zero, expected about 20%|expected about 20%"):
        check_dropout(KeepsP)

    class AlwaysOn(Dropout):
        def forward(self, x):
            keep = tt.rand(*x.shape).data >= self.p
            return x * tt.Tensor(keep.astype(x.dtype) / np.float32(1 - self.p))

    with pytest.raises(CheckFailed, match=r"after \.eval\(\)"):
        check_dropout(AlwaysOn)

    class Float64Mask(Dropout):
        def forward(self, x):
            keep = tt.rand(*x.shape).data >= self.p
            return x * tt.Tensor(keep / (1 - self.p))

    with pytest.raises(CheckFailed, match="expected dtype torch.float32, got torch.float64"):
        check_dropout(Float64Mask)

    class FixedMask(Dropout):
        def forward(self, x):
            keep = np.random.default_rng(0).random(x.shape) >= self.p
            return x * tt.Tensor(keep.astype(x.dtype) / np.float32(1 - self.p))

    with pytest.raises(CheckFailed, match="exactly the same elements"):
        check_dropout(FixedMask)

    class NumpyForward(Dropout):
        def forward(self, x):
            keep = tt.rand(*x.shape).data >= self.p
            return tt.Tensor(x.data * keep / np.float32(1 - self.p))

    with pytest.raises(CheckFailed, match="does not require grad"):
        check_dropout(NumpyForward)
