"""What the generic tests over the registry cannot see of the numba backend.

It runs steps in one of three ways, chosen by their size: compiled loops on one thread, the same loops shared
out between a team of threads, or NumPy's BLAS for large matrix products. The generic agreement tests draw
small cases, which all take the first way; here each way is forced in turn and checked against the
reference. Also: a stretch of steps in one compiled call equals one call per step, the thread setting, the
compiled sigmoid's accuracy, the team's barrier, and the compiled code cached on disk for the next process.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from neuro import NeuroError
from neuro.agreement import compare, random_case, reference, run
from neuro.backends import backend_status

pytestmark = pytest.mark.skipif(not backend_status("numba").available,
                                reason=f"numba unavailable: {backend_status('numba').reason}")

ops_numba = pytest.importorskip("neuro.backends.ops_numba")

CLASSIC = [784, 16, 16, 10]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("path", [ops_numba.SERIAL, ops_numba.PARALLEL, ops_numba.BLAS])
@pytest.mark.parametrize(("sizes", "batch"), [([33, 17, 5, 3], 7), ([17, 1, 3], 1), ([5, 9, 2], 10)])
def test_every_way_of_running_a_step_agrees_with_the_reference(monkeypatch, path, dtype, sizes, batch):
    backend = ops_numba.create()
    monkeypatch.setattr(backend, "path", lambda m, weights, blas=True, samples=None: path)
    for cost in ("quadratic", "cross-entropy"):
        case = random_case(sizes, batch, seed=batch, cost=cost, dtype=dtype, steps=2)
        values, bounds = reference(case)
        failures = [c for c in compare("numba", case, run(backend, case), values, bounds) if not c.ok]
        assert not failures, f"the {path} path disagrees with the reference: {failures}"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("path", [ops_numba.SERIAL, ops_numba.PARALLEL, ops_numba.BLAS])
def test_a_stretch_of_steps_in_one_call_equals_one_call_per_step(monkeypatch, path, dtype):
    backend = ops_numba.create()
    monkeypatch.setattr(backend, "path", lambda m, weights, blas=True, samples=None: path)
    case = random_case([33, 17, 5, 3], 10, seed=3, dtype=dtype, steps=3)
    order = case.order[:27]  # mini-batches of 10, 10 and a shorter last one of 7
    results = []
    for stretch in (True, False):
        w = [backend.to_backend(a, dtype) for a in case.weights]
        b = [backend.to_backend(a, dtype) for a in case.biases]
        x, y = backend.to_backend(case.x, dtype), backend.to_backend(case.y, dtype)
        if stretch:
            backend.train_steps(w, b, x, y, order, 0, len(order), 10, 3.0, "quadratic")
        else:
            for first in range(0, len(order), 10):
                backend.train_step(w, b, x, y, order, first, min(first + 10, len(order)), 3.0, "quadratic")
        results.append(w + b)
    for got, expected in zip(*results, strict=True):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("sizes", "batch"), [(CLASSIC, 10), ([33, 17, 10, 3], 7), ([40, 5, 9, 2], 1), ([9, 3], 5),
                                             ([1040, 8, 3], 5), ([100, 12, 5, 3], 7)])
def test_a_team_computes_the_same_numbers_as_one_thread_bit_for_bit(monkeypatch, dtype, sizes, batch):
    """So that a training run gives the same network on one core or two: a team shares rows out in the tiles one
    thread goes through them in, and a sum comes out the same whatever sample it is paired with (ops_numba.share,
    layer_sums); a team of two that shares the first layer out by columns (rows of x of 4 KB or more: the
    classic network in float64, 1040 inputs in both dtypes) adds the halves of each sum as one thread does; and
    a team whose last member owns the later layers (the classic network in float32, 100-12-5-3 in both) shares
    the first layer's rows in tiles of 4 too. Odd batches and layers whose rows are no multiple of 4 included."""
    backend = ops_numba.create()
    monkeypatch.setattr(backend, "_team_size", lambda: 2)  # (a team of two, even on a machine of one core)
    case = random_case(sizes, batch, seed=5, dtype=dtype, steps=3)
    order = np.concatenate([case.order, case.order])[: 3 * batch + batch // 2]  # three steps (and a short one)
    results = []
    for path in (ops_numba.SERIAL, ops_numba.PARALLEL):
        monkeypatch.setattr(backend, "path", lambda m, weights, blas=True, samples=None, path=path: path)
        w = [backend.to_backend(a, dtype) for a in case.weights]
        b = [backend.to_backend(a, dtype) for a in case.biases]
        x, y = backend.to_backend(case.x, dtype), backend.to_backend(case.y, dtype)
        backend.train_steps(w, b, x, y, order, 0, len(order), batch, 3.0, "cross-entropy")
        results.append(w + b)
    for one_thread, team in zip(*results, strict=True):
        np.testing.assert_array_equal(team, one_thread)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("sizes", "mode"), [([1040, 8, 3], ops_numba.COLUMNS), ([100, 12, 5, 3], ops_numba.OWNER)])
