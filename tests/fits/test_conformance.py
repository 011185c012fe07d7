"""Conformance: every FITS file shipped with the installed astropy, walked by us and opened by
astropy, HDU by HDU and card by card.

Files: everything in ``astropy/io/fits/tests/data`` (whatever its name) and every other file
in the astropy package named like FITS (``.fits``, ``.fit``, ``.fts``, ``.fz``, compressed
variants). Compressed files (gzip, Unix compress) are not FITS byte streams: we must reject them
with ``NotFITSError``; gzip files are then also compared decompressed. Bare ``.hdr`` headers in
80-column form are compared through ``parse_header`` against ``Header.fromstring``.

For each HDU: header offset, data offset, data size (exact and padded) and every card's keyword,
value and comment. A file astropy rejects must be rejected by us with an ``AstroCloudError``.
``test_summary`` prints the counts (run with ``-s`` to see them).
"""

from __future__ import annotations

import functools
import gzip
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import astropy
import pytest
from astropy.io import fits
from fits_reference import Reading, quiet_astropy, reading, same_value

from astro_cloud_async.errors import AstroCloudError, NotFITSError
from astro_cloud_async.fits.header import Header, parse_header
from astro_cloud_async.fits.layout import padded
from astro_cloud_async.fits.walker import walk_bytes

ASTROPY = Path(astropy.__file__).parent
FITS_DATA = ASTROPY / "io" / "fits" / "tests" / "data"
FITS_NAMES = (".fits", ".fit", ".fts", ".fz", ".fits.gz", ".fits.z", ".fits.bz2", ".fits.zip")
COMPRESSED_MAGIC = (b"\x1f\x8b", b"\x1f\x9d", b"BZh", b"PK\x03\x04")


def _fits_files() -> list[Path]:
    found = {p for p in FITS_DATA.rglob("*") if p.is_file()}
    found |= {p for p in ASTROPY.rglob("*") if p.is_file() and p.name.lower().endswith(FITS_NAMES)}
    return sorted(found)


FITS_FILES = _fits_files()
HEADER_FILES = sorted(ASTROPY.rglob("*.hdr"))


def _id(path: Path) -> str:
    return str(path.relative_to(ASTROPY))


@dataclass
class Outcome:
    """What comparing one file found."""

    kind: str  # compared | rejected by both | skipped
    hdus: int = 0
    cards: int = 0
    flagged: int = 0  # cards we flag with a problem (astropy may or may not read them)
    astropy_bug: int = 0  # cards astropy misreads (see test_cards) and we read per the standard
    nonstandard: int = 0  # SIMPLE = F HDUs: astropy's data is the rest of the file
    mismatches: list[tuple[str, str]] = field(default_factory=list)


def _compare_cards(ours: Header, theirs: list[Reading], where: str, outcome: Outcome) -> None:
    if len(ours.cards) != len(theirs):
        outcome.mismatches.append(
            ("card count", f"{where}: {len(ours.cards)} cards, astropy {len(theirs)}")
        )
        return
    for n, (card, ref) in enumerate(zip(ours.cards, theirs, strict=True)):
        outcome.cards += 1
        outcome.flagged += card.problem is not None
        if card.keyword != ref.keyword:
            outcome.mismatches.append(("keyword", f"{where} card {n}: {card!r} vs {ref!r}"))
        elif not ref.readable:
            if card.problem is None:
                outcome.mismatches.append(
                    ("unflagged", f"{where} card {n}: astropy cannot read {card!r}")
                )
        elif not (same_value(card.value, ref.value) and card.comment == ref.comment):
            if isinstance(card.value, str) and "''" in card.image and card.problem is None:
                outcome.astropy_bug += 1
            else:
                outcome.mismatches.append(("value", f"{where} card {n}: {card!r} vs {ref!r}"))


def _astropy_hdus(data: bytes) -> list[tuple[int, int, int, int, list[Reading], bool]]:
    """(header offset, data offset, padded data size, data size, cards, SIMPLE = F) per HDU.

    The cards are astropy's reading of the header bytes in the file: ``hdu.header`` can differ
    from them (astropy adds NAXIS1 = 0 to a random-groups header with NAXIS = 0, for one).
    """
    with quiet_astropy():
        hdul = fits.open(io.BytesIO(data), memmap=False, disable_image_compression=True)
        with hdul:
            hdul.readall()
            result = []
            for hdu in hdul:
                hdr, dat, span = hdu._header_offset, hdu._data_offset, hdu._data_size
                cards = [reading(card) for card in fits.Header.fromstring(data[hdr:dat]).cards]
                nonstandard = isinstance(hdu, fits.hdu.base._NonstandardHDU)
                result.append((hdr, dat, span, hdu.size, cards, nonstandard))
            return result


