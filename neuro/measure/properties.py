"""The property tests every rung must pass: hypothesis draws networks and data, the oracle judges each draw.

The project's tests (tests/test_agreement.py) and `neuro check` share these strategies, so a learner's rung is
held to exactly the standard of the registered ones. Hypothesis draws the network (depth and widths, including
widths such as 1, 3, 17 and 33 that are not multiples of a GPU block or a tile of four), the weights (from tiny
to magnitudes of 1000 that saturate every sigmoid), the inputs and targets, the batch size, the cost and the
learning rate; forward outputs, the gradient and the parameters after one and several steps must lie within the
rounding-error bound that neuro.measure.agreement computes for that very case.

hypothesis is imported only when a property is checked (it is in the `test` extra): `import neuro` never needs it.
"""

from __future__ import annotations

from neuro.costs import COSTS
from neuro.measure.agreement import Case, random_case

WIDTHS = [1, 2, 3, 5, 8, 16, 17, 31, 33, 40]
SCALES = [0.01, 0.3, 1.0, 3.0, 30.0, 1000.0]
EXAMPLES = {"simulated": 6, "python": 20, "compiled": 25}
"""Hypothesis examples per backend, dtype and way: the simulator is slow (and runs four cuda rungs), and so is
pure Python."""


def hypothesis_missing() -> str | None:
    """Why the property tests cannot run here (hypothesis not installed), or None."""
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        return "hypothesis is not installed (pip install 'neuro[test]')"
    return None


def cases(dtype: str, small: bool):
    """A hypothesis strategy of random agreement cases in `dtype`; `small` keeps them cheap (a simulator, pure
    Python)."""
    from hypothesis import strategies as st

    @st.composite
    def draw_case(draw) -> Case:
        depth = draw(st.integers(1, 2 if small else 4))
        sizes = [draw(st.sampled_from(WIDTHS)) for _ in range(depth + 1)]
        if small:
            sizes = [min(n, 17) for n in sizes]
        return random_case(
            sizes,
            batch=draw(st.sampled_from([1, 3, 10] if small else [1, 2, 3, 10, 17, 33])),
            seed=draw(st.integers(0, 2**32 - 1)),
            weight_scale=draw(st.sampled_from(SCALES)),
            cost=draw(st.sampled_from(COSTS)),
            dtype=dtype,
            steps=draw(st.integers(1, 2 if small else 3)),
            eta=draw(st.sampled_from([0.1, 0.5, 3.0])),
        )

    return draw_case()


def examples_for(simulated: bool, slow: bool) -> int:
    """How many examples a backend's property test draws (per dtype and way)."""
    return EXAMPLES["simulated" if simulated else "python" if slow else "compiled"]
