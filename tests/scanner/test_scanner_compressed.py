"""Objects compressed whole (``.fits.gz``, ``.fits.bz2``) scanned where they live.

One multi-HDU file written with astropy (an image primary, two 512 x 512 float32 images of
noise, a binary table) is stored plain, gzip-compressed, bzip2-compressed, tile-compressed
(``.fits.fz``), as a gzip of several members, as gzip under a plain ``.fits`` name, and as a
gzip cut short. Each is scanned from a local path, nginx (Range honoured, and ignored), Apache,
Caddy, S3 (SeaweedFS), GCS (fake-gcs-server) and Azure (Azurite), and every record is held against
astropy's reading of the same file: where each HDU lies in the decompressed stream, its data
size, every card (and a tile-compressed image's header as astropy shows it). The servers' logs
say what each compressed object cost: its stored bytes once, in windows of 1 MiB doubling up
to 8 MiB (a name ending in ``.gz`` asks for the first window at once; a compressed object
found by its content takes the usual first read first), or one answer where Range is ignored.
"""

from __future__ import annotations

import asyncio
import bz2
import gzip
import itertools
import shutil
import warnings
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
import pyarrow as pa
import pytest
from astropy.io import fits
from servers import AccessLogEntry, HTTPServer, start_apache, start_caddy, start_nginx
from servers.availability import start_or_skip
from servers.azurite import AzureServer
from servers.gcs import GCSServer, start_fake_gcs
from servers.s3data import upload_folder
from servers.seaweedfs import S3Server
from servers.shapes import ShapesServer

import astro_cloud_async as aca
from astro_cloud_async.audit import verify_record
from astro_cloud_async.catalog.rows import object_rows
from astro_cloud_async.cutouts import cutouts
from astro_cloud_async.demo.survey import astropy_layout, write_tess_ffi_like
from astro_cloud_async.scanner.compressed import READ_PIECE, WINDOW_FIRST, WINDOW_MAX
from astro_cloud_async.sections import SectionFailed, read_section, record_from_row
from astro_cloud_async.virtual.refs import image_refs

Summary = list[tuple[Any, ...]]

COMPRESSION = {
    "field.fits": None,
    "field.fits.fz": None,
    "field.fits.gz": "gzip",
    "field.fits.bz2": "bzip2",
    "members.fits.gz": "gzip",
    "disguised.fits": "gzip",
}
"""The files every path reads whole, and the compression their records must name."""
CUT = "cut.fits.gz"
"""A gzip cut where its decompressed stream ends inside the second image's data."""
HINTED = {"field.fits.gz", "field.fits.bz2", "members.fits.gz", CUT}
"""Names ending in .gz or .bz2: their first request is a window."""
FIRST_READ = 10 * 2880


def _field() -> fits.HDUList:
    rng = np.random.default_rng(13)
    primary = fits.PrimaryHDU(rng.integers(0, 1000, (64, 64)).astype(np.int16))
    primary.header["TELESCOP"] = ("Synthetic", "telescope")
    primary.header["DATE-OBS"] = "2021-03-04T05:06:07"
    primary.header.add_history("compressed whole for the tests")
    sci = fits.ImageHDU(rng.normal(1000.0, 30.0, (512, 512)).astype(np.float32), name="SCI")
    sci.header["BUNIT"] = ("electron/s", "pixel unit")
    err = fits.ImageHDU(rng.normal(30.0, 1.0, (512, 512)).astype(np.float32), name="ERR")
    n = 1000
    table = fits.BinTableHDU.from_columns(
        [
            fits.Column(name="ID", format="K", array=np.arange(n, dtype=np.int64)),
            fits.Column(name="RA", format="D", unit="deg", array=rng.uniform(150, 151, n)),
            fits.Column(name="MAG", format="E", array=rng.uniform(16, 24, n).astype(np.float32)),
        ],
        name="SOURCES",
    )
    return fits.HDUList([primary, sci, err, table])


def _gzip_members(data: bytes, cuts: tuple[int, ...]) -> bytes:
    edges = (0, *cuts, len(data))
    return b"".join(gzip.compress(data[a:b], mtime=0) for a, b in itertools.pairwise(edges))


