"""The GPU check's Python parts, end to end on a machine without a GPU: scripts/gpu-check.py --dry-run on tiny
networks (the cuda rungs on Numba's simulator, which tests/conftest.py switches on for subprocesses too), then
scripts/gpu-docs.py writing its table into a copy of docs/gpu.md, and refusing a dry run unless told."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from neuro.backends import backend_status

ROOT = Path(__file__).resolve().parent.parent
status = backend_status("cuda-fused")
pytestmark = pytest.mark.skipif(not status.available, reason=f"cuda unavailable: {status.reason}")


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu-check") / "check.json"
    command = [sys.executable, str(ROOT / "scripts" / "gpu-check.py"), "--dry-run", "--seconds", "0.02",
               "--cases", "classic",
               "--rows", "cuda-fused,numpy,torch eager", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout, json.loads(out.read_text()), out


def test_dry_run_prints_one_table_and_writes_json_that_says_it_measured_nothing(dry_run):
    stdout, record, _ = dry_run
    assert "DRY RUN" in stdout and "Targets (issue 17)" in stdout
    assert record["dry_run"] is True
    rows = {(r["case"], r["name"]): r for r in record["rows"]}
    fused = rows[("classic", "cuda-fused")]
    assert fused["validated"] is True and fused["note"] == "way: fused"
    assert fused["launches_per_step"] == 1.0  # one launch for a stretch (of one mini-batch, in a dry run)
    assert rows[("classic", "numpy")]["launches_per_step"] is None
    torch_row = rows[("classic", "torch eager")]
    assert torch_row["samples_per_s"] is not None or torch_row["note"].startswith("not run:")
    assert {t["target"].split(":")[0] for t in record["targets"]} == {"classic", "wide"}


def test_gpu_docs_refuses_a_dry_run_and_writes_one_when_allowed(dry_run, tmp_path):
    _, _, json_path = dry_run
    doc = tmp_path / "gpu.md"
    shutil.copy(ROOT / "docs" / "gpu.md", doc)
    before = doc.read_text()
    script = [sys.executable, str(ROOT / "scripts" / "gpu-docs.py"), str(json_path), "--output", str(doc)]
    refused = subprocess.run(script, capture_output=True, text=True)
    assert refused.returncode != 0 and refused.stderr.startswith("Error:") and "dry run" in refused.stderr
    assert doc.read_text() == before  # nothing half-written
    written = subprocess.run([*script, "--allow-dry-run"], capture_output=True, text=True)
    assert written.returncode == 0, written.stderr
    after = doc.read_text()
    block = after.split("<!-- generated: gpu-check -->")[1].split("<!-- end: gpu-check -->")[0]
    assert "DRY RUN" in block and "`cuda-fused`" in block and "Not yet measured" not in block
    assert after.split("<!-- generated: gpu-check -->")[0] == before.split("<!-- generated: gpu-check -->")[0]
