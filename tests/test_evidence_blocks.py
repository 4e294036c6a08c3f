"""The evidence blocks of docs/ladder.md (scripts/evidence_blocks.py): written from the facts the readers give, each
naming where its facts come from, and one in each rung's own section of the doc."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import evidence_blocks  # noqa: E402  (a script's module, beside scripts/ladder-docs.py)

from neuro.measure import asm, ptx  # noqa: E402

STAMP = "Compiled on a test machine."


def cpu_report():
    (lines,) = asm.functions((ROOT / "tests" / "fixtures" / "asm" / "avx2_dot_float64.s").read_text()).values()
    loop, facts = asm.hottest_loop(lines)
    return {"rung": "numba-reorder", "machine_note": "", "ptx": {},
            "machine_code": [{"function": "weighted_sum", "loop": loop.label, "hottest_loop": facts.as_dict(),
                              "whole_function": asm.facts(lines).as_dict()}]}


def test_a_cpu_rungs_block_is_written_from_the_machine_code_facts():
    block = evidence_blocks.rung_evidence_block(cpu_report(), STAMP)
    (line,) = [line for line in block.splitlines() if line.startswith("- ")]
    assert line.startswith("- `weighted_sum`, loop `.LBB0_8`: ymm registers (256 bits, 4 float64 per instruction)")
    assert "FMAs 4 packed + 0 scalar" in line and "16 multiply-adds in 11 instructions" in line
    assert "the machine named next" in block and block.endswith(STAMP)


def test_a_gpu_rungs_block_names_the_compute_capability_it_was_compiled_for():
    lines = ["$L__BB0_2:", "\tld.global.f64 \t%fd1, [%rd1];", "\tld.shared.f64 \t%fd2, [%rd2];",
             "\tfma.rn.f64 \t%fd3, %fd1, %fd2, %fd3;", "\tbar.sync \t0;", "\t@%p1 bra \t$L__BB0_2;"]
    label, facts = ptx.hottest_loop(lines)
    report = {"rung": "cuda-tiled", "machine_code": [], "machine_note": "",
              "ptx": {"cc": "9.0", "kernels": [{"kernel": "backprop_delta", "loop": label,
                                                "hottest_loop": facts.as_dict(), "shared_bytes": 4352}]}}
    block = evidence_blocks.rung_evidence_block(report, STAMP)
    assert "- `backprop_delta`, loop `$L__BB0_2`: 1 fma.rn, 0 mul, 0 add/sub; loads 1 global + 1 shared" in block
    assert "1 bar.sync" in block and "compute capability 9.0" in block and "not of a run" in block


def test_a_rung_without_facts_says_why():
    report = {"rung": "cuda-naive", "machine_code": [], "ptx": {"error": "no compiler"},
              "machine_note": "PTX: not read (no compiler)"}
    assert evidence_blocks.rung_evidence_block(report, STAMP).startswith("No facts read for `cuda-naive`: PTX: not")


def test_the_ladder_doc_has_each_rungs_evidence_in_its_own_section():
    text = (ROOT / "docs" / "ladder.md").read_text()
    for rung in (*evidence_blocks.COMPILED_RUNGS, *evidence_blocks.GPU_RUNGS):
        heading = re.search(rf"^##+ \d+\. `{re.escape(rung)}`:.*$", text, re.M)
        assert heading, f"no section for {rung}"
        section = text[heading.end():]
        section = section[: re.search(r"^##+ ", section, re.M).start()]
        assert f"<!-- generated: evidence: {rung} -->" in section, rung
    for rung in ("numba-blocks", "numba-tiles", "numba-team"):
        assert f"<!-- generated: ablation: {rung} -->" in text
    assert "## 8. `numba-blas`:" in text
