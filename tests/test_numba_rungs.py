"""What the generic tests over the registry cannot see of the compiled CPU rungs (ops_numba_*.py, ops_numba_blas.py).

The agreement tests force each way a rung may run its steps (one thread, a team, BLAS) on random networks. Here:
the same function names as the Python backend, in the same order; a stretch of steps in one call equals one call
per step; a team computes the same numbers as one thread, bit for bit, even when it stops half-way; how the team
chooses between itself and one thread; the barrier; the compiled sigmoid's accuracy; which steps go to BLAS; and
the machine code cached on disk, loaded by a second process and never stale.
"""

import ast
import importlib
import inspect
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import neuro.sizes
from neuro import NeuroError
from neuro.backends import REGISTRY, backend_status, get_backend
from neuro.measure.agreement import random_case

pytestmark = pytest.mark.skipif(not backend_status("numba").available,
                                reason=f"numba unavailable: {backend_status('numba').reason}")

ops_python = pytest.importorskip("neuro.backends.ops_python")
ops_numba_loops = pytest.importorskip("neuro.backends.cpu.ops_numba_loops")
ops_numba_team = pytest.importorskip("neuro.backends.cpu.ops_numba_team")
ops_numba_blas = pytest.importorskip("neuro.backends.cpu.ops_numba_blas")
compiled = pytest.importorskip("neuro.backends.cpu.compiled")
compiled_again_names = compiled.compiled_again_names

CLASSIC = list(neuro.sizes.CLASSIC)
COMPILED_RUNGS = [name for name in REGISTRY if name.startswith("numba")]
BACKENDS = Path(ops_numba_blas.__file__).parent


def functions_of(module) -> list[str]:
    """The names of the module-level functions of a module's source, in order."""
    tree = ast.parse(inspect.getsource(module))
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]


def test_the_first_compiled_rung_has_the_python_backends_functions_in_the_same_order():
    python = [name for name in functions_of(ops_python) if name not in ("unavailable_reason", "create")]
    loops = functions_of(ops_numba_loops)
    assert [name for name in loops if name in python] == python
    assert len(inspect.getsource(ops_numba_loops).splitlines()) < 250


def test_no_file_of_the_framework_or_its_backends_is_longer_than_400_lines():
    import neuro
    import neuro.backends
    import neuro.cli

    folders = [Path(package.__file__).parent for package in (neuro, neuro.backends, neuro.cli)]
    lengths = {str(path): len(path.read_text().splitlines()) for folder in folders for path in folder.rglob("*.py")}
    assert len(lengths) > 50
    assert all(n <= 400 for n in lengths.values()), {k: v for k, v in lengths.items() if v > 400}


@pytest.mark.parametrize("name", [name for name in COMPILED_RUNGS if name not in ("numba-loops", "numba-blas")])
def test_each_rung_that_inherits_lists_in_its_docstring_exactly_the_functions_it_compiles_again(name):
    rung = importlib.import_module(f"neuro.backends.{REGISTRY[name].module}")
    again = compiled_again_names(rung)
    assert again, f"{name} compiles nothing again: does it still end with inherit(previous, globals())?"
    paragraphs = [p for p in rung.__doc__.split("\n\n") if p.startswith("Compiled again from ")]
    assert len(paragraphs) == 1, f"{name}'s docstring needs one paragraph 'Compiled again from ... by `inherit`: ...'"
    head, _, names = paragraphs[0].partition(":")
    assert f"from {REGISTRY[name].builds_on} by `inherit`" in head
    assert re.findall(r"`(\w+)`", names) == again


def test_the_rungs_that_inherit_nothing_list_nothing():
    for name in ("numba-loops", "numba-blas"):  # (the first rung; numba-blas runs numba-team's compiled code)
        rung = importlib.import_module(f"neuro.backends.{REGISTRY[name].module}")
        assert compiled_again_names(rung) == [] and "Compiled again from" not in rung.__doc__


def state(backend, case, dtype):
    return ([backend.to_backend(a, dtype) for a in case.weights], [backend.to_backend(a, dtype) for a in case.biases],
            backend.to_backend(case.x, dtype), backend.to_backend(case.y, dtype))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", COMPILED_RUNGS)
def test_a_stretch_of_steps_in_one_call_equals_one_call_per_step(name, dtype):
    backend = get_backend(name)
    case = random_case([33, 17, 5, 3], 10, seed=3, dtype=dtype, steps=3)
    order = case.order[:27]  # mini-batches of 10, 10 and a shorter last one of 7
    for way in backend.ways:
        backend.force_way(way)
        results = []
        for stretch in (True, False):
            w, b, x, y = state(backend, case, dtype)
            if stretch:
                backend.train_steps(w, b, x, y, order, 0, len(order), 10, 3.0, "quadratic")
            else:
                for first in range(0, len(order), 10):
                    backend.train_step(w, b, x, y, order, first, min(first + 10, len(order)), 3.0, "quadratic")
            results.append(w + b)
        backend.force_way(None)
        for got, expected in zip(*results, strict=True):
            np.testing.assert_array_equal(got, expected, err_msg=f"{name}, {way}")


