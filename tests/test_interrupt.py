"""Ctrl-C, SIGTERM and kill -9 during `neuro train`, with real processes and signals, each bounded in time.

A stopped run keeps its last finished epoch (or leaves an existing file alone when none had finished), exits with
128 + the signal's number, leaves no temporary file, and continues with `--resume` to the same parameters, bit
for bit, as a run that was never stopped.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from extras import needs_matplotlib
from tiny_mnist import write_random_mnist

from neuro.cli.main import main
from neuro.model import load_model

DEADLINE = 60.0
"""Seconds any one process may take: a run that does not stop fails the test instead of hanging it."""
NEURO = [sys.executable, "-c", "from neuro.cli.main import main; main()"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> Path:
    """A tiny MNIST-format folder (300 training, 50 test images of random pixels): epochs of milliseconds."""
    return write_random_mnist(tmp_path_factory.mktemp("digits"), 300, 50)


class Run:
    """`neuro ARGS` in a process of its own, whose output (standard output and error) can be waited on line by line."""

    def __init__(self, *args: str, cwd: Path) -> None:
        self.process = subprocess.Popen([*NEURO, *args], cwd=cwd, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})  # (each line as it comes)
        self.started = time.monotonic()
        self.lines: list[str] = []  # (chunks of the output as they came)

    def wait_for(self, fragment: str) -> None:
        """Read the output until a line holds `fragment`. (Straight from the pipe's descriptor: a buffered reader
        may hold lines already read while select() waits for more.)"""
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        while fragment not in "".join(self.lines):
            left = DEADLINE - (time.monotonic() - self.started)
            if left <= 0 or not selector.select(timeout=left):
                self.process.kill()
                pytest.fail(f"no line with {fragment!r} in time; got {self.lines}")
            chunk = os.read(self.process.stdout.fileno(), 65536).decode()
            if not chunk:
                pytest.fail(f"the process ended before a line with {fragment!r}: {self.lines}")
            self.lines.append(chunk)

    def wait_for_file(self, path: Path) -> None:
        while not path.exists():
            if time.monotonic() - self.started > DEADLINE or self.process.poll() is not None:
                self.process.kill()
                pytest.fail(f"{path} did not appear; the process said {self.process.stdout.read().decode()}")
            time.sleep(0.02)

    def finish(self) -> tuple[int, str]:
        """(exit status, everything it wrote)."""
        try:
            rest = self.process.communicate(timeout=DEADLINE)[0].decode()
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail("the process did not stop in time")
        return self.process.returncode, "".join(self.lines) + rest


def temporary_files(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if ".part" in p.name]


def parameters(path: Path) -> list[np.ndarray]:
    saved = load_model(path)
    return saved.weights + saved.biases


def test_ctrl_c_keeps_the_last_epoch_and_resume_equals_the_run_never_stopped(digits, tmp_path):
    model = tmp_path / "m.npz"
    run = Run("train", "--data", str(digits), "--epochs", "100000", "--save", str(model), cwd=tmp_path)
    run.wait_for_file(model)
    run.process.send_signal(signal.SIGINT)
    status, err = run.finish()
    assert status == 130, err
    assert "Traceback" not in err
    done = load_model(model).training.epochs_done
    assert f"saved epoch {done} to {model}" in err
    assert temporary_files(tmp_path) == []

    result = CliRunner().invoke(main, ["train", "--resume", str(model), "--epochs", "2", "--save", str(model)])
    assert result.exit_code == 0, result.output
    straight = tmp_path / "straight.npz"
    result = CliRunner().invoke(main, ["train", "--data", str(digits), "--epochs", str(done + 2),
                                       "--save", str(straight)])
    assert result.exit_code == 0, result.output
    for resumed, uninterrupted in zip(parameters(model), parameters(straight)):
        assert np.array_equal(resumed, uninterrupted)
    def curve(path):  # (the seconds differ, the accuracy and cost after each epoch must not)
        return [(h["epoch"], h["test_accuracy"], h["test_cost"]) for h in load_model(path).training.history]

    assert curve(model) == curve(straight)


def test_sigterm_before_the_first_epoch_leaves_the_old_file_alone(digits, tmp_path):
    model = tmp_path / "m.npz"
    model.write_bytes(b"the model of an earlier run")
    # the python backend on one mini-batch of 300 samples: the first epoch takes about a second
    run = Run("train", "--data", str(digits), "--backend", "python", "--layers", "784,200,10", "--batch-size",
              "300", "--epochs", "5", "--save", str(model), cwd=tmp_path)
    run.wait_for("Training Network")
    run.process.send_signal(signal.SIGTERM)
    status, err = run.finish()
    assert status == 143, err
    assert "no epoch had finished" in err and "Traceback" not in err
    assert model.read_bytes() == b"the model of an earlier run"
    assert temporary_files(tmp_path) == []


def test_a_second_ctrl_c_stops_at_once(digits, tmp_path):
    run = Run("train", "--data", str(digits), "--backend", "python", "--layers", "784,200,10", "--batch-size",
              "300", "--epochs", "5", cwd=tmp_path)
    run.wait_for("Training Network")
    time.sleep(0.3)  # (into the first epoch's one mini-batch, which takes seconds)
    run.process.send_signal(signal.SIGINT)
    run.wait_for("press Ctrl-C again")
    run.process.send_signal(signal.SIGINT)
    status, err = run.finish()
    assert status == 130, err
    assert "Interrupted." in err and "Traceback" not in err


def test_kill_9_loses_at_most_the_epoch_in_progress_and_its_leftovers_are_removed(digits, tmp_path):
    model = tmp_path / "m.npz"
    run = Run("train", "--data", str(digits), "--epochs", "100000", "--save", str(model), cwd=tmp_path)
    run.wait_for_file(model)
    time.sleep(0.2)
    run.process.kill()
    run.process.wait(timeout=DEADLINE)
    assert load_model(model).training.epochs_done >= 1  # the file is complete: the last finished epoch
    # what a writer killed in the middle of a save leaves: a temporary file named with its (now dead) process id
    leftover = tmp_path / f".m.npz.{run.process.pid}.x1y2z3.part.npz"
    leftover.write_bytes(b"half a model")
    result = CliRunner().invoke(main, ["train", "--resume", str(model), "--epochs", "1", "--save", str(model)])
    assert result.exit_code == 0, result.output
    assert temporary_files(tmp_path) == []


def test_a_run_in_progress_keeps_its_temporary_file(tmp_path):
    from neuro.support.files import remove_stale_parts

    mine = tmp_path / f".m.npz.{os.getpid()}.abc.part.npz"
    mine.write_bytes(b"")
    assert remove_stale_parts(tmp_path / "m.npz") == []
    assert mine.exists()


@pytest.mark.parametrize(("command", "planned"), [
    # (2 s per measurement, the signal 1 s into the first: what was planned cannot be done before it comes)
    (["bench", "--backends", "numpy", "--batch-size", "10,100,1000", "--seconds", "2", "--json", "--plot", "b.png"],
     3),
    (["ladder", "--backends", "python,numpy", "--dtype", "float64", "--seconds", "2", "--json", "--plot", "l.png",
      "--machine-seconds", "0.1"], 2),
])
@needs_matplotlib
def test_bench_and_ladder_stop_on_ctrl_c_and_print_what_they_measured(tmp_path, command, planned):
    run = Run(*command, cwd=tmp_path)
    run.wait_for("about 2 s per")
    if command[0] == "ladder":
        run.wait_for("FMA peak")  # (the ladder measures the machine first, then climbs)
    time.sleep(1.0)
    run.process.send_signal(signal.SIGINT)
    status, out = run.finish()
    assert status == 130, out
    assert "Interrupted:" in out and "Traceback" not in out
    payload = json.loads(out.strip().splitlines()[-1])
    assert payload["interrupted"] is True
    rows = payload["results"] if command[0] == "bench" else payload["rungs"]
    assert len(rows) < planned and all(row["validated"] for row in rows)


def test_a_served_page_stops_on_a_signal_that_lands_where_exceptions_are_swallowed():
    """`shutdown_on_signals`: the signal asks the server to shut down instead of raising where it lands (a
    KeyboardInterrupt raised in a weakref callback is printed and lost, and the server served on); the block then
    raises StopAtOnce, with the signal's exit status."""
    import threading

    from neuro.support.interrupts import StopAtOnce, shutdown_on_signals

    class Server:
        stopped = threading.Event()

        def shutdown(self):
            self.stopped.set()

    server = Server()
    with pytest.raises(StopAtOnce) as stop:
        with shutdown_on_signals(server):
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(500):  # (a serve_forever whose every exception is swallowed, as a callback's is)
                try:
                    if server.stopped.wait(0.01):
                        break
                except BaseException:  # noqa: BLE001
                    pass
    assert server.stopped.is_set() and stop.value.exit_status == 128 + signal.SIGTERM
