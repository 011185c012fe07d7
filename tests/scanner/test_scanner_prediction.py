"""Layout prediction in the scan: fewer round trips, never a different record."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from servers import HTTPServer, start_nginx
from servers.survey import write_survey

from astro_cloud_async import Client, HDURecord, ObjectFailed, scan
from astro_cloud_async.demo.survey import (
    write_mosaic_like,
    write_table_like,
    write_tess_ffi_like,
)
from astro_cloud_async.fits.layout import BLOCK
from astro_cloud_async.fits.predict import UNREACHABLE, LayoutPredictor
from astro_cloud_async.fits.walker import HDU, walk_file
from astro_cloud_async.options import Options
from astro_cloud_async.pool import RangePool
from astro_cloud_async.scanner.prediction import SCOUTS, Kind
from astro_cloud_async.scanner.walk import walk_object
from astro_cloud_async.stores.base import RangeReader, RangeResult
from astro_cloud_async.stores.local import LocalStore


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TESS-like frames, mosaics (with 60 and with 5 CCDs) and small tables, shuffled."""
    folder = tmp_path_factory.mktemp("mixed")
    writers = [
        *(lambda p, i=i: write_tess_ffi_like(p, seed=i) for i in range(6)),
        *(lambda p, i=i: write_mosaic_like(p, seed=i, n_ccds=60) for i in range(3)),
        *(lambda p, i=i: write_mosaic_like(p, seed=10 + i, n_ccds=5) for i in range(2)),
        *(lambda p, i=i: write_table_like(p, seed=i) for i in range(3)),
    ]
    random.Random(7).shuffle(writers)
    for n, write in enumerate(writers):
        write(folder / f"obj{n:02d}.fits")
    (folder / "obj99.fits").write_text("<html>not FITS</html>")
    return folder


@pytest.fixture(scope="module")
def mixed_server(mixed_folder: Path) -> Iterator[HTTPServer]:
    server = start_nginx(mixed_folder)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def mixed_urls(mixed_server: HTTPServer, mixed_folder: Path) -> list[str]:
    return sorted(mixed_server.url(p) for p in mixed_folder.iterdir())


@pytest.fixture(scope="module")
def tess20_urls(mixed_server: HTTPServer) -> list[str]:
    """Twenty TESS-like frames in a folder of their own on the server."""
    folder = mixed_server.root / "tess20"
    folder.mkdir()
    paths = [write_tess_ffi_like(folder / f"t{i:02d}.fits", seed=i) for i in range(20)]
    return [mixed_server.url(p) for p in paths]


def _signature(item: HDURecord | ObjectFailed) -> tuple[object, ...]:
    if isinstance(item, ObjectFailed):
        return (item.url, type(item.error).__name__, item.error.offset)
    return (
        item.url,
        item.index,
        item.header_offset,
        item.data_offset,
        item.data_size,
        item.truncated,
        item.trailing_bytes,
        item.object_size,
        tuple(c.image for c in item.header.cards),
    )


async def _scan_all(urls: list[str], **options: object) -> list[tuple[object, ...]]:
    return sorted([_signature(r) async for r in scan(urls, **options)], key=repr)


@pytest.mark.parametrize("objects_at_once", [1, 4])
async def test_records_are_the_same_with_and_without_prediction(
    mixed_urls: list[str], objects_at_once: int
) -> None:
    urls = mixed_urls * 2
    plain = await _scan_all(urls, predict_layout=False, max_objects_in_flight=objects_at_once)
    predicted = await _scan_all(urls, predict_layout=True, max_objects_in_flight=objects_at_once)
    assert predicted == plain
    assert sum(1 for s in plain if len(s) == 3) == 2  # the HTML object failed, twice


def _write_three(folder: Path, write: object) -> list[Path]:
    return [write(folder / f"f{i}.fits", i) for i in range(3)]  # type: ignore[operator]


