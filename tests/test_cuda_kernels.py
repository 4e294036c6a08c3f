"""The cuda rungs' kernels on shapes the agreement tests do not reach, and the fused rung's stretches and rule.

The per-layer kernels (cuda-naive, cuda-tiled, cuda-register-blocked) run on sums over several tiles of samples,
once with a whole grid and once with a single block along y, so that every kernel's grid-stride loop runs more
than once. The fused kernel runs a stretch of several mini-batches whose last one is shorter. Runs on Numba's
CUDA simulator (tests/conftest.py switches it on), or on a GPU with NEURO_TEST_REAL_GPU=1.
"""

import numpy as np
import pytest

from neuro.backends import backend_status
from neuro.sizes import CLASSIC, WIDE

status = backend_status("cuda-tiled")
pytestmark = pytest.mark.skipif(not status.available, reason=f"cuda unavailable: {status.reason}")

# several tiles of samples, three of inputs and of neurons (the last partial): cuda-register-blocked's 32-wide
# tiles get a second block across, in every kernel
M, N_PREV, N = 33, 35, 40
CLOSE = {"rtol": 1e-12, "atol": 1e-12}


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(0)
    return {
        "a_prev": rng.random((M, N_PREV)),
        "w": rng.normal(size=(N, N_PREV)),
        "b": rng.normal(size=N),
        "delta": rng.normal(size=(M, N)),
    }


def kernel_modules():
    from neuro.backends.gpu import cuda_naive_kernels, cuda_register_blocked_kernels, cuda_tiled_kernels

    return {"naive": cuda_naive_kernels, "tiled": cuda_tiled_kernels, "register-blocked": cuda_register_blocked_kernels}


def grid(kernels, n_columns, n_rows, whole):
    """The rung's own grid; with whole=False one block along y, so the kernel's grid-stride loop covers the rest."""
    (blocks_x, blocks_y), threads = kernels.launch_grid(n_columns, n_rows)
    return (blocks_x, blocks_y if whole else 1), threads


@pytest.mark.parametrize("rung", ["naive", "tiled", "register-blocked"])
@pytest.mark.parametrize("whole", [True, False], ids=["whole-grid", "grid-stride"])
def test_layer_kernels_agree_with_numpy(arrays, rung, whole):
    from numba import cuda

    kernels = kernel_modules()[rung]
    a_prev, w, b, delta = (arrays[k] for k in ("a_prev", "w", "b", "delta"))
    d = {k: cuda.to_device(v) for k, v in arrays.items()}

    a = cuda.device_array((M, N))
    kernels.feedforward_layer[grid(kernels, N, M, whole)](d["w"], d["b"], d["a_prev"], a)
    np.testing.assert_allclose(a.copy_to_host(), sigmoid(a_prev @ w.T + b), **CLOSE)

    # delta of the layer before: delta_prev[s][k] = (sum_j delta[s][j] w[j][k]) a_prev[s][k] (1 - a_prev[s][k])
    delta_prev = cuda.device_array((M, N_PREV))
    kernels.backprop_delta[grid(kernels, N_PREV, M, whole)](d["w"], d["delta"], d["a_prev"], delta_prev)
    np.testing.assert_allclose(delta_prev.copy_to_host(), (delta @ w) * a_prev * (1 - a_prev), **CLOSE)

    nabla_w, nabla_b = cuda.device_array((N, N_PREV)), cuda.device_array(N)
    kernels.accumulate_gradient[grid(kernels, N_PREV + 1, N, whole)](d["delta"], d["a_prev"], nabla_w, nabla_b)
    np.testing.assert_allclose(nabla_w.copy_to_host(), delta.T @ a_prev, **CLOSE)
    np.testing.assert_allclose(nabla_b.copy_to_host(), delta.sum(axis=0), **CLOSE)

    w_new, b_new = cuda.to_device(w), cuda.to_device(b)
    kernels.update_parameters[grid(kernels, N_PREV + 1, N, whole)](d["delta"], d["a_prev"], 0.5, w_new, b_new)
    np.testing.assert_allclose(w_new.copy_to_host(), w - 0.5 * delta.T @ a_prev, **CLOSE)
    np.testing.assert_allclose(b_new.copy_to_host(), b - 0.5 * delta.sum(axis=0), **CLOSE)


