"""`neuro ladder` and the stretch policy it shares with the training loop."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from extras import needs_matplotlib
from machine_under_test import measured_machine

from neuro.backends import REGISTRY, BackendInfo, backend_status
from neuro.cli.main import main
from neuro.measure.ladder import RungResult, add_gains
from neuro.stretches import Stretches

KEYS = {"rung", "backend", "builds_on", "case", "change", "dtype", "validated", "train_samples_per_s",
        "vs_previous", "vs_python", "single_thread_samples_per_s"}
FAST = ["--layers", "20,5,3", "--seconds", "0.05"]


@pytest.fixture(autouse=True)
def machine_measured_once(monkeypatch):
    """The machine's peaks, measured for real once per session rather than on every ladder run."""
    monkeypatch.setattr("neuro.cli.ladder.measure_machine", lambda seconds: measured_machine())


def ladder(*args, ok=True):
    result = CliRunner().invoke(main, ["ladder", *args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_the_json_has_one_row_per_rung_and_dtype_with_the_gains_over_the_rung_before():
    payload = json.loads(ladder("--backends", "python,numpy,numba-loops", *FAST, "--json").stdout.splitlines()[-1])
    rows = {(r["backend"], r["dtype"]): r for r in payload["rungs"]}
    assert set(rows) == {("python", "float64"), ("numpy", "float64"), ("numpy", "float32"),
                         ("numba-loops", "float64"), ("numba-loops", "float32")}
    for row in payload["rungs"]:
        assert KEYS <= set(row) and row["validated"] and row["train_samples_per_s"] > 0
        assert row["case"] == {"layers": [784, 16, 16, 10], "batch_size": 10}
    assert [r["rung"] for r in payload["rungs"]] == [1, 2, 2, 3, 3]  # (their places on the whole ladder)
    python = rows["python", "float64"]["train_samples_per_s"]
    numpy32 = rows["numpy", "float32"]
    assert numpy32["builds_on"] == "python" and numpy32["vs_previous"] == pytest.approx(
        numpy32["train_samples_per_s"] / python)  # (python computes in float64 only: its row serves both)
    assert rows["numba-loops", "float64"]["change"] == REGISTRY["numba-loops"].change
    assert "float64 only" in " ".join(rows["python", "float64"]["notes"])


def test_a_multi_core_rung_is_timed_on_one_thread_too():
    payload = json.loads(ladder("--backends", "numba-team", "--dtype", "float32", *FAST, "--json").stdout
                         .splitlines()[-1])
    (row,) = payload["rungs"]
    assert row["single_thread_samples_per_s"] > 0 and row["vs_previous"] is None  # (numba-tiles was not run)


def test_a_rung_that_cannot_run_here_is_listed_and_not_timed(monkeypatch):
    monkeypatch.setitem(REGISTRY, "broken", BackendInfo("broken", "ops_does_not_exist", "a test", "numpy"))
    try:
        output = ladder("--backends", "numpy,broken", "--dtype", "float64", *FAST).output
    finally:
        backend_status.cache_clear()
    line = next(line for line in output.splitlines() if " broken " in line)
    assert "not timed: cannot import" in line


def test_markdown_names_each_rung_and_the_one_it_builds_on():
    output = ladder("--backends", "numpy,numba-loops,numba-reorder", "--dtype", "float32", *FAST, "--markdown").output
    rows = [line for line in output.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| # | rung |") and len(rows) == 4
    assert "`numba-reorder`" in rows[3] and "`numba-loops`" in rows[3]


@needs_matplotlib
def test_the_plot_is_a_png(tmp_path):
    path = tmp_path / "ladder.png"
    ladder("--backends", "python,numpy", *FAST, "--plot", str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_timed_row_says_its_gflops_and_its_share_of_the_measured_peak():
    payload = json.loads(ladder("--backends", "numpy,numba-team", *FAST, "--json").stdout.splitlines()[-1])
    machine = payload["machine"]
    assert machine == measured_machine() and machine["peak_gflops"]["float64"]["one_core"] > 0
    for row in payload["rungs"]:
        assert row["flops_per_sample"] == 2 * (20 * 5 + 5 * 3 + 5 * 3 + 20 * 5 + 5 * 3 + (105 + 18) / 10)
        assert row["gflops"] == pytest.approx(row["flops_per_sample"] * row["train_samples_per_s"] / 1e9)
        cores = "all_cores" if row["threads"] >= machine["cores"] else "one_core"
        per = 1 if cores == "all_cores" else row["threads"]
        assert row["peak_gflops"] == pytest.approx(per * machine["peak_gflops"][row["dtype"]][cores])
        assert row["percent_of_peak"] == pytest.approx(100 * row["gflops"] / row["peak_gflops"])


def test_the_gains_in_the_table_are_the_ratios_of_the_rates_it_shows():
    output = ladder("--backends", "python,numpy", "--dtype", "float64", *FAST).output
    lines = [line.split() for line in output.splitlines() if line[:2] in ("1 ", "2 ")]
    python, numpy = (float(line[3].replace(",", "")) for line in lines)
    assert "vs the rung it builds on" in output
    assert float(lines[1][7].rstrip("x").replace(",", "")) == pytest.approx(numpy / python, rel=0.01)


@needs_matplotlib
def test_the_roofline_is_a_png(tmp_path):
    path = tmp_path / "roofline.png"
    ladder("--backends", "numpy", "--dtype", "float32", *FAST, "--roofline", str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("args", "fragment"), [
    (["--backends", "numpy,tpu"], "unknown backend 'tpu'"),
    # (without matplotlib the first error is that plotting needs it, before the path is looked at)
    pytest.param(["--roofline", "/no/such/folder/roof.png"], "does not exist", marks=needs_matplotlib),
    (["--machine-seconds", "-1"], "is not in the range"),
    (["--dtype", "float16"], "'float16' is not float64 or float32"),
    (["--layers", "784,x"], "whole numbers"),
    (["--batch-size", "0"], "0 is not in the range"),
])
def test_bad_input_gives_one_error_line_before_anything_is_timed(args, fragment):
    result = ladder(*args, ok=False)
    assert result.exit_code != 0 and fragment in result.output.strip().splitlines()[-1], result.output


def test_gains_compare_each_rung_with_the_rung_it_builds_on_in_the_same_dtype():
    def row(name, dtype, rate, builds_on):
        return RungResult(rung=0, backend=name, builds_on=builds_on, case={}, change="", dtype=dtype, layers=[],
                          batch_size=1, timed=True, train_samples_per_s=rate)

    rows = [row("python", "float64", 10, None), row("a", "float64", 100, "python"), row("a", "float32", 200, "python"),
            row("b", "float64", 150, "a"), row("b", "float32", 100, "a")]
    add_gains(rows)
    assert [r.vs_previous for r in rows] == [None, 10, 20, 1.5, 0.5]
    assert [r.vs_python for r in rows] == [1, 10, 20, 15, 10]


def test_stretches_start_at_a_hundredth_of_the_data_and_double_while_calls_are_quick():
    stretches = Stretches(60_000, 10)
    calls = []
    for start, stop in stretches.calls(0, 60_000):
        calls.append((start, stop))  # (each call "took" no time at all: the next one doubles, up to a tenth)
    lengths = [stop - start for start, stop in calls]
    assert lengths[:5] == [600, 1200, 2400, 4800, 6000] and set(lengths[4:-1]) == {6000} and lengths[-1] <= 6000
    assert calls[0][0] == 0 and calls[-1][1] == 60_000 and all(a[1] == b[0] for a, b in zip(calls, calls[1:]))
    slow = Stretches(1234, 7)
    slow.took(1.0)
    assert slow.batches == 1  # (1234 samples are 177 mini-batches: a hundredth is one; a slow call keeps it)


def test_the_code_excerpts_in_the_docs_are_the_code_as_it_is():
    """docs/ladder.md quotes the functions that make each rung's change; scripts/ladder-docs.py --check fails when a
    quoted function has changed since the docs were written."""
    script = Path(__file__).resolve().parent.parent / "scripts" / "ladder-docs.py"
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr



def test_ablate_json_rows_are_validated_and_carry_the_idea_names(monkeypatch):
    """`--ablate` on one rung: a row per idea, both sides checked by the oracle, then timed. Only the ideas that
    need no variant compiled (numba-team's second core: the rung itself on one thread) are kept, to stay cheap;
    tests/test_ablation.py covers the variants."""
    from neuro.backends.cpu import ablations

    kept = [a for a in ablations.ABLATIONS if a.rung == "numba-team" and a.without is None]
    assert kept, "numba-team names a second core among its ideas"
    monkeypatch.setattr(ablations, "ABLATIONS", kept)
    payload = json.loads(ladder("--backends", "numba-team", "--ablate", "--dtype", "float64", *FAST,
                                "--json").stdout.splitlines()[-1])
    rows = payload["ablation"]
    assert [row["idea"] for row in rows] == [a.idea for a in kept]
    for row in rows:
        assert (row["rung"], row["dtype"], row["validated"], row["why_not"]) == ("numba-team", "float64", True, "")
        assert row["samples_per_s_with"] > 0 and row["samples_per_s_without"] > 0 and row["threads_without"] == 1
        assert row["gain"] == pytest.approx(row["samples_per_s_with"] / row["samples_per_s_without"])
    assert {(r["backend"], r["dtype"]) for r in payload["rungs"]} == {("numba-team", "float64")}