class _Counting:
    """A pool that counts fetches and round trips; each fetch takes a little time, as on a
    network, so that fetches made together overlap (local reads alone complete at once)."""

    def __init__(self, pool: RangePool) -> None:
        self.pool = pool
        self.calls: list[tuple[int, int]] = []
        self.active = 0
        self.peak = 0
        self.rounds = 0  # times the count of fetches under way rose from zero

    async def fetch(
        self, store: RangeReader, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult:
        self.calls.append((start, end))
        if self.active == 0:
            self.rounds += 1
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(0.005)
            return await self.pool.fetch(store, url, start, end, if_match=if_match)
        finally:
            self.active -= 1


@pytest.mark.parametrize(
    ("write", "walking_rounds"),
    [
        (lambda p, i: write_tess_ffi_like(p, seed=i), 2),
        (lambda p, i: write_mosaic_like(p, seed=i, n_ccds=60), 2),  # then the CCDs at a stride
    ],
    ids=["tess", "mosaic"],
)
async def test_a_known_layout_takes_one_round_trip(
    tmp_path: Path, write: object, walking_rounds: int
) -> None:
    paths = _write_three(tmp_path, write)
    options = Options()
    predictor = LayoutPredictor()
    async with LocalStore(options) as store:
        pool = RangePool(options)
        counts = []
        for path in paths:
            counting = _Counting(pool)
            outcome = await walk_object(counting, store, str(path), options, predictor)
            assert isinstance(outcome, tuple)
            counts.append(counting)
        header_bytes = sum(r.header_size for r in outcome)
    # Two objects are walked (one round trip per jump), then the third is predicted.
    assert [c.rounds for c in counts[:2]] == [walking_rounds] * 2
    assert counts[2].rounds == 1
    # Exactly the header bytes, nothing more.
    assert sum(end - start for start, end in counts[2].calls) == header_bytes
    assert predictor.hits == 1 and predictor.misses == 0


async def test_scan_counts_on_the_server(mixed_server: HTTPServer, tess20_urls: list[str]) -> None:
    """Twenty TESS-like frames in one folder: from the third on, 11 blocks in 1 GET each."""
    mark = mixed_server.log_mark()
    records = [r async for r in scan(tess20_urls, max_objects_in_flight=1)]
    assert len(records) == 60 and all(isinstance(r, HDURecord) for r in records)
    entries = mixed_server.access_log_entries(mark, at_least=22)
    assert len(entries) == 22  # 2 GETs for each of the two walked, then 1 each
    walked, predicted = entries[:4], entries[4:]
    assert sum(e.bytes_sent for e in walked) == 2 * (10 + 8) * BLOCK
    assert {e.range for e in predicted} == {"bytes=0-20159,17775360-17786879"}
    assert {e.status for e in predicted} == {206}
    # The two header ranges (7 + 4 blocks) and the multipart framing around them.
    assert all(0 < e.bytes_sent - (7 + 4) * BLOCK < 512 for e in predicted)


def test_kinds_of_objects_are_told_apart_by_folder_and_name_pattern() -> None:
    from astro_cloud_async.scanner.prediction import FolderPredictors, kind_of

    tess = "s3://b/s0001/tess2018206192942-s0001-1-1-0120-s_ffic.fits"
    assert kind_of(tess) == kind_of("s3://b/s0001/tess2019010101010-s0009-4-4-0120-s_ffic.fits")
    assert kind_of(tess) != kind_of("s3://b/s0001/catalog_0000_00001.fits")
    assert kind_of(tess) != kind_of("s3://b/s0002/tess2018206192942-s0001-1-1-0120-s_ffic.fits")
    predictors = FolderPredictors(max_folders=2)
    first = predictors.for_url(tess)
    assert predictors.for_url("s3://b/s0001/tess2020000000000-s0020-2-2-0120-s_ffic.fits") is first
    predictors.for_url("s3://b/x/a1.fits")
    predictors.for_url("s3://b/y/a1.fits")
    assert len(predictors) == 2 and predictors.for_url(tess) is not first  # least recent out


async def test_repeated_extensions_are_fetched_together(tmp_path: Path) -> None:
    """A mosaic's 60 CCD headers at one stride: a few round trips, not sixty, same records."""
    path = write_mosaic_like(tmp_path / "m.fits", seed=3, n_ccds=60)
    options = Options()
    async with LocalStore(options) as store:
        counting = _Counting(RangePool(options))
        outcome = await walk_object(counting, store, str(path), options)
        walked = _Counting(RangePool(options))
        plain = Options(predict_layout=False)
        assert isinstance(await walk_object(walked, store, str(path), plain), tuple)
    assert isinstance(outcome, tuple)
    # The first read, then the 59 other CCD headers: the rest of the object is exactly whole
    # copies of the first CCD.
    assert counting.rounds == 2 and walked.rounds == 60
    expected = [(h.header_offset, h.data_offset, h.data_size) for h in walk_file(path)]
    assert [(r.header_offset, r.data_offset, r.data_size) for r in outcome] == expected


async def test_a_broken_stride_falls_back_to_walking(tmp_path: Path) -> None:
    """Extensions of one shape, then others: the records are still the walk's."""
    hdus: list[fits.PrimaryHDU | fits.ImageHDU] = [fits.PrimaryHDU()]
    hdus += [fits.ImageHDU(np.zeros((64, 64), ">i2")) for _ in range(5)]
    hdus += [fits.ImageHDU(np.zeros((8, 8 + i), ">f4")) for i in range(4)]
    path = tmp_path / "broken.fits"
    fits.HDUList(hdus).writeto(path)
    options = Options(first_read=BLOCK, next_read=BLOCK)
    async with LocalStore(options) as store:
        outcome = await walk_object(RangePool(options), store, str(path), options)
    assert isinstance(outcome, tuple)
    expected = [(h.header_offset, h.data_offset, h.data_size) for h in walk_file(path)]
    assert [(r.header_offset, r.data_offset, r.data_size) for r in outcome] == expected


async def test_a_new_kind_sends_scouts_and_the_others_take_one_request(
    mixed_server: HTTPServer,
) -> None:
    """Twelve TESS-like frames scanned all at once: two walk, ten wait and take one request."""
    folder = mixed_server.root / "tess12"
    folder.mkdir()
    paths = [write_tess_ffi_like(folder / f"s{i:02d}.fits", seed=i) for i in range(12)]
    urls = [mixed_server.url(p) for p in paths]
    mark = mixed_server.log_mark()
    records = [r async for r in scan(urls)]  # every object in flight at once
    assert len(records) == 36 and all(isinstance(r, HDURecord) for r in records)
    entries = mixed_server.access_log_entries(mark, at_least=14)
    per: dict[str, list[str | None]] = {}
    for e in entries:
        per.setdefault(e.path, []).append(e.range)
    assert sorted(len(ranges) for ranges in per.values()) == [1] * 10 + [2] * 2
    assert sum(r == ["bytes=0-20159,17775360-17786879"] for r in per.values()) == 10


def _layout_hdus(header_blocks: int) -> list[HDU]:
    from astro_cloud_async.fits.header import parse_header

    return [HDU(0, 0, header_blocks * BLOCK, 0, parse_header(b""))]


async def test_scouts_of_a_kind_without_a_common_layout_stop_the_waiting() -> None:
    kind = Kind()
    tasks = [asyncio.create_task(kind.layout()) for _ in range(7)]
    await asyncio.sleep(0)
    scouts = [t for t in tasks if t.done()]
    assert [t.result() for t in scouts] == [(None, True)] * SCOUTS
    # Two scouts learn two different layouts: no prediction yet, two more scouts go.
    for blocks in (1, 2):
        kind.finished(_layout_hdus(blocks), predicted=None, scout=True)
    await asyncio.sleep(0)
    assert [t.result() for t in tasks if t.done()] == [(None, True)] * 4
    # A failed scout teaches nothing but lets another go.
    kind.finished(None, predicted=None, scout=True)
    await asyncio.sleep(0)
    assert sum(t.done() for t in tasks) == 5
    # Four layouts seen, none common: the kind is not learnt any more, everyone walks.
    for blocks in (3, 4):
        kind.finished(_layout_hdus(blocks), predicted=None, scout=True)
    await asyncio.sleep(0)
    assert all(t.done() for t in tasks)
    assert [t.result() for t in tasks[5:]] == [(None, False)] * 2
    assert kind.predictor.predict() is None


async def test_waiting_objects_get_the_scouts_layout() -> None:
    kind = Kind()
    first = [asyncio.create_task(kind.layout()) for _ in range(SCOUTS)]
    waiting = asyncio.create_task(kind.layout())
    await asyncio.sleep(0)
    assert not waiting.done()
    for _ in first:
        kind.finished(_layout_hdus(3), predicted=None, scout=True)
    layout, scout = await waiting
    assert layout == ((0, 3 * BLOCK),) and not scout


async def test_a_folder_of_mixed_small_files_costs_one_read_an_object(tmp_path: Path) -> None:
    """Six kinds of small file under one name pattern: a layout shared by half the recent
    objects is predicted, and a wrong prediction must not cost a second read."""
    files = write_survey(tmp_path, 120)
    predicted = Client(predict_layout=True)
    walked = Client(predict_layout=False)
    outcomes = []
    for client in (predicted, walked):
        async with client:
            found = sorted(
                [
                    (r.url, r.index, r.data_offset)
                    async for r in client.scan(str(tmp_path / "survey"))
                ]
            )
            outcomes.append((found, client.stats.requests))
    (with_prediction, requests), (without, walked_requests) = outcomes
    assert with_prediction == without and len({url for url, _, _ in without}) == len(files)
    assert walked_requests == len(files)
    assert requests == len(files)


async def test_compressed_scouts_teach_that_there_is_nothing_to_prefetch() -> None:
    kind = Kind()
    scouts = [asyncio.create_task(kind.layout()) for _ in range(SCOUTS)]
    waiting = asyncio.create_task(kind.layout())
    await asyncio.sleep(0)
    assert not waiting.done()
    # One compressed scout walked, one failed (past max_stream_bytes, say): both were
    # compressed, so both say the kind's headers cannot be fetched by offset.
    kind.finished(_layout_hdus(3), predicted=None, scout=True, reachable=False)
    kind.finished(None, predicted=None, scout=True, reachable=False)
    layout, scout = await waiting
    assert (layout, scout) == (UNREACHABLE, False)  # walk it, nothing to prefetch, no waiting
    assert kind.predictor.ranges(layout) == ()
    assert all(s.done() for s in scouts)
