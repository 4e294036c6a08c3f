"""The CLI battery: for every command, bad inputs that must each give exactly one `Error:` line, a non-zero exit,
no traceback, and nothing written.

Unknown names, non-finite and out-of-range numbers, unwritable or missing paths, files of the wrong kind, a folder
where a file is expected, an unknown NEURO_BACKEND. Each case runs in an empty working folder, which must still
be empty afterwards (the fixtures' files lie elsewhere).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from tiny_mnist import write_random_mnist

from neuro.cli.main import main

HUGE = "784,200000,200000,10"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """What the cases refer to: a tiny digits folder, a model, files of the wrong kind, a folder, a read-only one."""
    folder = tmp_path_factory.mktemp("battery")
    digits = write_random_mnist(folder / "digits", 60, 20)
    broken = folder / "broken"
    broken.mkdir()
    for path in digits.iterdir():
        (broken / path.name).write_bytes(path.read_bytes()[:-7])  # every file truncated
    model = folder / "model.npz"
    result = CliRunner().invoke(main, ["train", "--data", str(digits), "--layers", "784,5,10", "--epochs", "1",
                                       "--save", str(model)])
    assert result.exit_code == 0, result.output
    (folder / "text.npz").write_text("this is no model")
    (folder / "text.png").write_text("this is no picture")
    (folder / "empty").write_bytes(b"")
    # A folder no one may write into: read-only for a user; for root, who may write anywhere the permission bits
    # forbid, a folder of the kernel's /proc, where no file can be made.
    locked = folder / "locked"
    locked.mkdir(mode=0o555)
    if os.geteuid() == 0:
        locked = Path("/proc")
    return {"digits": str(digits), "broken": str(broken), "model": str(model), "text_npz": str(folder / "text.npz"),
            "text_png": str(folder / "text.png"), "empty": str(folder / "empty"), "folder": str(folder),
            "locked": str(locked)}


CASES = [
    # train
    (["train", "--backend", "tpu"], {}, "unknown backend 'tpu'"),
    (["train"], {"NEURO_BACKEND": "tpu"}, "unknown backend 'tpu'"),
    (["train", "--eta", "inf", "--save", "m.npz"], {}, "eta must be positive and finite"),
    (["train", "--eta", "nan", "--save", "m.npz"], {}, "eta must be positive and finite"),
    (["train", "--eta", "-1"], {}, "eta must be positive"),
    (["train", "--epochs", "0", "--save", "m.npz"], {}, "epochs must be at least 1"),
    (["train", "--batch-size", "0"], {}, "batch size must be at least 1"),
    (["train", "--batch-size", str(10**20)], {}, "batch size must be at most"),
    (["train", "--limit", "-5"], {}, "--limit must be a positive"),
    (["train", "--seed", "-1"], {}, "--seed must be zero or positive"),
    (["train", "--layers", "784,0,10"], {}, "at least one neuron"),
    (["train", "--layers", HUGE, "--save", "m.npz"], {}, "this process may use about"),
    (["train", "--data", "{empty}"], {}, "neither 'synthetic', 'mnist' nor a folder"),
    (["train", "--data", "{broken}", "--save", "m.npz"], {}, "truncated"),
    (["train", "--save", "no/such/folder/m.npz"], {}, "does not exist"),
    (["train", "--save", "{folder}"], {}, "it is a folder"),
    (["train", "--save", "{locked}/m.npz"], {}, "not writable"),
    (["train", "--save", "{text_npz}/m.npz"], {}, "does not exist"),
    (["train", "--plot", "no/such/folder/p.png"], {}, "does not exist"),
    (["train", "--resume", "missing.npz"], {}, "does not exist"),
    (["train", "--resume", "{text_npz}", "--save", "m.npz"], {}, "not a neuro model file"),
    (["train", "--resume", "{folder}"], {}, "is a folder"),
    (["train", "--resume", "{model}", "--layers", "784,6,10", "--save", "m.npz"], {}, "conflicts"),
    (["train", "--resume", "{model}", "--epochs", "-1", "--save", "m.npz"], {}, "epochs must be at least 1"),
    # evaluate
    (["evaluate", "missing.npz"], {}, "does not exist"),
    (["evaluate", "{text_npz}"], {}, "not a neuro model file"),
    (["evaluate", "{empty}"], {}, "not a neuro model file"),
    (["evaluate", "{folder}"], {}, "is a directory"),
    (["evaluate", "{model}", "--backend", "tpu"], {}, "unknown backend 'tpu'"),
    (["evaluate", "{model}"], {"NEURO_BACKEND": "tpu"}, "unknown backend 'tpu'"),
    (["evaluate", "{model}", "--data", "{broken}"], {}, "truncated"),
    (["evaluate", "{model}", "--data", "{folder}"], {}, "missing MNIST file"),
    # backends
    (["backends"], {"NEURO_BACKEND": "tpu"}, "$NEURO_BACKEND is 'tpu'"),
    (["backends", "--bogus"], {}, "No such option"),
    # agree
    (["agree", "--backends", "tpu"], {}, "unknown backend"),
    (["agree", "--weight-scale", "inf"], {}, "must be a finite number"),
    (["agree", "--weight-scale", "nan"], {}, "must be a finite number"),
    (["agree", "--steps", "0"], {}, "0 is not in the range"),
    (["agree", "--layers", HUGE, "--backends", "numpy"], {}, "this process may use about"),
    (["agree", "--cost", "hinge"], {}, "'hinge' is not one of"),
    # ladder
    (["ladder", "--backends", "tpu"], {}, "unknown backend"),
    (["ladder", "--seconds", "nan"], {}, "must be a finite number"),
    (["ladder", "--seconds", "inf"], {}, "must be a finite number"),
    (["ladder", "--batch-size", "0"], {}, "0 is not in the range"),
    (["ladder", "--dtype", "float16"], {}, "is not float64 or float32"),
    (["ladder", "--layers", HUGE, "--backends", "numpy"], {}, "this process may use about"),
    (["ladder", "--plot", "no/such/folder/l.png", "--backends", "numpy"], {}, "does not exist"),
    # bench
    (["bench", "--backends", "tpu"], {}, "unknown backend"),
    (["bench", "--seconds", "inf"], {}, "must be a finite number"),
    (["bench", "--batch-size", "0"], {}, "positive whole numbers"),
    (["bench", "--layers", HUGE, "--backends", "numpy"], {}, "this process may use about"),
    (["bench", "--plot", "{folder}", "--backends", "numpy"], {}, "is a folder"),
    # show
    (["show", "digit", "--data", "{digits}", "--index", "-1"], {}, "out of range"),
    (["show", "digit", "--data", "{digits}", "--index", "20"], {}, "out of range"),
    (["show", "digit", "--data", "{broken}", "--index", "0"], {}, "truncated"),
    (["show", "weights", "{text_npz}"], {}, "not a neuro model file"),
    (["show", "weights", "missing.npz"], {}, "does not exist"),
    (["show", "weights", "{model}", "--neuron", "99"], {}, "does not exist"),
    (["show", "weights", "{model}", "--out", "{folder}"], {}, "is a folder"),
    (["show", "weights", "{model}", "--out", "no/such/folder/w.png"], {}, "does not exist"),
    # predict
    (["predict", "{model}", "{text_png}"], {}, "cannot read"),
    (["predict", "{model}", "{folder}"], {}, "is a folder"),
    (["predict", "{model}", "missing.png"], {}, "does not exist"),
    (["predict", "{model}", "--data", "{digits}", "--index", "20"], {}, "out of range"),
    (["predict", "{text_npz}", "--data", "{digits}", "--index", "0"], {}, "not a neuro model file"),
    (["predict", "{model}", "--data", "{digits}", "--index", "0", "--backend", "tpu"], {}, "unknown backend"),
    (["predict", "{model}", "--data", "{digits}", "--index", "0"], {"NEURO_BACKEND": "tpu"}, "unknown backend"),
]


@pytest.mark.parametrize(("args", "env", "fragment"), CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_a_bad_input_gives_one_error_line_and_writes_nothing(files, tmp_path, monkeypatch, args, env, fragment):
    monkeypatch.chdir(tmp_path)
    if "--plot" in args:
        pytest.importorskip("matplotlib", reason="needs matplotlib, the plot extra: pip install -e '.[plot]'")
    if "{text_png}" in args or any(a.endswith(".png") for a in args):
        pytest.importorskip("PIL", reason="needs Pillow, the pictures extra: pip install -e '.[pictures]'")
    result = CliRunner().invoke(main, [a.format(**files) for a in args], env=env)
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert fragment in errors[0], result.output
    assert list(tmp_path.iterdir()) == []
