"""Single cards: every card form of the standard, with the expected reading written out, and
checked against astropy's reading of the same image."""

from __future__ import annotations

import dataclasses
import math
import pickle

import pytest
from fits_reference import astropy_card, same_value

from astro_cloud_async.fits import cards
from astro_cloud_async.fits.cards import Card, is_end_card, parse_card

# image, keyword, value, comment: standard cards, read identically by astropy.
STANDARD = [
    # logical, fixed and free format
    (
        "SIMPLE  =                    T / conforms to FITS standard",
        "SIMPLE",
        True,
        "conforms to FITS standard",
    ),
    ("EXTEND  = F", "EXTEND", False, ""),
    # integers of any size; a sign and leading zeros are allowed
    ("BITPIX  =                  -32 / array data type", "BITPIX", -32, "array data type"),
    ("NAXIS1  =                 2136", "NAXIS1", 2136, ""),
    ("PCOUNT  = +0", "PCOUNT", 0, ""),
    ("EXPID   = 000123", "EXPID", 123, ""),
    (
        "BIGINT  = 123456789012345678901234567890123456789012",
        "BIGINT",
        123456789012345678901234567890123456789012,
        "",
    ),
    # floats in every legal form
    ("ONE     =                   1. / trailing point", "ONE", 1.0, "trailing point"),
    ("HALF    = .5", "HALF", 0.5, ""),
    ("NEGEXP  = -1E3", "NEGEXP", -1000.0, ""),
    ("DEXP    = 1.0D+02", "DEXP", 100.0, ""),
    ("SMALL   = +.5E-3", "SMALL", 0.0005, ""),
    ("NEGZERO = -0.0", "NEGZERO", -0.0, ""),
    ("AVOGAD  =       6.02214076E+23", "AVOGAD", 6.02214076e23, ""),
    ("NOFRAC  = 1.E5", "NOFRAC", 100000.0, ""),
    (
        "CRVAL1  =     259.834437516069 / [deg] RA at CRPIX1",
        "CRVAL1",
        259.834437516069,
        "[deg] RA at CRPIX1",
    ),
    # complex, of ints or floats
    ("CPLXI   = (1, 2)", "CPLXI", 1 + 2j, ""),
    ("CPLXF   =          (1.5, -2.5E3) / complex", "CPLXF", 1.5 - 2500j, "complex"),
    ("CPLXD   = (1.0D2,3)", "CPLXD", 100 + 3j, ""),
    # strings: '' escapes, trailing spaces not significant, leading ones kept
    ("OBJECT  = 'NGC 1234'           / name", "OBJECT", "NGC 1234", "name"),
    ("QUOTE   = 'it''s'", "QUOTE", "it's", ""),
    ("OHARA   = 'O''HARA'", "OHARA", "O'HARA", ""),
    ("ONLYQ   = ''''", "ONLYQ", "'", ""),
    ("EMPTY   = ''", "EMPTY", "", ""),
    ("BLANKS  = '   '", "BLANKS", "", ""),
    ("LEAD    = '  lead' / leading spaces kept", "LEAD", "  lead", "leading spaces kept"),
    ("SLASH   = 'a/b' / c", "SLASH", "a/b", "c"),
    ("DATE-OBS= '2019-08-14T20:26:58.430Z'", "DATE-OBS", "2019-08-14T20:26:58.430Z", ""),
    ("FULL    = '" + "x" * 68 + "'", "FULL", "x" * 68, ""),
    # undefined values
    ("UNDEF   =", "UNDEF", None, ""),
    ("UNDEFC  =                      / no value", "UNDEFC", None, "no value"),
    # comments
    ("NOSPACE = 5/comment", "NOSPACE", 5, "comment"),
    ("EMPTYC  = 5 /", "EMPTYC", 5, ""),
    ("QCOMM   = 5 / it's a 'quoted' / comment", "QCOMM", 5, "it's a 'quoted' / comment"),
    # commentary cards: the text from column 9, trailing spaces dropped
    ("COMMENT   This is a comment", "COMMENT", "  This is a comment", ""),
    ("HISTORY step 1: done", "HISTORY", "step 1: done", ""),
    ("          blank keyword text", "", "  blank keyword text", ""),
    ("", "", "", ""),
    ("TELESCOP HST", "TELESCOP", " HST", ""),
    ("COMMENT = 'not a value'", "COMMENT", "= 'not a value'", ""),
    # HIERARCH: the keyword as astropy gives it, the value parsed
    ("HIERARCH ESO DET CHIP NAME = 'CCD42' / chip", "ESO DET CHIP NAME", "CCD42", "chip"),
    ("HIERARCH ESO TEL AIRM START = 1.234", "ESO TEL AIRM START", 1.234, ""),
    ("HIERARCH short = T", "short", True, ""),
    ("HIERARCH ESO det = 5", "ESO det", 5, ""),
]

