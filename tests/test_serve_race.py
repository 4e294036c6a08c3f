"""`neuro serve --race`: rungs side by side, a worker process each; failed lanes, real signals, no orphan left.

The commands run for real (`neuro serve --race ... --port 0` on 127.0.0.1) on a tiny MNIST-format folder and a
small network, so that even the python rung's lanes take well under a second per epoch.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from serve_under_test import get_json, start_neuro_serve, stroke_drawing
from tiny_mnist import write_random_mnist

from neuro.cli.main import main
from neuro.serve.race import builds_on_in_race, ratio_table

SMALL = ["--layers", "784,10", "--batch-size", "10"]

FILE_RUNG = '''
"""numpy, from a file: a rung of one's own in a race."""
from neuro.backends.ops_numpy import NumpyBackend

BUILDS_ON = "numpy"
CHANGE = "the numpy rung, from a file"


class FromAFile(NumpyBackend):
    name = "from-a-file"


def unavailable_reason():
    return None


def create():
    return FromAFile()
'''

NOT_HERE_RUNG = '''
"""A rung that cannot run here."""
BUILDS_ON = "numpy"
CHANGE = "needs a machine this is not"


def unavailable_reason():
    return "it needs a quantum computer"


def create():
    raise AssertionError("never created")
'''

FAILING_RUNG = FILE_RUNG.replace('''    name = "from-a-file"
''', '''    name = "failing"

    def train_steps(self, *args):
        raise RuntimeError("this rung breaks on its first step")
