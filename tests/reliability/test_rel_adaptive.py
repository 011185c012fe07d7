"""Per-host limits grown by answer time, seen from the server: a host that answers as fast with
more requests in flight gets more, one that queues them does not, and a fixed
``connections_per_host`` is never exceeded.

nginx holds every answer back (Lua's ``ngx.sleep``) and logs, for each request, its connection
and how many requests it was answering when the request arrived; the queueing server stretches
the wait in proportion past 32 requests at once, as a server past its capacity does. Every
object's records are checked, so growing never costs exactness.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from servers import HTTPServer, start_nginx
from servers.availability import start_or_skip

from astro_cloud_async import Client, HDURecord, ObjectFailed
from astro_cloud_async.pool.hosts import host_key

OBJECTS = 1500
CAPACITY = 32


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("adaptive")
    image = fits.ImageHDU(np.arange(24, dtype=np.int16).reshape(4, 6), name="SCI")
    fits.HDUList([fits.PrimaryHDU(), image]).writeto(root / "target.fits")
    for i in range(OBJECTS):
        os.symlink("target.fits", root / f"obj{i:04d}.fits")
    return root


@pytest.fixture(scope="module")
def flat(linked: Path) -> Iterator[HTTPServer]:
    server = start_or_skip(lambda: start_nginx(linked, delay=0.02, count_in_flight=True))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def queueing(linked: Path) -> Iterator[HTTPServer]:
    server = start_or_skip(lambda: start_nginx(linked, delay=0.02, queue_past=CAPACITY))
    yield server
    server.stop()


async def _scan(server: HTTPServer, **options: object) -> tuple[Client, int]:
    """Scan every object; check each one's records; the client and the access-log mark."""
    urls = [f"{server.base_url}/obj{i:04d}.fits" for i in range(OBJECTS)]
    mark = server.log_mark()
    async with Client(concurrency=256, **options) as client:
        records = [item async for item in client.scan(urls)]
    assert not [r for r in records if isinstance(r, ObjectFailed)]
    hdus = [r for r in records if isinstance(r, HDURecord)]
    assert len(hdus) == 2 * OBJECTS
    assert {r.url for r in hdus} == set(urls)
    science = [r for r in hdus if r.index == 1]
    assert all(r.header["EXTNAME"] == "SCI" and r.header["NAXIS2"] == 4 for r in science)
    return client, mark


async def test_a_host_that_answers_as_fast_gets_more_requests_in_flight(
    flat: HTTPServer,
) -> None:
    client, mark = await _scan(flat)
    entries = flat.access_log_entries(mark, at_least=OBJECTS)
    seen = max(e.in_flight or 0 for e in entries)
    connections = {e.connection for e in entries}
    stats = client.stats
    assert stats.highest_limit is not None and stats.highest_limit >= 128
    assert 64 < seen <= stats.highest_limit
    assert 64 < len(connections) <= 256
    assert stats.limit_cuts == 0 and stats.retries == 0


async def test_a_fixed_bound_is_never_exceeded(flat: HTTPServer) -> None:
    client, mark = await _scan(flat, connections_per_host=64)
    entries = flat.access_log_entries(mark, at_least=OBJECTS)
    assert max(e.in_flight or 0 for e in entries) <= 64
    assert len({e.connection for e in entries}) <= 64
    assert client.stats.highest_limit is None


async def test_a_host_that_queues_gets_no_more_once_its_answers_slow(
    queueing: HTTPServer,
) -> None:
    client, mark = await _scan(queueing)
    entries = queueing.access_log_entries(mark, at_least=OBJECTS)
    # Twice the start doubled the server's answer time, so the limit went back down.
    stats = client.stats
    assert stats.highest_limit == 128
    assert max(e.in_flight or 0 for e in entries) <= 128
    host = host_key(f"{queueing.base_url}/obj0000.fits")
    assert 64 <= client._pool.limits.limit(host) < 128
