#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU, check the cuda backend against the reference on the real
# hardware, then time numpy, numba and cuda on the classic network (784-16-16-10) and a wide one
# (784-1024-1024-10), printing one table. About three minutes; run it from anywhere in the repository.
#
#   pip install -e '.[cuda,test]'          # numba-cuda[cu13], pytest, hypothesis
#   scripts/gpu-check.sh                     # 1 s per measurement
#   BENCH_SECONDS=3 scripts/gpu-check.sh     # steadier numbers, about twice as long
#
# Paste the GPU line and the table into docs/gpu.md ("Measured"). Exits non-zero when no real GPU is usable,
# when an agreement test fails, or when a backend disagrees with the reference inside the benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
unset NUMBA_ENABLE_CUDASIM        # the real GPU, never the simulator
export NEURO_TEST_REAL_GPU=1      # tests/conftest.py then leaves the simulator off
seconds=${BENCH_SECONDS:-1}

echo "== GPU"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "(nvidia-smi not found)"
neuro backends
# (run from / so that Python imports the installed neuro, not the neuro/ folder of the repository)
(cd / && python - <<'PY'
import sys
from neuro.backends import backend_status
status = backend_status("cuda")
if not status.available or "simulat" in status.reason:
    sys.exit(f"gpu-check: the cuda backend cannot use a GPU here: {status.reason}")
PY
)

echo "== Agreement with the reference, on the GPU"
pytest -q -p no:cacheprovider tests/test_cuda_ptx.py tests/test_agreement.py -k cuda
# and once at full size: every kernel with many blocks in x and y (scaled weights keep the bound tight)
neuro agree --backends cuda --layers 784,1024,1024,10 --batch-size 256 --weight-scale 0.03 --steps 2

echo "== Training and forward throughput: numpy, numba, cuda (${seconds} s per measurement)"
neuro bench --backends numpy,numba,cuda --layers "784,16,16,10;784,1024,1024,10" \
    --batch-size 10,100,256,1000 --dtype float32,float64 --seconds "$seconds"
