"""The sans-I/O walker: events, read policy and bad input, driven by bytes pushed in."""

from __future__ import annotations

import io
import itertools
import random
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from fits_reference import quiet_astropy

from astro_cloud_async.errors import (
    AstroCloudError,
    HeaderTooLargeError,
    InvalidHeaderError,
    NotFITSError,
    TooManyHDUsError,
    TruncatedHeaderError,
)
from astro_cloud_async.fits.layout import BLOCK, padded
from astro_cloud_async.fits.walker import HDU, EndOfObject, NeedData, Walker, walk_bytes

TESS_DATA = 2136 * 2078 * 4


def _header_of_blocks(blocks: int, base: fits.Header) -> fits.Header:
    """``base`` padded with HISTORY cards so that it serialises to exactly ``blocks`` blocks."""
    header = base.copy()
    while len(header.tostring()) < blocks * BLOCK and (len(header) + 2) * 80 <= blocks * BLOCK:
        header.add_history("processing step recorded for the test layout")
    assert len(header.tostring()) == blocks * BLOCK
    return header


def tess_like() -> tuple[bytes, list[tuple[int, int, int]]]:
    """A TESS-FFI-like layout with the data regions as zeros: (bytes, [(hdr, data, size)])."""
    primary = _header_of_blocks(1, fits.Header([("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0)]))
    image = fits.Header(
        [
            ("XTENSION", "IMAGE"),
            ("BITPIX", -32),
            ("NAXIS", 2),
            ("NAXIS1", 2136),
            ("NAXIS2", 2078),
            ("PCOUNT", 0),
            ("GCOUNT", 1),
        ]
    )
    ext1 = _header_of_blocks(6, image)
    ext2 = _header_of_blocks(4, image)
    out = io.BytesIO()
    layout = []
    for hdr, size in ((primary, 0), (ext1, TESS_DATA), (ext2, TESS_DATA)):
        start = out.tell()
        out.write(hdr.tostring().encode("ascii"))
        layout.append((start, out.tell(), size))
        out.write(b"\0" * padded(size))
    return out.getvalue(), layout


def small_mef(n: int = 3) -> bytes:
    hdus = [fits.PrimaryHDU()]
    for i in range(n):
        data = np.arange(10 * (i + 1), dtype=">i2").reshape(2, -1)
        hdus.append(fits.ImageHDU(data, name=f"SCI{i}"))
    out = io.BytesIO()
    fits.HDUList(hdus).writeto(out)
    return out.getvalue()


def drive(
    walker: Walker, data: bytes, split: int | None = None, seed: int = 0, tell_size: bool = True
):
    """Answer every NeedData from ``data``, optionally in pieces of at most ``split`` bytes.

    Returns the HDUs, the spans actually fed, and the end event.

    With ``tell_size`` each answer carries the object's size, as a 206's Content-Range does.
    """
    rng = random.Random(seed)
    needs: list[NeedData] = []
    hdus: list[HDU] = []
    while True:
        event = walker.next_event()
        if isinstance(event, NeedData):
            chunk = data[event.start : event.end]
            if split is not None and len(chunk) > split:
                # A short answer with a known size: the walker asks for the rest itself.
                chunk = chunk[: rng.randint(1, split)]
            needs.append(NeedData(event.start, event.start + len(chunk)))
            walker.feed(event.start, chunk, object_size=len(data) if tell_size else None)
        elif isinstance(event, HDU):
            hdus.append(event)
        else:
            assert isinstance(event, EndOfObject)
            return hdus, needs, event


def test_tess_layout_takes_two_reads_under_64k() -> None:
    data, layout = tess_like()
    hdus, needs, end = drive(Walker(), data)
    assert [(h.header_offset, h.data_offset, h.data_size) for h in hdus] == layout
    assert len(needs) == 2
    assert sum(n.end - n.start for n in needs) < 64 * 1024
    assert all(n.start % BLOCK == 0 for n in needs)
    assert end == EndOfObject(len(data), 3)
    assert hdus[1].header["NAXIS1"] == 2136 and hdus[2].header_size == 4 * BLOCK
    assert not any(h.truncated or h.trailing_bytes for h in hdus)


@pytest.mark.parametrize("split", [1, 80, 2880, 5000, None])
def test_split_feeds_give_same_hdus(split: int | None) -> None:
    data = small_mef(4)
    expected = [(h.header_offset, h.data_offset, h.data_size) for h in walk_bytes(data)]
    for seed in range(3):
        walker = Walker(object_size=len(data), first_read=BLOCK, next_read=BLOCK)
        hdus, needs, _ = drive(walker, data, split=split, seed=seed)
        assert [(h.header_offset, h.data_offset, h.data_size) for h in hdus] == expected
        # Never the same bytes fed twice.
        spans = sorted((n.start, n.end) for n in needs)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_offsets_match_astropy() -> None:
    data = small_mef(5)
    with fits.open(io.BytesIO(data)) as hdul:
        expected = [(h.fileinfo()["hdrLoc"], h.fileinfo()["datLoc"], h.size) for h in hdul]
    hdus = walk_bytes(data)
    assert [(h.header_offset, h.data_offset, h.data_size) for h in hdus] == expected


def test_small_object_is_one_read() -> None:
    data = small_mef(3)
    _, needs, _ = drive(Walker(), data)
    assert len(needs) == 1  # every header lies in the first read: reused, not fetched again


def test_unknown_size_learns_end_from_short_answer() -> None:
    data = small_mef(2)
    walker = Walker(first_read=BLOCK, next_read=BLOCK)
    hdus, _needs, end = drive(walker, data, tell_size=False)
    assert len(hdus) == 3
    assert end.object_size == len(data)


def test_header_spanning_many_blocks_grows_geometrically() -> None:
    header = fits.Header([("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0)])
    for i in range(3000):
        header[f"KEY{i}"] = i
    data = header.tostring().encode()
    hdus, needs, _ = drive(Walker(first_read=BLOCK, next_read=BLOCK), data)
    assert hdus[0].header["KEY2999"] == 2999
    sizes = [n.end - n.start for n in needs]
    assert len(needs) <= 8, sizes
    assert sizes == sorted(sizes) or sizes[-1] <= sizes[-2]  # grows, last may be clipped


def test_truncated_data_yields_record_marked() -> None:
    data, layout = tess_like()
    cut = data[: layout[2][1] + 1000]
    hdus = walk_bytes(cut)
    assert [h.truncated for h in hdus] == [False, False, True]
    assert hdus[2].data_size == TESS_DATA


def test_missing_final_padding_is_not_truncation() -> None:
    data = small_mef(1)
    hdus = walk_bytes(data)
    unpadded = data[: hdus[-1].data_offset + hdus[-1].data_size]
    again = walk_bytes(unpadded)
    assert [(h.header_offset, h.data_size, h.truncated) for h in again] == [
        (h.header_offset, h.data_size, False) for h in hdus
    ]


def test_trailing_garbage_reported_on_last_record() -> None:
    data = small_mef(2) + b"garbage that is no header" * 200
    hdus = walk_bytes(data)
    assert len(hdus) == 3
    assert hdus[-1].trailing_bytes == 25 * 200
    assert [h.trailing_bytes for h in hdus[:-1]] == [0, 0]


def test_trailing_zero_blocks_reported() -> None:
    data = small_mef(1) + b"\0" * BLOCK
    hdus = walk_bytes(data)
    assert hdus[-1].trailing_bytes == BLOCK


@pytest.mark.parametrize(
    "blob",
    [b"<html><body>404 Not Found</body></html>", b"\x1f\x8b\x08" + b"\0" * 5000, b"x" * 2880],
)
def test_not_fits(blob: bytes) -> None:
    with pytest.raises(NotFITSError) as info:
        walk_bytes(blob)
    assert info.value.offset == 0
    assert isinstance(info.value, ValueError)


def test_empty_object_is_not_fits() -> None:
    with pytest.raises(NotFITSError):
        walk_bytes(b"")


def test_end_inside_primary_header() -> None:
    data = small_mef(1)[:240]
    with pytest.raises(TruncatedHeaderError) as info:
        walk_bytes(data)
    assert info.value.offset == 240


def test_end_inside_later_header_keeps_earlier_hdus() -> None:
    data = small_mef(3)
    full = walk_bytes(data)
    cut = data[: full[2].header_offset + 400]
    walker = Walker(object_size=len(cut), url="https://example.org/x.fits")
    got: list[HDU] = []
    with pytest.raises(TruncatedHeaderError) as info:
        while True:
            event = walker.next_event()
            if isinstance(event, NeedData):
                walker.feed(event.start, cut[event.start : event.end])
            elif isinstance(event, HDU):
                got.append(event)
    assert [h.index for h in got] == [0, 1]
    assert info.value.url == "https://example.org/x.fits"
    # The error sticks.
    with pytest.raises(TruncatedHeaderError):
        walker.next_event()


def test_header_without_end_is_bounded() -> None:
    cards = b"SIMPLE  =                    T" + b" " * 50 + (b"COMMENT " + b"x" * 72) * 5000
    with pytest.raises(HeaderTooLargeError):
        walk_bytes(cards, max_header_bytes=10 * BLOCK)


@pytest.mark.parametrize(
    ("cards", "message"),
    [
        ([("BITPIX", 8), ("NAXIS", 2), ("NAXIS1", 2**40), ("NAXIS2", 2**40)], "bound"),
        ([("BITPIX", 7), ("NAXIS", 1), ("NAXIS1", 10)], "BITPIX"),
        ([("BITPIX", 8), ("NAXIS", 1), ("NAXIS1", -5)], "negative"),
        ([("BITPIX", 8), ("NAXIS", 2), ("NAXIS1", 5)], "NAXIS2"),
        ([("BITPIX", 8), ("NAXIS", "two")], "NAXIS"),
    ],
)
def test_absurd_or_broken_structure(cards: list[tuple[str, object]], message: str) -> None:
    header = fits.Header([("SIMPLE", True)])
    for key, value in cards:
        header.append((key, value), bottom=True)
    with pytest.raises(InvalidHeaderError, match=message) as info:
        walk_bytes(header.tostring().encode())
    assert info.value.offset == 0


def test_too_many_hdus() -> None:
    data = small_mef(5)
    with pytest.raises(TooManyHDUsError) as info:
        walk_bytes(data, max_hdus=3)
    assert info.value.offset == walk_bytes(data)[3].header_offset


def test_random_groups_and_tables(tmp_path: Path) -> None:
    imdata = np.arange(60.0).reshape(10, 1, 1, 2, 3)
    pardata = [np.arange(10, dtype=np.float32) + 0.5, 42.0]
    groups = fits.GroupsHDU(
        fits.GroupData(imdata, parnames=["U", "V"], pardata=pardata, bitpix=-32)
    )
    table = fits.BinTableHDU.from_columns(
        [fits.Column(name="a", format="PJ()", array=[[1, 2, 3], [4]])]
    )
    path = tmp_path / "groups.fits"  # astropy writes random groups to real files only
    fits.HDUList([groups, table]).writeto(path)
    data = path.read_bytes()
    hdus = walk_bytes(data)
    assert len(hdus) == 2 and hdus[0].data_size > 0
    with fits.open(io.BytesIO(data)) as hdul:
        assert [h.data_size for h in hdus] == [hdu.size for hdu in hdul]
        assert [h.data_offset for h in hdus] == [hdu._data_offset for hdu in hdul]


def test_walker_errors_are_project_errors() -> None:
    with pytest.raises(AstroCloudError):
        walk_bytes(b"SIMPLE  =")


def test_end_of_object_is_final() -> None:
    walker = Walker()
    data = small_mef(0)
    drive(walker, data)
    with pytest.raises(RuntimeError):
        walker.next_event()


def _drive_without_size(walker: Walker, data: bytes) -> tuple[list[HDU], EndOfObject, int]:
    """Answer as a server that never states the size: ``bytes a-b/*`` and a bare 416."""
    hdus: list[HDU] = []
    asked = 0
    while True:
        event = walker.next_event()
        if isinstance(event, NeedData):
            asked += 1
            walker.feed(event.start, data[event.start : event.end])
        elif isinstance(event, HDU):
            hdus.append(event)
        else:
            assert isinstance(event, EndOfObject)
            return hdus, event, asked


def test_size_never_stated_complete_object() -> None:
    data, _ = tess_like()
    hdus, end, asked = _drive_without_size(Walker(), data)
    assert [h.truncated for h in hdus] == [False, False, False]
    assert end.object_size == len(data)
    assert asked == 4  # two header reads, the empty read past the end, its last byte


def test_size_never_stated_truncated_inside_last_data() -> None:
    data, layout = tess_like()
    cut = data[: layout[2][1] + 5_000_000]  # well past the last header read
    hdus, end, _ = _drive_without_size(Walker(), cut)
    assert [h.truncated for h in hdus] == [False, False, True]
    assert end.object_size is None  # somewhere inside the data: not known, not guessed


def test_size_never_stated_missing_padding() -> None:
    data, layout = tess_like()
    unpadded = data[: layout[2][1] + TESS_DATA]
    hdus, end, _ = _drive_without_size(Walker(), unpadded)
    assert [h.truncated for h in hdus] == [False, False, False]
    assert end.object_size is None or end.object_size == len(unpadded)


def test_damaged_end_card_follows_the_header_parser() -> None:
    """``END`` followed by a value-like byte is no END while an exact END follows."""
    header = fits.Header([("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0)])
    header["AFTER"] = 1
    raw = header.tostring(padding=False).encode()
    cards = [raw[i : i + 80] for i in range(0, len(raw), 80)]
    cards.insert(3, b"END     0".ljust(80))
    blob = b"".join(cards)
    blob += b" " * (padded(len(blob)) - len(blob))
    hdus = walk_bytes(blob + blob.replace(b"SIMPLE  =", b"XTENSION="))
    assert len(hdus) == 2
    assert [h.header.get("AFTER") for h in hdus] == [1, 1]
    assert [h.data_offset for h in hdus] == [BLOCK, 2 * BLOCK]
    assert hdus[-1].trailing_bytes == 0


# --- files other software writes: no END card, SIMPLE = F ---------------------------------


def _cards(*images: str) -> bytes:
    return b"".join(image.ljust(80).encode("ascii") for image in images)


def test_header_without_end_is_a_typed_failure_keeping_its_cards() -> None:
    cards = _cards(
        "SIMPLE  =                    T",
        "BITPIX  =                   16",
        "NAXIS   =                    0",
        "ORIGIN  = 'a writer that forgot END'",
    )
    data = cards.ljust(BLOCK, b" ")
    with pytest.raises(TruncatedHeaderError) as info:
        walk_bytes(data)
    error = info.value
    assert error.offset == BLOCK
    assert isinstance(error, ValueError)
    assert [card.keyword for card in error.cards[:4]] == ["SIMPLE", "BITPIX", "NAXIS", "ORIGIN"]
    assert error.cards[3].value == "a writer that forgot END"
    assert error.header is not None and not error.header.ended
    # astropy refuses the same bytes.
    with pytest.raises(OSError, match="END"), fits.open(io.BytesIO(data)):
        pass


def test_truncated_header_error_keeps_its_cards_through_pickle() -> None:
    import pickle

    with pytest.raises(TruncatedHeaderError) as info:
        walk_bytes(small_mef(1)[:240])
    again = pickle.loads(pickle.dumps(info.value))
    assert [c.image for c in again.cards] == [c.image for c in info.value.cards]
    assert [c.keyword for c in again.cards] == ["SIMPLE", "BITPIX", "NAXIS"]


def test_header_with_end_but_object_ending_in_its_padding_is_a_truncated_record() -> None:
    data = small_mef(1)
    full = walk_bytes(data)
    end_card = data.index(b"END" + b" " * 77, full[1].header_offset)
    cut = data[: end_card + 80 + 100]  # END is there, the padding and the data are not
    hdus = walk_bytes(cut)
    assert [h.truncated for h in hdus] == [False, True]
    assert hdus[1].data_size == full[1].data_size


_NAXIS_10 = (
    "BITPIX  =                   16",
    "NAXIS   =                    1",
    "NAXIS1  =                   10",
)


def _nonstandard(rest: int, *, header: tuple[str, ...] = _NAXIS_10) -> bytes:
    cards = _cards("SIMPLE  =                    F / not standard FITS", *header, "END")
    return cards.ljust(BLOCK, b" ") + bytes(i % 251 for i in range(rest))


def _astropy_nonstandard(data: bytes) -> tuple[int, int]:
    # astropy warns that the file "may have been truncated" when it does not end on a block.
    with quiet_astropy(), fits.open(io.BytesIO(data)) as hdul:
        assert len(hdul) == 1
        hdu = hdul[0]
        assert isinstance(hdu, fits.hdu.base._NonstandardHDU)
        return hdu._data_offset, hdu.size


@pytest.mark.parametrize("rest", [0, 20, 2880, 5000, 100_000])
def test_simple_false_makes_the_rest_of_the_file_the_data(rest: int) -> None:
    data = _nonstandard(rest)
    (hdu,) = walk_bytes(data)
    assert (hdu.data_offset, hdu.data_size) == _astropy_nonstandard(data)
    assert hdu.data_size == rest  # not the 20 bytes NAXIS1 says
    assert not hdu.truncated and hdu.trailing_bytes == 0


def test_simple_false_ignores_structural_keywords_that_make_no_sense() -> None:
    data = _nonstandard(3000, header=("BITPIX  = 'VAX'", "NAXIS   =                   -1"))
    (hdu,) = walk_bytes(data)
    assert (hdu.data_offset, hdu.data_size) == (BLOCK, 3000) == _astropy_nonstandard(data)


def test_simple_false_reads_no_extension_after_it() -> None:
    # astropy makes everything after the header the primary's data, HDUs too.
    data = _nonstandard(0) + small_mef(1)
    (hdu,) = walk_bytes(data)
    assert (hdu.data_offset, hdu.data_size) == _astropy_nonstandard(data)


@pytest.mark.parametrize("rest", [0, 1, 2879, 2880, 2881, 123_456, 10_000_017])
def test_simple_false_without_a_stated_size_finds_it_in_a_few_small_reads(rest: int) -> None:
    data = _nonstandard(rest)
    hdus, needs, end = drive(Walker(first_read=BLOCK), data, tell_size=False)
    (hdu,) = hdus
    assert end == EndOfObject(len(data), 1)
    assert (hdu.data_size, hdu.truncated) == (rest, False)
    # A gallop then a bisection over blocks, each read one block at most: never the data.
    assert all(n.end - n.start <= BLOCK for n in needs)
    assert len(needs) <= 3 + 2 * max(1, (len(data) // BLOCK).bit_length())
