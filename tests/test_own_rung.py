"""A rung of one's own: a file outside the project (or a package's entry point) works wherever --backend does."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from serve_under_test import ctrl_c, get_json, start_neuro_serve
from tiny_mnist import write_random_mnist

from neuro.cli.main import main

NUMPY_RUNG = '''
"""numpy, with the products written as np.dot: a rung in a scratch folder."""
import numpy as np
from neuro.backends.ops_numpy import NumpyBackend

BUILDS_ON = "numpy"
CHANGE = "the numpy rung, from a learner's file"


class Mine(NumpyBackend):
    name = "mine"


def unavailable_reason():
    return None


def create():
    return Mine()
'''

NUMBA_RUNG = '''
import sys

from neuro.backends.cpu import ops_numba_loops as previous
from neuro.backends.cpu.compiled import inherit, njit

BUILDS_ON = "numba-loops"
CHANGE = "sums the compiler may reorder, in a learner's file"


@njit(cache=True, fastmath={"reassoc", "contract"})
def weighted_sum(w_j, a):
    z = w_j.dtype.type(0)
    for k in range(a.shape[0]):
        z += w_j[k] * a[k]
    return z


inherit(previous, globals())


def unavailable_reason():
    return None


def create():
    return previous.LoopsBackend("mine-compiled", sys.modules[__name__])
'''


def invoke(*args, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scratch")  # (outside the project)
    (folder / "my_rung.py").write_text(NUMPY_RUNG)
    (folder / "my_compiled_rung.py").write_text(NUMBA_RUNG)
    return folder


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return write_random_mnist(tmp_path_factory.mktemp("digits"), 200, 20)


def test_a_rung_from_a_file_trains_agrees_and_climbs_the_ladder(scratch, digits, tmp_path):
    rung = scratch / "my_rung.py"
    trained = invoke("train", "--backend", rung, "--data", digits, "--epochs", "1", "--layers", "784,8,10",
                     "--save", tmp_path / "model.npz", "--json")
    assert json.loads(trained.stdout.splitlines()[-1])["backend"] == "mine"
    agreed = invoke("agree", "--backends", f"numpy,{rung}", "--layers", "20,7,4", "--json")
    assert {r["backend"] for r in json.loads(agreed.stdout.splitlines()[-1])["results"]} == {"numpy", str(rung)}
    ladder = json.loads(invoke("ladder", "--backends", f"numpy,{rung}", "--layers", "20,7,4", "--seconds", "0.05",
                               "--json").stdout.splitlines()[-1])
    mine = next(row for row in ladder["rungs"] if row["backend"] == str(rung))
    assert mine["builds_on"] == "numpy" and mine["change"] == "the numpy rung, from a learner's file"
    assert mine["validated"] and mine["vs_previous"] is not None


def test_a_compiled_rung_from_a_file_inherits_and_agrees(scratch):
    rung = scratch / "my_compiled_rung.py"
    invoke("agree", "--backends", rung, "--layers", "20,7,4", "--steps", "2")
    cached = [p.name for p in (scratch / "__pycache__").glob("*.nbi")]
    assert any(name.startswith("my_compiled_rung.weighted_sum") for name in cached)  # Numba's own place for it


def test_a_rung_from_a_file_serves_the_page(scratch, digits, tmp_path):
    model = tmp_path / "model.npz"
    invoke("train", "--data", digits, "--epochs", "1", "--layers", "784,8,10", "--save", model)
    process, port = start_neuro_serve(str(model), "--backend", str(scratch / "my_rung.py"), "--data", str(digits),
                                      data_dir=tmp_path)
    try:
        assert get_json(port, "/api/model")["sizes"] == [784, 8, 10]
    finally:
        ctrl_c(process)


BAD_RUNGS = {
    "syntax.py": ("def create(:\n", "a syntax error at line 1"),
    "no_create.py": ('BUILDS_ON = "numpy"\nCHANGE = "x"\ndef unavailable_reason():\n    return None\n',
                     "it defines no create"),
    "unknown.py": ('BUILDS_ON = "numpy-turbo"\nCHANGE = "x"\ndef create():\n    pass\n'
                   'def unavailable_reason():\n    return None\n', "BUILDS_ON is 'numpy-turbo', which is no"),
    "raises.py": ('BUILDS_ON = "numpy"\nCHANGE = "x"\ndef create():\n    raise ValueError("no GPU today")\n'
                  'def unavailable_reason():\n    return None\n', "create(): line 4 of raises.py: ValueError: no GPU"),
    "not_a_backend.py": ('BUILDS_ON = "numpy"\nCHANGE = "x"\ndef create():\n    return 42\n'
                         'def unavailable_reason():\n    return None\n', "create() returned a int, which lacks"),
}


@pytest.mark.parametrize("file", [*BAD_RUNGS, "missing.py"])
def test_a_bad_rung_file_gives_one_error_line_naming_the_file(tmp_path, file):
    if file in BAD_RUNGS:
        (tmp_path / file).write_text(BAD_RUNGS[file][0])
    expected = BAD_RUNGS[file][1] if file in BAD_RUNGS else "no such file"
    for command in (["train", "--epochs", "1", "--limit", "10"], ["check"]):
        args = [*command, "--backend", tmp_path / file] if command[0] == "train" else [*command, tmp_path / file]
        result = invoke(*args, ok=False)
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        lines = result.output.strip().splitlines()
        assert lines[-1].startswith(f"Error: {tmp_path / file}: ") and expected in lines[-1], result.output


def test_a_package_adds_a_rung_through_an_entry_point(tmp_path):
    (tmp_path / "their_rungs.py").write_text(NUMPY_RUNG)
    info = tmp_path / "their_rungs-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: their-rungs\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[neuro.backends]\ntheirs = their_rungs\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    neuro = Path(sys.executable).parent / "neuro"
    listed = subprocess.run([str(neuro), "backends"], capture_output=True, text=True, env=env, check=True).stdout
    assert any(line.startswith("theirs ") and "the numpy rung, from a learner's file" in line
               for line in listed.splitlines()), listed
    agreed = subprocess.run([str(neuro), "agree", "--backends", "theirs", "--layers", "10,3,2"], capture_output=True,
                            text=True, env=env)
    assert agreed.returncode == 0 and "All backends agree" in agreed.stdout, agreed.stderr


def test_a_rung_named_module_colon_object(tmp_path, monkeypatch):
    (tmp_path / "pack_of_rungs.py").write_text(textwrap.dedent('''
        import types
        import importlib.util, pathlib
        spec = importlib.util.spec_from_file_location("inner_rung", pathlib.Path(__file__).with_name("inner.py"))
        rung = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(rung)
    '''))
    (tmp_path / "inner.py").write_text(NUMPY_RUNG)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = invoke("agree", "--backends", "pack_of_rungs:rung", "--layers", "10,3,2")
    assert "All backends agree" in result.output
    missing = invoke("agree", "--backends", "pack_of_rungs:nothing", ok=False)
    assert missing.output.strip().splitlines()[-1] == "Error: pack_of_rungs:nothing: module 'pack_of_rungs' has no " \
                                                      "'nothing'"