def test_each_way_a_team_shares_a_step_out_agrees_with_the_reference(monkeypatch, dtype, sizes, mode):
    """The gradient (into zeros; by columns, each member adds into its own copy of its half) and the training steps
    (in place), for a team of two working by COLUMNS (rows of x of 4 KB or more) or the OWNER way (small later
    layers), against the reference; and bit for bit as one thread."""
    backend = ops_numba.create()
    monkeypatch.setattr(backend, "_team_size", lambda: 2)
    case = random_case(sizes, 7, seed=2, dtype=dtype, steps=2)
    assert backend.team_mode([np.asarray(w, dtype) for w in case.weights], 2, 7) == mode
    results = []
    for path in (ops_numba.SERIAL, ops_numba.PARALLEL):
        monkeypatch.setattr(backend, "path", lambda m, weights, blas=True, samples=None, path=path: path)
        values, bounds = reference(case)
        outputs = run(backend, case)
        failures = [c for c in compare("numba", case, outputs, values, bounds) if not c.ok]
        assert not failures, f"the {path} path disagrees with the reference: {failures}"
        results.append(outputs)
    for name, one_thread in results[0].items():
        for got, expected in zip(results[1][name], one_thread, strict=True):
            np.testing.assert_array_equal(got, expected)


def test_a_team_of_two_works_by_columns_where_rows_of_x_are_long_and_the_owner_way_on_small_batches():
    def weights(sizes, dtype):
        return [np.zeros((n, k), dtype) for k, n in zip(sizes, sizes[1:])]

    team_mode = ops_numba.NumbaBackend.team_mode
    assert team_mode(weights(CLASSIC, "float64"), 2, 10) == ops_numba.COLUMNS  # rows of x of 6,272 bytes
    assert team_mode(weights(CLASSIC, "float32"), 2, 10) == ops_numba.OWNER  # later layers: 416 weights, first 12,544
    assert team_mode(weights(CLASSIC, "float32"), 2, ops_numba.OWNER_BATCH) == ops_numba.ROWS
    assert team_mode(weights(CLASSIC, "float64"), 3, 10) == ops_numba.OWNER  # (by columns only in a team of two)
    assert team_mode(weights([784, 1024, 1024, 10], "float32"), 2, 10) == ops_numba.ROWS


def test_stretches_of_steps_run_on_a_team_single_steps_on_one_thread_and_large_ones_in_blas(monkeypatch):
    backend = ops_numba.create()
    monkeypatch.setattr(backend, "_team_size", lambda: 2)  # (as on two cores or more, whatever this machine has)
    weights = [np.empty((n_out, n_in)) for n_in, n_out in zip(CLASSIC, CLASSIC[1:])]
    assert backend.path(10, weights, samples=600) == ops_numba.PARALLEL  # a stretch of the training loop
    assert backend.path(10, weights) == ops_numba.SERIAL  # one step: waking the team would cost more
    assert backend.path(10, [np.empty((3, 5))], samples=600) == ops_numba.SERIAL  # too small a network
    assert backend.path(1, weights, samples=600) == ops_numba.SERIAL  # too small a step
    assert backend.path(1000, weights, samples=60_000) == ops_numba.BLAS
    monkeypatch.setattr(backend, "_team_size", lambda: 1)
    assert backend.path(10, weights, samples=600) == ops_numba.SERIAL


def test_threads_can_be_set_within_numbas_limit():
    import numba

    backend = ops_numba.create()
    limit = numba.config.NUMBA_NUM_THREADS
    assert backend.threads == limit
    backend.set_threads(1)
    assert backend.threads == 1 and "threads=1" in repr(backend)
    for wrong in (0, limit + 1):
        with pytest.raises(NeuroError, match="NUMBA_NUM_THREADS"):
            backend.set_threads(wrong)


