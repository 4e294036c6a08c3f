"""`neuro check`: a rung checked against the oracle, by the property tests, then timed; and rungs with one bug each,
derived from real rungs, fail with the quantity and the place."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from neuro.backends import REGISTRY, backend_status
from neuro.cli.main import main

HEADER = '''
import sys
import numpy as np
from neuro.backends.cpu import {previous} as previous
from neuro.backends.cpu.compiled import inherit, njit

BUILDS_ON = "{builds_on}"
CHANGE = "one bug"
'''
FOOTER = '''
inherit(previous, globals())


def unavailable_reason():
    return None


def create():
    return previous.create().__class__("broken", sys.modules[__name__])
'''

BROKEN = {
    "wrong_index": ("ops_numba_reorder", "numba-reorder", '''
@njit(cache=True, fastmath={"reassoc", "contract"})
def weighted_sum(w_j, a):
    z = w_j.dtype.type(0)
    for k in range(a.shape[0]):
        z += w_j[k] * a[a.shape[0] - 1 - k]  # the bug: the inputs read backwards
    return z
''', ["agreement float64: outputs exceeds its bound at sample, neuron"]),
    "missing_bias": ("ops_numba_loops", "numba-loops", '''
@njit(cache=True)
def feedforward(weights, biases, a):
    activations = [a]
    for w, b in zip(weights, biases):
        a_next = np.empty(w.shape[0], w.dtype)
        for j in range(w.shape[0]):
            a_next[j] = sigmoid(weighted_sum(w[j], a))  # the bug: + b[j] left out
        a = a_next
        activations.append(a)
    return activations
''', ["agreement float64: outputs exceeds its bound", "agreement float32: outputs exceeds"]),
    "wrong_sign": ("ops_numba_loops", "numba-loops", '''
@njit(cache=True)
def output_delta(a, y, cost):
    one = a.dtype.type(1.0)
    delta = y - a  # the bug: the sign
    if cost == "quadratic":
        for j in range(a.shape[0]):
            delta[j] *= a[j] * (one - a[j])
    return delta
''', ["agreement float64: nabla_b exceeds its bound at layer 3"]),
    "dtype_slip": ("ops_numba_loops", "numba-loops", '''
@njit(cache=True)
def weighted_sum(w_j, a):
    z = w_j.dtype.type(0)
    for k in range(a.shape[0]):
        z += np.float32(w_j[k] * a[k])  # the bug: each product rounded to float32, in float64 too
    return z
''', ["agreement float64: outputs exceeds its bound", "PASS  agreement float32"]),
    "a_race": ("ops_numba_team", "numba-team", '''
@njit(cache=True, nogil=True)
def barrier(state, parties, generation, patience):
    return generation + 1  # the bug: no waiting, so a member reads the other's sums before they are written
''', ["way 'team'"]),
}


def check(*args):
    return CliRunner().invoke(main, ["check", *map(str, args)])


@pytest.mark.parametrize("bug", BROKEN)
def test_a_rung_with_one_bug_fails_and_says_which_quantity_and_where(tmp_path, bug):
    previous, builds_on, body, expected = BROKEN[bug]
    rung = tmp_path / f"{bug}.py"
    rung.write_text(HEADER.format(previous=previous, builds_on=builds_on) + body + FOOTER)
    # Only float64 where only float64 is looked at (each dtype is a compilation of the whole rung).
    dtypes = [] if any("float32" in text for text in expected) else ["--dtype", "float64"]
    result = check(rung, "--examples", "3", "--no-speed", *dtypes)
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[-1].startswith(f"{rung}: ") and "checks fail" in lines[-1]
    for text in expected:
        assert any(text in line for line in lines), (text, result.output)
    failed = [line for line in lines if line.startswith("FAIL")]
    assert failed and all("network [" in line for line in failed), result.output  # where: the case, too


# Every registered rung passes `neuro check`: the exercises' solutions in tests/test_exercises.py, the others here.
SOLUTIONS = {line.split('"')[1] for file in sorted((Path(__file__).resolve().parent.parent / "exercises").glob("*.py"))
             for line in file.read_text().splitlines() if line.startswith("SOLUTION = ")}
NOT_SOLUTIONS = [name for name in REGISTRY if name not in SOLUTIONS]


def test_every_registered_rung_is_checked_here_or_as_a_solution():
    assert set(NOT_SOLUTIONS) | SOLUTIONS == set(REGISTRY) and "numba-blas" in NOT_SOLUTIONS


@pytest.mark.parametrize("name", NOT_SOLUTIONS)
def test_neuro_check_passes_on_registered_rungs(name):
    # On the simulator (a Python thread per GPU thread) float64 only: tests/test_agreement.py checks both dtypes.
    dtype = ["--dtype", "float64"] if backend_status(name).simulated else []
    result = check(name, "--examples", "2", "--seconds", "0.05", "--json", *dtype)
    report = json.loads(result.stdout.splitlines()[-1])
    checks = {c["check"]: c for c in report["checks"]}
    assert [c for c in checks if c != "speed" and not checks[c]["ok"]] == [], result.output
    assert {"storage", "agreement float64"} <= set(checks)
    assert any(c.startswith("properties float64") for c in checks)  # ("properties float64 (way)" with ways)
    speed = checks["speed"]
    if speed["timed"] is None:  # a simulator, or the first rung: not timed, and a pass
        assert speed["ok"] and speed["detail"].startswith("not timed") and result.exit_code == 0, result.output
    else:  # (timed, not asserted: a benchmark decides, never a test; so only the speed may fail the command)
        assert speed["timed"]["builds_on"] == report["builds_on"] and speed["timed"]["ratio"] > 0
        assert result.exit_code == (0 if speed["ok"] else 1), result.output


def test_a_dtype_the_rung_does_not_claim_is_refused_before_any_check():
    result = check("python", "--dtype", "float32")
    assert result.exit_code == 1 and "Checking" not in result.output
    assert result.output.strip() == "Error: python does not compute in float32; it claims float64"


def test_a_dtype_the_rung_below_does_not_compute_is_checked_but_not_timed():
    result = check("numpy", "--dtype", "float32", "--examples", "1", "--seconds", "0.05")
    assert result.exit_code == 0, result.output
    assert "PASS  speed: not timed in float32: python, the rung it builds on, computes only float64" in result.output


def test_without_hypothesis_the_properties_check_fails_in_one_line(monkeypatch):
    import neuro.measure.properties as properties

    missing = "hypothesis is not installed (pip install 'neuro[test]')"
    monkeypatch.setattr(properties, "hypothesis_missing", lambda: missing)
    result = check("numpy", "--no-speed")
    assert result.exit_code == 1
    assert "FAIL  properties: cannot run: hypothesis is not installed" in result.output
