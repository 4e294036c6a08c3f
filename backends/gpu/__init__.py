"""The CUDA rungs, ops_<rung>.py each, their kernels in <rung>_kernels.py, the `cuda` alias (ops_cuda.py), and
the probe that says whether a GPU (or Numba's simulator) is there (device.py)."""
