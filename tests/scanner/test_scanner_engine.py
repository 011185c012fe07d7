"""Many objects at once: lazy sources, bounded objects in flight, failures, clean stops."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from pathlib import Path

import pytest
from servers import HTTPServer
from servers.traced import traced_session

import astro_cloud_async as aca
from astro_cloud_async.errors import ConfigurationError, NotFITSError, ObjectNotFoundError

GOOD = ("tess_1", "tess_2", "mosaic", "table", "compressed", "ascii_table", "random_groups")


def good_paths(corpus: dict[str, Path], repeat: int = 1) -> list[str]:
    return [str(corpus[name]) for _ in range(repeat) for name in GOOD]


def group_by_url(results: list[aca.ScanResult]) -> dict[str, list[aca.ScanResult]]:
    by_url: dict[str, list[aca.ScanResult]] = {}
    for result in results:
        by_url.setdefault(result.url, []).append(result)
    return by_url


async def other_tasks() -> set[asyncio.Task[object]]:
    return asyncio.all_tasks() - {asyncio.current_task()}


async def settle(rounds: int = 50) -> set[asyncio.Task[object]]:
    """Let the loop run until no other task is left (or ``rounds`` passes)."""
    for _ in range(rounds):
        gc.collect()
        left = await other_tasks()
        if not left:
            return left
        await asyncio.sleep(0.01)
    return await other_tasks()


async def test_each_object_ends_once_with_its_records_together(
    sample_corpus: dict[str, Path],
) -> None:
    names = [*GOOD, "not_fits", "empty", "truncated"]
    sources = [str(sample_corpus[n]) for n in names]
    results = [r async for r in aca.scan(sources, max_objects_in_flight=3)]
    by_url = group_by_url(results)
    assert set(by_url) == set(sources)
    # Records of one object come out consecutively, in HDU order.
    urls_in_order = [r.url for r in results]
    for url, items in by_url.items():
        first = urls_in_order.index(url)
        assert urls_in_order[first : first + len(items)] == [url] * len(items)
    for name in ("not_fits", "empty"):
        (failed,) = by_url[str(sample_corpus[name])]
        assert isinstance(failed, aca.ObjectFailed)
        assert isinstance(failed.error, NotFITSError)
    truncated = by_url[str(sample_corpus["truncated"])]
    assert [r.index for r in truncated if isinstance(r, aca.HDURecord)] == [0, 1, 2]
    mosaic = by_url[str(sample_corpus["mosaic"])]
    assert [r.index for r in mosaic if isinstance(r, aca.HDURecord)] == [0, 1, 2, 3]


async def test_sync_generator_is_pulled_lazily(sample_corpus: dict[str, Path]) -> None:
    pulled = 0

    def sources() -> Iterator[str]:
        nonlocal pulled
        for path in good_paths(sample_corpus, repeat=20):
            pulled += 1
            yield path

    seen_at_first = None
    count = 0
    async for result in aca.scan(sources(), max_objects_in_flight=3):
        assert isinstance(result, aca.HDURecord)
        if seen_at_first is None:
            seen_at_first = pulled
        count += 1
    assert seen_at_first is not None and 1 <= seen_at_first <= 3
    assert pulled == 20 * len(GOOD)
    assert count == 20 * (3 + 3 + 4 + 2 + 2 + 2 + 1)


async def test_async_generator_is_pulled_lazily_and_closed_on_break(
    sample_corpus: dict[str, Path],
) -> None:
    pulled = 0
    closed = False

    async def sources() -> AsyncIterator[str]:
        nonlocal pulled, closed
        try:
            for path in good_paths(sample_corpus, repeat=50):
                pulled += 1
                await asyncio.sleep(0)
                yield path
        finally:
            closed = True

    async with aclosing(aca.scan(sources(), max_objects_in_flight=4)) as results:
        async for _ in results:
            seen_at_first = pulled
            break
    assert 1 <= seen_at_first <= 4
    assert pulled <= 8  # the scan stopped pulling when the caller stopped
    assert closed
    assert not await other_tasks()


async def test_objects_in_flight_are_bounded(sample_corpus: dict[str, Path]) -> None:
    async with aca.Client(max_objects_in_flight=2) as client:
        peak = 0
        async for _ in client.scan(good_paths(sample_corpus, repeat=5)):
            peak = max(peak, client.counts.in_flight + client.counts.ready)
        assert 1 <= peak <= 2
        assert client.counts.in_flight == client.counts.ready == 0
        assert client.counts.done == 5 * len(GOOD)


async def test_unknown_scheme_is_an_object_failure(sample_corpus: dict[str, Path]) -> None:
    sources = ["gopher://host/file.fits", str(sample_corpus["table"]), "ftp://x/y.fits"]
    results = [r async for r in aca.scan(sources)]
    failures = [r for r in results if isinstance(r, aca.ObjectFailed)]
    assert sorted(f.url for f in failures) == ["ftp://x/y.fits", "gopher://host/file.fits"]
    assert all(isinstance(f.error, ConfigurationError) for f in failures)
    assert len([r for r in results if isinstance(r, aca.HDURecord)]) == 2


async def test_missing_folder_and_file_fail_alone(
    sample_corpus: dict[str, Path], tmp_path: Path
) -> None:
    sources = [str(tmp_path / "nowhere" / "x.fits"), str(sample_corpus["table"])]
    results = [r async for r in aca.scan(sources)]
    (failed,) = [r for r in results if isinstance(r, aca.ObjectFailed)]
    assert isinstance(failed.error, ObjectNotFoundError)
    assert failed.url == sources[0]


async def test_raise_errors_raises_the_first_failure(sample_corpus: dict[str, Path]) -> None:
    sources = [str(sample_corpus["table"]), str(sample_corpus["not_fits"])]
    with pytest.raises(NotFITSError) as info:
        async for _ in aca.scan(sources, raise_errors=True, max_objects_in_flight=1):
            pass
    assert info.value.url == str(sample_corpus["not_fits"])
    assert not await other_tasks()


async def test_an_error_in_the_callers_sources_ends_the_scan(
    sample_corpus: dict[str, Path],
) -> None:
    def sources() -> Iterator[str]:
        yield str(sample_corpus["table"])
        raise RuntimeError("listing broke")

    with pytest.raises(RuntimeError, match="listing broke"):
        async for _ in aca.scan(sources()):
            pass
    assert not await other_tasks()


def test_unknown_options_are_rejected_at_the_call() -> None:
    with pytest.raises(ConfigurationError, match="concurency"):
        aca.scan(["x.fits"], concurency=3)


async def test_folder_source_expands(sample_corpus: dict[str, Path]) -> None:
    folder = next(iter(sample_corpus.values())).parent
    results = [r async for r in aca.scan(folder, suffixes=(".fz",))]
    assert {r.url for r in results} == {str(sample_corpus["compressed"])}


# --- stopping early over HTTP: no tasks left, no session left open ------------------------


def http_sources(server: HTTPServer, corpus: dict[str, Path], repeat: int) -> list[str]:
    return [server.url(corpus[name]) for _ in range(repeat) for name in GOOD]


async def test_aclose_cancels_in_flight_and_closes_sessions(
    nginx_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    results = aca.scan(http_sources(nginx_server, sample_corpus, 30), max_objects_in_flight=8)
    first = await anext(results)
    assert isinstance(first, aca.HDURecord)
    assert await other_tasks()  # walks are in flight
    await results.aclose()
    assert not await other_tasks()
    gc.collect()  # an unclosed session would warn here, and warnings are errors


async def test_break_without_aclose_is_cleaned_up_by_the_loop(
    nginx_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    async for _ in aca.scan(http_sources(nginx_server, sample_corpus, 30)):
        break
    # The dropped generator is closed by the event loop's async-generator finaliser.
    assert not await settle()


async def test_cancelling_the_consumer_stops_everything(
    nginx_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    got = 0
    started = asyncio.Event()

    async def consume() -> None:
        nonlocal got
        async for _ in aca.scan(http_sources(nginx_server, sample_corpus, 200)):
            got += 1
            if got == 3:
                started.set()

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert got < 200 * 15
    assert not await other_tasks()
    gc.collect()


async def test_callers_session_is_used_and_left_open(
    nginx_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    url = nginx_server.url(sample_corpus["table"])
    async with traced_session() as (session, sent):
        results = [r async for r in aca.scan([url], http_session=session)]
        assert [r.index for r in results if isinstance(r, aca.HDURecord)] == [0, 1]
        assert sent.urls == [url]
        assert not session.closed


async def test_sources_failing_as_they_finish_end_the_scan(sample_corpus: dict[str, Path]) -> None:
    async def sources() -> AsyncIterator[str]:
        try:
            yield str(sample_corpus["table"])
        finally:
            raise RuntimeError("cannot close the listing")

    with pytest.raises(RuntimeError, match="cannot close"):
        async for _ in aca.scan(sources()):
            pass
    assert not await other_tasks()
