"""Objects that are not FITS, or not whole: the same documented outcome on every read path.

Each object below is written to a private folder and read four ways: ``read_headers`` on the
path (plain ``pread``, no event loop), ``scan`` of the path (the local store under the pool),
``scan`` of its URL on nginx (206 answers) and on nginx with Range disabled (200 answers, the
body cut off). The expected outcome is the table in docs/reliability.md: a typed error at a
stated offset, keeping the HDUs read before it, or records with ``truncated``/``trailing_bytes``
saying what is missing or extra. All four paths must agree with it exactly.
"""

from __future__ import annotations

import bz2
import gzip
import io
import random
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from rel_helpers import FAST, scan_all, true_layout
from servers import HTTPServer, start_nginx
from servers.availability import start_or_skip

import astro_cloud_async as aca
from astro_cloud_async.demo.survey import astropy_layout
from astro_cloud_async.errors import (
    AstroCloudError,
    CompressedDataError,
    HeaderTooLargeError,
    InvalidHeaderError,
    NotFITSError,
    TooManyHDUsError,
    TruncatedHeaderError,
)
from astro_cloud_async.fits import BLOCK, walk_bytes, walk_file

GARBAGE = b"transfer log: checksum verified\n" * 20  # 640 bytes


def _hdul_bytes(*hdus: fits.PrimaryHDU | fits.ImageHDU | fits.BinTableHDU) -> bytes:
    buf = io.BytesIO()
    fits.HDUList(list(hdus)).writeto(buf)
    return buf.getvalue()


def _image(n: int = 2) -> bytes:
    rng = np.random.default_rng(n)
    images = [fits.ImageHDU(rng.normal(size=(40, 40)).astype(np.float32)) for _ in range(n)]
    return _hdul_bytes(fits.PrimaryHDU(), *images)


def _header_only(naxis1: int) -> bytes:
    cards = [("SIMPLE", True), ("BITPIX", 16), ("NAXIS", 1 if naxis1 else 0)]
    if naxis1:
        cards.append(("NAXIS1", naxis1))
    return fits.Header(cards).tostring().encode()


def _bad_extension() -> bytes:
    data = bytearray(_image(2))
    second = data.find(b"XTENSION", BLOCK + 1)  # the second extension
    bitpix = data.find(b"BITPIX  =", second)
    data[bitpix : bitpix + 80] = b"BITPIX  =                   12 / not a FITS BITPIX".ljust(80)
    return bytes(data)


def _no_end(blocks: int) -> bytes:
    cards = b"SIMPLE  =                    T".ljust(80) + b"".join(
        f"HISTORY line {i}".ljust(80).encode() for i in range(blocks * 36 - 1)
    )
    return cards


def _end_missing() -> bytes:
    """A whole image file whose writer left the END card out: no header ends, so the file
    ends inside one (astropy: "Header missing END card")."""
    data = bytearray(_hdul_bytes(fits.PrimaryHDU(np.arange(3000, dtype=np.int16))))
    at = data.find(b"END" + b" " * 77)
    data[at : at + 80] = b" " * 80
    return bytes(data)


def _simple_false() -> bytes:
    """A non-conforming file (SIMPLE = F, VAX-order data): its data run to the end."""
    header = fits.Header([("SIMPLE", False), ("BITPIX", 32), ("NAXIS", 1), ("NAXIS1", 3)])
    return header.tostring().encode() + random.Random(7).randbytes(5000)


def _inflated(packed: bytes) -> bytes:
    """What a gzip stream, whole or cut, decompresses to."""
    return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(packed)


def _gzip_cut(data: bytes, low: int, high: int) -> bytes:
    """The gzip of ``data`` cut where its decompressed stream ends between ``low`` and
    ``high`` bytes (inside an HDU's data, or inside a header)."""
    packed = gzip.compress(data, mtime=0)
    first, last = 1, len(packed)
    while first < last:  # the shortest cut giving at least ``low`` bytes
        middle = (first + last) // 2
        if len(_inflated(packed[:middle])) < low:
            first = middle + 1
        else:
            last = middle
    cut = packed[:first]
    assert low <= len(_inflated(cut)) <= high, len(_inflated(cut))
    return cut


