"""Bounds: requests in flight, connections, objects in flight, header bytes and HDUs per object.

The server counts what it sees (requests being answered at once, open connections, ranges
asked), so each bound is checked where it matters, on the wire, not in the client's own
counters. Each answer is delayed a little so that requests overlap and a missing bound shows.
"""

from __future__ import annotations

import asyncio

import pytest
from rel_faults import FaultServer
from rel_helpers import FAST, Sample, serve

from astro_cloud_async import Client, ObjectFailed
from astro_cloud_async.errors import HeaderTooLargeError, TooManyHDUsError
from astro_cloud_async.fits import BLOCK


@pytest.mark.parametrize(("concurrency", "per_host"), [(8, 64), (50, 3), (1, 1)])
async def test_requests_in_flight_never_exceed_the_bounds(
    fault_server: FaultServer, good_samples: dict[str, Sample], concurrency: int, per_host: int
) -> None:
    sample = good_samples["images"]
    urls = [serve(fault_server, f"o{i}.fits", sample, delay=0.01) for i in range(60)]
    bound = min(concurrency, per_host)
    async with Client(
        **FAST, concurrency=concurrency, connections_per_host=per_host, first_read=BLOCK
    ) as client:
        seen = [item async for item in client.scan(urls)]
        assert client.stats.in_flight == 0
    assert not [s for s in seen if isinstance(s, ObjectFailed)]
    assert fault_server.max_active <= bound
    assert fault_server.max_active >= max(1, bound // 2)  # the bound was reached, not avoided
    assert fault_server.max_connections <= bound


async def test_objects_in_flight_never_exceed_their_bound(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    sample = good_samples["images"]
    urls = [serve(fault_server, f"o{i}.fits", sample, delay=0.005) for i in range(80)]
    peak = 0
    # Without header prefetch a walk has one range in flight at a time, so the server sees at
    # most one request per object in flight.
    async with Client(
        **FAST, concurrency=64, max_objects_in_flight=5, first_read=BLOCK, predict_layout=False
    ) as c:

        async def watch() -> None:
            nonlocal peak
            while True:
                peak = max(peak, c.counts.in_flight + c.counts.ready)
                await asyncio.sleep(0.001)

        watcher = asyncio.create_task(watch())
        try:
            n = len([item async for item in c.scan(urls)])
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
    assert n == 80 * len(sample.layout)
    assert 1 <= peak <= 5
    assert fault_server.max_active <= 5  # one range at a time per object


async def test_header_bytes_fetched_are_bounded(fault_server: FaultServer) -> None:
    # A SIMPLE card and then 8 MB of cards with no END: a hostile or broken object.
    endless = b"SIMPLE  =                    T".ljust(80) + b"HISTORY x".ljust(80) * 100_000
    url = fault_server.add("endless.fits", endless)
    limit = 20 * BLOCK
    async with Client(**FAST, max_header_bytes=limit) as client:
        (failed,) = [item async for item in client.scan([url])]
        fetched = client.stats.bytes
    assert isinstance(failed, ObjectFailed)
    assert isinstance(failed.error, HeaderTooLargeError)
    assert failed.error.offset == 0
    asked = sum(
        (last + 1 if last is not None else len(endless)) - first
        for first, last in fault_server.obj("endless.fits").ranges
        if first is not None
    )
    assert fetched == asked <= limit
    assert fault_server.obj("endless.fits").requests <= 4  # the read grows geometrically


async def test_hdus_per_object_are_bounded(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    sample = good_samples["images"]  # 7 HDUs
    url = serve(fault_server, "o.fits", sample)
    async with Client(**FAST, max_hdus=3, first_read=BLOCK, next_read=BLOCK) as client:
        (failed,) = [item async for item in client.scan([url])]
    assert isinstance(failed, ObjectFailed)
    assert isinstance(failed.error, TooManyHDUsError)
    assert [r.index for r in failed.records] == [0, 1, 2]
    assert failed.error.offset == sample.layout[3].header_offset
    # No range past the fourth header was asked for.
    asked = [first for first, _ in fault_server.obj("o.fits").ranges]
    assert max(a for a in asked if a is not None) <= sample.layout[3].header_offset