def _cut_inside(packed: bytes, low: int, high: int) -> bytes:
    """``packed`` (gzip) cut where its decompressed stream ends between ``low`` and ``high``."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    produced = 0
    for at in range(0, len(packed), 1024):
        produced += len(d.decompress(packed[at : at + 1024]))
        if low <= produced:
            assert produced <= high
            return packed[: at + 1024]
    raise AssertionError("the stream never reaches the cut")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compressed")
    field = _field()
    field.writeto(root / "field.fits")
    raw = (root / "field.fits").read_bytes()
    packed = gzip.compress(raw, compresslevel=6, mtime=0)
    (root / "field.fits.gz").write_bytes(packed)
    (root / "field.fits.bz2").write_bytes(bz2.compress(raw, 9))
    (root / "members.fits.gz").write_bytes(_gzip_members(raw, (1000, 2880 * 7 + 11, 1_500_000)))
    (root / "disguised.fits").write_bytes(packed)
    tiled = fits.HDUList(
        [
            field[0].copy(),
            fits.CompImageHDU(field[1].data, header=field[1].header, compression_type="RICE_1"),
            fits.CompImageHDU(field[2].data, header=field[2].header, compression_type="GZIP_1"),
            field[3].copy(),
        ]
    )
    tiled.writeto(root / "field.fits.fz")
    layout = astropy_layout(root / "field.fits")
    err_data = layout[2].data_offset
    (root / CUT).write_bytes(_cut_inside(packed, err_data + 100_000, err_data + 900_000))
    return root


def _astropy_summary(path: Path) -> Summary:
    layout = astropy_layout(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path, disable_image_compression=True) as stored, fits.open(path) as shown:
            rows = []
            for place, hdu, seen in zip(layout, stored, shown, strict=True):
                image = (
                    [(c.keyword, c.value) for c in seen.header.cards]
                    if isinstance(seen, fits.CompImageHDU)
                    else None
                )
                cards = [(c.keyword, c.value) for c in hdu.header.cards]
                rows.append((place.header_offset, place.data_offset, place.data_size, cards, image))
    return rows


def _summary(record: aca.HDURecord) -> tuple[Any, ...]:
    image = record.image_header
    return (
        record.header_offset,
        record.data_offset,
        record.data_size,
        [(c.keyword, c.value) for c in record.cards],
        None if image is None else [(c.keyword, c.value) for c in image.cards],
    )


@pytest.fixture(scope="module")
def reference(folder: Path) -> dict[str, Summary]:
    found = {name: _astropy_summary(folder / name) for name in COMPRESSION}
    # astropy reads the compressed files through Python's gzip and bz2: the same HDUs where
    # the plain file has them.
    assert found["field.fits.gz"] == found["field.fits.bz2"] == found["field.fits"]
    return found


async def _scan(urls: dict[str, str], **options: Any) -> dict[str, aca.ScanResult | list[Any]]:
    """name -> records (or its failure), for ``urls`` (name -> URL)."""
    names = {url: name for name, url in urls.items()}
    out: dict[str, Any] = {}
    async with aca.Client(**options) as client:
        async for item in client.scan(list(urls.values()), expand=False):
            name = names[item.url]
            if isinstance(item, aca.ObjectFailed):
                out[name] = item
            else:
                out.setdefault(name, []).append(item)
    return out


def _check(
    folder: Path, reference: dict[str, Summary], found: dict[str, Any], *, sized: bool = True
) -> None:
    """Every whole object gives astropy's records; the cut one its HDUs up to the cut."""
    for name, compression in COMPRESSION.items():
        records = found[name]
        assert isinstance(records, list), (name, records)
        assert [_summary(r) for r in records] == reference[name], name
        assert {r.compression for r in records} == {compression}, name
        assert [r.index for r in records] == list(range(len(records)))
        assert {r.n_hdus for r in records} == {len(records)}
        assert not any(r.truncated for r in records), name
        if sized:  # the stored (compressed) size
            assert {r.object_size for r in records} == {(folder / name).stat().st_size}, name
    cut = found[CUT]
    assert isinstance(cut, list), cut
    assert [_summary(r) for r in cut] == reference["field.fits"][:3]
    assert [r.truncated for r in cut] == [False, False, True]
    assert {r.compression for r in cut} == {"gzip"}