def numpy_steps(weights, biases, x, y, order, start, stop, batch_size, eta, quadratic):
    """The reference: gradient steps on order[first:first + batch_size] for first in range(start, stop, ...)."""
    weights, biases = [w.copy() for w in weights], [b.copy() for b in biases]
    for first in range(start, stop, batch_size):
        rows = order[first:min(first + batch_size, stop)]
        activations = [x[rows]]
        for w, b in zip(weights, biases):
            activations.append(sigmoid(activations[-1] @ w.T + b))
        a = activations[-1]
        delta = (a - y[rows]) * a * (1 - a) if quadratic else a - y[rows]
        for l in range(len(weights) - 1, -1, -1):
            nabla_w, nabla_b = delta.T @ activations[l], delta.sum(axis=0)
            if l > 0:
                delta = (delta @ weights[l]) * activations[l] * (1 - activations[l])
            weights[l] -= eta / len(rows) * nabla_w
            biases[l] -= eta / len(rows) * nabla_b
    return weights, biases


@pytest.mark.parametrize("quadratic", [True, False], ids=["quadratic", "cross-entropy"])
def test_fused_kernel_runs_a_stretch_with_a_short_last_mini_batch(quadratic):
    """Three weight layers (as in the classic network), widths that are not multiples of the block's threads, and
    a stretch of 11 samples from an offset start in mini-batches of 4: 4 + 4 + 3."""
    from neuro.backends.gpu.ops_cuda_fused import FusedBackend

    rng = np.random.default_rng(1)
    sizes, n = (13, 7, 5, 3), 20
    weights = [rng.normal(size=(m, k)) for k, m in zip(sizes, sizes[1:])]
    biases = [rng.normal(size=m) for m in sizes[1:]]
    x, y, order = rng.random((n, sizes[0])), rng.random((n, sizes[-1])), rng.permutation(n)
    backend = FusedBackend()
    backend.force_way("fused")
    w, b = [backend.to_backend(a, "float64") for a in weights], [backend.to_backend(a, "float64") for a in biases]
    cost = "quadratic" if quadratic else "cross-entropy"
    backend.train_steps(w, b, backend.to_backend(x, "float64"), backend.to_backend(y, "float64"),
                        backend.to_backend(order, "int64"), 5, 16, 4, 0.5, cost)
    expected_w, expected_b = numpy_steps(weights, biases, x, y, order, 5, 16, 4, 0.5, quadratic)
    for got, want in zip(w + b, expected_w + expected_b):
        np.testing.assert_allclose(backend.to_numpy(got), want, **CLOSE)


def test_fused_rung_runs_the_wide_network_as_cuda_tiled_does():
    """The rule: the classic network at batch 10 runs fused, in one launch per stretch; the wide network, or a
    batch whose activations and deltas overflow shared memory, runs on cuda-tiled's kernels, 3L launches a step."""
    from neuro.backends.gpu.ops_cuda import choose
    from neuro.backends.gpu.ops_cuda_fused import FusedBackend

    backend = FusedBackend()
    classic, wide = CLASSIC, WIDE
    assert backend.way_for(classic, 10, "float32") == "fused" == backend.way_for(classic, 10, "float64")
    assert backend.launches(classic, 10, "float32", 600) == 1
    assert backend.way_for(wide, 256, "float32") == "tiled"
    assert backend.launches(wide, 256, "float32", 600) == 9 * 600
    assert backend.way_for(classic, 1000, "float32") == "tiled"  # over 48 KB of activations, deltas and partial sums
    assert choose(classic, 10, "float32") == "cuda-fused"
    assert choose(wide, 256, "float32") == choose(classic, 1000, "float32") == "cuda-register-blocked"


def test_fused_rung_falls_back_to_cuda_tiled_bit_for_bit():
    """Forced to its fallback, cuda-fused computes exactly what cuda-tiled computes (the same kernels)."""
    from neuro.backends import get_backend
    from neuro.backends.gpu.ops_cuda_fused import FusedBackend
    from neuro.measure.agreement import random_case, run

    case = random_case([6, 3], batch=2, seed=2, steps=2)  # small: cuda-tiled is slow on the simulator
    fused = FusedBackend()
    fused.force_way("tiled")
    tiled = run(get_backend("cuda-tiled"), case)
    fell_back = run(fused, case)
    for quantity, arrays in tiled.items():
        for got, want in zip(fell_back[quantity], arrays):
            np.testing.assert_array_equal(got, want)
