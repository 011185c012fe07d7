"""Hostile input through the FITS core: only the package's typed errors ever come out.

Properties, each over random bytes and over mutated real objects (see fuzz_inputs):

* ``parse_card`` and ``parse_header`` never raise, and everything a header offers (cards,
  mapping, ``to_dict``, ``repr``) works on what they return;
* ``walk_bytes`` and the :class:`Walker` raise nothing but :class:`AstroCloudError` subclasses,
  and the HDUs they give are consistent (block-aligned, contiguous, truncation as the size says);
* the read policy does not change the answer: any ``first_read``/``next_read`` gives the HDUs of
  the default policy, and so does a walk that is never told the object's size (offsets and
  sizes; what a walk without the size can know of truncation is tested in test_fuzz_limits).

``FUZZ_EXAMPLES`` sets the examples per property (default 300; the long runs quoted in
docs/reliability.md used more).
"""

from __future__ import annotations

import os

from fuzz_inputs import card_images, mutated_object
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from astro_cloud_async.errors import AstroCloudError, FITSError
from astro_cloud_async.fits import (
    BLOCK,
    HDU,
    Card,
    EndOfObject,
    Header,
    NeedData,
    Walker,
    parse_card,
    parse_header,
    walk_bytes,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _use(header: Header) -> None:
    """Touch everything a header offers; any exception fails the test."""
    cards = header.cards
    assert all(isinstance(c, Card) and len(c.image) % 80 == 0 for c in cards)
    assert all(c.problem is None or isinstance(c.problem, str) for c in cards)
    assert isinstance(header.to_dict(), dict)
    for key in header:
        header.get(key)
        header.get_all(key)
        assert key in header
    assert len(header) <= len(cards)
    assert isinstance(repr(header), str)
    assert header.get("NO-SUCH-KEYWORD-HERE") is None


def _check_hdus(hdus: list[HDU], size: int | None) -> None:
    """What every walk result must satisfy."""
    pos = 0
    for i, hdu in enumerate(hdus):
        assert hdu.index == i
        assert hdu.header_offset == pos and pos % BLOCK == 0
        assert hdu.data_offset > hdu.header_offset and hdu.data_offset % BLOCK == 0
        assert hdu.data_size >= 0
        assert hdu.header.ended
        if i < len(hdus) - 1:
            assert hdu.trailing_bytes == 0
        if size is not None:
            assert hdu.truncated == (hdu.data_offset + hdu.data_size > size)
        pos = hdu.end


# --- cards and headers --------------------------------------------------------------------


LATIN1 = st.characters(max_codepoint=255)


@FUZZ
@given(st.binary(max_size=400) | st.text(LATIN1, max_size=400))
def test_parse_card_never_raises(image: bytes | str) -> None:
    card = parse_card(image)
    assert isinstance(card, Card)
    assert len(card.image) % 80 == 0 and len(card.image) >= 80
    assert isinstance(card.keyword, str) and isinstance(card.comment, str)
    assert isinstance(card.is_commentary, bool)


def test_parse_card_of_text_beyond_latin1_does_not_raise() -> None:
    # parse_card(str) is documented never to raise; FITS text is ASCII, so a character that
    # latin-1 cannot encode is simply not printable ASCII and must be flagged, not raised.
    for image in ("OBJECT  = 'M31 \u2013 core'", "\u0100BJECT  = 1", "COMMENT \u2603"):
        card = parse_card(image)
        assert card.problem is not None, image


@FUZZ
@given(card_images() | st.binary(max_size=8000))
def test_parse_header_never_raises(data: bytes) -> None:
    header = parse_header(data)
    assert header.raw == data[: len(header.raw)]
    _use(header)


@FUZZ
@given(mutated_object())
def test_parse_header_of_mutated_objects(data: bytes) -> None:
    _use(parse_header(data[: 20 * BLOCK]))


# --- walking ------------------------------------------------------------------------------


def _walk(data: bytes, **options: int) -> list[HDU] | type[AstroCloudError]:
    try:
        hdus = walk_bytes(data, **options)
    except AstroCloudError as err:
        assert isinstance(err, FITSError), repr(err)
        assert err.offset is None or 0 <= err.offset <= max(len(data), 0) + 2**60
        return type(err)
    _check_hdus(hdus, len(data))
    return hdus


@FUZZ
@given(st.binary(max_size=6000))
def test_walk_random_bytes(data: bytes) -> None:
    _walk(data)


@FUZZ
@given(st.binary(max_size=6000).map(lambda tail: b"SIMPLE  =                    T" + tail))
def test_walk_random_bytes_after_a_simple_card(data: bytes) -> None:
    _walk(data)


@FUZZ
@given(mutated_object())
def test_walk_mutated_objects(data: bytes) -> None:
    result = _walk(data)
    if isinstance(result, list):
        for hdu in result:
            _use(hdu.header)


def _layout(result: list[HDU] | type[AstroCloudError]) -> object:
    if isinstance(result, list):
        return [(h.header_offset, h.data_offset, h.data_size, h.truncated) for h in result]
    return result


@FUZZ
@given(mutated_object(), st.integers(1, 40 * BLOCK), st.integers(1, 20 * BLOCK))
def test_read_policy_does_not_change_the_answer(data: bytes, first: int, nxt: int) -> None:
    assert _layout(_walk(data, first_read=first, next_read=nxt)) == _layout(_walk(data))


def _walk_without_size(data: bytes) -> list[HDU] | type[AstroCloudError]:
    """Feed exactly what is asked, never saying how large the object is."""
    walker = Walker()
    hdus: list[HDU] = []
    try:
        while True:
            event = walker.next_event()
            if isinstance(event, NeedData):
                assert 0 <= event.start < event.end
                walker.feed(event.start, data[event.start : event.end])
            elif isinstance(event, HDU):
                hdus.append(event)
            else:
                assert isinstance(event, EndOfObject)
                assert event.hdu_count == len(hdus)
                return hdus
    except AstroCloudError as err:
        assert isinstance(err, FITSError), repr(err)
        return type(err)


@FUZZ
@given(mutated_object())
def test_walk_without_the_size_finds_the_same_hdus(data: bytes) -> None:
    known = _walk(data)
    unknown = _walk_without_size(data)
    if isinstance(known, list) and isinstance(unknown, list):
        _check_hdus(unknown, None)
        assert [(h.header_offset, h.data_offset, h.data_size) for h in unknown] == [
            (h.header_offset, h.data_offset, h.data_size) for h in known
        ]
    else:
        assert known == unknown
