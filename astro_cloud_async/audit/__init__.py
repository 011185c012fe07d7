"""Checksum audits: whether the data of indexed HDUs still match their DATASUM and CHECKSUM.

The header-only verdict needs no I/O and lives in the FITS core
(:mod:`astro_cloud_async.fits.checksum`, and ``HDURecord.checksum``); reading the data to check
DATASUM is :func:`verify_data`, through a :class:`~astro_cloud_async.Client`::

    async with Client() as client:
        records = await client.read_headers(url)
        verdicts = await verify_data(client, records)   # [{"checksum": "ok", "datasum": "ok"}, ...]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .data import data_sum as data_sum
    from .data import sum_bytes as sum_bytes
    from .data import verify_data as verify_data
    from .data import verify_record as verify_record

__getattr__, __dir__, __all__ = attach(
    __name__,
    {"data_sum": ".data", "sum_bytes": ".data", "verify_data": ".data", "verify_record": ".data"},
)