def _windows(size: int, start: int, window: int = WINDOW_FIRST) -> list[tuple[int, int]]:
    """The stored bytes ``[start, size)`` in the windows a compressed walk asks for, the first
    ``window`` bytes long (each within the object, whose size the first answer told)."""
    out = []
    while start < size:
        out.append((start, min(start + window, size)))
        start += window
        window = min(2 * window, WINDOW_MAX)
    return out


def _expected_ranges(name: str, size: int) -> list[str]:
    """The Range headers a compressed object is read with, in order."""
    if name in HINTED:  # a compressed name: the first window at once, the size not known yet
        ranges = [(0, WINDOW_FIRST), *_windows(size, WINDOW_FIRST, 2 * WINDOW_FIRST)]
    else:  # found compressed by its first read
        ranges = [(0, FIRST_READ), *_windows(size, FIRST_READ)]
    return [f"bytes={a}-{b - 1}" for a, b in ranges]


def _per_object(entries: list[AccessLogEntry], marker: str) -> dict[str, list[AccessLogEntry]]:
    per: dict[str, list[AccessLogEntry]] = {}
    for e in entries:
        if e.method == "GET" and marker in e.path:
            name = unquote(e.path.split("?", 1)[0]).rsplit("/", 1)[1]
            per.setdefault(name, []).append(e)
    return per


def _check_costs(
    folder: Path, per: dict[str, list[AccessLogEntry]], *, ranges_logged: bool = True
) -> None:
    """Each compressed object read once, in its windows: every stored byte sent once."""
    for name in [n for n, c in COMPRESSION.items() if c] + [CUT]:
        size = (folder / name).stat().st_size
        entries = per[name]
        expected = _expected_ranges(name, size)
        if ranges_logged:
            assert sorted(e.range or "" for e in entries) == sorted(expected), name
        assert len(entries) == len(expected), name
        assert all(e.status == 206 for e in entries), name
        assert sum(e.bytes_sent for e in entries) == size, name


# --- a local path --------------------------------------------------------------------------------


async def test_local_paths_give_astropys_records(
    folder: Path, reference: dict[str, Summary]
) -> None:
    urls = {name: str(folder / name) for name in [*COMPRESSION, CUT]}
    found = await _scan(urls)
    _check(folder, reference, found)


async def test_read_headers_of_a_compressed_path(
    folder: Path, reference: dict[str, Summary]
) -> None:
    records = aca.read_headers(folder / "field.fits.bz2")
    assert [_summary(r) for r in records] == reference["field.fits.bz2"]
    assert repr(records[1]).startswith(f"<HDURecord {folder / 'field.fits.bz2'} (bzip2) [1]")


# --- HTTP ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nginx(folder: Path) -> Iterator[HTTPServer]:
    server = start_or_skip(lambda: start_nginx(folder))
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["apache", "caddy"])
def other_http(request: pytest.FixtureRequest, folder: Path) -> Iterator[HTTPServer]:
    start = start_apache if request.param == "apache" else start_caddy
    server = start_or_skip(lambda: start(folder))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def nginx_norange(folder: Path) -> Iterator[HTTPServer]:
    server = start_or_skip(lambda: start_nginx(folder, max_ranges=0))
    yield server
    server.stop()


async def _http_scan(server: HTTPServer, folder: Path, reference: dict[str, Summary]) -> None:
    urls = {name: server.url(name) for name in [*COMPRESSION, CUT]}
    mark = server.log_mark()
    found = await _scan(urls)
    _check(folder, reference, found)
    per = _per_object(server.access_log_entries(mark, at_least=len(urls)), "/")
    _check_costs(folder, per)


async def test_http_gives_astropys_records_in_bounded_windows(
    nginx: HTTPServer, folder: Path, reference: dict[str, Summary]
) -> None:
    await _http_scan(nginx, folder, reference)


async def test_apache_and_caddy_too(
    other_http: HTTPServer, folder: Path, reference: dict[str, Summary]
) -> None:
    await _http_scan(other_http, folder, reference)


async def test_http_ignoring_range_reads_each_object_in_one_answer(
    nginx_norange: HTTPServer, folder: Path, reference: dict[str, Summary]
) -> None:
    urls = {name: nginx_norange.url(name) for name in [*COMPRESSION, CUT]}
    mark = nginx_norange.log_mark()
    found = await _scan(urls, max_stream_bytes=64 << 20)
    _check(folder, reference, found)
    per = _per_object(nginx_norange.access_log_entries(mark, at_least=len(urls)), "/")
    for name in [n for n, c in COMPRESSION.items() if c] + [CUT]:
        (entry,) = per[name]  # one answer, read to its end: every byte once
        assert (entry.status, entry.bytes_sent) == (200, (folder / name).stat().st_size)


