"""A run's settings: one RunSettings, checked once, stored in the training record and compared on --resume; files
written before it existed still load and resume; no function of the CLI takes a parameter per option."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import neuro.cli
from neuro.cli.main import main
from neuro.model import load_model
from neuro.settings import RunSettings
from neuro.support.errors import NeuroError

OLD_MODEL = Path(__file__).parent / "fixtures" / "dd6c661-784-2-10.npz"
"""Written by the code at commit dd6c661 (tests/fixtures/README.md says how)."""
OLD_SETTINGS = RunSettings(eta=2.5, batch_size=8, cost="quadratic", init="classic", seed=3, data="synthetic",
                           limit=40, layers=(784, 2, 10), dtype="float32")
MOST_PARAMETERS = 8


def run(*args, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_a_model_written_before_run_settings_loads_with_its_record():
    saved = load_model(OLD_MODEL)
    assert saved.sizes == [784, 2, 10] and saved.dtype == "float32"
    assert saved.training.epochs_done == 1 and saved.training.settings == OLD_SETTINGS


def test_a_model_written_before_run_settings_resumes_as_if_never_stopped(tmp_path):
    model = tmp_path / "old.npz"
    shutil.copy(OLD_MODEL, model)
    run("train", "--resume", model, "--epochs", 1, "--save", model)
    run("train", "--layers", "784,2,10", "--dtype", "float32", "--epochs", 2, "--limit", 40, "--batch-size", 8,
        "--eta", 2.5, "--seed", 3, "--save", tmp_path / "straight.npz")
    resumed, straight = load_model(model), load_model(tmp_path / "straight.npz")
    assert resumed.training.epochs_done == 2 and resumed.training.settings == OLD_SETTINGS
    for a, b in zip(resumed.weights + resumed.biases, straight.weights + straight.biases):
        assert np.array_equal(a, b)
    with np.load(model, allow_pickle=False) as npz:  # (the record's settings are stored as they were)
        with np.load(OLD_MODEL, allow_pickle=False) as old:
            assert json.loads(str(npz["training"]))["settings"] == json.loads(str(old["training"]))["settings"]


def test_resume_names_every_option_that_conflicts_with_the_record():
    result = run("train", "--resume", OLD_MODEL, "--epochs", 1, "--eta", 1, "--layers", "784,3,10", ok=False)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "--eta 1.0, --layers 784,3,10 conflict with" in result.output
    assert "trained with --eta 2.5, --layers 784,2,10" in result.output
    run("train", "--resume", OLD_MODEL, "--epochs", 1, "--eta", 2.5, "--dtype", "float32")  # agreeing: no conflict


def test_run_settings_survive_the_record_and_refuse_what_no_run_had():
    assert RunSettings.from_record(OLD_SETTINGS.to_record()) == OLD_SETTINGS
    record = OLD_SETTINGS.to_record()
    with pytest.raises(NeuroError, match="lacks the settings seed"):
        RunSettings.from_record({k: v for k, v in record.items() if k != "seed"})
    with pytest.raises(NeuroError, match="setting batch_size=0 cannot be continued"):
        RunSettings.from_record(record | {"batch_size": 0})
    for wrong, message in [({"seed": -1}, "--seed must be zero or positive"), ({"limit": 0}, "--limit must be"),
                           ({"eta": 0.0}, "eta must be positive"), ({"layers": (784,)}, "at least an input"),
                           ({"dtype": "float16"}, "unknown --dtype")]:
        with pytest.raises(NeuroError, match=message):
            RunSettings(**wrong).check()
    assert RunSettings().check().training(4).epochs == 4


def _functions(source: Path):
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            arguments = node.args
            count = len(arguments.posonlyargs) + len(arguments.args) + len(arguments.kwonlyargs)
            yield getattr(node, "name", "<lambda>"), node.lineno, count


def test_no_function_of_the_cli_takes_more_than_eight_parameters():
    folder = Path(neuro.cli.__file__).parent
    modules = sorted(folder.glob("*.py"))
    assert len(modules) > 5
    found = [(f"{module.name}:{line} {name}", count) for module in modules for name, line, count in _functions(module)]
    assert any(count > 3 for _, count in found)  # (the walk does see the commands' functions)
    too_many = [f"{where} takes {count}" for where, count in found if count > MOST_PARAMETERS]
    assert not too_many, f"group the options into objects (neuro.cli.options.grouped): {too_many}"
