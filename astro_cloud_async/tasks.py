"""Running coroutines: all at once, a bounded number at a time, or from synchronous code.

Three helpers that every layer uses instead of writing its own: :func:`gather_all` (run
together; the first failure cancels the rest), :func:`bounded` (work over a lazily pulled
stream of items, at most ``limit`` at once, results as they complete) and :func:`run_sync`
(the one bridge from blocking code into the async API). Whatever way a helper ends, nothing it
started is left running.
"""

from __future__ import annotations

import asyncio
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
)
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["bounded", "gather_all", "run_sync"]

T = TypeVar("T")
R = TypeVar("R")


async def _cancel_all(tasks: Iterable[asyncio.Future[Any]]) -> None:
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


async def gather_all(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """The results of all ``awaitables``, run concurrently, in their order.

    The first failure cancels the others (and is waited for) before it is raised.
    """
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    if not tasks:
        return []
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in tasks:
            error = task.exception() if task in done and not task.cancelled() else None
            if error is not None:
                raise error
        return [task.result() for task in tasks]
    finally:
        await _cancel_all(tasks)
        for task in tasks:  # every failure is seen, so none is reported as never retrieved
            if not task.cancelled():
                task.exception()


async def bounded(
    items: Iterable[T] | AsyncIterable[T],
    work: Callable[[T], Awaitable[R]],
    limit: int,
) -> AsyncGenerator[R, None]:
    """``work(item)`` for every item, at most ``limit`` at once, yielded as they complete.

    Items are pulled only when there is room, so a long (or endless) stream never piles up.
    ``work`` should turn expected failures into values: an exception it raises ends the
    generator. Closing the generator early cancels the work in flight and closes ``items``
    when it is an async generator.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    iterator = _aiter(items)
    running: set[asyncio.Future[R]] = set()
    exhausted = False
    try:
        while True:
            while not exhausted and len(running) < limit:
                try:
                    item = await anext(iterator)
                except StopAsyncIteration:
                    exhausted = True
                    break
                running.add(asyncio.ensure_future(work(item)))
            if not running:
                return
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                yield task.result()
    finally:
        await _cancel_all(running)
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


async def _aiter(items: Iterable[T] | AsyncIterable[T]) -> AsyncGenerator[T, None]:
    if isinstance(items, AsyncIterable):
        iterator = aiter(items)
        try:
            async for item in iterator:
                yield item
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
    else:
        for item in items:
            yield item


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``make()`` to completion from synchronous code and return its result.

    With no event loop running in this thread, a fresh one runs it (``asyncio.run``). Inside a
    running loop (a Jupyter cell, an async framework) blocking that loop's thread on itself
    would deadlock, so the coroutine runs on a new loop in a worker thread and this thread
    waits for it. ``make`` is called where the coroutine will run, so no coroutine is created
    on one loop and awaited on another. No loop or thread outlives the call (no global
    background loop, unlike fsspec).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="astro-cloud-async") as worker:
        return worker.submit(lambda: asyncio.run(make())).result()
