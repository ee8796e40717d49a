"""`tinytorch.save` / `tinytorch.load`: round trips of what PyTorch programs save (state_dicts,
tensors, nested containers, optimizer state), file paths and file objects, and refusals: objects
that are not data, files that are not ours, devices other than the CPU. Loading never unpickles."""

import io
import json
import math
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn, optim


def _round_trip(obj, **load_kwargs):
    buffer = io.BytesIO()
    tt.save(obj, buffer)
    buffer.seek(0)
    return tt.load(buffer, **load_kwargs)


def test_nested_structures_round_trip():
    w = tt.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    obj = {
        "step": 7, "lr": 1e-3, "name": "gpt", "flag": True, "nothing": None, "inf": math.inf,
        "weights": w, "same": w, "ints": tt.tensor([1, 2, 3]), "half": tt.ones(2, dtype=tt.float16),
        "history": [0.5, 0.25, tt.tensor(0.125)], "shape": (2, (3, 4)), 3: "int key", (1, 2): "tuple key",
        "array": np.arange(3, dtype=np.int32), "scalar": np.float64(2.5), "empty": tt.zeros(0, 3),
        "ordered": OrderedDict([("b", 1), ("a", 2)]),
    }
    back = _round_trip(obj)
    assert set(back) == set(obj)
    assert back["weights"].tolist() == w.tolist() and back["weights"].requires_grad
    assert back["same"] is back["weights"]  # a tensor saved twice comes back as one tensor
    assert back["ints"].dtype == tt.int64 and back["half"].dtype == tt.float16
    assert back["history"][:2] == [0.5, 0.25] and back["history"][2].shape == () and back["history"][2].item() == 0.125
    assert back["shape"] == (2, (3, 4)) and back[3] == "int key" and back[(1, 2)] == "tuple key"
    assert back["array"].dtype == np.int32 and back["array"].tolist() == [0, 1, 2]
    assert back["scalar"] == 2.5 and isinstance(back["scalar"], np.float64)
    assert back["empty"].shape == (0, 3) and back["inf"] == math.inf
    assert isinstance(back["ordered"], OrderedDict) and list(back["ordered"]) == ["b", "a"]
    assert (back["step"], back["lr"], back["name"], back["flag"], back["nothing"]) == (7, 1e-3, "gpt", True, None)


def test_parameters_come_back_as_parameters():
    p = nn.Parameter(tt.ones(2))
    back = _round_trip({"p": p, "t": tt.ones(2)})
    assert isinstance(back["p"], nn.Parameter) and back["p"].requires_grad
    assert not isinstance(back["t"], nn.Parameter) and not back["t"].requires_grad


def test_paths_and_file_objects(tmp_path):
    t = tt.arange(6).reshape(2, 3)
    path = tmp_path / "t.pt"
    tt.save(t, path)
    assert tt.load(path).tolist() == t.tolist()
    tt.save({"t": t}, str(tmp_path / "d.pt"))
    assert tt.load(str(tmp_path / "d.pt"))["t"].tolist() == t.tolist()
    with open(tmp_path / "f.pt", "wb") as f:
        tt.save([t], f)
    with open(tmp_path / "f.pt", "rb") as f:
        assert tt.load(f, map_location="cpu", weights_only=True)[0].tolist() == t.tolist()


def test_model_and_optimizer_state_round_trip():
    tt.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    loss = model(tt.randn(5, 3)).pow(2).mean()
    loss.backward()
    opt.step()
    back = _round_trip({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 1})
    twin = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    twin.load_state_dict(back["model"])
    twin_opt = optim.Adam(twin.parameters(), lr=0.5)
    twin_opt.load_state_dict(back["optimizer"])
    x = tt.randn(2, 3)
    np.testing.assert_array_equal(twin(x).data, model(x).data)
    assert twin_opt.param_groups[0]["lr"] == 0.01
    assert set(back["optimizer"]["state"]) == set(opt.state_dict()["state"])  # integer keys stay integers


def test_map_location_forms():
    t = tt.ones(2)
    for where in (None, "cpu", tt.device("cpu"), {"cuda:0": "cpu"}, lambda storage, location: storage):
        assert _round_trip(t, map_location=where).tolist() == [1.0, 1.0]
    for where in ("cuda", tt.device("cuda:0"), {"cpu": "cuda"}):
        with pytest.raises(RuntimeError, match="tinytorch computes on the CPU only"):
            _round_trip(t, map_location=where)


def test_objects_that_are_not_data_are_refused():
    with pytest.raises(TypeError, match=r"cannot save an object of type Linear.*save its state_dict\(\) instead"):
        tt.save(nn.Linear(2, 2), io.BytesIO())
    with pytest.raises(TypeError, match="cannot save an object of type function"):
        tt.save({"f": lambda x: x}, io.BytesIO())
    with pytest.raises(TypeError, match="cannot save an object of type set"):
        tt.save([{1, 2}], io.BytesIO())
    with pytest.raises(ValueError, match="pickle_module is not supported"):
        tt.save(tt.ones(1), io.BytesIO(), pickle_module=object())


def test_foreign_or_damaged_files_are_refused():
    with pytest.raises(RuntimeError, match="not a file written by torch.save"):
        tt.load(io.BytesIO(b"not a zip file"))
    pickled = io.BytesIO()
    with zipfile.ZipFile(pickled, "w") as archive:  # the layout of PyTorch's own files
        archive.writestr("archive/data.pkl", b"\x80\x02cos\nsystem\n.")
    pickled.seek(0)
    with pytest.raises(RuntimeError, match="written by PyTorch's torch.save.*never unpickles"):
        tt.load(pickled)
    forged = io.BytesIO()
    with zipfile.ZipFile(forged, "w") as archive:
        archive.writestr("tinytorch.json", json.dumps({"format": "tinytorch-save-1", "object": {"eval": "1+1"}}))
    forged.seek(0)
    with pytest.raises(RuntimeError, match="structure is damaged"):
        tt.load(forged)
    objects = io.BytesIO()
    np.save(objects, np.array([print], dtype=object), allow_pickle=True)
    smuggled = io.BytesIO()
    with zipfile.ZipFile(smuggled, "w") as archive:
        archive.writestr("tinytorch.json", json.dumps({"format": "tinytorch-save-1", "object": {"ndarray": 0}}))
        archive.writestr("arrays/0.npy", objects.getvalue())
    smuggled.seek(0)
    with pytest.raises(RuntimeError, match="array 0 is not an array of numbers; tinytorch never unpickles"):
        tt.load(smuggled)


def test_arrays_are_stored_without_pickle():
    buffer = io.BytesIO()
    tt.save({"w": tt.ones(2, 2)}, buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        names = archive.namelist()
        assert names == ["tinytorch.json", "arrays/0.npy"]
        np.load(io.BytesIO(archive.read("arrays/0.npy")), allow_pickle=False)  # would raise on pickled data


def test_files_written_by_tinytorch_load_in_torch_style_code():
    torch = pytest.importorskip("torch")
    ours = tt.nn.Linear(3, 2)
    buffer = io.BytesIO()
    tt.save(ours.state_dict(), buffer)
    buffer.seek(0)
    theirs = torch.nn.Linear(3, 2)
    theirs.load_state_dict({k: torch.tensor(np.asarray(v.data if hasattr(v, "data") else v))
                            for k, v in tt.load(buffer).items()})
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(theirs(torch.tensor(x)).detach().numpy(), ours(tt.tensor(x)).data, rtol=1e-6)
