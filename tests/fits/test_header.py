"""Whole headers: END handling, long strings, the mapping, to_dict, to_astropy and laziness."""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from astropy.io import fits
from fits_reference import astropy_header, quiet_astropy, same_value

from astro_cloud_async.fits import cards as cards_module
from astro_cloud_async.fits.cards import card_value
from astro_cloud_async.fits.header import Header, parse_header
from astro_cloud_async.fits.layout import padded

END = "END".ljust(80)


def cards(*images: str) -> str:
    return "".join(image.ljust(80) for image in images)


def block(text: str) -> bytes:
    """``text`` padded with spaces to whole 2880-byte blocks, as bytes."""
    data = text.encode("latin-1")
    return data + b" " * (-len(data) % 2880)


SAMPLE = cards(
    "XTENSION= 'IMAGE   '           / Image extension",
    "BITPIX  =                  -32 / array data type",
    "NAXIS   =                    2 / number of array dimensions",
    "NAXIS1  =                 2136",
    "NAXIS2  =                 2078",
    "PCOUNT  =                    0 / number of parameters",
    "GCOUNT  =                    1 / number of groups",
    "EXTNAME = 'CAMERA.CCD 1.1 cal' / extension name",
    "CRVAL1  =       325.5847617233 / RA at CRPIX1, CRPIX2",
    "CPLX    = (1.5, -2.0)",
    "UNDEF   =                      / no value yet",
    "HIERARCH ESO DET CHIP NAME = 'CCD42' / chip name",
    "COMMENT first comment",
    "HISTORY step one",
    "COMMENT second comment",
    "",
    "GAIN    =                 5.22 / first gain",
    "GAIN    =                 9.99 / a duplicate",
    "LONGSTR = 'This is a long string value that is continued over &'",
    "CONTINUE  'more than one card&'",
    "CONTINUE  '' / and a comment",
    "AFTER   =                    T",
)


@pytest.fixture
def header() -> Header:
    return parse_header(block(SAMPLE + END))


def test_cards_in_order(header: Header) -> None:
    keywords = [card.keyword for card in header.cards]
    assert keywords == [
        "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "PCOUNT", "GCOUNT", "EXTNAME",
        "CRVAL1", "CPLX", "UNDEF", "ESO DET CHIP NAME", "COMMENT", "HISTORY", "COMMENT", "",
        "GAIN", "GAIN", "LONGSTR", "AFTER",
    ]  # fmt: skip
    assert all(card.problem is None for card in header.cards)
    long = header.cards[18]
    assert long.value == "This is a long string value that is continued over more than one card"
    assert long.comment == "and a comment"
    assert len(long.image) == 240


def test_every_card_as_astropy_reads_it(header: Header) -> None:
    ref = astropy_header(SAMPLE + END)
    assert len(ref) == len(header.cards)
    for ours, theirs in zip(header.cards, ref, strict=True):
        assert ours.keyword == theirs.keyword
        assert same_value(ours.value, theirs.value), (ours, theirs)
        assert ours.comment == theirs.comment


def test_raw_and_end(header: Header) -> None:
    assert header.ended
    assert header.raw == (SAMPLE + END).encode()  # END included, padding not
    assert len(header.raw) % 80 == 0


def test_bytes_after_end_are_ignored() -> None:
    data = cards("NAXIS   =                    0") + END + cards("NAXIS   =                    9")
    header = parse_header(data.encode() + b"\x00\xff garbage")
    assert header["NAXIS"] == 0
    assert len(header.cards) == 1
    assert header.raw == (cards("NAXIS   =                    0") + END).encode()


def test_no_end_parses_to_the_end_of_data() -> None:
    data = (
        cards("NAXIS   =                    2", "NAXIS1  =                   10") + "NAX"
    ).encode()
    header = parse_header(data)
    assert not header.ended
    assert header.raw == data
    assert [c.keyword for c in header.cards] == ["NAXIS", "NAXIS1", "NAX"]
    assert header.cards[2].image == "NAX".ljust(80)  # the partial card, padded


@pytest.mark.parametrize("end", ["END", "END     / damaged", "END" + " " * 77])
def test_end_variants(end: str) -> None:
    header = parse_header(cards("NAXIS   =                    0", end, "JUNK    = 1").encode())
    assert header.ended and list(header) == ["NAXIS"]


def test_end_inside_a_card_does_not_end() -> None:
    header = parse_header(block(cards("EXTEND  =                    T", "BACKEND = 'END'") + END))
    assert header["BACKEND"] == "END"
    assert header["EXTEND"] is True


def test_empty_header() -> None:
    header = parse_header(END.encode())
    assert header.ended and header.cards == () and len(header) == 0 and dict(header) == {}
    assert parse_header(b"").cards == ()


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_buffer_types(kind: type) -> None:
    data = block(SAMPLE + END)
    header = parse_header(kind(data))
    assert header["NAXIS1"] == 2136
    assert header.raw == (SAMPLE + END).encode()


