"""Runtime detection and the native hand-off message."""

import sys

import tinytorch
from tinytorch import platform


def test_native_run_is_detected_and_runs_the_full_version(capsys):
    if sys.platform == "emscripten":  # this suite also runs inside Pyodide
        assert platform.is_browser()
        return
    assert not platform.is_browser()
    assert platform.native_handoff("BLAS scaling", "modules/18_acceleration.ipynb") is True
    assert capsys.readouterr().out == ""


def test_browser_gets_one_message_with_the_exact_local_command(monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "emscripten")
    assert platform.is_browser()
    assert platform.native_handoff("BLAS scaling", "modules/18_acceleration.ipynb") is False
    out = capsys.readouterr().out
    assert "BLAS scaling" in out
    assert f"tinytorch-{tinytorch.__version__}-py3-none-any.whl[course]" in out  # the wheel, never an index
    assert "jupyter lab tinytorch-notebooks/modules/18_acceleration.ipynb" in out


def test_describe_names_numpy_version_and_runtime(monkeypatch):
    import numpy as np

    assert np.__version__ in platform.describe()
    monkeypatch.setattr(sys, "platform", "emscripten")
    assert platform.describe().startswith("browser")