def train_each_way(backend, case, dtype, order, batch, ways):
    results = []
    for way in ways:
        backend.force_way(way)
        w, b, x, y = state(backend, case, dtype)
        backend.train_steps(w, b, x, y, order, 0, len(order), batch, 3.0, "cross-entropy")
        results.append(w + b)
    backend.force_way(None)
    return results


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("sizes", "batch"), [(CLASSIC, 10), ([33, 17, 10, 3], 7), ([40, 5, 9, 2], 1), ([9, 3], 5),
                                             ([100, 12, 5, 3], 7)])
def test_a_team_computes_the_same_numbers_as_one_thread_bit_for_bit(dtype, sizes, batch):
    """So that the backend may switch between one thread and a team at any stretch, and a training run does not
    depend on the number of cores: the team shares rows out in the tiles one thread goes through them in, and a
    sample's sums are the same whatever sample they are paired with. Odd batches, and layers whose rows are no
    multiple of 4 (or fewer than a team has members), included."""
    backend = get_backend("numba-team")
    case = random_case(sizes, batch, seed=5, dtype=dtype, steps=3)
    order = np.concatenate([case.order, case.order])[: 3 * batch + batch // 2]  # three steps (and a short one)
    ways = [ops_numba_team.ONE_THREAD, ops_numba_team.TEAM]
    one_thread, team = train_each_way(backend, case, dtype, order, batch, ways)
    for a, b in zip(one_thread, team, strict=True):
        np.testing.assert_array_equal(b, a)


def test_a_team_that_stops_half_way_leaves_the_rest_to_one_thread_with_the_same_result(monkeypatch):
    """A member that has lost its core: the other loses patience at a barrier, and the stretch is finished on one
    thread, from the first mini-batch the team did not finish, with the numbers of one thread throughout."""
    backend = ops_numba_team.create()
    monkeypatch.setattr(backend, "team_size", lambda weights: 2)
    monkeypatch.setattr(ops_numba_team, "TEAM_CALL_WORK", 0)
    monkeypatch.setattr(ops_numba_team, "PATIENCE_SPINS", 1000)
    steps_team, stopped_at = ops_numba_team.steps_team, []

    def late_member(member, size, state, *args):
        if member == 1:
            time.sleep(0.05)  # (as if the operating system ran another program on this core)
        done = steps_team(member, size, state, *args)
        stopped_at.append(done)
        return done

    monkeypatch.setattr(ops_numba_team, "steps_team", late_member)
    case = random_case(CLASSIC, 10, seed=2, dtype="float32", steps=6)
    w, b, x, y = state(backend, case, "float32")
    backend._timings.clear()
    backend.train_steps(w, b, x, y, case.order, 0, 60, 10, 3.0, "cross-entropy")  # (the first stretch: a team)
    assert stopped_at == [0, 0]  # both members stopped at the first step's first barrier
    (expected,) = train_each_way(backend, case, "float32", case.order, 10, [ops_numba_team.ONE_THREAD])
    for got, want in zip(w + b, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_the_backend_keeps_whichever_way_trained_faster_and_times_the_other_again_later():
    ways = ops_numba_team.WayTimings()
    team, serial = ops_numba_team.TEAM, ops_numba_team.ONE_THREAD
    assert ways.next(now=0.0) == team
    ways.record(team, 1000, 100.0, now=0.5)  # (a first call, which may have compiled: not counted)
    assert ways.next(now=0.5) == team
    ways.record(team, 1000, 1.0, now=1.0)
    assert ways.next(now=1.0) == serial  # each way is timed
    ways.record(serial, 1000, 100.0, now=1.2)
    assert ways.next(now=1.2) == serial
    ways.record(serial, 1000, 0.5, now=1.5)  # one thread was twice as fast
    assert ways.best == serial and ways.next(now=1.6) == serial
    recheck = 1.5 + ops_numba_team.FIRST_RECHECK
    assert ways.next(now=recheck) == team  # the team is timed again, later
    ways.record(team, 1000, 1.0, now=recheck)  # still slower: the next recheck waits twice as long
    assert ways.best == serial and ways.next(now=recheck + ops_numba_team.FIRST_RECHECK) == serial
    later = recheck + 2 * ops_numba_team.FIRST_RECHECK
    assert ways.next(now=later) == team
    ways.record(team, 1000, 0.25, now=later)  # the other program has finished: the team is faster now
    assert ways.best == team and ways.next(now=later + 0.1) == team


def test_single_steps_and_small_networks_run_on_one_thread_stretches_may_run_on_a_team(monkeypatch):
    backend = ops_numba_team.create()
    monkeypatch.setattr(backend, "team_size", lambda weights: 2)
    weights = [np.empty((n_out, n_in)) for n_in, n_out in zip(CLASSIC, CLASSIC[1:])]
    assert backend._way_timings(weights, 10, samples=600) is not None  # a stretch of the training loop
    assert backend._way_timings(weights, 10, samples=10) is None  # one step: waking the team would cost more
    assert backend._way_timings(weights, 1, samples=600) is None  # too small a step
    monkeypatch.setattr(backend, "team_size", lambda weights: 1)
    assert backend._way_timings(weights, 10, samples=600) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_blas_product_is_a_times_b_plus_beta_out_for_every_layout(dtype, beta):
    """numba-blas's `product` (BLAS's gemm): transposed views as operands, and an `out` in either order (a
    column-major one is formed anew by SciPy and copied back)."""
    rng = np.random.default_rng(0)
    a, b = rng.random((5, 3)).astype(dtype), rng.random((4, 3)).astype(dtype)
    for out in (rng.random((5, 4)).astype(dtype), np.asfortranarray(rng.random((5, 4)).astype(dtype))):
        expected = a @ b.T + beta * out
        assert ops_numba_blas.product(a, b.T, out, beta) is out
        np.testing.assert_allclose(out, expected, rtol=1e-5)
    with pytest.raises(ValueError, match="contiguous"):
        ops_numba_blas.product(a[:, ::2], b.T[::2], np.empty((5, 4), dtype))


def test_large_steps_go_to_blas():
    backend = get_backend("numba")
    classic = [np.empty((n_out, n_in)) for n_in, n_out in zip(CLASSIC, CLASSIC[1:])]
    wide = [np.empty((1024, 784)), np.empty((1024, 1024)), np.empty((10, 1024))]
    assert not backend.uses_blas(classic, 10) and backend.uses_blas(classic, 1000)
    assert backend.uses_blas(wide, 256) and not backend.uses_blas(wide, 1)


def test_threads_can_be_set_within_numbas_limit():
    import numba

    backend = ops_numba_blas.create()
    limit = numba.config.NUMBA_NUM_THREADS
    assert backend.threads == backend.max_threads == limit
    backend.set_threads(1)
    assert backend.threads == 1 and "threads=1" in repr(backend)
    for wrong in (0, limit + 1):
        with pytest.raises(NeuroError, match="NUMBA_NUM_THREADS"):
            backend.set_threads(wrong)
    with pytest.raises(NeuroError, match="does not run on several threads"):
        get_backend("numba-tiles").set_threads(2)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_compiled_sigmoid_is_within_the_references_allowance_and_never_overflows(dtype):
    from numba import njit

    from neuro.backends.cpu.simd_sigmoid import sigmoid
    from neuro.measure.agreement import SIGMOID_ULPS

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
    normal = exact >= np.finfo(dtype).tiny  # and relative to its own value, however small
    assert float(np.max(np.abs(out - exact)[normal] / exact[normal])) <= 4 * unit
    assert out[np.argmax(z)] == 1.0
    special = np.array([np.inf, -np.inf, np.nan], dtype)
    sigmoids(special, out[:3])
    assert out[0] == 1.0 and out[1] == 0.0 and np.isnan(out[2])


@pytest.mark.skipif(len(getattr(__import__("os"), "sched_getaffinity", lambda _: range(2))(0)) < 2,
                    reason="a team of two on one core would wait for the scheduler at every barrier")
def test_the_barrier_keeps_a_team_in_step():
    """Each member writes its slot, waits, then reads every other slot: without the barrier (or with reads the
    compiler kept from an earlier round) a member would see a slot from an earlier round."""
    from numba import njit

    from neuro.backends.cpu.spin_barrier import Team, barrier

    @njit(nogil=True)
    def rounds(member, size, state, slots, seen, n):
        generation = 0
        for r in range(1, n + 1):
            slots[member * 16] = r  # (16 apart: one cache line each)
            generation = barrier(state, size, generation, 2**62)
            for other in range(size):
                if slots[other * 16] != r:
                    seen[member] += 1
            generation = barrier(state, size, generation, 2**62)
        return generation

    slots, seen = np.zeros(32, np.int64), np.zeros(2, np.int64)
    assert Team().run(rounds, 2, slots, seen, 20_000) == 40_000
    assert seen.tolist() == [0, 0]
    assert slots[::16].tolist() == [20_000, 20_000]


def test_a_failing_member_stops_the_team_instead_of_leaving_it_waiting():
    """The other members return from their next barrier, and the error reaches the caller."""
    from numba import njit

    from neuro.backends.cpu.spin_barrier import Team, barrier

    @njit(nogil=True)
    def waits(member, size, state, passed):
        passed[member] = barrier(state, size, 0, 2**62)

    def fails_in_member_1(member, size, state, passed):
        if member == 1:
            raise ValueError("member 1 failed")
        waits(member, size, state, passed)

    passed = np.zeros(2, np.int64)
    with pytest.raises(ValueError, match="member 1 failed"):
        Team().run(fails_in_member_1, 2, passed)
    assert passed[0] == -1  # member 0 left its barrier, told that the team had failed


def test_a_second_process_loads_the_compiled_steps_from_disk_instead_of_compiling():
    code = textwrap.dedent("""
        import numpy as np
        from neuro.backends import get_backend
        from neuro.backends.cpu.ops_numba_team import steps_team, train_steps
        rng = np.random.default_rng(0)
        sizes = [784, 16, 16, 10]
        w = [rng.standard_normal((o, i)) for i, o in zip(sizes, sizes[1:])]
        b = [rng.standard_normal(o) for o in sizes[1:]]
        x, y = rng.random((600, 784)), rng.random((600, 10))
        backend = get_backend("numba-team")
        for way in backend.ways:
            backend.force_way(way)
            backend.train_steps(w, b, x, y, np.arange(600), 0, 600, 10, 3.0, "quadratic")
        for kernel in (train_steps, steps_team):
            print(sum(kernel.stats.cache_hits.values()), sum(kernel.stats.cache_misses.values()))
    """)
    outputs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
               for _ in range(2)]
    assert [tuple(map(int, line.split())) for line in outputs[-1].splitlines()] == [(1, 0), (1, 0)], outputs


def test_each_rung_caches_its_own_machine_code_stamped_with_every_compiled_file():
    """A function that `inherit` compiled again has the same source file, line and bytecode as its original:
    without the module that compiled it in its name, one rung would load another's machine code."""
    reorder = pytest.importorskip("neuro.backends.cpu.ops_numba_reorder")
    original, copy = ops_numba_loops.train_steps, reorder.train_steps
    assert copy.py_func.__code__ is original.py_func.__code__ and copy is not original
    names = {d._cache._cache_file._index_name for d in (original, copy)}
    assert len(names) == 2
    for dispatcher in (original, copy, ops_numba_team.steps_team):
        assert isinstance(dispatcher._cache._impl.locator, compiled.NeuroCacheLocator)
    assert original._cache._impl.locator.get_source_stamp() == compiled.source_digest()


def test_the_rungs_import_under_a_checkouts_name_beside_the_installed_one():
    """With a checkout's root on sys.path, `backends.cpu` is the same files under a second name: a second copy of
    the cache locator, which must not hand each function to the other copy for ever (a RecursionError)."""
    root = Path(__file__).resolve().parent.parent  # (the checkout, which holds backends/ at its top)
    code = (f"import sys; sys.path.insert(0, {str(root)!r}); import neuro.backends.cpu.ops_numba_loops; "
            "import backends.cpu.ops_numba_loops as again; "
            "print(again.train_steps._cache._impl.locator.get_disambiguator())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("-backends.cpu.ops_numba_loops")


HELPER = "from .compiled import njit\n\n\n@njit(cache=True)\ndef value():\n    return 1.0\n"
USER = ("from .compiled import njit\nfrom .ops_numba_helper import value\n\n\n"
        "@njit(cache=True)\ndef twice():\n    return 2 * value()\n")
RUN = "import sys; sys.path.insert(0, {root!r}); {plain}from copy_of_rungs.ops_numba_user import twice; print(twice())"
PLAIN = ("import copy_of_rungs.compiled as rungs; "
         "rungs._LOCATORS.remove(rungs.NeuroCacheLocator); ")


@pytest.mark.parametrize("neuro_locator", [True, False], ids=["neuro's cache", "numba's plain cache"])
def test_a_change_in_another_file_reaches_the_cached_code_that_calls_it(tmp_path, neuro_locator):
    """A cached function that calls one of another file, which then changes: Numba's own cache runs the stale
    machine code (the second case shows it, so that the first could fail); neuro's compiles afresh."""
    package = tmp_path / "copy_of_rungs"
    package.mkdir()
    (package / "__init__.py").write_text("")
    shutil.copy(BACKENDS / "compiled.py", package)
    (package / "ops_numba_helper.py").write_text(HELPER)
    (package / "ops_numba_user.py").write_text(USER)
    code = RUN.format(root=str(tmp_path), plain="" if neuro_locator else PLAIN)

    def twice() -> float:
        return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)

    assert twice() == 2.0 and twice() == 2.0  # (compiled, then loaded from the cache)
    (package / "ops_numba_helper.py").write_text(HELPER.replace("return 1.0", "return 5.0"))
    assert twice() == (10.0 if neuro_locator else 2.0)