def _bad_crc(packed: bytes) -> bytes:
    """A gzip stream whose trailer's CRC-32 does not match its data."""
    return packed[:-8] + bytes(b ^ 0xFF for b in packed[-8:-4]) + packed[-4:]


@dataclass(frozen=True)
class Case:
    """An object and the outcome it must have on every read path."""

    name: str
    data: bytes
    error: type[AstroCloudError] | None = None
    offset: Callable[[bytes], int] | None = None
    """Where the error is, from the object's bytes."""
    records: int = 0
    """HDUs read (kept by the failure, or all of them)."""
    truncated_last: bool = False
    trailing: int = 0
    options: dict[str, int] | None = None
    whole: bytes | None = None
    """The object before it was cut or damaged: where its HDUs really are."""


IMAGE = _image(2)  # primary 0-2880; images: header 2880, data 5760; header 14400, data 17280
HEADER = _header_only(0)
CASES = [
    Case(
        "html_page.fits",
        b"<!DOCTYPE html>\n<html><body>503</body></html>\n" * 3,
        NotFITSError,
        lambda d: 0,
    ),
    # Objects compressed whole are read through their decompressed stream, whose offsets the
    # records give (object_size stays the stored size); their faults are those of the stream.
    Case("gzipped.fits.gz", gzip.compress(IMAGE, mtime=0), records=3, whole=IMAGE),
    Case("bzipped.fits.bz2", bz2.compress(IMAGE), records=3, whole=IMAGE),
    Case("gzipped_named_plain.fits", gzip.compress(IMAGE, mtime=0), records=3, whole=IMAGE),
    Case("plain_named_gzip.fits.gz", IMAGE, records=3),  # content decides, not the name
    Case(
        "members.fits.gz",
        gzip.compress(IMAGE[:4000], mtime=0) + gzip.compress(IMAGE[4000:], mtime=0),
        records=3,
        whole=IMAGE,
    ),
    Case("zero_padded.fits.gz", gzip.compress(IMAGE, mtime=0) + bytes(600), records=3, whole=IMAGE),
    Case(
        "streams.fits.bz2",
        bz2.compress(IMAGE[:9000]) + bz2.compress(IMAGE[9000:]),
        records=3,
        whole=IMAGE,
    ),
    Case("bz2_then_text.fits.bz2", bz2.compress(IMAGE) + GARBAGE, records=3, whole=IMAGE),
    Case(
        "gz_cut_in_data.fits.gz",
        _gzip_cut(IMAGE, 17280 + 1000, 23680 - 1000),
        records=3,
        truncated_last=True,
        whole=IMAGE,
    ),
    Case(
        "gz_cut_in_header.fits.gz",
        _gzip_cut(IMAGE, 14400 + 100, 17280 - 100),
        TruncatedHeaderError,
        lambda d: len(_inflated(d)),
        records=2,
        whole=IMAGE,
    ),
    Case(
        "gz_bad_crc.fits.gz",
        _bad_crc(gzip.compress(IMAGE, mtime=0)),
        CompressedDataError,
        lambda d: len(d) - 8,  # where the member's trailer starts
        records=3,
        whole=IMAGE,
    ),
    Case(
        "gz_then_text.fits.gz",
        gzip.compress(IMAGE, mtime=0) + GARBAGE,
        CompressedDataError,
        lambda d: len(d) - len(GARBAGE),
        records=3,
        whole=IMAGE,
    ),
    Case("zero_bytes.fits", b"", NotFITSError, lambda d: 0),
    Case("tiny.fits", b"SIMPLE  =                    T", NotFITSError, lambda d: 0),
    Case("random.fits", random.Random(5).randbytes(9000), NotFITSError, lambda d: 0),
    Case("header_no_data.fits", HEADER, records=1),
    Case("header_data_missing.fits", _header_only(1000), records=1, truncated_last=True),
    # The header's END card is there, its block padding is not: the object ends before
    # data_offset, which is what ``truncated`` says (data padding alone may be missing).
    Case(
        "header_unpadded.fits",
        HEADER[: HEADER.find(b"END ") + 80],
        records=1,
        truncated_last=True,
        whole=HEADER,
    ),
    Case("cut_in_data.fits", IMAGE[:21920], records=3, truncated_last=True, whole=IMAGE),
    Case(
        "cut_in_header.fits",
        IMAGE[: 14400 + 300],
        TruncatedHeaderError,
        lambda d: len(d),
        records=2,
        whole=IMAGE,
    ),
    Case("end_missing.fits", _end_missing(), TruncatedHeaderError, lambda d: len(d)),
    Case("simple_false.fits", _simple_false(), records=1),
    Case("cut_before_header.fits", IMAGE[: 14400 + 40], records=2, trailing=40, whole=IMAGE),
    Case("garbage_after.fits", IMAGE + GARBAGE, records=3, trailing=len(GARBAGE), whole=IMAGE),
    Case("zeros_after.fits", IMAGE + bytes(BLOCK), records=3, trailing=BLOCK, whole=IMAGE),
    Case(
        "bad_extension.fits",
        _bad_extension(),
        InvalidHeaderError,
        lambda d: 14400,
        records=2,
        whole=IMAGE,
    ),
    Case(
        "no_end.fits",
        _no_end(40),
        HeaderTooLargeError,
        lambda d: 0,
        options={"max_header_bytes": 10 * BLOCK},
    ),
    # An extension where the primary should be: astropy refuses it without
    # ignore_missing_simple=True; the walker reads it as the object's one HDU.
    Case("extension_first.fits", IMAGE[BLOCK:14400], records=1),
    Case(
        "many_hdus.fits",
        _image(12),
        TooManyHDUsError,
        lambda d: (1 + 4 * 4) * BLOCK,
        records=5,
        options={"max_hdus": 5},
    ),
]


