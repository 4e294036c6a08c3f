"""The backend registry: choosing, listing, explaining, and never breaking on a missing backend."""

import os
import subprocess
import sys

import pytest

from neuro import NeuroError
from neuro.backends import (
    REGISTRY,
    Backend,
    BackendInfo,
    backend_status,
    default_backend_name,
    get_backend,
    list_backends,
)


def test_every_registered_backend_implements_the_interface():
    for status in list_backends():
        if status.available:
            assert isinstance(get_backend(status.name), Backend)


def test_unknown_backend_lists_the_known_ones():
    with pytest.raises(NeuroError, match="unknown backend 'tpu'; the known backends are: python, numpy"):
        get_backend("tpu")


def test_default_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("NEURO_BACKEND", raising=False)
    assert default_backend_name() == "numpy"
    monkeypatch.setenv("NEURO_BACKEND", "python")
    assert default_backend_name() == "python"
    assert get_backend().name == "python"


def test_a_backend_whose_module_cannot_be_imported_is_unavailable_with_a_reason(monkeypatch):
    monkeypatch.setitem(REGISTRY, "broken", BackendInfo("broken", "ops_does_not_exist", "a test", "python"))
    status = backend_status("broken")
    assert not status.available and "cannot import" in status.reason
    with pytest.raises(NeuroError, match="backend 'broken' is not available here: cannot import"):
        get_backend("broken")
    backend_status.cache_clear()


def test_importing_neuro_and_its_cli_imports_no_optional_backend():
    code = "import sys, neuro, neuro.cli.main; print(any(m.startswith('numba') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.skipif(not os.environ.get("CI"), reason="only CI promises every backend (CUDA simulated)")
def test_in_ci_every_registered_backend_runs():
    missing = {s.name: s.reason for s in list_backends() if not s.available}
    assert not missing, f"backends that CI must test but cannot run: {missing}"


def test_cuda_is_an_alias_listed_by_neuro_backends_but_no_rung_of_its_own():
    from neuro.backends import ALIASES, available_backends

    assert "cuda" in ALIASES and "cuda" not in REGISTRY  # so the agreement tests do not test it twice
    assert "cuda" not in available_backends()  # nor do `neuro bench` and `neuro agree` by default
    listed = {status.name: status for status in list_backends()}
    assert "alias" in listed["cuda"].change
    assert {"cuda-naive", "cuda-tiled", "cuda-fused", "cuda-register-blocked"} <= set(REGISTRY)
    if listed["cuda"].available:
        assert get_backend("cuda").ways == ("cuda-fused", "cuda-register-blocked")


def test_every_cuda_rung_builds_on_the_rung_the_gpu_ladder_names():
    builds_on = {name: REGISTRY[name].builds_on for name in REGISTRY if name.startswith("cuda")}
    assert builds_on == {"cuda-naive": "python", "cuda-tiled": "cuda-naive", "cuda-fused": "cuda-tiled",
                         "cuda-register-blocked": "cuda-tiled"}
    assert REGISTRY["cuda-fused"].case.as_dict() == {"layers": [784, 16, 16, 10], "batch_size": 10}
    assert REGISTRY["cuda-register-blocked"].case.as_dict() == {"layers": [784, 1024, 1024, 10], "batch_size": 256}