def test_lookups(header: Header) -> None:
    assert header["NAXIS1"] == 2136
    assert header["naxis1"] == 2136
    assert header[" NAXIS1 "] == 2136
    assert header["CRVAL1"] == 325.5847617233
    assert header["CPLX"] == 1.5 - 2.0j
    assert header["UNDEF"] is None and "UNDEF" in header
    assert header["ESO DET CHIP NAME"] == "CCD42"
    assert header["HIERARCH ESO DET CHIP NAME"] == "CCD42"
    assert header["eso det chip name"] == "CCD42"
    assert "MISSING" not in header and 5 not in header  # type: ignore[comparison-overlap]
    assert header.get("MISSING") is None and header.get("MISSING", 7) == 7
    assert header.get("naxis") == 2
    with pytest.raises(KeyError):
        header["MISSING"]


def test_duplicates_first_wins(header: Header) -> None:
    assert header["GAIN"] == 5.22
    assert header.get_all("GAIN") == [5.22, 9.99]
    assert header.get_all("gain") == [5.22, 9.99]
    assert header.get_all("MISSING") == []
    with quiet_astropy():
        assert fits.Header.fromstring(SAMPLE + END)["GAIN"] == 5.22  # as astropy does


def test_commentary_gives_lists(header: Header) -> None:
    assert header["COMMENT"] == ["first comment", "second comment"]
    assert header["HISTORY"] == ["step one"]
    assert header[""] == [""]
    assert header.get_all("COMMENT") == header["comment"]


def test_iteration_and_len(header: Header) -> None:
    keys = list(header)
    assert keys == [
        "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "PCOUNT", "GCOUNT", "EXTNAME",
        "CRVAL1", "CPLX", "UNDEF", "ESO DET CHIP NAME", "COMMENT", "HISTORY", "", "GAIN",
        "LONGSTR", "AFTER",
    ]  # fmt: skip
    assert len(header) == len(keys)
    assert dict(header)["GAIN"] == 5.22


def test_to_dict(header: Header) -> None:
    d = header.to_dict()
    assert d["NAXIS2"] == 2078
    assert d["CPLX"] == [1.5, -2.0]
    assert d["UNDEF"] is None
    assert d["COMMENT"] == ["first comment", "second comment"]
    assert d["HISTORY"] == ["step one"]
    assert "" not in d  # a blank card with no text is padding
    assert d["GAIN"] == 5.22
    assert d["ESO DET CHIP NAME"] == "CCD42"
    assert d["LONGSTR"].endswith("more than one card")
    assert list(d) == [k for k in header if k]  # the mapping's order, blank key aside
    assert json.loads(json.dumps(d)) == d


def test_to_dict_keeps_blank_keyword_text() -> None:
    header = parse_header(cards("        some text", "", "A       = 1").encode())
    assert header.to_dict() == {"": ["some text"], "A": 1}


def test_to_astropy(header: Header) -> None:
    with quiet_astropy():
        theirs = header.to_astropy()
        assert isinstance(theirs, fits.Header)
        assert theirs["NAXIS1"] == 2136
        assert theirs["ESO DET CHIP NAME"] == "CCD42"
        assert len(theirs) == len(header.cards)
    assert header.to_astropy() is theirs  # cached


def test_lookups_before_and_after_reading_everything() -> None:
    data = block(SAMPLE + END)
    lazy = parse_header(data)
    early = {key: lazy[key] for key in ("NAXIS2", "LONGSTR", "COMMENT", "ESO DET CHIP NAME")}
    eager = parse_header(data)
    eager.cards  # noqa: B018 - reads every card
    assert early == {key: eager[key] for key in early}
    assert lazy.cards == eager.cards
    assert lazy == eager  # Mapping equality


def test_same_result_when_prefix_tables_are_cleared() -> None:
    data = block(SAMPLE + END)
    before = parse_header(data).cards
    header = parse_header(data)
    cards_module._KEYWORDS.clear()
    cards_module._STANDARD.clear()
    cards_module._TEXT.clear()
    assert header.cards == before
    assert parse_header(data).cards == before


def test_bad_cards_are_kept_and_flagged() -> None:
    text = cards(
        "SIMPLE  =                    T",
        "BADSTR  = 'no closing quote",
        "lower   = 5",
        "BINARY  = '\x00\x01'",
        "NUMBER  = 1.2.3 / comment",
        "NAXIS   =                    0",
    )
    header = parse_header(text.encode("latin-1") + END.encode())
    flagged = {card.keyword: card.problem for card in header.cards if card.problem}
    assert set(flagged) == {"BADSTR", "LOWER", "BINARY", "NUMBER"}
    assert header["NAXIS"] == 0 and header["LOWER"] == 5
    assert header["NUMBER"] == "1.2.3"
    assert header["BINARY"] == "\x00\x01"
    assert header.cards[4].comment == "comment"