# image, keyword, value (our best reading), comment, expected words in ``problem``.
NON_STANDARD = [
    ("KEY     = 'abc", "KEY", "'abc", "", "unparsable value"),
    ("KEY     = 'abc / note", "KEY", "'abc", "note", "unparsable value"),
    ("key     = 5", "KEY", 5, "", "lower-case keyword"),
    ("KEY= 5", "KEY", 5, "", "value indicator not in columns 9-10"),
    ("AB= CD  = 5", "AB", "CD  = 5", "", "value indicator not in columns 9-10"),
    ("  KEY   = 5", "KEY", 5, "", "not left-justified"),
    ("KEY     = 1.2.3", "KEY", "1.2.3", "", "unparsable value"),
    ("KEY     = TRUE", "KEY", "TRUE", "", "unparsable value"),
    ("KEY     = 'abc' junk", "KEY", "'abc' junk", "", "unparsable value"),
    ("KEY     = 'caf\xe9'", "KEY", "caf\xe9", "", "non-ASCII"),
    ("KEY     = 5\t/ tab", "KEY", "5", "tab", "non-printable"),
    ("KEY     = 5 / caf\xe9", "KEY", 5, "caf\xe9", "non-ASCII"),
    ("KEY     = 'abc'def'", "KEY", "abc'def", "", "unescaped quote"),
    ("LOWD    = 1.0d+02", "LOWD", 100.0, "", "lower-case exponent"),
    ("LOWE    = 2.5e-3", "LOWE", 0.0025, "", "lower-case exponent"),
    ("KEY     = - 5", "KEY", -5, "", "non-standard value"),
    ("KEY     = 1 E 5", "KEY", 100000.0, "", "non-standard value"),
    ("MY KEY  = 5", "MY KEY", 5, "", "illegal keyword"),
    ("KEY!    = 5", "KEY!", 5, "", "illegal keyword"),
    ("comment lower-case commentary", "COMMENT", "lower-case commentary", "", "lower-case"),
    ("CONTINUE  'orphan'", "CONTINUE", "orphan", "", "without a string to continue"),
    ("END     X", "END", "X", "", "END card with text"),
]


def pad(image: str) -> str:
    return image.ljust(80)


@pytest.mark.parametrize(("image", "keyword", "value", "comment"), STANDARD)
def test_standard_card(image: str, keyword: str, value: object, comment: str) -> None:
    card = parse_card(image)
    assert card.keyword == keyword
    assert same_value(card.value, value), (card.value, value)
    assert card.comment == comment
    assert card.problem is None
    assert card.image == pad(image)


@pytest.mark.parametrize(("image", "keyword", "value", "comment"), STANDARD)
def test_standard_card_as_astropy_reads_it(
    image: str, keyword: str, value: object, comment: str
) -> None:
    ref = astropy_card(image)
    assert (ref.keyword, ref.comment) == (keyword, comment)
    assert same_value(ref.value, value), (ref.value, value)


@pytest.mark.parametrize(("image", "keyword", "value", "comment", "problem"), NON_STANDARD)
def test_non_standard_card_is_read_and_flagged(
    image: str, keyword: str, value: object, comment: str, problem: str
) -> None:
    card = parse_card(image)
    assert card.keyword == keyword
    assert same_value(card.value, value), (card.value, value)
    assert card.comment == comment
    assert card.problem is not None and problem in card.problem, card.problem
    # astropy reads the same keyword; where it can read the value, it reads ours.
    ref = astropy_card(image)
    assert ref.keyword == keyword
    if ref.readable:
        assert same_value(ref.value, value) and ref.comment == comment


def test_astropy_string_bug_is_not_copied() -> None:
    # A doubled quote followed by ' /' inside a string: astropy's regex closes the string
    # there; the standard (and we) read the whole string.
    image = "KEY     = 'a'' / b' / c"
    card = parse_card(image)
    assert (card.value, card.comment, card.problem) == ("a' / b", "c", None)
    assert (astropy_card(image).value, astropy_card(image).comment) == ("a'", "b' / c")


def test_astropy_empty_string_bug_is_not_copied() -> None:
    # astropy's regex tries "one or more characters" before "empty", so an empty string
    # followed by a quoted comment becomes a string running up to the last quote.
    image = "KEY     = '' / it is 'quoted'"
    card = parse_card(image)
    assert (card.value, card.comment, card.problem) == ("", "it is 'quoted'", None)
    assert astropy_card(image).value == "' / it is 'quoted"


def test_record_valued_card_is_a_plain_string_card() -> None:
    card = parse_card("DP1     = 'AXIS.1: 1' / distortion")
    assert (card.keyword, card.value, card.comment, card.problem) == (
        "DP1",
        "AXIS.1: 1",
        "distortion",
        None,
    )


@pytest.mark.parametrize(("image", "keyword", "value", "comment"), STANDARD)
def test_fast_and_general_readers_agree(
    image: str, keyword: str, value: object, comment: str
) -> None:
    padded = pad(image)
    fast = cards.read_card(padded, True)
    general = cards._read_general(padded)
    assert fast[0] == general[0] == keyword
    assert same_value(fast[1], general[1])
    assert fast[2:] == general[2:] == (comment, None)


def test_bytes_and_short_images_are_padded() -> None:
    card = parse_card(b"NAXIS   =                    2")
    assert (card.keyword, card.value) == ("NAXIS", 2)
    assert len(card.image) == 80