# --- S3, GCS, Azure ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_compressed(s3_server: S3Server, folder: Path) -> S3Server:
    upload_folder(s3_server, folder, s3_server.scratch_bucket, prefix="compressed/")
    # The gzip object once more, stored with "Content-Encoding: gzip" (S3 keeps that header as
    # the object's metadata and sends the stored bytes with it, ranges and all).
    client = s3_server.client(direct=True)
    try:
        client.put_object(
            Bucket=s3_server.scratch_bucket,
            Key="encoded/field.fits.gz",
            Body=(folder / "field.fits.gz").read_bytes(),
            ContentEncoding="gzip",
        )
    finally:
        client.close()
    return s3_server


async def test_s3_gives_astropys_records_in_bounded_windows(
    s3_compressed: S3Server, folder: Path, reference: dict[str, Summary]
) -> None:
    server = s3_compressed
    urls = {
        name: server.url(server.scratch_bucket, f"compressed/{name}")
        for name in [*COMPRESSION, CUT]
    }
    mark = server.log_mark()
    found = await _scan(urls, endpoint_url=server.endpoint_url, anon=True)
    _check(folder, reference, found)
    await asyncio.sleep(0.3)  # the logging proxy writes a line just after its answer
    entries = server.access_log_entries(mark, at_least=len(urls))
    _check_costs(folder, _per_object(entries, "/compressed/"))


async def test_s3_objects_stored_with_a_content_encoding_are_read_as_stored(
    s3_compressed: S3Server, reference: dict[str, Summary]
) -> None:
    url = s3_compressed.url(s3_compressed.scratch_bucket, "encoded/field.fits.gz")
    async with aca.Client(endpoint_url=s3_compressed.endpoint_url, anon=True) as client:
        records = await client.read_headers(url)
    assert [_summary(r) for r in records] == reference["field.fits.gz"]
    assert {r.compression for r in records} == {"gzip"}


@pytest.fixture(scope="module")
def gcs_compressed(folder: Path) -> Iterator[GCSServer]:
    files = {f"compressed/{p.name}": p for p in folder.iterdir()}
    server = start_or_skip(lambda: start_fake_gcs({"public": files}))
    yield server
    server.stop()


async def test_gcs_gives_astropys_records_in_bounded_windows(
    gcs_compressed: GCSServer, folder: Path, reference: dict[str, Summary]
) -> None:
    server = gcs_compressed
    urls = {name: server.url("public", f"compressed/{name}") for name in [*COMPRESSION, CUT]}
    mark = server.log_mark()
    found = await _scan(urls, endpoint_url=server.endpoint_url, anon=True)
    _check(folder, reference, found)
    await asyncio.sleep(0.3)
    entries = server.access_log_entries(mark, at_least=len(urls))
    _check_costs(folder, _per_object(entries, "/storage/v1/b/public/o/"))


@pytest.fixture(scope="module")
def azure_compressed(azure_server: AzureServer, folder: Path) -> AzureServer:
    files = {f"compressed/{p.name}": p for p in folder.iterdir()}
    azure_server.upload(azure_server.public_container, files)
    return azure_server


async def test_azure_gives_astropys_records_in_bounded_windows(
    azure_compressed: AzureServer, folder: Path, reference: dict[str, Summary]
) -> None:
    azure_server = azure_compressed
    container = azure_server.public_container
    urls = {name: azure_server.url(container, f"compressed/{name}") for name in [*COMPRESSION, CUT]}
    mark = azure_server.log_mark()
    options = {"connection_string": azure_server.connection_string(), "anon": True}
    found = await _scan(urls, **options)
    _check(folder, reference, found)
    await asyncio.sleep(0.3)
    entries = azure_server.access_log_entries(mark, at_least=len(urls))
    _check_costs(folder, _per_object(entries, f"/{container}/compressed/"), ranges_logged=False)


# --- the stream budget ---------------------------------------------------------------------------


BUDGET = 300_000