def test_keywords_and_card_images_without_reading_values() -> None:
    bad = cards("BADSTR  = 'no closing quote", "BINARY  = '\x00\x01'", "NUMBER  = 1.2.3 / c")
    for text in (SAMPLE, SAMPLE + bad):
        header = parse_header(text.encode("latin-1") + END.encode())
        n = len(header.cards)
        assert header.keywords == tuple(card.keyword for card in header.cards)
        for j, card in enumerate(header.cards):
            image = header.card_images(j, j + 1)
            assert image == card.image  # a long string with its CONTINUE cards
            assert same_value(card_value(image), card.value), card
        assert header.card_images(0, n) == text  # all of them, as they are
    # Values read card by card are the lookups' values, whichever is read first.
    header = parse_header(block(SAMPLE + END))
    assert card_value(header.card_images(17, 18)) == 9.99 and header["GAIN"] == 5.22


def test_pickle_round_trip(header: Header) -> None:
    again = pickle.loads(pickle.dumps(header))
    assert isinstance(again, Header)
    assert again.raw == header.raw and again.cards == header.cards


def test_repr(header: Header) -> None:
    assert repr(header) == "<Header 20 cards, XTENSION='IMAGE'>"
    assert repr(parse_header(b"A       = 1")) == "<Header 1 card, A=1, no END>"


def test_continue_as_first_card() -> None:
    header = parse_header((cards("CONTINUE  'abc&'", "CONTINUE  'def'") + END).encode())
    assert len(header.cards) == 1
    assert header.cards[0].keyword == "CONTINUE"
    assert header.cards[0].problem is not None
    assert astropy_header(cards("CONTINUE  'abc&'", "CONTINUE  'def'") + END)[0].keyword == (
        "CONTINUE"
    )


def test_large_header() -> None:
    text = cards(*(f"KEY{i:05d}= {i:20d} / card {i}" for i in range(3000))) + END
    header = parse_header(block(text))
    assert len(header.cards) == 3000
    assert header["KEY02999"] == 2999
    assert header.to_dict()["KEY01234"] == 1234


def test_fits_core_imports_only_the_standard_library() -> None:
    # Loaded under a bare parent package (the real one imports the I/O side on purpose).
    package = Path(cards_module.__file__).parents[1]
    code = (
        "import sys, types\n"
        "pkg = types.ModuleType('astro_cloud_async')\n"
        f"pkg.__path__ = [{str(package)!r}]\n"
        "sys.modules['astro_cloud_async'] = pkg\n"
        "import astro_cloud_async.fits as f\n"
        "h = f.parse_header(b'NAXIS   =                    0' + b' ' * 50 + b'END')\n"
        "assert h['NAXIS'] == 0\n"
        "print(sorted({'asyncio', 'aiohttp', 'aiobotocore', 'astropy', 'numpy'}"
        " & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("non_ascii", [False, True], ids=["ascii", "non-ascii"])
@pytest.mark.parametrize("exact_later", [True, False], ids=["exact-later", "no-exact"])
@pytest.mark.parametrize(
    "damaged", ["END/junk", "END     = 5", "END=", "END     junk", "END     X"]
)
def test_end_rule_is_astropy_open_rule(damaged: str, exact_later: bool, non_ascii: bool) -> None:
    # astropy.io.fits.open stops at the first exact END card; a damaged one ends the header
    # only when its fallback reader runs (no exact END follows, or a non-ASCII byte comes first).
    first = cards(
        "SIMPLE  =                    T",
        "BITPIX  =                    8",
        "NAXIS   =                    0",
        "NOTE    = 'caf\xe9'" if non_ascii else "NOTE    = 'cafe'",
        damaged,
        "MIDDLE  =                    1",
    )
    data = block(first)
    if exact_later:
        data += block(cards("LATER   =                    2") + END)
    header = parse_header(data)
    with quiet_astropy(), fits.open(io.BytesIO(data)) as hdul:
        data_offset = hdul[0]._data_offset
    assert header.ended
    assert padded(len(header.raw)) == data_offset  # the same END card, so the same blocks
    if exact_later and not non_ascii:
        assert header["MIDDLE"] == 1 and header["LATER"] == 2
    else:
        assert "MIDDLE" not in header


def test_hierarch_prefix_is_never_cached() -> None:
    # Same first ten bytes, different keywords: HIERARCH keywords come from the whole card.
    first = parse_header(cards("HIERARCH E 0 without a value indicator").encode())
    second = parse_header(cards("HIERARCH E 0 = 5").encode())
    assert first.cards[0].keyword == "HIERARCH"
    assert (second.cards[0].keyword, second["E 0"]) == ("E 0", 5)


def test_long_string_starting_with_continue() -> None:
    text = cards("CONTINUE  'ab&'", "CONTINUE  'cd'") + END
    card = parse_header(text.encode()).cards[0]
    assert (card.keyword, card.value) == ("CONTINUE", "abcd")
    assert astropy_header(text)[0].value == "abcd"
