"""`tinytorch.utils.data` against `torch.utils.data`: the same batches (in order, or as a
permutation where randomness differs), lengths, collation and option errors."""

import warnings

import numpy as np
import pytest

import tinytorch as tt
import tinytorch.utils.data as data
from tinytorch.utils.data import DataLoader

torch = pytest.importorskip("torch")
tdata = torch.utils.data


class Squares:
    """A map-style dataset written against whichever library is passed."""

    def __init__(self, lib, n):
        self.lib, self.n = lib, n

    def dataset(self):
        lib, n = self.lib, self.n

        class Ds(lib.utils.data.Dataset):
            def __len__(self):
                return n

            def __getitem__(self, i):
                return {"x": np.array([i, i * i], dtype=np.float32), "y": i % 3}

        return Ds()


def as_numpy(batch):
    if isinstance(batch, dict):
        return {k: as_numpy(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return [as_numpy(v) for v in batch]
    if isinstance(batch, torch.Tensor):
        return batch.numpy()
    return batch.data if isinstance(batch, tt.Tensor) else np.asarray(batch)


def assert_same_batches(ours, theirs):
    ours, theirs = [as_numpy(b) for b in ours], [as_numpy(b) for b in theirs]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        if isinstance(a, dict):
            for key in a:
                np.testing.assert_array_equal(a[key], b[key])
                assert a[key].dtype == b[key].dtype
        elif isinstance(a, list):
            for x, y in zip(a, b):
                np.testing.assert_array_equal(x, y)
                assert x.dtype == y.dtype
        else:
            np.testing.assert_array_equal(a, b)


def test_module_paths():
    import tinytorch.utils.data as by_path

    assert by_path.DataLoader is tt.data.DataLoader is tt.utils.data.DataLoader
    for name in ("Dataset", "TensorDataset", "DataLoader", "RandomSampler", "SequentialSampler", "BatchSampler",
                 "SubsetRandomSampler", "WeightedRandomSampler", "Subset", "ConcatDataset", "IterableDataset",
                 "random_split", "default_collate", "Sampler"):
        assert hasattr(data, name) and hasattr(tdata, name)


@pytest.mark.parametrize("kwargs", [dict(batch_size=4), dict(batch_size=4, drop_last=True), dict(batch_size=None)])
def test_sequential_batches_and_dict_collation(kwargs):
    ours = DataLoader(Squares(tt, 10).dataset(), **kwargs)
    theirs = tdata.DataLoader(Squares(torch, 10).dataset(), **kwargs)
    assert len(ours) == len(theirs)
    assert_same_batches(ours, theirs)


def test_tensor_dataset_with_sampler_and_batch_sampler():
    x = np.arange(24, dtype=np.float32).reshape(12, 2)
    y = np.arange(12)
    order = [3, 1, 4, 1, 5, 9, 2, 6]
    ours = DataLoader(data.TensorDataset(tt.tensor(x), tt.tensor(y)), batch_size=3, sampler=order)
    theirs = tdata.DataLoader(tdata.TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=3, sampler=order)
    assert_same_batches(ours, theirs)
    batches = [[0, 5], [7], [2, 2, 11]]
    ours = DataLoader(data.TensorDataset(tt.tensor(x), tt.tensor(y)), batch_sampler=batches)
    theirs = tdata.DataLoader(tdata.TensorDataset(torch.tensor(x), torch.tensor(y)), batch_sampler=batches)
    assert len(ours) == len(theirs) == 3
    assert_same_batches(ours, theirs)


def test_samplers_like_torch():
    source = list(range(10))
    assert list(data.SequentialSampler(source)) == list(tdata.SequentialSampler(source))
    for replacement, num_samples in ((False, None), (False, 25), (True, 7)):
        ours = list(data.RandomSampler(source, replacement=replacement, num_samples=num_samples))
        theirs = list(tdata.RandomSampler(source, replacement=replacement, num_samples=num_samples))
        assert len(ours) == len(theirs)
        if not replacement:  # whole permutations, one after another
            whole = len(ours) // 10 * 10
            assert sorted(ours[:10]) == source and sorted(ours[:whole]) == sorted(theirs[:whole])
    subset = [2, 4, 8]
    assert sorted(data.SubsetRandomSampler(subset)) == sorted(tdata.SubsetRandomSampler(subset)) == subset
    weighted = list(data.WeightedRandomSampler([0, 0, 1.0, 0], 5))
    assert weighted == list(tdata.WeightedRandomSampler([0, 0, 1.0, 0], 5)) == [2] * 5
    for drop_last in (False, True):
        assert list(data.BatchSampler(range(10), 3, drop_last)) == list(tdata.BatchSampler(range(10), 3, drop_last))
        assert len(data.BatchSampler(range(10), 3, drop_last)) == len(tdata.BatchSampler(range(10), 3, drop_last))


@pytest.mark.parametrize("make", [
    lambda m: m.RandomSampler(range(3), num_samples=0),
    lambda m: m.RandomSampler(range(3), replacement=1),
    lambda m: m.BatchSampler(range(3), 0, False),
    lambda m: m.BatchSampler(range(3), 2, drop_last="no"),
])
def test_sampler_errors_like_torch(make):
    with pytest.raises((TypeError, ValueError)) as theirs:
        make(tdata)
    with pytest.raises(theirs.type, match="should be a"):
        make(data)


def test_shuffle_is_a_permutation_each_epoch_and_generator_reproduces():
    ds = data.TensorDataset(tt.arange(20))
    loader = DataLoader(ds, batch_size=6, shuffle=True, generator=tt.Generator().manual_seed(0))
    first = np.concatenate([b[0].data for b in loader])
    second = np.concatenate([b[0].data for b in loader])
    assert sorted(first) == sorted(second) == list(range(20)) and list(first) != list(second)
    again = DataLoader(ds, batch_size=6, shuffle=True, generator=tt.Generator().manual_seed(0))
    np.testing.assert_array_equal(np.concatenate([b[0].data for b in again]), first)


@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.25, 0.25, 0.5], [0.33, 0.33, 0.34]])
def test_random_split_lengths_like_torch(lengths):
    ours = data.random_split(list(range(10)), lengths, generator=tt.Generator().manual_seed(1))
    theirs = tdata.random_split(list(range(10)), lengths, generator=torch.Generator().manual_seed(1))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert sorted(i for s in ours for i in s) == list(range(10))
    assert isinstance(ours[0], data.Subset)


