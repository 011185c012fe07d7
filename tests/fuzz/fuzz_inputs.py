"""Seed objects and hypothesis strategies for fuzzing the FITS core with hostile input.

Strategy: random bytes alone rarely get past the first card, so most examples start from real
FITS objects (astropy's own test files and this package's samples) and apply a few mutations
that target what a walker trusts: flipped bytes, truncation, forged structural values (BITPIX,
NAXIS, NAXISn, PCOUNT, GCOUNT) including huge, negative, non-integer and non-numeric ones, a
missing or damaged END card, spliced-in cards (CONTINUE, HIERARCH, a second XTENSION, END),
repeated cards (long headers) and garbage after the last HDU. Mutations are drawn by
hypothesis, so a failure shrinks to a small, reproducible recipe.
"""

from __future__ import annotations

import glob
import os
import tempfile
from functools import cache
from pathlib import Path

from astropy.io import fits
from hypothesis import strategies as st

from astro_cloud_async.demo.survey import write_test_corpus

__all__ = ["FORGED_VALUES", "card", "card_images", "mutated_object", "seed_objects"]

_CORPUS_NAMES = (
    "table",
    "random_groups",
    "compressed",
    "ascii_table",
    "truncated",
    "unpadded",
    "trailing_garbage",
)
_HEAD_ONLY = ("tess_1", "mosaic")
STRUCTURAL = (
    b"SIMPLE",
    b"XTENSION",
    b"BITPIX",
    b"NAXIS",
    b"NAXIS1",
    b"NAXIS2",
    b"NAXIS3",
    b"PCOUNT",
    b"GCOUNT",
    b"GROUPS",
    b"END",
    b"EXTEND",
    b"THEAP",
    b"ZIMAGE",
)
FORGED_VALUES = (
    b"-1",
    b"0",
    b"1",
    b"999",
    b"1000",
    b"-2147483648",
    b"4294967296",
    b"1125899906842624",  # 2**50: the data-size bound
    b"99999999999999999999999999999999999999999999999999",
    b"1.5",
    b"2.0",
    b"1E400",
    b"-1E400",
    b"NAN",
    b"'abc'",
    b"''",
    b"T",
    b"F",
    b"(1, 2)",
    b"1D3",
    b"0x10",
    b"1_000",
    b"",
    b"/ no value",
    b"8 8",
    b"+-8",
)


@cache
def seed_objects() -> tuple[bytes, ...]:
    """Real objects: every FITS file of astropy's test data, and the sample corpus.

    The large samples are sparse; only their first 64 kB (all headers) are kept."""
    seeds = []
    data = os.path.join(os.path.dirname(fits.__file__), "tests", "data")
    for path in sorted(glob.glob(os.path.join(data, "**", "*.fits"), recursive=True)):
        seeds.append(Path(path).read_bytes())
    with tempfile.TemporaryDirectory() as tmp:
        corpus = write_test_corpus(tmp)
        for name in _CORPUS_NAMES:
            seeds.append(corpus[name].read_bytes())
        for name in _HEAD_ONLY:
            with open(corpus[name], "rb") as f:
                seeds.append(f.read(64 * 1024))
    return tuple(seeds)


def card(keyword: bytes, value: bytes) -> bytes:
    """An 80-byte card image ``KEYWORD = value`` (value right-justified to column 30)."""
    return (keyword.ljust(8) + b"= " + value.rjust(20)).ljust(80)[:80]


_SPLICED = (
    b"CONTINUE  '&'".ljust(80),
    b"CONTINUE  'tail'".ljust(80),
    b"HIERARCH ESO DET CHIP NAME = 'x' / hierarch".ljust(80),
    b"XTENSION= 'IMAGE   '".ljust(80),
    b"XTENSION= 'BINTABLE'".ljust(80),
    b"SIMPLE  =                    T".ljust(80),
    b"END".ljust(80),
    b"END     x".ljust(80),
    b"COMMENT " + bytes(range(128, 200)),
    b"        " + b"\x00" * 72,
    b"LONGSTR = '" + b"&" * 68 + b"'",
)


@st.composite
def _mutation(draw: st.DrawFn, data: bytearray) -> None:
    """Apply one mutation to ``data`` in place."""
    op = draw(st.sampled_from(("flip", "cut", "forge", "unend", "splice", "repeat", "garbage")))
    n = len(data)
    if op == "flip" and n:
        i = draw(st.integers(0, n - 1))
        data[i] = draw(st.integers(0, 255))
    elif op == "cut" and n:
        del data[draw(st.integers(0, n)) :]
    elif op == "forge":
        keyword = draw(st.sampled_from(STRUCTURAL))
        value = draw(st.sampled_from(FORGED_VALUES) | st.binary(max_size=20))
        starts = [i for i in range(0, n - 79, 80) if data[i : i + 8].rstrip() == keyword]
        if starts:
            i = draw(st.sampled_from(starts))
            data[i : i + 80] = card(keyword, value)
        else:
            at = draw(st.integers(0, n // 80)) * 80
            data[at:at] = card(keyword, value)
    elif op == "unend":
        i = data.find(b"END" + b" " * 77)
        if i >= 0:
            data[i : i + 3] = draw(st.sampled_from((b"   ", b"ENX", b"end", b"END")))
    elif op == "splice":
        at = draw(st.integers(0, n // 80)) * 80
        data[at:at] = draw(st.sampled_from(_SPLICED))
    elif op == "repeat" and n >= 160:
        at = draw(st.integers(1, n // 80 - 1)) * 80
        data[at:at] = bytes(data[at - 80 : at]) * draw(st.integers(1, 200))
    elif op == "garbage":
        data += draw(st.binary(max_size=3000) | st.just(b"\x00" * 2880))


@st.composite
def mutated_object(draw: st.DrawFn, max_mutations: int = 4) -> bytes:
    """A real FITS object with up to ``max_mutations`` hostile mutations."""
    data = bytearray(draw(st.sampled_from(seed_objects())))
    for _ in range(draw(st.integers(0, max_mutations))):
        draw(_mutation(data))
    return bytes(data)


def card_images() -> st.SearchStrategy[bytes]:
    """Headers of 80-byte cards mixing real keywords, forged values and random text."""
    extra = (b"OBJECT", b"COMMENT", b"HISTORY", b"CONTINUE", b"HIERARCH", b"", b"DATE-OBS", b"a b")
    keyword = st.sampled_from((*STRUCTURAL, *extra))
    value = st.sampled_from(FORGED_VALUES) | st.binary(max_size=70)
    one = st.builds(card, keyword, value) | st.binary(min_size=80, max_size=80)
    return st.lists(one, max_size=60).map(b"".join)
