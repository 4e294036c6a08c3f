"""Where neuro keeps downloaded and generated data: `$NEURO_DATA_DIR`, else `~/.cache/neuro`."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The cache folder (created on first use)."""
    folder = Path(os.environ.get("NEURO_DATA_DIR") or Path.home() / ".cache" / "neuro")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