def test_random_split_errors_and_subset_indexing():
    with pytest.raises(ValueError):
        tdata.random_split(list(range(10)), [3, 3])
    with pytest.raises(ValueError, match="Sum of input lengths"):
        data.random_split(list(range(10)), [3, 3])
    subset = data.Subset(list("abcdef"), [4, 0, 2])
    reference = tdata.Subset(list("abcdef"), [4, 0, 2])
    assert [subset[i] for i in range(len(subset))] == [reference[i] for i in range(len(reference))]
    both = data.TensorDataset(tt.arange(3)) + data.TensorDataset(tt.arange(10, 12))
    assert len(both) == 5 and both[3][0].item() == 10 and both[-1][0].item() == 11


@pytest.mark.parametrize("kwargs", [
    dict(sampler=[0, 1], shuffle=True),
    dict(batch_sampler=[[0]], batch_size=2),
    dict(batch_sampler=[[0]], drop_last=True),
    dict(batch_sampler=[[0]], sampler=[0]),
    dict(batch_size=None, drop_last=True),
    dict(num_workers=-1),
    dict(persistent_workers=True),
    dict(prefetch_factor=2),
    dict(timeout=-1),
])
def test_option_errors_like_torch(kwargs):
    with pytest.raises(ValueError) as theirs:
        tdata.DataLoader(list(range(4)), **kwargs)
    with pytest.raises(ValueError) as ours:
        DataLoader(list(range(4)), **kwargs)
    # the same sentence as PyTorch's, after our "DataLoader: " prefix
    assert str(theirs.value).split(";")[0].split(".")[0] in str(ours.value)


def test_worker_options_are_accepted_and_load_in_process(monkeypatch):
    from tinytorch.data import dataloader

    monkeypatch.setattr(dataloader, "_warned_about_workers", False)
    calls = []
    ds = data.TensorDataset(tt.arange(8))
    with pytest.warns(RuntimeWarning, match="loads batches in this process"):
        loader = DataLoader(ds, batch_size=4, num_workers=2, pin_memory=True, persistent_workers=True,
                            worker_init_fn=calls.append, prefetch_factor=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once, not for every loader
        DataLoader(ds, batch_size=4, num_workers=2)
    assert [b[0].data.tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert calls == [0]


def test_iterable_dataset_like_torch():
    def make(lib):
        class Stream(lib.utils.data.IterableDataset):
            def __iter__(self):
                return iter(range(7))

        return Stream()

    for kwargs in (dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None)):
        assert_same_batches(DataLoader(make(tt), **kwargs), tdata.DataLoader(make(torch), **kwargs))
    with pytest.raises(ValueError, match="expected unspecified shuffle"):
        DataLoader(make(tt), shuffle=True)


def test_default_collate_like_torch():
    samples = [(np.ones(2, dtype=np.float64), 1, 2.5, True), (np.zeros(2, dtype=np.float64), 2, 3.5, False)]
    ours, theirs = data.default_collate(samples), tdata.default_collate(samples)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.data, b.numpy())
        assert a.dtype == b.numpy().dtype or (a.dtype == np.float32 and b.dtype == torch.float64)
