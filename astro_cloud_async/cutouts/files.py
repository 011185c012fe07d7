"""Cutouts of every HDU of a catalog that covers a position, written as FITS files.

Strategy: :func:`~astro_cloud_async.sky.query` picks the HDUs (their rows carry the header
text, so no header is read again), :func:`~.cutout.cutouts` reads the pixels of all of them
concurrently through one client, and each finished cutout is written by a worker thread while
the next ones are read. A file's name comes from its object's name and HDU number, made unique
within the output folder; nothing is overwritten unless asked.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..client import Client
from ..sections.read import SectionFailed, record_from_row
from ..sky.query import find
from .cutout import Cutout, Mode, cutouts

if TYPE_CHECKING:
    import pyarrow

__all__ = ["CutoutReport", "cutout_name", "write_cutouts"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


@dataclass
class CutoutReport:
    """What :func:`write_cutouts` did."""

    matched: int = 0
    """HDUs whose footprint holds the position."""
    written: list[Path] = field(default_factory=list)
    failed: list[SectionFailed] = field(default_factory=list)
    missed: int = 0
    """Matched HDUs the box turned out to miss (footprint and pixels disagree at an edge)."""


def cutout_name(url: str, index: int) -> str:
    """``<object name without .fits>-hdu<index>.fits``, with unsafe characters replaced."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".fits.gz", ".fits.fz", ".fits", ".fit", ".fts"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return f"{_UNSAFE.sub('_', name) or 'object'}-hdu{index}.fits"


def _unique(folder: Path, name: str, taken: set[str], overwrite: bool) -> Path:
    stem, n = name[: -len(".fits")], 1
    candidate = name
    while candidate in taken or (not overwrite and (folder / candidate).exists()):
        n += 1
        candidate = f"{stem}-{n}.fits"
    taken.add(candidate)
    return folder / candidate


def _write(cutout: Cutout, path: Path, overwrite: bool) -> None:
    cutout.hdu().writeto(path, overwrite=overwrite, checksum=True)


async def write_cutouts(
    catalog: str | os.PathLike[str] | pyarrow.Table,
    ra: float,
    dec: float,
    size: int | tuple[int, int],
    output: str | os.PathLike[str],
    *,
    client: Client,
    radius: float = 0.0,
    mode: Mode = "partial",
    fill_value: float | None = None,
    overwrite: bool = False,
    max_in_flight: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CutoutReport:
    """Write the cutout around ``(ra, dec)`` of every HDU of ``catalog`` whose footprint holds
    it (or comes within ``radius`` arcseconds) to ``output``, one FITS file per HDU.

    ``progress(done, total)`` is called after each HDU. Returns what was written and what
    failed.
    """
    folder = Path(output)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    table = await asyncio.to_thread(find, catalog, ra, dec, radius)
    records = [record_from_row(row) for row in table.to_pylist()]
    report = CutoutReport(matched=len(records))
    taken: set[str] = set()
    writes: list[asyncio.Task[Any]] = []
    done = 0
    async for result in cutouts(
        records,
        ra,
        dec,
        size,
        client=client,
        mode=mode,
        fill_value=fill_value,
        max_in_flight=max_in_flight,
    ):
        if isinstance(result, SectionFailed):
            report.failed.append(result)
        else:
            path = _unique(
                folder, cutout_name(result.record.url, result.record.index), taken, overwrite
            )
            writes.append(asyncio.create_task(asyncio.to_thread(_write, result, path, overwrite)))
            report.written.append(path)
        done += 1
        if progress is not None:
            progress(done, len(records))
    await asyncio.gather(*writes)
    report.missed = report.matched - len(report.written) - len(report.failed)
    if progress is not None:
        progress(report.matched, report.matched)
    return report