def _case_id(case: Case) -> str:
    return case.name


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    for case in CASES:
        (root / case.name).write_bytes(case.data)
    return root


def _nginx(root: Path, **kwargs: int) -> HTTPServer:
    return start_or_skip(lambda: start_nginx(root, **kwargs))


@pytest.fixture(scope="module")
def hostile_nginx(hostile_dir: Path) -> Iterator[HTTPServer]:
    server = _nginx(hostile_dir)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def hostile_nginx_norange(hostile_dir: Path) -> Iterator[HTTPServer]:
    server = _nginx(hostile_dir, max_ranges=0)
    yield server
    server.stop()


def _true_layout(data: bytes) -> list[tuple[int, int, int]]:
    return [(h.header_offset, h.data_offset, h.data_size) for h in true_layout(data)]


def _check_records(case: Case, records: list[aca.HDURecord] | tuple[aca.HDURecord, ...]) -> None:
    assert len(records) == case.records, case.name
    if not records:
        return
    truth = _true_layout(case.whole if case.whole is not None else case.data)
    got = [(r.header_offset, r.data_offset, r.data_size) for r in records]
    assert got == truth[: len(got)], case.name
    assert [r.truncated for r in records[:-1]] == [False] * (len(records) - 1)
    if case.error is None:
        assert records[-1].truncated == case.truncated_last, case.name
        assert records[-1].trailing_bytes == case.trailing, case.name
        assert all(r.object_size == len(case.data) for r in records), case.name


