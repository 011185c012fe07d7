"""Checking DATASUM and CHECKSUM against the data themselves: :func:`verify_data`.

Strategy: the data of an HDU are streamed through the client's range pool (so its concurrency
bound, retries and statistics cover them) in pieces of ``piece`` bytes, a whole number of FITS
blocks, at most ``in_flight`` pieces of one HDU at once, so memory stays bounded whatever the
HDU's size. Each piece is summed as it arrives, with numpy (the ones'-complement sums of
pieces add, see :mod:`astro_cloud_async.fits.checksum`), and dropped. Only HDUs whose header
has a DATASUM card are read: without it, astropy counts the data as 0 and so does the verdict.
The sum covers the padded data, as astropy's does; an object that ends before its data does
fails DATASUM. The verdicts then equal those of ``astropy.io.fits.open(..., checksum=True)``.
The data of an object compressed whole (gzip, bzip2) cannot be read by range: its DATASUM
stays unread (only the header's CHECKSUM verdict is given).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from ..fits.checksum import Verdict, add, checksum_verdict, datasum_verdict
from ..fits.layout import BLOCK, padded
from ..records import HDURecord
from ..stores.base import RangeResult
from ..tasks import gather_all

__all__ = ["DEFAULT_PIECE", "data_sum", "sum_bytes", "verify_data", "verify_record"]

DEFAULT_PIECE = 2880 * 2912
"""Bytes per request when streaming data (about 8 MB, a whole number of blocks)."""

_MODULUS = 0xFFFFFFFF


class _Fetcher(Protocol):
    async def fetch_range(
        self, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult: ...


def sum_bytes(data: bytes | bytearray | memoryview, start: int = 0) -> int:
    """The ones'-complement sum of ``data`` (big-endian 32-bit words) added to ``start``; as
    :func:`astro_cloud_async.fits.checksum.ones_complement_sum`, with numpy for speed."""
    view = memoryview(data).cast("B")
    whole = len(view) - len(view) % 4
    total = int(np.frombuffer(view[:whole], dtype=">u4").sum(dtype=np.uint64))
    if whole < len(view):
        total += int.from_bytes(bytes(view[whole:]).ljust(4, b"\0"), "big")
    return add(start, total)


async def data_sum(
    fetcher: _Fetcher, record: HDURecord, *, piece: int = DEFAULT_PIECE, in_flight: int = 4
) -> int | None:
    """The sum of ``record``'s padded data, streamed; ``None`` when the object ends first."""
    if record.truncated:
        return None
    size = padded(record.data_size)
    if size == 0:
        return 0
    piece = max(BLOCK, piece - piece % BLOCK)
    start, end = record.data_offset, record.data_offset + size
    starts = list(range(start, end, piece))
    gate = asyncio.Semaphore(in_flight)
    total = 0
    short = False

    async def one(first: int) -> None:
        nonlocal total, short
        last = min(first + piece, end)
        async with gate:
            result = await fetcher.fetch_range(record.url, first, last, if_match=record.etag)
        # Only padding may be missing (a last block written short), never data.
        if first + len(result.data) < min(last, record.data_offset + record.data_size):
            short = True
        total = add(total, sum_bytes(result.data))

    await gather_all(one(s) for s in starts)
    return None if short else total


async def verify_record(
    fetcher: _Fetcher, record: HDURecord, *, piece: int = DEFAULT_PIECE
) -> dict[str, Verdict]:
    """The ``checksum`` and ``datasum`` verdicts of ``record``, its data read (only the
    ``checksum`` verdict, from the header, for a record of a compressed object)."""
    header = record.header
    if record.compression is not None:
        return {"checksum": checksum_verdict(header)}
    if "DATASUM" not in header:
        return {"checksum": checksum_verdict(header), "datasum": "absent"}
    computed = await data_sum(fetcher, record, piece=piece)
    if computed is None:
        # The data are incomplete: neither sum can hold.
        checksum: Verdict = "absent" if "CHECKSUM" not in header else "bad"
        return {"checksum": checksum, "datasum": "bad"}
    return {
        "checksum": checksum_verdict(header, computed),
        "datasum": datasum_verdict(header, computed),
    }


async def verify_data(
    fetcher: _Fetcher, records: Sequence[HDURecord], *, piece: int = DEFAULT_PIECE
) -> list[dict[str, Any]]:
    """The verdicts of every record of one object, in order (its HDUs read one at a time)."""
    return [await verify_record(fetcher, record, piece=piece) for record in records]
