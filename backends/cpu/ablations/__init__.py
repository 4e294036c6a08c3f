"""The compiled rungs with one of their ideas taken out, so that `neuro ladder --ablate` can measure what each
idea is worth: each variant is the rung's own code, with the one function that carries the idea replaced by the
way the rung before did it (and everything else compiled again from the rung, see ../compiled.py `inherit`).
The rungs themselves do not change. Each variant computes what its rung computes, and the oracle checks it
(neuro.measure.agreement), as it checks every rung.

An `Ablation` compares the rung `with` the idea against the rung `without` it: `without` is a variant module of
this folder, or None for the rung itself on `threads_without` threads (a second core is an idea too).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ablation:
    rung: str
    idea: str
    without: str | None
    """The module of this folder with the idea taken out; None: the rung itself, on `threads_without` threads."""
    threads_with: int | None = None
    """Threads of the rung with the idea (None: as many as it takes); a variant runs on as many."""
    threads_without: int | None = None


ABLATIONS: tuple[Ablation, ...] = (
    Ablation("numba-blocks", "layer by layer over the mini-batch", "blocks_sample_by_sample"),
    Ablation("numba-blocks", "buffers made once", "blocks_buffers_per_step"),
    Ablation("numba-blocks", "the step fused into the gradient", "blocks_unfused_step"),
    Ablation("numba-blocks", "a SIMD sigmoid", "blocks_libm_sigmoid"),
    Ablation("numba-tiles", "tiles in registers", "tiles_no_tiles"),
    Ablation("numba-tiles", "uncounted views", "tiles_counted_views"),
    Ablation("numba-team", "the next rows fetched ahead (one thread)", "team_no_prefetch", 1, 1),
    Ablation("numba-team", "a second core (rows fetched ahead)", None, None, 1),
    Ablation("numba-blas", "buffers made once", "blas_buffers_per_step"),
    Ablation("numba-blas", "the step inside the product", "blas_update_after_product"),
)
"""Every idea that the docstrings of numba-blocks, numba-tiles, numba-team and numba-blas name, in that order, but
numba-blas's first, BLAS itself, whose gain over numba-team the ladder shows. numba-blas's ideas count only where
its steps go to BLAS: `neuro ladder --layers 784,1024,1024,10 --batch-size 256 --backends numba-blas --ablate`."""


def variant(module: str):
    """The backend of the variant module `module` (imported only now: it compiles with Numba)."""
    import importlib

    return importlib.import_module(f"{__name__}.{module}").create()
