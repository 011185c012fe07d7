"""Crash-safe file writes: atomic replacement, durable appends, cutting a partial last line.

Every catalog file is written by one of these, so a run killed at any instant (Ctrl-C, a crash,
SIGKILL, a power cut once the data is synced) leaves either the old bytes or the new ones.
Temporary files start with ``.`` so that dataset readers (pyarrow ignores ``.`` and ``_``
prefixes) never see them.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = [
    "atomic_write",
    "durable_append",
    "fsync_directory",
    "part_name",
    "temp_path",
    "truncate_partial_line",
]


def part_name(run: int, index: int) -> str:
    """The file name of part ``index`` of run ``run`` of a Parquet catalog (a dataset
    directory): runs sort by start time, parts by their order within a run."""
    return f"part-{run:016x}-{index:06d}.parquet"


def temp_path(path: Path) -> Path:
    """A hidden sibling of ``path`` for writing before the rename."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step."""
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def durable_append(path: Path, data: bytes) -> None:
    """Append ``data`` to ``path`` (created if missing) and sync it."""
    with open(path, "ab") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def truncate_partial_line(path: Path) -> int:
    """Cut anything after the last newline of ``path``; return the bytes removed."""
    try:
        f = open(path, "rb+")  # noqa: SIM115 -- closed below, several exits
    except FileNotFoundError:
        return 0
    with f:
        size = f.seek(0, os.SEEK_END)
        pos = size
        while pos > 0:
            step = min(1 << 16, pos)
            f.seek(pos - step)
            nl = f.read(step).rfind(b"\n")
            if nl >= 0:
                keep = pos - step + nl + 1
                break
            pos -= step
        else:
            keep = 0
        if keep < size:
            f.truncate(keep)
        return size - keep
