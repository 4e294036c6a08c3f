#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU, numba, numba-cuda and PyTorch, and no network: install this
# checkout against what is there, check every cuda rung against the reference on the real GPU, then print one
# table (every cuda rung, numpy, numba, PyTorch eager and torch.compile; the classic network at batch 10 and the
# wide one at batch 256, float32) and write its JSON for scripts/gpu-docs.py. About four minutes; run it from
# anywhere in the repository:
#
#   scripts/gpu-check.sh                          # the JSON goes to gpu-check.json in the repository
#   GPU_CHECK_JSON=$OUT/gpu-check.json scripts/gpu-check.sh 2>&1 | tee $OUT/gpu-check.log   # on a lent machine
#   python scripts/gpu-docs.py gpu-check.json     # then: docs/gpu.md's table, with the GPU's name and the date
#
# Stops at once when no real GPU is usable (with one line saying why, after a tiny kernel was compiled and run).
# A failed agreement step does not stop the table (the rung's row then says it disagrees), but the check exits
# non-zero at the end. The JSON is rewritten after every row, so a run cut short keeps what it measured. A PyTorch
# row that cannot run says why in the table; the check goes on.
set -uo pipefail
cd "$(dirname "$0")/.."
unset NUMBA_ENABLE_CUDASIM        # the real GPU, never the simulator
export NEURO_TEST_REAL_GPU=1      # tests/conftest.py then leaves the simulator off
seconds=${GPU_CHECK_SECONDS:-2}
json=${GPU_CHECK_JSON:-$PWD/gpu-check.json}
python=$(command -v "${PYTHON:-python}" || command -v python3) || { echo "gpu-check: no python here" >&2; exit 1; }
[[ $python = /* ]] || python=$PWD/$python   # absolute: the neuro commands below run from /
started=$SECONDS

echo "== Install (no network: no dependencies, no build isolation; numpy, numba, numba-cuda must be there)"
if ! "$python" -m pip install --no-deps --no-build-isolation -q -e .; then
  # pip could not build it (an old setuptools, say): lay out the package as pyproject's package-dir installs it
  # (neuro/, with backends/ as neuro/backends and cli/ as neuro/cli), as links to this checkout, on PYTHONPATH
  echo "gpu-check: pip could not install this checkout; importing it through links instead" >&2
  tree=$(mktemp -d)/site
  mkdir -p "$tree/neuro"
  for entry in neuro/*; do ln -s "$PWD/$entry" "$tree/neuro/"; done
  ln -s "$PWD/backends" "$tree/neuro/backends"
  ln -s "$PWD/cli" "$tree/neuro/cli"
  export PYTHONPATH="$tree${PYTHONPATH:+:$PYTHONPATH}"
fi
"$python" - <<'PY'
import importlib.util, sys
missing = [m for m in ("numpy", "numba", "numba_cuda", "click", "pytest", "hypothesis") if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"gpu-check: missing here: {', '.join(missing)} (there is no network to install them)")
PY
[[ $? = 0 ]] || exit 1

echo "== GPU"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "(nvidia-smi not found)"
# (from / so that Python imports the installed neuro, not the neuro/ folder of the repository)
neuro() { (cd / && "$python" -c "from neuro.cli.main import main; main()" "$@"); }
# Versions, then one tiny kernel compiled and launched: an old driver for this NVVM's PTX, or a numpy that
# numba-cuda cannot compile with, stops the check here, in one line, not after minutes.
(cd / && "$python" - <<'PY'
import sys
import numba, numpy
from importlib.metadata import version
print(f"python {sys.version.split()[0]}, numpy {numpy.__version__}, numba {numba.__version__}, "
      f"numba-cuda {version('numba-cuda')}")
from neuro.backends import backend_status
status = backend_status("cuda-tiled")
if not status.available or status.simulated:
    sys.exit(f"gpu-check: the cuda rungs cannot use a GPU here: {status.reason}")
from numba import cuda
@cuda.jit
def add_one(a):
    i = cuda.grid(1)
    if i < a.size:
        a[i] += 1.0
try:
    a = cuda.to_device(numpy.zeros(64, dtype=numpy.float32))
    add_one[1, 64](a)
    assert (a.copy_to_host() == 1.0).all(), "the tiny kernel computed something else"
except Exception as error:
    sys.exit(f"gpu-check: a tiny kernel does not compile or run here: {type(error).__name__}: {error}")
name = cuda.get_current_device().name
print(f"a tiny kernel ran on {name.decode() if isinstance(name, bytes) else name}")
PY
) || exit 1
neuro backends

failed=0
echo "== Agreement with the reference, on the GPU: every cuda rung"
# The kernels on shapes with several blocks, and every rung on the classic network (the random networks'
# examples are left to the simulator: each would compile kernels anew, and the budget is the table's). From /, and
# with PYTHONSAFEPATH, so that Python imports the installed neuro, not the repository's neuro/ folder. In one
# process (the GPU machine may lack pytest-xdist, and one CUDA context per worker buys nothing).
(cd / && PYTHONSAFEPATH=1 "$python" -m pytest -q -p no:cacheprovider -p no:xdist \
  -o addopts="--import-mode=importlib -ra" --rootdir "$OLDPWD" -c "$OLDPWD/pyproject.toml" \
  "$OLDPWD/tests/test_cuda_kernels.py" "$OLDPWD/tests/test_agreement.py" -k "cuda and classic_network or test_cuda_kernels") \
  || { failed=1; echo "gpu-check: an agreement test failed (above); the table goes on, and the check fails" >&2; }
# and at full size: the classic network at batch 10 (cuda-fused's one-block kernel at its real size) and the wide
# one at batch 256 (every kernel with many blocks in x and y; scaled weights keep the bound tight)
rungs=cuda-naive,cuda-tiled,cuda-fused,cuda-register-blocked,cuda
neuro agree --backends "$rungs" --layers 784,16,16,10 --batch-size 10 --steps 3 || failed=1
neuro agree --backends "$rungs" --layers 784,1024,1024,10 --batch-size 256 --weight-scale 0.03 --steps 2 || failed=1
echo "(agreement took $((SECONDS - started)) s from the start)"

echo "== The table (${seconds} s per row)"
left=$(( 290 - (SECONDS - started) ))
(( left < 120 )) && left=120
"$python" scripts/gpu-check.py --seconds "$seconds" --budget "$left" --json "$json" || failed=1
echo "== Done in $((SECONDS - started)) s; the JSON is $json"
if (( failed )); then
  echo "gpu-check: FAILED: a step above disagreed with the reference or did not finish" >&2
  exit 1
fi