''')


@pytest.fixture(scope="module")
def digit_folder(tmp_path_factory):
    return write_random_mnist(tmp_path_factory.mktemp("race-digits"), 200, 20)


@pytest.fixture(scope="module")
def rung_files(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("rungs")
    files = {}
    for name, text in (("file", FILE_RUNG), ("not_here", NOT_HERE_RUNG), ("failing", FAILING_RUNG)):
        (folder / f"{name}_rung.py").write_text(text)
        files[name] = str(folder / f"{name}_rung.py")
    return files


def descendants(pid: int) -> set[int]:
    """Every living process below `pid` (from /proc: no psutil needed)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of `pids` that still run (a zombie has ended: it only waits to be reaped)."""
    living = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            living.add(pid)
    return living


def none_left(pids: set[int], within: float = 10.0) -> bool:
    """Whether every one of `pids` has ended (waiting up to `within` seconds for the last to go)."""
    deadline = time.monotonic() + within
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pids)


def race_state(port: int, until, what: str, timeout: float = 60.0) -> dict:
    """GET /api/race until `until(state)` holds (a test fails, rather than hangs, after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        state = get_json(port, "/api/race")
        if until(state):
            return state
        assert time.monotonic() < deadline, f"the race never got to {what}: {state}"
        time.sleep(0.05)


def race_answers(port: int) -> list[dict]:
    """A drawn stroke through every raced rung (POST /api/race/activations): each rung's answer or error."""
    drawn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    drawn.request("POST", "/api/race/activations", body=json.dumps({"pixels": stroke_drawing().tolist()}),
                  headers={"Content-Type": "application/json"})
    answers = json.loads(drawn.getresponse().read())["answers"]
    drawn.close()
    return answers


def lanes(state: dict) -> dict[str, dict]:
    return {lane["rung"]: lane for lane in state["lanes"]}


def test_the_ratio_is_to_the_nearest_raced_rung_below():
    raced = ["python", "numpy", "numba-loops", "numba"]
    assert [builds_on_in_race(rung, raced) for rung in raced] == [None, "python", "python", "numba-loops"]
    assert builds_on_in_race("numba-tiles", ["python", "numba-tiles"]) == "python"
    assert builds_on_in_race("numba-tiles", ["numba-blocks", "numba-tiles"]) == "numba-blocks"
    table = ratio_table([
        {"rung": "python", "samples_per_second": 100.0, "builds_on": None},
        {"rung": "numpy", "samples_per_second": 5000.0, "builds_on": "python"},
        {"rung": "numba-loops", "samples_per_second": None, "builds_on": "python"},  # failed: not in the table
        {"rung": "numba", "samples_per_second": 9000.0, "builds_on": "numba-loops"},
    ])
    assert [(row["rung"], row["ratio"]) for row in table] == [("python", None), ("numpy", 50.0), ("numba", None)]


def test_race_cpu_or_race_alone_is_every_cpu_rung_that_runs_here():
    from neuro.backends import REGISTRY, available_backends
    from neuro.cli.serve_race import race_rungs

    every = race_rungs("cpu")
    assert every[:2] == ["python", "numpy"] and set(every) <= set(available_backends())
    assert all(not REGISTRY[rung].module.startswith("gpu.") for rung in every)
    assert [rung for rung in available_backends() if rung not in every] == [
        rung for rung in available_backends() if REGISTRY[rung].module.startswith("gpu.")]
    alone = CliRunner().invoke(main, ["serve", "--race", "--race-seconds", "0", "--port", "0"])
    assert alone.exit_code == 2 and "--race-seconds" in alone.output  # (--race alone took no value)


@pytest.mark.parametrize("arguments, says", [
    (["--race", "python,nosuch"], "unknown backend 'nosuch'"),
    (["--race", "python,numpy,python"], "more than once"),
    (["--race", " , "], "separated by commas"),
    (["--race", "no/such/rung.py"], "rung.py"),
    (["--race-seconds", "5"], "--race-seconds is an option of --race"),
    (["--race", "python", "--epochs", "0"], "epochs"),
    (["--race", "python", "--save", "m.npz"], "--save"),
    (["--race", "python", "--backend", "numpy"], "--backend"),
    (["--race", "python", "--train"], "one of them"),
    (["--race", "python", "--layers", "100,10"], "784"),
    (["--race", "python", "--eta", "-1"], "eta"),
])
def test_bad_race_options_are_one_error_line_before_anything_starts(arguments, says, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["serve", *arguments, "--port", "0"])
    assert result.exit_code == 1 and result.output.startswith("Error:") and says in result.output, result.output
    assert result.output.count("\n") == 1


@pytest.mark.parametrize("seconds", ["0", "inf", "nan"])
def test_race_seconds_must_be_a_positive_finite_number(seconds):
    result = CliRunner().invoke(main, ["serve", "--race", "python", "--race-seconds", seconds, "--port", "0"])
    assert result.exit_code == 2 and "--race-seconds" in result.output and "Traceback" not in result.output


def test_a_rung_not_in_the_dtype_is_a_failed_lane_and_the_others_go_on(tmp_path, digit_folder):
    process, port = start_neuro_serve("--race", "python,numpy", *SMALL, "--limit", "60", "--epochs", "1",
                                      "--dtype", "float32", "--data", str(digit_folder), data_dir=tmp_path)
    try:
        state = race_state(port, lambda s: s["finished"], "its end")
        answers = race_answers(port)
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0 and "Traceback" not in stderr, stderr
    assert lanes(state)["python"]["status"] == "failed" and lanes(state)["numpy"]["status"] == "finished"
    assert state["page_network"] == "numpy" and "float32" in answers[0]["error"] and "answer" in answers[1]


def test_a_race_that_cannot_fit_in_memory_is_refused_before_it_starts(monkeypatch):
    from neuro.support import memory

    monkeypatch.setattr(memory, "usable_memory", lambda: (10**6, "a test's limit"))
    result = CliRunner().invoke(main, ["serve", "--race", "python,numpy", "--port", "0"])
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert result.output.startswith("Error: racing 2 rungs, each worker holding its own data needs about")
    assert "python" in result.output and "numpy" in result.output and "race fewer rungs" in result.output


def test_a_race_of_three_rungs_learns_the_same_and_a_rung_that_cannot_run_fails_alone(tmp_path, digit_folder,
                                                                                        rung_files):
    rungs = ["python", "numpy", rung_files["file"], rung_files["not_here"]]
    process, port = start_neuro_serve("--race", ",".join(rungs), *SMALL, "--limit", "60", "--epochs", "2",
                                      "--data", str(digit_folder), data_dir=tmp_path)
    try:
        state = race_state(port, lambda s: s["finished"], "its end")
        assert get_json(port, "/api/model")["race"] is True
        answers = race_answers(port)
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0 and "Traceback" not in stderr, stderr
    by_rung = lanes(state)
    failed = by_rung.pop(rung_files["not_here"])
    assert failed["status"] == "failed" and "quantum computer" in failed["error"]
    assert f"Error: the {rung_files['not_here']} lane failed" in stderr
    for lane in by_rung.values():
        assert lane["status"] == "finished" and lane["why"] == "epochs" and lane["epoch"] == 2
        assert lane["samples"] == 2 * 60 and lane["samples_per_second"] > 0
        assert len(lane["accuracy"]) == 3  # before training, after epochs 1 and 2
    curves = [[accuracy for _, accuracy in lane["accuracy"]] for lane in by_rung.values()]
    assert curves[0] == curves[1] == curves[2], "the same start and mini-batches: the same test accuracies"
    table = {row["rung"]: row for row in state["table"]}
    assert table["numpy"]["builds_on"] == "python" and table[rung_files["file"]]["builds_on"] == "numpy"
    rates = {rung: lane["samples_per_second"] for rung, lane in by_rung.items()}
    assert table["numpy"]["ratio"] == pytest.approx(rates["numpy"] / rates["python"])
    assert [a["rung"] for a in answers] == rungs and "error" in answers[3]
    assert len({a["answer"] for a in answers[:3]}) == 1 and all(a["seconds"] > 0 for a in answers[:3])
    assert "The race is over" in stderr and "samples/s" in stderr


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_race_stops_every_worker(tmp_path, digit_folder, signum, status):
    process, port = start_neuro_serve("--race", "python,numpy", *SMALL, "--limit", "200", "--race-seconds", "600",
                                      "--data", str(digit_folder), data_dir=tmp_path)
    try:
        race_state(port, lambda s: all(lane["samples"] > 0 for lane in s["lanes"]), "both lanes racing")
        workers = descendants(process.pid)
        assert len(workers) >= 2
    finally:
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == status and "Traceback" not in stderr, stderr
    assert none_left(workers), f"orphans: {alive(workers)}"


def test_a_crashed_worker_is_a_failed_lane_and_the_others_go_on(tmp_path, digit_folder, rung_files):
    rungs = ["python", "numpy", rung_files["failing"]]
    process, port = start_neuro_serve("--race", ",".join(rungs), *SMALL, "--limit", "200", "--race-seconds", "600",
                                      "--data", str(digit_folder), data_dir=tmp_path)
    try:
        state = race_state(port, lambda s: all(lane["samples"] > 0 or lane["status"] == "failed"
                                               for lane in s["lanes"]), "every lane racing or failed")
        assert "RuntimeError: this rung breaks on its first step" in lanes(state)[rung_files["failing"]]["error"]
        workers = descendants(process.pid)
        os.kill(lanes(state)["numpy"]["pid"], signal.SIGKILL)  # a crash, as the kernel's OOM killer makes one
        state = race_state(port, lambda s: lanes(s)["numpy"]["status"] == "failed", "the crash")
        assert "ended unexpectedly" in lanes(state)["numpy"]["error"]
        going = lanes(state)["python"]["samples"]
        race_state(port, lambda s: lanes(s)["python"]["samples"] > going, "python going on")
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
    assert none_left(workers), f"orphans: {alive(workers)}"
