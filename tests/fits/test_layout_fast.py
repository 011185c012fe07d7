"""The data size read straight from a header's bytes agrees with the general reader, always.

``standard_data_size`` answers only for headers whose structural keywords sit where the
standard puts them; these tests build headers near that edge (signs, leading zeros, free-format
values, comments, junk after a value, lower-case or repeated keywords, structural words in
HISTORY) and check that wherever it answers it gives the general reader's size, and that it
does answer for the survey-shaped headers a scan meets most.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from astro_cloud_async.errors import InvalidHeaderError
from astro_cloud_async.fits import header as header_module
from astro_cloud_async.fits.header import Header, _scan_end, find_end, parse_header
from astro_cloud_async.fits.layout import (
    _EXTENSION_ONLY,
    _PRIMARY_ONLY,
    _has_keyword,
    data_size,
    rest_is_data,
    standard_data_size,
)
from astro_cloud_async.fits.walker import walk_file


class _Plain(Mapping[str, object]):
    """A header seen only as a mapping: the general reader, without the raw bytes."""

    def __init__(self, header: Header) -> None:
        self._header = header

    def __getitem__(self, key: str) -> object:
        return self._header[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._header)

    def __len__(self) -> int:
        return len(self._header)


def _general(raw: bytes, max_size: int) -> int | None:
    try:
        return data_size(_Plain(parse_header(raw)), max_size=max_size)
    except InvalidHeaderError:
        return None


def _card(text: str) -> str:
    return text[:80].ljust(80)


def _value_card(keyword: str, value: str, style: str) -> str:
    if style == "fixed":
        return _card(f"{keyword:<8}= {value:>20}")
    if style == "fixed-comment":
        return _card(f"{keyword:<8}= {value:>20} / a comment")
    if style == "free":
        return _card(f"{keyword:<8}= {value} / free format")
    if style == "junk":
        return _card(f"{keyword:<8}= {value:>20} junk")
    return _card(f"{keyword.lower():<8}= {value:>20}")  # "lower"


styles = st.sampled_from(["fixed", "fixed", "fixed", "fixed-comment", "free", "junk", "lower"])
numbers = st.one_of(
    st.integers(min_value=-3, max_value=5000).map(str),
    st.sampled_from(["+16", "-32", "0008", "16.0", "1E3", "1_0", " ", "T", "'8'"]),
)


clean_styles = st.sampled_from(["fixed", "fixed-comment"])
clean_numbers = st.integers(min_value=0, max_value=5000).map(str)


@st.composite
def headers(draw: st.DrawFn) -> bytes:
    """Headers near the edge of the fast reader; half of them plain (it should answer), half
    with something unusual in them."""
    plain = draw(st.booleans())
    style = clean_styles if plain else styles
    number = clean_numbers if plain else numbers
    primary = draw(st.booleans())
    cards = [
        _card("SIMPLE  =                    T")
        if primary
        else _card("XTENSION= 'IMAGE   '           / image extension")
    ]
    bitpix = draw(
        st.sampled_from(["8", "16", "32", "64", "-32", "-64"] + ([] if plain else ["12", "+16"]))
    )
    cards.append(_value_card("BITPIX", bitpix, draw(style)))
    naxis = draw(st.integers(min_value=0, max_value=4))
    cards.append(
        _value_card("NAXIS", draw(st.sampled_from([str(naxis), str(naxis), "-1"])), "fixed")
    )
    for i in range(1, naxis + 1):
        cards.append(_value_card(f"NAXIS{i}", draw(number), draw(style)))
    if not primary or draw(st.booleans()):
        cards.append(_value_card("PCOUNT", draw(number), draw(style)))
        cards.append(_value_card("GCOUNT", draw(st.sampled_from(["1", "1", "2", "0"])), "fixed"))
    extras = draw(
        st.lists(
            st.sampled_from(
                [
                    _card("OBJECT  = 'M31     '"),
                    _card("HISTORY the NAXIS2 value was fixed"),
                    _card("GROUPS  =                    T"),
                    _card("NAXIS3  =                    7"),
                    _card("PCOUNT  =                    9"),
                    _card("COMMENT simple data"),
                    _card("EXPTIME =                 30.0 / seconds"),
                    _card("SIMPLE  =                    T"),
                    _card("  NAXIS2=                    9"),
                    _card("HIERARCH NAXIS = 3"),
                    _card("naxis1  =                   11"),
                    _card("ZNAXIS1 =                   96 / number of groups"),
                ]
            ),
            max_size=4,
        )
    )
    cards.extend(extras if not plain or draw(st.booleans()) else [])
    cards.append(_card("END"))
    return "".join(cards).encode("ascii")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(headers(), st.sampled_from([1 << 50, 10_000]))
def test_answers_only_as_the_general_reader_does(raw: bytes, max_size: int) -> None:
    fast = standard_data_size(raw, max_size=max_size)
    if fast is not None:
        assert fast == _general(raw, max_size)
    try:
        through_data_size: int | None = data_size(parse_header(raw), max_size=max_size)
    except InvalidHeaderError:
        through_data_size = None
    assert through_data_size == _general(raw, max_size)


simple_cards = st.sampled_from(
    [
        "SIMPLE  =                    T",
        "SIMPLE  =                    T / conforms to FITS standard",
        "SIMPLE  =                    F",
        "SIMPLE  =                    T  junk",
        "SIMPLE  =                    TRUE",
        "SIMPLE  = T",
        "SIMPLE  =                    F / not standard",
        "simple  =                    T",
        "XTENSION= 'IMAGE   '",
    ]
)


@settings(max_examples=300, deadline=None)
@given(simple_cards, st.lists(st.sampled_from(["SIMPLE  =                    F", "BITPIX  = 8"])))
def test_rest_is_data_answers_as_the_header_reads(first: str, later: list[str]) -> None:
    raw = "".join(_card(c) for c in [first, *later, "END"]).encode("ascii")
    header = parse_header(raw)
    assert rest_is_data(header) == (header.get("SIMPLE") is False)
    assert rest_is_data(dict(header.items())) == (header.get("SIMPLE") is False)


@pytest.mark.parametrize("name", ["tess_1", "mosaic", "table", "compressed", "ascii_table"])
def test_survey_headers_take_the_fast_way(sample_corpus: dict[str, Path], name: str) -> None:
    hdus = walk_file(sample_corpus[name])
    assert hdus
    for hdu in hdus:
        fast = standard_data_size(hdu.header.raw)
        assert fast == hdu.data_size == _general(hdu.header.raw, 1 << 50)


def test_random_groups_go_to_the_general_reader(sample_corpus: dict[str, Path]) -> None:
    (hdu,) = walk_file(sample_corpus["random_groups"])
    assert standard_data_size(hdu.header.raw) is None
    assert hdu.data_size == _general(hdu.header.raw, 1 << 50) > 0


end_pieces = st.sampled_from(
    [
        _card("END"),
        _card("END / damaged"),
        _card("ENDTIME =                  1.0"),
        _card("EXTEND  =                    T"),
        _card("COMMENT the END of it"),
        _card("HISTORY " + "END" + " " * 69),
        "END" + " " * 40,  # a card cut short
        _card("OBJECT  = 'x'")[:-3] + "END",
        _card("BITPIX  =                    8"),
        "\xe9" + _card("X")[1:],  # not ASCII
    ]
)


@settings(max_examples=2000, deadline=None)
@given(st.lists(end_pieces, max_size=12), st.integers(0, 3), st.integers(0, 200))
def test_find_end_takes_the_card_by_card_answer(pieces: list[str], start: int, cut: int) -> None:
    buf = "".join(pieces).encode("latin-1")
    begin = min(start * 80, len(buf))
    stop = max(begin, len(buf) - cut)
    assert find_end(buf, begin, stop) == _scan_end(buf, begin, stop)
    assert find_end(bytearray(buf)) == _scan_end(buf, 0, len(buf))


@settings(max_examples=1000, deadline=None)
@given(st.lists(end_pieces, max_size=12))
def test_a_header_given_up_to_its_end_card_is_cut_where_find_end_says(pieces: list[str]) -> None:
    buf = ("".join(pieces) + _card("END")).encode("latin-1")
    end = _scan_end(buf, 0, len(buf))
    header = parse_header(buf)
    assert header.ended and header.raw == buf[: end + 80]


@settings(max_examples=500, deadline=None)
@given(st.lists(end_pieces, max_size=12), st.integers(0, 3), st.integers(0, 200))
def test_find_end_in_short_spans_takes_the_card_by_card_answer(
    pieces: list[str], start: int, cut: int
) -> None:
    buf = "".join(pieces).encode("latin-1")
    begin = min(start * 80, len(buf))
    stop = max(begin, len(buf) - cut)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(header_module, "_FIRST_SPAN", 160)  # cards looked at two by two first
        assert find_end(buf, begin, stop) == _scan_end(buf, begin, stop)


@settings(max_examples=1000, deadline=None)
@given(st.lists(end_pieces, max_size=12), st.lists(end_pieces, max_size=4), st.integers(0, 3))
def test_a_header_cut_at_an_exact_end_card_is_the_parsed_header(
    pieces: list[str], after: list[str], start: int
) -> None:
    # As a walker cuts a header: at the END card find_end gives in a buffer holding more bytes.
    buf = ("".join(pieces) + _card("END") + "".join(after)).encode("latin-1")
    begin = min(start * 80, len(buf))
    end = find_end(buf, begin)
    if end < 0 or not buf.startswith(b"END" + b" " * 77, end):
        return
    raw = buf[begin : end + 80]
    cut, parsed = Header._cut(raw), parse_header(raw)
    assert (cut.raw, cut.ended, cut.keywords) == (parsed.raw, parsed.ended, parsed.keywords)
    assert cut.to_dict() == parsed.to_dict()


keyword_fields = st.sampled_from(
    [
        "SIMPLE",
        " SIMPLE",
        "  SIMPLE",
        "simple",
        "SiMpLe",
        "SIMPLEX",
        "SIMDATA",
        "S MPLE",
        "PCOUNT",
        " gcount",
        "  GCOUNT",
        "PCOUNTS",
        "PROCVER",
        "GAIN",
        "HIERARCH",
        "hierarch",
        "HXE",
        "hxe",
        "HISTORY",
        "   P",
        "",
        "END",
    ]
)


def _has_keyword_card_by_card(raw: bytes, start: int, words: tuple[bytes, ...]) -> bool:
    for at in range(start, len(raw) - 79, 80):
        if raw[at] in b"Hh" and raw[at + 2] in b"Ee":
            return True
        if raw[at : at + 8].strip(b" ").upper() in words:
            return True
    return False


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(st.tuples(keyword_fields, st.binary(max_size=3)), max_size=12),
    st.integers(0, 100),
    st.integers(0, 40),
)
def test_has_keyword_takes_the_card_by_card_answer(
    cards: list[tuple[str, bytes]], start: int, tail: int
) -> None:
    raw = b"".join((k.encode().ljust(8)[:10] + junk).ljust(80)[:80] for k, junk in cards)
    raw += b"S" * tail  # a card cut short is not looked at
    for words in (_PRIMARY_ONLY, _EXTENSION_ONLY):
        assert _has_keyword(raw, start, words) == _has_keyword_card_by_card(raw, start, words)