async def test_past_max_stream_bytes_a_typed_failure_keeps_what_was_found(
    nginx: HTTPServer, folder: Path, reference: dict[str, Summary]
) -> None:
    urls = {name: nginx.url(name) for name in ("field.fits.gz", "disguised.fits")}
    urls["members.fits.gz"] = str(folder / "members.fits.gz")
    urls["field.fits.bz2"] = str(folder / "field.fits.bz2")
    mark = nginx.log_mark()
    found = await _scan(urls, max_stream_bytes=BUDGET)
    for name in urls:
        failed = found[name]
        assert isinstance(failed, aca.ObjectFailed), name
        error = failed.error
        assert isinstance(error, aca.CompressedStreamLimitError)
        assert isinstance(error, aca.RangeNotSupportedError)  # what a budget error has been
        assert f"max_stream_bytes={BUDGET}" in str(error)
        assert all(r.n_hdus is None for r in failed.records)
        if name.endswith(".bz2"):
            # bzip2 gives nothing of a block (900 kB here) before all of it is read.
            assert (failed.records, error.offset) == ((), 0)
            continue
        # The primary and the first image, whose header the first stored bytes hold; the walk
        # stood inside that image's data, where the offset says.
        assert [_summary(r) for r in failed.records] == reference["field.fits"][:2]
        assert {r.compression for r in failed.records} == {"gzip"}
        sci = failed.records[1]
        assert error.offset is not None
        assert sci.data_offset < error.offset < sci.data_offset + sci.data_size
    per = _per_object(nginx.access_log_entries(mark, at_least=3), "/")
    # Never more stored bytes than the budget: the windows end at it.
    assert [e.range for e in per["field.fits.gz"]] == [f"bytes=0-{BUDGET - 1}"]
    assert [e.range for e in per["disguised.fits"]] == [
        f"bytes=0-{FIRST_READ - 1}",
        f"bytes={FIRST_READ}-{BUDGET - 1}",
    ]
    assert all(sum(e.bytes_sent for e in entries) == BUDGET for entries in per.values())


# --- answers that break off, or say no length ----------------------------------------------------


@pytest.fixture
async def shapes(folder: Path) -> AsyncIterator[ShapesServer]:
    server = ShapesServer(folder)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.mark.parametrize("shape", ["cut-206-once", "cut-once", "chunked"])
async def test_a_window_that_breaks_off_is_asked_again_from_where_it_stopped(
    shapes: ShapesServer, folder: Path, reference: dict[str, Summary], shape: str
) -> None:
    name = "field.fits.gz"
    url = shapes.url(shape, name)
    size = (folder / name).stat().st_size
    async with aca.Client(backoff=0.01) as client:
        records = await client.read_headers(url)
        stats = client.stats.snapshot()
    assert [_summary(r) for r in records] == reference[name]
    assert {r.object_size for r in records} == {size}  # a chunked answer: its length at its end
    served = shapes.served(shape)
    if shape == "cut-206-once":
        # The first window, cut half-way, is asked again from the first byte the walk has not
        # read yet (the inflater kept its state): the rest of it, not the object from 0.
        half = WINDOW_FIRST // 2
        first, again = served[0], served[1]
        assert first.range == f"bytes=0-{WINDOW_FIRST - 1}" and first.bytes_sent == half
        assert again.range is not None and again.range.endswith(f"-{WINDOW_FIRST - 1}")
        resumed = int(again.range.removeprefix("bytes=").split("-")[0])
        # (aiohttp drops what it holds of an answer once it breaks: the walk may stand at any
        # piece read before.)
        assert FIRST_READ <= resumed <= half and (resumed - FIRST_READ) % READ_PIECE == 0
        assert sum(s.bytes_sent for s in served) == size + half - resumed
        assert stats.retries == 1
    elif shape == "cut-once":
        # Range ignored: the whole answer again, read on from where the first one broke off.
        assert [s.status for s in served] == [200, 200]
        assert stats.retries == 1
    else:
        assert [(s.status, s.bytes_sent) for s in served] == [(200, size)]
        assert stats.retries == 0


# --- kinds of objects ----------------------------------------------------------------------------


