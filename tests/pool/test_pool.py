"""The range pool: retries, back-off, time-outs, admission bounds and statistics.

Faults come from a loopback aiohttp server that produces them on demand (503 bursts, resets,
stalls, short bodies); the requests go through the real HTTP store.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from servers.faults import BODY, FaultServer

from astro_cloud_async.errors import (
    AccessDeniedError,
    ConnectionFailedError,
    FetchTimeoutError,
    ObjectNotFoundError,
    ResponseError,
    ServerError,
    ThrottledError,
)
from astro_cloud_async.options import Options
from astro_cloud_async.pool import RangePool, host_key
from astro_cloud_async.pool.retry import backoff_delay
from astro_cloud_async.pool.stats import LatencyHistogram, PoolStats
from astro_cloud_async.stores.base import RangeResult
from astro_cloud_async.stores.http import HTTPStore

FAST = {"backoff": 0.005, "max_backoff": 0.02}


async def test_503_burst_is_retried_then_succeeds(faults: FaultServer) -> None:
    options = Options(retries=5, **FAST)
    pool = RangePool(options)
    async with HTTPStore(options) as store:
        result = await pool.fetch(store, faults.url("/fail/503/3"), 0, 2880)
    assert result.data == BODY[:2880]
    assert faults.hits("/fail/503/3") == 4
    assert (pool.stats.requests, pool.stats.retries, pool.stats.failures) == (4, 3, 0)
    assert pool.stats.completed == 1


@pytest.mark.parametrize(
    ("code", "error"), [(500, ServerError), (502, ServerError), (504, ServerError)]
)
async def test_5xx_retried_until_exhausted(
    faults: FaultServer, code: int, error: type[Exception]
) -> None:
    options = Options(retries=2, **FAST)
    pool = RangePool(options)
    url = faults.url(f"/status/{code}")
    async with HTTPStore(options) as store:
        with pytest.raises(error) as info:
            await pool.fetch(store, url, 5760, 8640)
    assert faults.hits(f"/status/{code}") == 3
    assert info.value.url == url and info.value.offset == 5760  # type: ignore[attr-defined]
    assert (pool.stats.retries, pool.stats.failures, pool.stats.completed) == (2, 1, 0)


async def test_429_is_throttling_and_retried(faults: FaultServer) -> None:
    options = Options(retries=1, **FAST)
    pool = RangePool(options)
    async with HTTPStore(options) as store:
        with pytest.raises(ThrottledError):
            await pool.fetch(store, faults.url("/status/429"), 0, 10)
    assert faults.hits("/status/429") == 2


@pytest.mark.parametrize(
    ("code", "error"),
    [(404, ObjectNotFoundError), (403, AccessDeniedError), (401, AccessDeniedError)],
)
async def test_4xx_is_not_retried(faults: FaultServer, code: int, error: type[Exception]) -> None:
    options = Options(retries=5, **FAST)
    pool = RangePool(options)
    async with HTTPStore(options) as store:
        with pytest.raises(error):
            await pool.fetch(store, faults.url(f"/status/{code}"), 0, 2880)
    assert faults.hits(f"/status/{code}") == 1
    assert (pool.stats.retries, pool.stats.failures) == (0, 1)


async def test_404_is_also_file_not_found(faults: FaultServer) -> None:
    pool = RangePool(Options(**FAST))
    async with HTTPStore(pool.options) as store:
        with pytest.raises(FileNotFoundError):
            await pool.fetch(store, faults.url("/status/404"), 0, 2880)


async def test_connection_reset_is_retried(faults: FaultServer) -> None:
    options = Options(retries=3, **FAST)
    pool = RangePool(options)
    async with HTTPStore(options) as store:
        result = await pool.fetch(store, faults.url("/reset/2"), 100, 200)
    assert result.data == BODY[100:200]
    assert faults.hits("/reset/2") == 3
    # aiohttp itself resends once when a reused keep-alive connection turns out dead.
    assert 1 <= pool.stats.retries <= 2
    assert pool.stats.requests == pool.stats.retries + 1


async def test_reset_every_time_ends_as_connection_error(faults: FaultServer) -> None:
    options = Options(retries=1, **FAST)
    pool = RangePool(options)
    async with HTTPStore(options) as store:
        with pytest.raises(ConnectionFailedError) as info:
            await pool.fetch(store, faults.url("/reset/99"), 0, 10)
    assert isinstance(info.value, ConnectionError)
    assert 2 <= faults.hits("/reset/99") <= 4
    assert pool.stats.requests == 2


async def test_short_body_is_retried(faults: FaultServer) -> None:
    options = Options(retries=2, **FAST)
    pool = RangePool(options)
    async with HTTPStore(options) as store:
        result = await pool.fetch(store, faults.url("/short/1"), 0, 28800)
    assert result.data == BODY[:28800]
    assert faults.hits("/short/1") == 2
    assert pool.stats.retries == 1


@pytest.mark.parametrize("path", ["/stall", "/stall-body"])
async def test_stall_times_out_per_attempt(faults: FaultServer, path: str) -> None:
    options = Options(retries=1, timeout=0.3, **FAST)
    pool = RangePool(options)
    began = time.monotonic()
    async with HTTPStore(options) as store:
        with pytest.raises(FetchTimeoutError) as info:
            await pool.fetch(store, faults.url(path), 2880, 5760)
    elapsed = time.monotonic() - began
    assert isinstance(info.value, TimeoutError)
    assert info.value.offset == 2880
    assert faults.hits(path) == 2
    assert pool.stats.timeouts == 2
    assert 0.6 <= elapsed < 3.0


async def test_mismatched_content_range_is_not_retried(faults: FaultServer) -> None:
    pool = RangePool(Options(retries=3, **FAST))
    async with HTTPStore(pool.options) as store:
        with pytest.raises(ResponseError):
            await pool.fetch(store, faults.url("/wrong-range"), 0, 2880)
    assert faults.hits("/wrong-range") == 1


async def test_backoff_sleeps_follow_the_jittered_schedule(faults: FaultServer) -> None:
    options = Options(retries=4, backoff=0.1, max_backoff=10.0)
    pool = RangePool(options, rng=random.Random(7))
    replay = random.Random(7)
    asleep = sum(backoff_delay(attempt, options, replay) for attempt in range(1, 5))
    assert 0 < asleep <= 0.1 + 0.2 + 0.4 + 0.8
    began = time.monotonic()
    async with HTTPStore(options) as store:
        with pytest.raises(ServerError):
            await pool.fetch(store, faults.url("/status/503"), 0, 10)
    elapsed = time.monotonic() - began
    assert faults.hits("/status/503") == 5
    assert asleep <= elapsed < asleep + 1.0


async def test_global_bound_and_queue_gauges(faults: FaultServer) -> None:
    options = Options(concurrency=4, connections_per_host=64)
    pool = RangePool(options)
    async with HTTPStore(options) as store:
        tasks = [
            asyncio.create_task(pool.fetch(store, faults.url("/hold"), i, i + 10))
            for i in range(20)
        ]
        for _ in range(200):
            await asyncio.sleep(0.01)
            if faults.active == 4:
                break
        assert pool.stats.in_flight == 4
        assert pool.stats.queued == 16
        assert "active=4 queued=16 retrying=0" in repr(pool)
        faults.release.set()
        results = await asyncio.gather(*tasks)
    assert [r.data for r in results] == [BODY[i : i + 10] for i in range(20)]
    assert faults.max_active == 4
    assert (pool.stats.in_flight, pool.stats.queued, pool.stats.completed) == (0, 0, 20)


async def test_per_host_bound(faults: FaultServer) -> None:
    options = Options(concurrency=50, connections_per_host=3)
    pool = RangePool(options)
    async with HTTPStore(options) as store:
        tasks = [
            asyncio.create_task(pool.fetch(store, faults.url("/hold"), 0, 10)) for _ in range(12)
        ]
        for _ in range(100):
            await asyncio.sleep(0.01)
            if faults.active == 3:
                break
        await asyncio.sleep(0.05)
        assert (pool.stats.in_flight, pool.stats.queued) == (3, 9)
        faults.release.set()
        await asyncio.gather(*tasks)
    assert faults.max_active == 3


async def test_queued_fetch_cancelled_leaves_no_trace(faults: FaultServer) -> None:
    options = Options(concurrency=1)
    pool = RangePool(options)
    async with HTTPStore(options) as store:
        first = asyncio.create_task(pool.fetch(store, faults.url("/hold"), 0, 10))
        waiting = [
            asyncio.create_task(pool.fetch(store, faults.url("/ok"), 0, 10)) for _ in range(3)
        ]
        await asyncio.sleep(0.1)
        assert pool.stats.queued == 3
        waiting[1].cancel()
        await asyncio.sleep(0)
        assert pool.stats.queued == 2
        faults.release.set()
        await first
        done = await asyncio.gather(waiting[0], waiting[2])
    assert all(r.data == BODY[:10] for r in done)
    assert waiting[1].cancelled()
    assert (pool.stats.in_flight, pool.stats.queued) == (0, 0)


class _CountingReader:
    """A reader that fails with a plain TimeoutError: the pool must type it."""

    def __init__(self) -> None:
        self.calls = 0

    async def get_range(
        self, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult:
        self.calls += 1
        raise TimeoutError


async def test_untyped_timeout_from_a_reader_is_typed_and_retried() -> None:
    reader = _CountingReader()
    pool = RangePool(Options(retries=2, **FAST))
    with pytest.raises(FetchTimeoutError) as info:
        await pool.fetch(reader, "http://example.invalid/x.fits", 2880, 5760)
    assert reader.calls == 3
    assert info.value.url == "http://example.invalid/x.fits"
    assert info.value.offset == 2880


async def test_latency_and_bytes_recorded(faults: FaultServer) -> None:
    pool = RangePool(Options())
    async with HTTPStore(pool.options) as store:
        for i in range(30):
            await pool.fetch(store, faults.url("/ok"), i * 100, i * 100 + 100)
    snap = pool.stats.snapshot()
    assert snap.bytes == 3000 and snap.completed == 30 and snap.requests == 30
    assert snap.p50 is not None and snap.p99 is not None
    assert 0 < snap.p50 <= snap.p90 <= snap.p99 <= 1.0  # type: ignore[operator]
    assert "p50=" in repr(pool.stats)


def test_latency_histogram_percentiles_are_close_and_bounded() -> None:
    hist = LatencyHistogram()
    values = [i / 1000 for i in range(1, 1001)]  # 1 ms .. 1 s, uniform
    random.Random(3).shuffle(values)
    for v in values:
        hist.record(v)
    for q, exact in [(0.5, 0.5), (0.9, 0.9), (0.99, 0.99)]:
        got = hist.percentile(q)
        assert got is not None and abs(got - exact) / exact < 0.05
    for _ in range(100_000):
        hist.record(0.001)
    assert len(hist._counts) < 1000  # constant size however many are recorded
    assert hist.count == 101_000


def test_snapshot_is_frozen_copy() -> None:
    stats = PoolStats()
    stats.requests = 3
    snap = stats.snapshot()
    stats.requests = 4
    assert snap.requests == 3
    with pytest.raises(AttributeError):
        snap.requests = 5  # type: ignore[misc]


def test_host_key() -> None:
    assert host_key("https://user:pw@Example.org:8443/a") == "https://example.org:8443"
    assert host_key("s3://bucket/key/x.fits") == "s3://bucket"
    assert host_key("/data/x.fits") == ""
    assert host_key("file:///data/x.fits") == ""


class _HeldReader:
    """A reader whose every request waits until the test lets it end (admission order only)."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    async def get_range(
        self, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult:
        self.started.append(url)
        gate = self.gates.setdefault(url, asyncio.Event())
        await gate.wait()
        return RangeResult(b"x" * (end - start), start, None, None)

    def end(self, url: str) -> None:
        self.gates.setdefault(url, asyncio.Event()).set()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_released_slot_goes_to_the_oldest_waiter_that_can_use_it() -> None:
    # Host a is at its limit with a long queue; host b's waiter is younger than a's queued
    # ones but is the only one that fits once b's request ends.
    pool = RangePool(Options(concurrency=3, connections_per_host=2))
    reader = _HeldReader()
    a = [f"http://a.test/{i}" for i in range(10)]
    b = [f"http://b.test/{i}" for i in range(2)]
    order = a[:2] + a[2:] + b
    tasks = {url: asyncio.create_task(pool.fetch(reader, url, 0, 4)) for url in order}
    await _settle()
    assert reader.started == [a[0], a[1], b[0]]
    assert (pool.stats.in_flight, pool.stats.queued) == (3, 9)
    reader.end(a[0])
    await _settle()
    assert reader.started[3:] == [a[2]]  # a had room again and its waiter is the oldest
    reader.end(b[0])
    await _settle()
    assert reader.started[4:] == [b[1]]  # a is full: b's waiter goes before a's older ones
    for url in order:
        reader.end(url)
    await asyncio.gather(*tasks.values())
    assert sorted(reader.started) == sorted(order)
    assert (pool.stats.in_flight, pool.stats.queued, pool.stats.completed) == (0, 0, 12)


async def test_a_waiter_cancelled_at_the_head_passes_the_slot_on() -> None:
    pool = RangePool(Options(concurrency=1, connections_per_host=1))
    reader = _HeldReader()
    urls = [f"http://a.test/{i}" for i in range(3)]
    tasks = [asyncio.create_task(pool.fetch(reader, url, 0, 4)) for url in urls]
    await _settle()
    tasks[1].cancel()
    reader.end(urls[0])  # the release may run before the cancelled waiter leaves its queue
    reader.end(urls[2])
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[1], asyncio.CancelledError)
    assert reader.started == [urls[0], urls[2]]
    assert (pool.stats.in_flight, pool.stats.queued, pool.stats.completed) == (0, 0, 2)
