"""The rungs with one idea taken out (`neuro ladder --ablate`) compute what their rungs compute: the oracle checks
each on a small case, each way it runs its steps."""

import pytest

pytest.importorskip("numba")

from neuro.backends.cpu.ablations import ABLATIONS, variant  # noqa: E402
from neuro.measure.ablation import AblationResult, ablation_table  # noqa: E402
from neuro.measure.agreement import check_every_way, random_case  # noqa: E402

VARIANTS = [a.without for a in ABLATIONS if a.without]


@pytest.mark.parametrize("module", VARIANTS)
def test_every_variant_agrees_with_the_reference(module):
    backend = variant(module)
    comparisons = check_every_way(backend.name, random_case([9, 8, 5], batch=5, steps=2), backend)
    assert comparisons and all(c.ok for c in comparisons), [c for c in comparisons if not c.ok]


def test_every_bundled_rung_has_each_idea_ablated():
    rungs = {a.rung for a in ABLATIONS}
    assert rungs == {"numba-blocks", "numba-tiles", "numba-team", "numba-blas"}
    assert sum(a.rung == "numba-team" for a in ABLATIONS) == 2  # prefetching and a second core, apart
    assert sum(a.rung == "numba-blas" for a in ABLATIONS) == 2  # buffers made once; the step inside the product


def test_the_table_shows_a_loss_as_a_gain_below_one():
    row = AblationResult("numba-tiles", "uncounted views", "float64", 90.0, 100.0, True)
    assert row.gain == pytest.approx(0.9)
    assert "0.90x" in ablation_table([row])
    assert "| numba-tiles | uncounted views | float64 | 90 | 100 | 0.90x |" in ablation_table([row], markdown=True)