def _check_error(case: Case, error: BaseException, url: str) -> None:
    assert isinstance(error, case.error), f"{case.name}: {error!r}"  # type: ignore[arg-type]
    assert isinstance(error, ValueError)  # every FITS error is also a ValueError
    assert error.url == url
    if case.offset is not None:
        assert error.offset == case.offset(case.data), f"{case.name}: {error!r}"
    if isinstance(error, TruncatedHeaderError):
        # The cards read before the object ended are kept for diagnosis.
        assert error.cards, case.name
        assert error.cards[0].keyword in ("SIMPLE", "XTENSION"), case.name


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_read_headers_on_a_path(hostile_dir: Path, case: Case) -> None:
    path = str(hostile_dir / case.name)
    options = case.options or {}
    if case.error is None:
        _check_records(case, aca.read_headers(path, **options))
        return
    with pytest.raises(AstroCloudError) as info:
        aca.read_headers(path, **options)
    _check_error(case, info.value, path)


async def _scan_case(case: Case, url: str) -> None:
    out = await scan_all([url], **FAST, **(case.options or {}))
    if case.error is None:
        assert url not in out.failures, out.failures.get(url)
        _check_records(case, out.records[url])
        return
    failed = out.only_failure(url)
    _check_error(case, failed.error, url)
    _check_records(case, failed.records)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
async def test_scan_of_a_local_file(hostile_dir: Path, case: Case) -> None:
    await _scan_case(case, str(hostile_dir / case.name))


@pytest.mark.servers
@pytest.mark.parametrize("case", CASES, ids=_case_id)
async def test_scan_over_http_with_range(hostile_nginx: HTTPServer, case: Case) -> None:
    await _scan_case(case, hostile_nginx.url(case.name))


@pytest.mark.servers
@pytest.mark.parametrize("case", CASES, ids=_case_id)
async def test_scan_over_http_without_range(hostile_nginx_norange: HTTPServer, case: Case) -> None:
    await _scan_case(case, hostile_nginx_norange.url(case.name))


# --- single findings ------------------------------------------------------------------------


def test_walker_and_header_agree_on_the_end_card() -> None:
    # "END     0" is not an END card for astropy (nor for parse_header): a keyword character
    # follows. The walker must not end the header there, or the header it gives has no END.
    primary = bytearray(_header_only(0))
    at = primary.find(b"END ")
    primary[at : at + 80] = b"END     0".ljust(80)
    data = bytes(primary) + fits.ImageHDU().header.tostring().encode()
    hdus = walk_bytes(data)
    assert all(h.header.ended for h in hdus)
    assert [h.data_offset for h in hdus] == [2 * BLOCK]  # astropy: one HDU, its END in block 2


async def test_one_forged_object_does_not_stop_a_scan(tmp_path: Path) -> None:
    # 999 axes of 2**40: the data size has 12,000 digits, more than int-to-str allows.
    axes = [(f"NAXIS{i}", 2**40) for i in range(1, 1000)]
    forged = fits.Header([("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 999), *axes])
    (tmp_path / "a_forged.fits").write_bytes(forged.tostring().encode())
    (tmp_path / "b_good.fits").write_bytes(IMAGE)
    out = await scan_all([str(tmp_path)], **FAST)
    assert len(out.records[str(tmp_path / "b_good.fits")]) == 3
    failed = out.only_failure(str(tmp_path / "a_forged.fits"))
    assert isinstance(failed.error, InvalidHeaderError)
    assert failed.error.offset == 0


def test_sample_layout_of_a_compressed_hdu(rel_corpus: dict[str, Path]) -> None:
    # samples.astropy_layout is the reference other tests compare readers with; for a
    # tile-compressed HDU it must give the stored BINTABLE's size, not the image's.
    path = rel_corpus["compressed"]
    stored = true_layout(path)
    assert stored[1].data_size == 8 * 128 + 9599  # NAXIS1 * NAXIS2 + PCOUNT of the table
    assert [h.data_size for h in walk_file(path)] == [h.data_size for h in stored]
    assert astropy_layout(path) == stored
