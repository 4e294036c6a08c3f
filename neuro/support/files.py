"""Atomic file writing: a file is written under a temporary name and renamed into place.

A crash, an error or Ctrl-C half-way through therefore never leaves a half-written model, image or
download behind: either the old file (or none) is there, or the complete new one. The temporary name
carries the writer's process id, `.NAME.PID.RANDOM.part`, so that a later run can tell the leftovers of
a killed writer (`kill -9` gives no chance to clean up) from the file of a writer still at work.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from neuro.support.errors import NeuroError


def _folder(target: Path) -> Path:
    return target.parent if str(target.parent) else Path(".")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it to `path`, on failure delete it (an OSError,
    such as a full disk, becomes a NeuroError that names the file).

    `suffix` is kept on the temporary name for writers that choose the format by extension
    (NumPy's savez adds `.npz` when missing, matplotlib picks its format from the name).
    """
    target = Path(path)
    remove_stale_parts(target)  # what a writer of this file that was killed while writing left behind
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=f".part{suffix}",
                                        dir=_folder(target))
    except OSError as error:  # the folder went away, or became read-only, since the checks before the work
        raise NeuroError(f"cannot write {target}: {error.strerror or error}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp makes the file private (0600); give it the permissions an ordinary new file would get.
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError as error:  # a full disk, say: the old file, if any, is left as it was
        tmp.unlink(missing_ok=True)
        raise NeuroError(f"cannot write {target}: {error.strerror or error}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def remove_stale_parts(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that writers of `path` which are no longer running left beside it (a run
    killed while saving); returns what was deleted."""
    target = Path(path)
    pattern = re.compile(re.escape(f".{target.name}.") + r"(\d+)\.[^.]+\.part")
    removed = []
    try:
        candidates = list(_folder(target).iterdir())
    except OSError:
        return removed
    for candidate in candidates:
        match = pattern.match(candidate.name)
        if match and int(match.group(1)) != os.getpid() and not _running(int(match.group(1))):
            with contextlib.suppress(OSError):
                candidate.unlink()
                removed.append(candidate)
    return removed


def check_writable(path: str | os.PathLike, what: str) -> None:
    """A NeuroError unless a file can be written at `path`: its folder exists and is writable, and `path` is not
    a folder. (Checked before long work starts, so that the work is not lost at the end.)"""
    target = Path(path)
    folder = _folder(target)
    if target.is_dir():
        raise NeuroError(f"cannot write {what} {path}: it is a folder; give a file name")
    if not folder.is_dir():
        raise NeuroError(f"cannot write {what} {path}: the folder {folder} does not exist")
    try:  # (try it: permission bits do not tell, e.g. for root, or on a read-only or special file system)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{target.name}.probe."):
            pass
    except OSError as error:
        raise NeuroError(f"cannot write {what} {path}: the folder {folder} is not writable "
                         f"({error.strerror.lower()})") from None
    if target.exists() and not os.access(target, os.W_OK) and not os.access(folder, os.W_OK):
        raise NeuroError(f"cannot write {what} {path}: the file is read-only")
