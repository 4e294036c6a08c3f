"""Shared test setup.

The CUDA backend is tested on every run: without a GPU it runs on Numba's CUDA simulator, which must be
switched on before numba.cuda is first imported, hence here. Set NEURO_TEST_REAL_GPU=1 to test a real GPU.
"""

import atexit
import os
import shutil
import sys
import tempfile

if os.environ.get("NEURO_TEST_REAL_GPU") != "1":
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
    # The simulator runs a block as one Python thread per GPU thread, and its main thread polls them, holding
    # the GIL for a whole switch interval (Python's default is 5 ms) at a time; at every syncthreads() all of a
    # block's threads must get their turn, so a shorter interval makes the simulated kernels' tests faster.
    sys.setswitchinterval(0.0005)

# Generated data and downloads go to a fresh folder, never the user's ~/.cache (set before anything loads data).
os.environ["NEURO_DATA_DIR"] = tempfile.mkdtemp(prefix="neuro-test-data-")
atexit.register(shutil.rmtree, os.environ["NEURO_DATA_DIR"], ignore_errors=True)

from hypothesis import settings  # noqa: E402

# Hypothesis: no deadline (compiled backends compile on first use; the simulator is slow), and a fixed
# derandomised profile in CI so that a red run can be reproduced exactly.
settings.register_profile("default", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


import pytest  # noqa: E402

# On a learner's machine a test that needs a missing extra (or a GPU) is skipped, its reason naming what to
# install. CI installs every extra (`.[dev]`) and promises the whole suite, so there a skip is a failure.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where every test must run: {reason}"
