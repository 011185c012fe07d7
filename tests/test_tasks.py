"""The coroutine helpers every layer shares: gather_all, bounded and run_sync."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from astro_cloud_async.tasks import bounded, gather_all, run_sync


async def test_run_sync_uses_a_loop_of_its_own_inside_a_loop() -> None:
    outer = asyncio.get_running_loop()

    async def which_loop() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    inner = run_sync(which_loop)
    assert inner is not outer
    assert inner.is_closed()


def test_run_sync_without_a_loop() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert run_sync(answer) == 42


async def test_gather_all_keeps_order_and_cancels_the_rest_on_failure() -> None:
    cancelled: list[int] = []

    async def slow(n: int) -> int:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(n)
            raise
        return n

    async def quick(n: int) -> int:
        await asyncio.sleep(0.01 * n)
        return n

    assert await gather_all(quick(n) for n in (3, 1, 2)) == [3, 1, 2]

    async def boom() -> int:
        await asyncio.sleep(0.01)
        raise KeyError("boom")

    with pytest.raises(KeyError):
        await gather_all([slow(1), boom(), slow(2)])
    assert sorted(cancelled) == [1, 2]
    assert await gather_all([]) == []


async def test_bounded_never_runs_more_than_its_limit_and_pulls_lazily() -> None:
    running = 0
    peak = 0
    pulled = 0

    async def items() -> AsyncIterator[int]:
        nonlocal pulled
        for i in range(20):
            pulled += 1
            yield i

    async def work(i: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001 * (i % 3))
        running -= 1
        return i * i

    results = [r async for r in bounded(items(), work, 4)]
    assert sorted(results) == [i * i for i in range(20)]
    assert peak == 4
    before = pulled
    gen = bounded(items(), work, 3)
    first = await anext(gen)
    assert first in {0, 1, 4}
    await gen.aclose()
    assert 3 <= pulled - before <= 4  # the stream was pulled only as far as there was room
    with pytest.raises(ValueError):
        await anext(bounded([1], work, 0))
