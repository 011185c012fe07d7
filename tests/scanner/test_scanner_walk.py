"""Driving one object over the pool: version pinning, partial failures, the records built.

The stores here are in-memory fakes, used only to inject faults a real server cannot be made
to produce on demand (an object replaced between two reads, a server that ignores If-Match).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from astro_cloud_async.errors import (
    ConnectionFailedError,
    ObjectChangedError,
    ObjectNotFoundError,
    TruncatedHeaderError,
)
from astro_cloud_async.fits.walker import walk_file
from astro_cloud_async.options import Options
from astro_cloud_async.pool import RangePool
from astro_cloud_async.records import HDURecord, ObjectFailed
from astro_cloud_async.scanner.walk import walk_object
from astro_cloud_async.stores.base import RangeResult

URL = "https://archive.test/data/object.fits"
OPTIONS = Options(retries=0)


class MemoryStore:
    """Serves versions of one object from memory; ``versions[n]`` answers read number ``n``.

    ``honour_if_match=False`` behaves like a server that ignores If-Match.
    """

    def __init__(self, *versions: tuple[bytes, str | None], honour_if_match: bool = True):
        self.versions = list(versions)
        self.honour_if_match = honour_if_match
        self.calls: list[tuple[int, int, str | None]] = []

    async def get_range(
        self, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult:
        self.calls.append((start, end, if_match))
        data, etag = self.versions[min(len(self.calls), len(self.versions)) - 1]
        if self.honour_if_match and if_match is not None and etag is not None and if_match != etag:
            raise ObjectChangedError("412 Precondition Failed", url=url, offset=start, status=412)
        return RangeResult(data[start:end], start, len(data), etag)


class FailingStore(MemoryStore):
    """Answers the first ``good`` reads, then fails every read with ``error``."""

    def __init__(self, data: bytes, good: int, error: Exception):
        super().__init__((data, '"v1"'))
        self.good = good
        self.error = error

    async def get_range(
        self, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult:
        if len(self.calls) >= self.good:
            self.calls.append((start, end, if_match))
            raise self.error
        return await super().get_range(url, start, end, if_match=if_match)


@pytest.fixture
def tess_bytes(sample_corpus: dict[str, Path]) -> bytes:
    return sample_corpus["tess_1"].read_bytes()


@pytest.fixture
def mosaic_bytes(sample_corpus: dict[str, Path]) -> bytes:
    return sample_corpus["mosaic"].read_bytes()


async def test_records_match_a_local_walk(sample_corpus: dict[str, Path]) -> None:
    data = sample_corpus["mosaic"].read_bytes()
    store = MemoryStore((data, '"abc"'))
    outcome = await walk_object(RangePool(OPTIONS), store, URL, OPTIONS)
    assert isinstance(outcome, tuple)
    expected = walk_file(sample_corpus["mosaic"])
    assert [(r.index, r.header_offset, r.data_offset, r.data_size) for r in outcome] == [
        (h.index, h.header_offset, h.data_offset, h.data_size) for h in expected
    ]
    assert all(isinstance(r, HDURecord) for r in outcome)
    assert {r.url for r in outcome} == {URL}
    assert {r.object_size for r in outcome} == {len(data)}
    assert {r.etag for r in outcome} == {'"abc"'}


async def test_first_etag_is_sent_as_if_match_on_later_reads(mosaic_bytes: bytes) -> None:
    store = MemoryStore((mosaic_bytes, '"v1"'))
    outcome = await walk_object(RangePool(OPTIONS), store, URL, OPTIONS)
    assert isinstance(outcome, tuple)
    assert len(store.calls) >= 2
    assert store.calls[0][2] is None
    assert all(if_match == '"v1"' for _, _, if_match in store.calls[1:])


async def test_object_replaced_between_reads_fails_with_what_was_read(mosaic_bytes: bytes) -> None:
    # The 412 of a server honouring If-Match: the walk stops, the first records are kept.
    store = MemoryStore((mosaic_bytes, '"v1"'), (mosaic_bytes, '"v2"'))
    outcome = await walk_object(RangePool(OPTIONS), store, URL, OPTIONS)
    assert isinstance(outcome, ObjectFailed)
    assert isinstance(outcome.error, ObjectChangedError)
    assert outcome.error.url == URL
    assert outcome.url == URL
    # The first read, then the two other CCD headers at the first CCD's stride, together.
    # Kept: the primary, and the first CCD, whose header the first version gave.
    assert len(store.calls) == 3
    assert [r.index for r in outcome.records] == [0, 1]
    assert all(r.etag == '"v1"' for r in outcome.records)


async def test_server_ignoring_if_match_is_caught_by_comparing_etags(mosaic_bytes: bytes) -> None:
    store = MemoryStore((mosaic_bytes, '"v1"'), (mosaic_bytes, '"v2"'), honour_if_match=False)
    outcome = await walk_object(RangePool(OPTIONS), store, URL, OPTIONS)
    assert isinstance(outcome, ObjectFailed)
    assert isinstance(outcome.error, ObjectChangedError)
    assert "v2" in outcome.error.message
    assert outcome.error.offset == store.calls[1][0]


async def test_weak_and_strong_forms_of_one_etag_are_the_same_version(mosaic_bytes: bytes) -> None:
    store = MemoryStore((mosaic_bytes, 'W/"v1"'), (mosaic_bytes, '"v1"'), honour_if_match=False)
    outcome = await walk_object(RangePool(OPTIONS), store, URL, OPTIONS)
    assert isinstance(outcome, tuple)
    assert len(outcome) == 4


async def test_size_change_without_etags_is_caught(mosaic_bytes: bytes) -> None:
    longer = mosaic_bytes + b"\0" * 2880
    store = MemoryStore((mosaic_bytes, None), (longer, None))
    outcome = await walk_object(RangePool(OPTIONS), store, URL, OPTIONS)
    assert isinstance(outcome, ObjectFailed)
    assert isinstance(outcome.error, ObjectChangedError)
    assert "size" in outcome.error.message


async def test_fetch_failure_midway_keeps_earlier_records(tess_bytes: bytes) -> None:
    error = ConnectionFailedError("connection reset", url=URL, offset=17775360)
    store = FailingStore(tess_bytes, good=1, error=error)
    outcome = await walk_object(RangePool(OPTIONS), store, URL, OPTIONS)
    assert isinstance(outcome, ObjectFailed)
    assert outcome.error is error
    assert outcome.offset == 17775360
    # The first read holds the primary and the first image header: both are kept (the
    # image's record is the one found last, what follows its data unknown).
    assert [r.index for r in outcome.records] == [0, 1]
    assert [r.data_offset for r in outcome.records] == [2880, 20160]
    assert outcome.records[0].object_size == len(tess_bytes)
    assert all(r.n_hdus is None for r in outcome.records)


async def test_missing_object_fails_with_no_records() -> None:
    error = ObjectNotFoundError("HTTP 404", url=URL, offset=0, status=404)
    store = FailingStore(b"", good=0, error=error)
    outcome = await walk_object(RangePool(OPTIONS), store, URL, OPTIONS)
    assert isinstance(outcome, ObjectFailed)
    assert isinstance(outcome.error, FileNotFoundError)
    assert outcome.records == ()


async def test_fits_errors_get_the_url(tess_bytes: bytes) -> None:
    data = tess_bytes[: 2880 + 5000]  # cut inside the 6-block header of the first image
    store = MemoryStore((data, '"x"'))
    outcome = await walk_object(RangePool(OPTIONS), store, URL, OPTIONS)
    assert isinstance(outcome, ObjectFailed)
    assert isinstance(outcome.error, TruncatedHeaderError)
    assert outcome.error.url == URL
    assert outcome.error.offset == len(data)
    assert [r.index for r in outcome.records] == [0]


async def test_reads_follow_the_options(tess_bytes: bytes) -> None:
    options = Options(first_read=2880, next_read=2880, retries=0)
    store = MemoryStore((tess_bytes, '"t"'))
    outcome = await walk_object(RangePool(options), store, URL, options)
    assert isinstance(outcome, tuple)
    assert store.calls[0][:2] == (0, 2880)
    assert all(end - start <= 4 * 2880 for start, end, _ in store.calls)


def _compressed_image() -> bytes:
    """A gzip-compressed FITS file of about 700 kB: several reads of a store with no bodies."""
    import gzip
    import io

    import numpy as np
    from astropy.io import fits

    rng = np.random.default_rng(4)
    images = [fits.ImageHDU(rng.normal(size=(300, 300)).astype(np.float32)) for _ in range(2)]
    buf = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), *images]).writeto(buf)
    return gzip.compress(buf.getvalue(), mtime=0)


async def test_a_store_without_bodies_reads_a_compressed_object_range_after_range() -> None:
    import gzip

    from astro_cloud_async.fits.walker import walk_bytes
    from astro_cloud_async.scanner.compressed import READ_PIECE

    packed = _compressed_image()
    store = MemoryStore((packed, '"v1"'))
    outcome = await walk_object(RangePool(OPTIONS), store, URL, OPTIONS)
    assert isinstance(outcome, tuple)
    expected = walk_bytes(gzip.decompress(packed))
    assert [(r.header_offset, r.data_offset, r.data_size) for r in outcome] == [
        (h.header_offset, h.data_offset, h.data_size) for h in expected
    ]
    assert {(r.compression, r.object_size, r.etag) for r in outcome} == {
        ("gzip", len(packed), '"v1"')
    }
    # The first read, then the stored bytes in order, one piece a request, each pinned.
    starts = [start for start, _, _ in store.calls]
    ends = [end for _, end, _ in store.calls]
    assert starts == [0, *ends[:-1]] and ends[-1] == len(packed)
    assert all(end - start <= READ_PIECE for start, end, _ in store.calls[1:])
    assert all(if_match == '"v1"' for _, _, if_match in store.calls[1:])


async def test_a_compressed_object_replaced_midway_fails_with_what_was_read() -> None:
    packed = _compressed_image()
    store = MemoryStore((packed, '"v1"'), (packed, '"v1"'), (packed, '"v2"'))
    outcome = await walk_object(RangePool(OPTIONS), store, URL, OPTIONS)
    assert isinstance(outcome, ObjectFailed)
    assert isinstance(outcome.error, ObjectChangedError)
    assert len(store.calls) == 3
    # The primary and the first image, whose header the first two reads held.
    assert [(r.index, r.compression) for r in outcome.records] == [(0, "gzip"), (1, "gzip")]
