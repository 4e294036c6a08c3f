"""The tiled CUDA kernels on shapes the agreement tests do not reach: sums over several tiles of samples, and
grids smaller than the data, so that every kernel's grid-stride loop runs more than once.

Runs on Numba's CUDA simulator (tests/conftest.py switches it on), or on a GPU with NEURO_TEST_REAL_GPU=1.
"""

import numpy as np
import pytest

from neuro.backends import backend_status

status = backend_status("cuda")
pytestmark = pytest.mark.skipif(not status.available, reason=f"cuda unavailable: {status.reason}")

M, N_PREV, N = 33, 17, 20  # three tiles of samples, two of inputs (one partial), two of neurons (one partial)


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


def grid(n_columns, n_rows, whole):
    """Square tiles; with whole=False one block along y, so the kernel's grid-stride loop covers the rest."""
    from neuro.backends.cuda_kernels import TILE

    blocks_y = -(-n_rows // TILE) if whole else 1
    return (-(-n_columns // TILE), blocks_y), (TILE, TILE)


@pytest.mark.parametrize("whole", [True, False], ids=["whole-grid", "grid-stride"])
def test_tiled_kernels_agree_with_numpy(arrays, whole):
    from numba import cuda

    from neuro.backends import cuda_kernels as kernels

    a_prev, w, b, delta = (arrays[k] for k in ("a_prev", "w", "b", "delta"))
    d = {k: cuda.to_device(v) for k, v in arrays.items()}
    close = {"rtol": 1e-12, "atol": 1e-12}

    a = cuda.device_array((M, N))
    kernels.feedforward_layer[grid(N, M, whole)](d["w"], d["b"], d["a_prev"], a)
    np.testing.assert_allclose(a.copy_to_host(), sigmoid(a_prev @ w.T + b), **close)

    # delta of the layer before: delta_prev[s][k] = (sum_j delta[s][j] w[j][k]) a_prev[s][k] (1 - a_prev[s][k])
    delta_prev = cuda.device_array((M, N_PREV))
    kernels.backprop_delta[grid(N_PREV, M, whole)](d["w"], d["delta"], d["a_prev"], delta_prev)
    np.testing.assert_allclose(delta_prev.copy_to_host(), (delta @ w) * a_prev * (1 - a_prev), **close)

    nabla_w, nabla_b = cuda.device_array((N, N_PREV)), cuda.device_array(N)
    kernels.accumulate_gradient[grid(N_PREV + 1, N, whole)](d["delta"], d["a_prev"], nabla_w, nabla_b)
    np.testing.assert_allclose(nabla_w.copy_to_host(), delta.T @ a_prev, **close)
    np.testing.assert_allclose(nabla_b.copy_to_host(), delta.sum(axis=0), **close)

    w_new, b_new = cuda.to_device(w), cuda.to_device(b)
    kernels.update_parameters[grid(N_PREV + 1, N, whole)](d["delta"], d["a_prev"], 0.5, w_new, b_new)
    np.testing.assert_allclose(w_new.copy_to_host(), w - 0.5 * delta.T @ a_prev, **close)
    np.testing.assert_allclose(b_new.copy_to_host(), b - 0.5 * delta.sum(axis=0), **close)