def test_long_string_image() -> None:
    image = (
        pad("LONGSTR = 'This is a long string value that is continued over &'")
        + pad("CONTINUE  'more than one card&'")
        + pad("CONTINUE  '' / and a comment")
    )
    card = parse_card(image)
    assert card.keyword == "LONGSTR"
    assert card.value == "This is a long string value that is continued over more than one card"
    assert card.comment == "and a comment"
    assert card.problem is None
    assert card.image == image
    ref = astropy_card(image)
    assert (ref.keyword, ref.value, ref.comment) == (card.keyword, card.value, card.comment)


def test_long_string_without_ampersand_is_joined_and_flagged() -> None:
    image = pad("KEY     = 'abc'") + pad("CONTINUE  'def'")
    card = parse_card(image)
    assert card.value == "abcdef"  # as astropy joins it
    assert card.problem is not None and "not ending in '&'" in card.problem
    assert astropy_card(image).value == "abcdef"


def test_continue_after_a_number_keeps_the_number() -> None:
    card = parse_card(pad("KEY     = 5 / five") + pad("CONTINUE  'x'"))
    assert (card.value, card.comment) == (5, "five")
    assert card.problem is not None and "non-string" in card.problem
    assert not astropy_card(pad("KEY     = 5 / five") + pad("CONTINUE  'x'")).readable


def test_continue_after_commentary_is_text() -> None:
    image = pad("COMMENT first part") + pad("CONTINUE  'second'")
    card = parse_card(image)
    assert card.keyword == "COMMENT"
    assert card.value == image[8:].rstrip() == astropy_card(image).value
    assert card.problem is not None


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("END", True),
        ("END" + " " * 77, True),
        ("END     / damaged", True),  # astropy repairs these
        ("END     = 5", True),
        ("END     junk in lower case", True),
        ("END     X", True),  # astropy's pattern is met by the space after END
        ("END/x", True),
        ("ENDX", False),
        ("END_X", False),
        ("END1", False),
        ("ENDING  = 5", False),
        ("EXTEND  =                    T", False),
        ("   END", False),
    ],
)
def test_is_end_card(image: str, expected: bool) -> None:
    assert is_end_card(pad(image)) is expected


def test_card_is_a_frozen_slotted_value() -> None:
    card = parse_card("NAXIS   =                    2 / axes")
    assert type(card) is Card
    assert card == Card("NAXIS", 2, "axes", pad("NAXIS   =                    2 / axes"))
    assert hash(card) == hash(Card("NAXIS", 2, "axes", card.image))
    assert not hasattr(card, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.value = 3  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(card)) == card


def test_card_builder_matches_card_layout() -> None:
    # Cards are built through a mutable twin and re-classed; the two must stay in step.
    assert cards._CardBuilder.__slots__ == Card.__slots__
    assert [f.name for f in dataclasses.fields(cards._CardBuilder)] == [
        f.name for f in dataclasses.fields(Card)
    ]


@pytest.mark.parametrize(
    ("image", "commentary"),
    [
        ("COMMENT text", True),
        ("HISTORY text", True),
        ("        text", True),
        ("TELESCOP HST", True),
        ("NAXIS   =                    2", False),
        ("HIERARCH ESO DET = 5", False),
        ("KEY= 5", False),
    ],
)
def test_is_commentary(image: str, commentary: bool) -> None:
    assert parse_card(image).is_commentary is commentary


@pytest.mark.parametrize(
    "image",
    [
        "\x00" * 80,
        "\xff" * 80,
        "=" * 80,
        "'" * 80,
        "KEY     = '" + "'" * 69,
        "HIERARCH",
        "HIERARCH = ",
        "HIERARCH " + "=" * 71,
        "hierarch eso det = 5",
        "CONTINUE",
        "KEY     = (1, ",
        "KEY     = ()",
        "KEY     = " + "9" * 70,
        "KEY     = 1E99999",
    ],
)
def test_garbage_never_raises(image: str) -> None:
    card = parse_card(image)
    assert isinstance(card, Card)
    assert card.keyword == astropy_card(image).keyword


def test_overflowing_numbers_read_as_astropy_does() -> None:
    assert parse_card("BIG     = 1D400").value == math.inf
    card = parse_card("CBIG    = (1D400, 1D400)")
    ref = astropy_card("CBIG    = (1D400, 1D400)")
    assert isinstance(card.value, complex) and math.isinf(card.value.imag)
    assert same_value(card.value, ref.value)  # inf + inf*1j is nan+infj, in astropy too


def test_hierarch_with_its_equals_sign_in_a_continue_card() -> None:
    image = pad("HIERARCH A B") + pad("CONTINUE= 'x'")
    card = parse_card(image)
    assert card.keyword == astropy_card(image).keyword  # astropy looks for '=' in all of it
    assert card.problem is not None


def test_continue_piece_is_read_after_the_first_space() -> None:
    image = pad("KEY     = 'ab&'") + pad("CONTINUE= 'cd'")
    card = parse_card(image)
    assert card.value == astropy_card(image).value == "abcd"
    assert card.problem is not None and "columns 9-10" in card.problem
