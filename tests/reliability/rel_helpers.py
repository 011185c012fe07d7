"""Helpers shared by the reliability tests: fast options and one-call scans."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from astropy.io import fits
from rel_faults import FaultServer

from astro_cloud_async import Client, HDURecord, ObjectFailed
from astro_cloud_async.demo.survey import HDULayout
from astro_cloud_async.pool.stats import PoolStats

FAST: dict[str, Any] = {
    "retries": 3,
    "backoff": 0.001,
    "max_backoff": 0.005,
    "timeout": 0.5,
    "connect_timeout": 0.5,
}
"""Small time-outs and back-offs: a fault costs milliseconds, a stall half a second."""

SMALL_READS: dict[str, Any] = {"first_read": 2880, "next_read": 2880, "predict_layout": False}
"""One block per read, so that walking an object takes several ranges, one per request (no
headers fetched together at an extension stride)."""


def raw_data_size(header: fits.Header) -> int:
    """Data bytes of an HDU from its stored header (FITS 4.0, section 4.4.1)."""
    naxis = int(header.get("NAXIS", 0))
    if naxis == 0:
        return 0
    dims = [int(header[f"NAXIS{i}"]) for i in range(1, naxis + 1)]
    groups = "SIMPLE" in header and header.get("GROUPS") is True and dims[0] == 0
    count = 1
    for d in dims[1:] if groups else dims:
        count *= d
    pcount, gcount = int(header.get("PCOUNT", 0)), int(header.get("GCOUNT", 1))
    if "SIMPLE" in header and not groups:
        pcount, gcount = 0, 1
    return abs(int(header["BITPIX"])) // 8 * gcount * (pcount + count)


_NONSTANDARD = fits.hdu.base._NonstandardHDU


def true_layout(source: Path | bytes) -> tuple[HDULayout, ...]:
    """Every HDU's layout as astropy reads the stored headers (compressed HDUs as tables)."""
    opened = io.BytesIO(source) if isinstance(source, bytes) else source
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a cut object: astropy warns, we only want offsets
        with fits.open(
            opened, memmap=False, disable_image_compression=True, ignore_missing_simple=True
        ) as hdul:
            hdul.readall()
            return tuple(
                # SIMPLE = F: the rest of the file is the data, whatever NAXISn say.
                HDULayout(hdu._header_offset, hdu._data_offset, hdu.size)
                if isinstance(hdu, _NONSTANDARD)
                else HDULayout(
                    hdul.fileinfo(i)["hdrLoc"],
                    hdul.fileinfo(i)["datLoc"],
                    raw_data_size(hdu.header),
                )
                for i, hdu in enumerate(hdul)
            )


@dataclass(frozen=True)
class Sample:
    """A FITS object: its real bytes up to the last header, its size and true layout."""

    name: str
    head: bytes
    size: int
    layout: tuple[HDULayout, ...]

    @property
    def layout_tuples(self) -> list[tuple[int, int, int]]:
        return [(h.header_offset, h.data_offset, h.data_size) for h in self.layout]


def serve(server: FaultServer, name: str, sample: Sample, **settings: Any) -> str:
    """Serve ``sample`` (zeros after its real bytes, up to its size) at ``/name``."""
    return server.add(name, sample.head, size_override=sample.size, **settings)


@dataclass
class ScanOutcome:
    """Everything a scan gave, grouped by object URL, with the client's statistics."""

    records: dict[str, list[HDURecord]]
    failures: dict[str, list[ObjectFailed]]
    stats: PoolStats
    order: list[str]

    def layout(self, url: str) -> list[tuple[int, int, int]]:
        return [(r.header_offset, r.data_offset, r.data_size) for r in self.records[url]]

    def only_failure(self, url: str) -> ObjectFailed:
        assert url not in self.records, f"{url} gave records: {self.records[url]}"
        (failed,) = self.failures[url]
        return failed


async def scan_all(urls: list[str], *, expand: bool = True, **options: Any) -> ScanOutcome:
    """Scan ``urls`` with one client; group what comes out."""
    records: dict[str, list[HDURecord]] = {}
    failures: dict[str, list[ObjectFailed]] = {}
    order: list[str] = []
    async with Client(**options) as client:
        async for item in client.scan(urls, expand=expand):
            order.append(item.url)
            if isinstance(item, ObjectFailed):
                failures.setdefault(item.url, []).append(item)
            else:
                records.setdefault(item.url, []).append(item)
        stats = client.stats
    return ScanOutcome(records, failures, stats, order)
