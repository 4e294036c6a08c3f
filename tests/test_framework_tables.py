"""The tables that set `numba` beside PyTorch and JAX (scripts/framework_tables.py): each framework's figure the
median of its runs, taken in turn with the ladder's, and each ratio the ratio of the figures the table shows."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import framework_tables  # noqa: E402  (a script's module, beside scripts/ladder-docs.py)

import neuro.sizes  # noqa: E402

CLASSIC = list(neuro.sizes.CLASSIC)


def run(float64_rate, float32_rate):
    return {"jax": "0.0", "threads": 2, "results": [
        {"layers": CLASSIC, "batch_size": 10, "dtype": "float64", "train_samples_per_s": float64_rate},
        {"layers": CLASSIC, "batch_size": 10, "dtype": "float32", "train_samples_per_s": float32_rate}]}


def test_each_case_is_the_median_of_the_runs_not_the_first_or_the_last():
    combined = framework_tables.median_results([run(100.0, 900.0), run(300.0, 100.0), run(200.0, 500.0)])
    rates = {r["dtype"]: r["train_samples_per_s"] for r in combined["results"]}
    assert rates == {"float64": 200.0, "float32": 500.0}
    assert combined["runs"] == 3


def test_no_runs_gives_no_table():
    assert framework_tables.median_results([]) is None
    assert "not measured" in framework_tables.jax_table({}, {}, None)


def test_the_ratio_is_of_the_medians_the_table_shows_and_the_table_says_how_they_were_taken():
    jax = framework_tables.median_results([run(100.0, 400.0), run(120.0, 300.0), run(80.0, 500.0)])
    classic = {("numba-blas", "float64"): {"train_samples_per_s": 300.0},
               ("numba-blas", "float32"): {"train_samples_per_s": 1000.0}}
    table = framework_tables.jax_table(classic, {}, jax)
    assert "the median of 3 runs, each right after a run of the ladder" in table
    rows = [line for line in table.splitlines() if line.startswith("| 784-16-16-10")]
    assert rows == ["| 784-16-16-10, 10 | float64 | 100 | 300 | 3.0× |",
                    "| 784-16-16-10, 10 | float32 | 400 | 1,000 | 2.5× |"]