async def test_a_folder_of_compressed_objects_with_plain_names_is_never_predicted(
    tmp_path: Path, folder: Path
) -> None:
    root = tmp_path / "survey"
    root.mkdir()
    for i in range(6):
        shutil.copy(folder / "disguised.fits", root / f"frame{i:04d}.fits")
    server = start_or_skip(lambda: start_nginx(root))
    try:
        urls = {f"frame{i:04d}.fits": server.url(f"frame{i:04d}.fits") for i in range(6)}
        mark = server.log_mark()
        found = await _scan(urls)
        entries = server.access_log_entries(mark, at_least=6)
    finally:
        server.stop()
    assert all(isinstance(r, list) and len(r) == 4 for r in found.values())
    # Each learnt its kind that there is nothing to prefetch: every object starts with the
    # first read, none with predicted header ranges (which would be bytes of the stream).
    per = _per_object(entries, "/frame")
    size = (folder / "disguised.fits").stat().st_size
    for name, got in per.items():
        assert sorted(e.range or "" for e in got) == sorted(_expected_ranges(name, size)), name


async def test_a_plain_file_with_a_compressed_name_costs_at_most_one_window(
    tmp_path: Path,
) -> None:
    root = tmp_path / "misnamed"
    root.mkdir()
    path = write_tess_ffi_like(root / "frame.fits.gz", seed=3)  # FITS, 35.5 MB, named .gz
    server = start_or_skip(lambda: start_nginx(root))
    try:
        mark = server.log_mark()
        records = aca.read_headers(server.url(path.name))
        entries = server.access_log_entries(mark, at_least=2)
    finally:
        server.stop()
    assert [(r.header_offset, r.data_offset) for r in records] == [
        (h.header_offset, h.data_offset) for h in astropy_layout(path)
    ]
    assert {r.compression for r in records} == {None}
    # The first window is closed as the walk jumps past it; the last header is one range.
    assert [e.range for e in entries] == [
        f"bytes=0-{WINDOW_FIRST - 1}",
        f"bytes={records[2].header_offset}-{records[2].header_offset + 8 * 2880 - 1}",
    ]
    assert entries[0].bytes_sent <= WINDOW_FIRST


# --- reads that need offsets in the stored object refuse compressed records ----------------------


@pytest.fixture(scope="module")
def gz_records(folder: Path) -> list[aca.HDURecord]:
    return aca.read_headers(folder / "field.fits.gz")


async def test_sections_refuse_records_of_compressed_objects(
    gz_records: list[aca.HDURecord],
) -> None:
    sci = gz_records[1]
    async with aca.Client() as client:
        with pytest.raises(aca.CompressedObjectError) as info:
            await read_section(sci, (slice(0, 8), slice(0, 8)), client=client)
        assert client.stats.requests == 0  # refused before any request
    assert isinstance(info.value, aca.ConfigurationError)
    assert "gzip" in str(info.value) and info.value.url == sci.url
    # The same from a catalog row: the compression column comes back with the record.
    row = object_rows(gz_records, ())[1]
    assert row["compression"] == "gzip"
    assert record_from_row(row).compression == "gzip"
    with pytest.raises(aca.CompressedObjectError):
        await read_section(record_from_row(row), ...)


async def test_cutouts_give_a_failure_for_compressed_records(
    gz_records: list[aca.HDURecord],
) -> None:
    async with aca.Client() as client:
        results = [r async for r in cutouts(gz_records[1:3], 0.0, 0.0, 8, client=client)]
    assert len(results) == 2
    assert all(isinstance(r, SectionFailed) for r in results)
    assert all(isinstance(r.error, aca.CompressedObjectError) for r in results)  # type: ignore[union-attr]


def test_references_and_data_checksums_leave_compressed_records_out(
    gz_records: list[aca.HDURecord], folder: Path
) -> None:
    plain = aca.read_headers(folder / "field.fits")
    table = pa.Table.from_pylist(object_rows(gz_records, ()) + object_rows(plain, ()))
    images, skipped = image_refs(table)
    assert sorted((ref.url, ref.hdu) for ref in images) == [
        (str(folder / "field.fits"), i) for i in range(3)
    ]
    # The images of the gzip object are left out, saying why (both tables are no images).
    left_out = [(url, hdu) for url, hdu, reason in skipped if "gzip-compressed" in reason]
    assert left_out == [(gz_records[0].url, i) for i in range(3)]
    assert len(skipped) == 5

    async def verdicts() -> list[dict[str, Any]]:
        async with aca.Client() as client:
            return [await verify_record(client, r) for r in gz_records]

    assert asyncio.run(verdicts()) == [{"checksum": "absent"}] * 4  # no data read