def _compare_stream(data: bytes, name: str) -> Outcome:
    try:
        theirs = _astropy_hdus(data)
        astropy_error = None
    except Exception as err:  # astropy rejects the file (its errors are not typed)
        theirs, astropy_error = [], err
    try:
        ours = walk_bytes(data)
        our_error = None
    except AstroCloudError as err:
        ours, our_error = [], err
    if astropy_error is not None:
        if our_error is not None:
            return Outcome("rejected by both")
        return Outcome(
            "compared",
            mismatches=[("accepted", f"{name}: astropy rejects it ({astropy_error!r}), we do not")],
        )
    outcome = Outcome("compared", hdus=len(theirs))
    if our_error is not None:
        outcome.mismatches.append(("rejected", f"{name}: we reject it: {our_error!r}"))
        return outcome
    if len(ours) != len(theirs):
        outcome.mismatches.append(("hdu count", f"{name}: {len(ours)} HDUs, astropy {len(theirs)}"))
    for hdu, (hdr, dat, span, size, cards, nonstandard) in zip(ours, theirs, strict=False):
        where = f"{name}[{hdu.index}]"
        got = (hdu.header_offset, hdu.data_offset, padded(hdu.data_size), hdu.data_size)
        if nonstandard:
            # The data of a SIMPLE = F HDU are the rest of the file, for astropy and for us:
            # the same size, and nothing left over as trailing bytes.
            outcome.nonstandard += 1
            got = (hdu.header_offset, hdu.data_offset, hdu.data_size, hdu.trailing_bytes)
            if got != (hdr, dat, size, 0):
                outcome.mismatches.append(("offsets", f"{where}: {got} vs {(hdr, dat, size, 0)}"))
        elif got != (hdr, dat, span, size):
            outcome.mismatches.append(("offsets", f"{where}: {got} vs {(hdr, dat, span, size)}"))
        _compare_cards(hdu.header, cards, where, outcome)
    return outcome


@functools.cache
def compare_fits_file(path: Path) -> Outcome:
    data = path.read_bytes()
    name = _id(path)
    if data.startswith(COMPRESSED_MAGIC):
        # Not a FITS byte stream: a typed rejection from us, whatever astropy makes of it.
        try:
            walk_bytes(data)
        except NotFITSError:
            pass
        else:
            return Outcome("compared", mismatches=[("accepted", f"{name}: compressed, accepted")])
        if data.startswith(b"\x1f\x8b"):
            return _compare_stream(gzip.decompress(data), name + " (gunzipped)")
        return Outcome("rejected by both")
    return _compare_stream(data, name)


@functools.cache
def compare_header_file(path: Path) -> Outcome:
    data = path.read_bytes()
    if b"\n" in data or len(data) % 80:
        return Outcome("skipped")  # a header printed with newlines, not 80-column cards
    header = parse_header(data)
    with quiet_astropy():
        theirs = [reading(card) for card in fits.Header.fromstring(data).cards]
    outcome = Outcome("compared", hdus=1)
    _compare_cards(header, theirs, _id(path), outcome)
    return outcome


@pytest.mark.parametrize("path", FITS_FILES, ids=_id)
def test_fits_file(path: Path) -> None:
    outcome = compare_fits_file(path)
    assert outcome.kind in ("compared", "rejected by both")
    assert not outcome.mismatches, outcome.mismatches


@pytest.mark.parametrize("path", HEADER_FILES, ids=_id)
def test_header_file(path: Path) -> None:
    outcome = compare_header_file(path)
    assert not outcome.mismatches, outcome.mismatches


def test_summary() -> None:
    fits_outcomes = [compare_fits_file(p) for p in FITS_FILES]
    header_outcomes = [compare_header_file(p) for p in HEADER_FILES]
    kinds = Counter(o.kind for o in fits_outcomes)
    everything = fits_outcomes + header_outcomes
    mismatches = Counter(kind for o in everything for kind, _ in o.mismatches)
    print(
        f"\nFITS files: {len(FITS_FILES)} ({kinds['compared']} compared, "
        f"{kinds['rejected by both']} rejected by both); "
        f"HDUs {sum(o.hdus for o in fits_outcomes)}; "
        f"cards {sum(o.cards for o in fits_outcomes)}\n"
        f".hdr headers: {len(header_outcomes)} "
        f"({sum(o.kind == 'compared' for o in header_outcomes)} compared, "
        f"{sum(o.kind == 'skipped' for o in header_outcomes)} with newlines skipped); "
        f"cards {sum(o.cards for o in header_outcomes)}\n"
        f"cards we flag: {sum(o.flagged for o in everything)}; "
        f"cards astropy misreads and we read per the standard: "
        f"{sum(o.astropy_bug for o in everything)}; SIMPLE = F HDUs (data to the end of the "
        f"file): {sum(o.nonstandard for o in everything)}\n"
        f"mismatches: {dict(mismatches) or 'none'}"
    )
    assert kinds["compared"] >= 30
    assert sum(o.cards for o in everything) > 3000
    assert not mismatches
