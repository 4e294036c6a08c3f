"""The CPU rungs compiled by Numba, ops_<rung>.py each, and the helpers they share: `compiled` (how a rung
inherits from the rung before, and the disk cache), `simd_sigmoid` (a sigmoid the compiler can vectorise) and
`spin_barrier` (the team of threads of numba-team)."""