def test_a_second_process_loads_the_compiled_step_from_disk_instead_of_compiling():
    code = textwrap.dedent("""
        import numpy as np
        from neuro.backends import get_backend
        from neuro.backends.ops_numba import steps_serial, steps_team
        rng = np.random.default_rng(0)
        sizes = [784, 16, 16, 10]
        w = [rng.standard_normal((o, i)) for i, o in zip(sizes, sizes[1:])]
        b = [rng.standard_normal(o) for o in sizes[1:]]
        x, y = rng.random((6000, 784)), rng.random((6000, 10))
        backend = get_backend("numba")
        backend.train_step(w, b, x, y, np.arange(6000), 0, 10, 3.0, "quadratic")  # one step: one thread
        backend.train_steps(w, b, x, y, np.arange(6000), 0, 6000, 10, 3.0, "quadratic")  # a team, if 2 cores
        for kernel in (steps_serial, steps_team):
            print(sum(kernel.stats.cache_hits.values()), sum(kernel.stats.cache_misses.values()))
        print(backend.path(10, w, samples=6000))
    """)
    outputs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
               for _ in range(2)]
    *kernels, path = outputs[-1].splitlines()
    serial, team = [tuple(map(int, line.split())) for line in kernels]
    assert serial == (1, 0), f"the second process compiled again: {outputs}"
    expected = (1, 0) if path == ops_numba.PARALLEL else (0, 0)  # (a team only on two cores or more)
    assert team == expected, f"the second process compiled the team's step again: {outputs}"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_compiled_sigmoid_is_within_the_references_allowance_and_never_overflows(dtype):
    from numba import njit

    from neuro.agreement import SIGMOID_ULPS
    from neuro.backends.numba_sigmoid import sigmoid

    @njit
    def sigmoids(z, out):
        for i in range(z.shape[0]):
            out[i] = sigmoid(z[i])

    rng = np.random.default_rng(0)
    edges = [0.0, -0.0, 1000, -1000, 708, -708, 745, -745, 87, -87, 104, -104, 1e-30, -1e-30]
    z = np.concatenate([rng.standard_normal(100_000) * 5, rng.uniform(-1000, 1000, 20_000), edges]).astype(dtype)
    out = np.empty_like(z)
    sigmoids(z, out)
    exact = 1 / (1 + np.exp(-z.astype(np.longdouble)))
    unit = np.finfo(dtype).eps / 2
    assert out.dtype == np.dtype(dtype) and np.all(np.isfinite(out))
    assert np.all((out >= 0) & (out <= 1))
    assert float(np.max(np.abs(out - exact))) <= SIGMOID_ULPS * unit  # what the reference allows
    normal = exact >= np.finfo(dtype).tiny  # and relative to its own value, however small (4 u; measured 3.3)
    assert float(np.max(np.abs(out - exact)[normal] / exact[normal])) <= 4 * unit
    assert out[np.argmax(z)] == 1.0
    special = np.array([np.inf, -np.inf, np.nan], dtype)
    sigmoids(special, out[:3])
    assert out[0] == 1.0 and out[1] == 0.0 and np.isnan(out[2])


@pytest.mark.skipif(len(getattr(os, "sched_getaffinity", lambda _: range(os.cpu_count() or 1))(0)) < 2,
                    reason="a team of two on one core would wait for the scheduler at every barrier")
def test_the_barrier_keeps_a_team_in_step():
    """Each member writes its slot, waits, then reads every other slot: without the barrier (or with reads the
    compiler kept from an earlier round) a member would see a slot from an earlier round."""
    from numba import njit

    from neuro.backends.numba_team import Team, barrier

    @njit(nogil=True)
    def rounds(member, size, state, slots, seen, n):
        generation = 0
        for r in range(1, n + 1):
            slots[member * 16] = r  # (16 apart: one cache line each)
            generation = barrier(state, size, generation)
            for other in range(size):
                if slots[other * 16] != r:
                    seen[member] += 1
            generation = barrier(state, size, generation)

    size = 2  # (no more threads than this machine's two cores: a spinning member would wait for a sleeping one)
    slots, seen = np.zeros(16 * size, np.int64), np.zeros(size, np.int64)
    Team().run(rounds, size, slots, seen, 20_000)
    assert seen.tolist() == [0] * size
    assert slots[::16].tolist() == [20_000] * size


def test_a_failing_member_stops_the_team_instead_of_leaving_it_waiting():
    """The other members return from their next barrier, and the error reaches the caller."""
    from numba import njit

    from neuro.backends.numba_team import Team, barrier

    @njit(nogil=True)
    def waits(member, size, state, passed):
        generation = barrier(state, size, generation=0)
        passed[member] = generation

    def fails_in_member_1(member, size, state, passed):
        if member == 1:
            raise ValueError("member 1 failed")
        waits(member, size, state, passed)

    passed = np.zeros(2, np.int64)
    with pytest.raises(ValueError, match="member 1 failed"):
        Team().run(fails_in_member_1, 2, passed)
    assert passed[0] == -1  # member 0 left its barrier, told that the team had failed
