"""The multipart/byteranges parser, fed bodies as the real servers write them, in every split.

No sockets: the bodies are built here in the three shapes nginx, Apache and Caddy send (seen
on the wire: a leading empty line or none, ``Content-range`` in Apache's case, headers in
either order), then fed whole, a byte at a time and at random cuts. Part data is binary and may
hold the boundary itself: the parser takes lengths from Content-Range, never searches data.
"""

from __future__ import annotations

import random

import pytest

from astro_cloud_async.errors import ResponseError
from astro_cloud_async.stores.answers import INCOMPLETE_BODY
from astro_cloud_async.stores.multipart import (
    MAX_LINE,
    BytePart,
    ByteRangesParser,
    boundary_of,
)

BOUNDARY = b"00000000000000000001"
TOTAL = 35_542_080
# The second part holds the boundary and line breaks in its data, as binary data may.
PARTS = [
    (0, b"SIMPLE  =                    T" + bytes(range(256)) * 3),
    (17_775_360, b"\r\n--" + BOUNDARY + b"\r\n" + b"\x00" * 500 + b"--" + BOUNDARY + b"--"),
    (20_000_000, b"X"),
]


def body(
    style: str,
    parts: list[tuple[int, bytes]] = PARTS,
    total: int = TOTAL,
    *,
    pad: bytes = b"",
    delimiter: bytes = b"--" + BOUNDARY,
) -> bytes:
    """A multipart/byteranges body the way ``style`` (nginx, apache, caddy) writes one;
    ``pad`` follows each delimiter, ``delimiter`` replaces those between parts."""
    out = b"\r\n" if style in ("nginx", "apache") else b""
    for n, (first, data) in enumerate(parts):
        if n:
            out += b"\r\n"
        crange = f"bytes {first}-{first + len(data) - 1}/{total}".encode()
        out += (delimiter if n else b"--" + BOUNDARY) + pad + b"\r\n"
        if style == "nginx":
            out += b"Content-Type: application/octet-stream\r\nContent-Range: " + crange
        elif style == "apache":
            out += b"Content-range: " + crange
        else:
            out += b"Content-Range: " + crange + b"\r\nContent-Type: application/fits"
        out += b"\r\n\r\n" + data
    return out + b"\r\n--" + BOUNDARY + b"--\r\n"


def parse(chunks: list[bytes], max_part: int = 1 << 20) -> list[BytePart]:
    parser = ByteRangesParser(BOUNDARY, max_part=max_part)
    parts: list[BytePart] = []
    for chunk in chunks:
        parts += parser.feed(chunk)
    parser.feed_eof()
    assert parser.done
    return parts


def cuts(data: bytes, sizes: list[int]) -> list[bytes]:
    out, pos = [], 0
    for size in sizes:
        out.append(data[pos : pos + size])
        pos += size
    return [*out, data[pos:]]


@pytest.mark.parametrize("style", ["nginx", "apache", "caddy"])
@pytest.mark.parametrize("split", ["whole", "bytes", "random", "lines"])
def test_parts_come_out_whole_in_any_split(style: str, split: str) -> None:
    data = body(style)
    if split == "whole":
        chunks = [data]
    elif split == "bytes":
        chunks = [data[i : i + 1] for i in range(len(data))]
    elif split == "lines":
        chunks = data.splitlines(keepends=True)
    else:
        rng = random.Random(len(data))
        chunks = cuts(data, [rng.randint(1, 300) for _ in range(len(data) // 50)])
    parts = parse(chunks)
    assert [(p.first, p.data, p.total) for p in parts] == [(f, d, TOTAL) for f, d in PARTS]
    assert parts[1].end == PARTS[1][0] + len(PARTS[1][1])


@pytest.mark.parametrize("seed", range(40))
def test_a_whole_body_is_read_at_once_as_the_general_reader_reads_it(seed: int) -> None:
    rng = random.Random(seed)
    style = rng.choice(["nginx", "apache", "caddy"])
    starts = sorted(rng.sample(range(0, 10**9, 2880), rng.randint(1, 5)))
    parts = [(first, rng.randbytes(rng.randint(1, 400))) for first in starts]
    data = body(style, parts, total=10**9 + 2880)
    fast = ByteRangesParser(BOUNDARY, max_part=1 << 20)._whole(data)
    general = parse([data[i : i + 1] for i in range(len(data))])  # a byte at a time
    assert fast is not None
    assert [(p.first, p.data, p.total) for p in fast] == [
        (p.first, p.data, p.total) for p in general
    ]
    # A body still arriving, or padded, is left to the general reader.
    cut = rng.randint(1, len(data) - 1)
    assert ByteRangesParser(BOUNDARY, max_part=1 << 20)._whole(data[:cut]) is None
    padded = body(style, parts, total=10**9 + 2880, pad=b" ")
    assert ByteRangesParser(BOUNDARY, max_part=1 << 20)._whole(padded) is None
    assert len(parse([padded])) == len(parts)


def test_a_large_part_in_small_chunks() -> None:
    big = random.Random(1).randbytes(300_000)
    data = body("nginx", [(0, big)])
    parts = parse([data[i : i + 4096] for i in range(0, len(data), 4096)])
    assert [p.data for p in parts] == [big]


def test_nothing_after_the_closing_delimiter_is_read() -> None:
    parser = ByteRangesParser(BOUNDARY, max_part=1 << 20)
    parts = parser.feed(body("caddy") + b"epilogue, ignored")
    assert len(parts) == 3 and parser.done
    assert parser.feed(b"more") == []


def test_transport_padding_after_a_delimiter_is_allowed() -> None:
    assert len(parse([body("nginx", pad=b" \t")])) == 3


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda b: b.replace(b"Content-Range: bytes 0-", b"Content-Range: bytes x-"), "usable"),
        (lambda b: b.replace(b"Content-Range: bytes 0-", b"X-Other: bytes 0-"), "usable"),
        (lambda b: b.replace(b"Content-Type: application", b"Content-Type application"), "colon"),
        (lambda b: b"x" * (MAX_LINE + 10) + b"\r\n" + b, "overlong"),
        (lambda b: (b"junk line\r\n" * 500) + b, "boundary"),
    ],
)
def test_malformed_bodies_are_response_errors(mangle: object, message: str) -> None:
    data = mangle(body("nginx"))  # type: ignore[operator]
    with pytest.raises(ResponseError) as info:
        parse([data])
    assert info.value.code != INCOMPLETE_BODY


@pytest.mark.parametrize("delimiter", [b"--otherboundary", b"--" + BOUNDARY + b"x", b""])
def test_a_part_not_followed_by_its_delimiter_is_refused(delimiter: bytes) -> None:
    with pytest.raises(ResponseError, match="not followed by a delimiter"):
        parse([body("caddy", delimiter=delimiter)])


def test_oversized_part_headers_are_refused() -> None:
    padding = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"p" * 900) for i in range(10))
    data = body("nginx").replace(b"Content-Type:", padding + b"Content-Type:", 1)
    with pytest.raises(ResponseError, match="oversized"):
        parse([data])


def test_a_part_larger_than_asked_is_refused() -> None:
    with pytest.raises(ResponseError, match="more than the ranges asked") as info:
        parse([body("nginx")], max_part=100)
    assert info.value.offset == 0


@pytest.mark.parametrize("cut", [1, 60, 120, 900, -30, -3])
def test_a_body_cut_short_is_incomplete(cut: int) -> None:
    data = body("apache")
    with pytest.raises(ResponseError) as info:
        parse([data[:cut]])
    assert info.value.code == INCOMPLETE_BODY


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        ("multipart/byteranges; boundary=00000000000000000001", b"00000000000000000001"),
        ('multipart/byteranges; boundary="a b:c"', b"a b:c"),
        ("Multipart/ByteRanges;boundary=d1eedaa623315397", b"d1eedaa623315397"),
        ("multipart/byteranges", None),
        ("multipart/form-data; boundary=x", None),
        ("application/octet-stream", None),
        (None, None),
    ],
)
def test_boundary_of(content_type: str | None, boundary: bytes | None) -> None:
    assert boundary_of(content_type) == boundary


def test_a_part_with_two_content_ranges_is_left_to_the_general_reader() -> None:
    # The general reader takes the first Content-Range (its name may have spaces around it);
    # the whole-body reading must not take another one.
    data = (
        b"\r\n--" + BOUNDARY + b"\r\n Content-Range: bytes 0-1/10\r\n"
        b"Content-Range: bytes 2-3/10\r\n\r\nab\r\n--" + BOUNDARY + b"--\r\n"
    )
    assert ByteRangesParser(BOUNDARY, max_part=100)._whole(data) is None
    assert [(p.first, p.data) for p in parse([data], max_part=100)] == [(0, b"ab")]


# Header blocks real servers write, and ones they do not: the whole-body reading must either
# leave a body to the general reader or read it exactly as that reader does.
_OTHER_HEADERS = [
    b"Content-Type: application/octet-stream",
    b"content-type:application/fits",
    b"X-Note: a:b:c",
    b"X-Empty:",
]
_RANGE_HEADERS = [
    b"Content-Range: bytes %(a)d-%(b)d/%(t)d",
    b"Content-range: bytes %(a)d-%(b)d/%(t)d",
    b"CONTENT-RANGE:bytes\t%(a)d-%(b)d/%(t)d \t",
    b"Content-Range: BYTES %(a)d-%(b)d/*",
    b" Content-Range: bytes %(a)d-%(b)d/%(t)d",
    b"Content-Range : bytes %(a)d-%(b)d/%(t)d",
    b"Content-Range: bytes %(a)d-%(b)d / %(t)d",
    b"Content-Range: bytes %(a)d-%(c)d/%(t)d",  # a length off by one
    b"Content-Range: bytes %(b)d-%(a)d/%(t)d",
    b"Content-Range: bytes */%(t)d",
    b"Content-Ranges: bytes %(a)d-%(b)d/%(t)d",
    b"Content-Range: bytes 0-0/1\r\nContent-Range: bytes %(a)d-%(b)d/%(t)d",
    b"Content-Range: bytes %(a)d-%(b)d/%(t)d\r\ncontent-range: bytes 0-0/1",
    b"Content-Range: bytes %(a)d-%(b)d/%(t)d\nX-Bare: lf",
    b"X-No-Colon\r\nContent-Range: bytes %(a)d-%(b)d/%(t)d",
    b"X-Note: content-range\r\nContent-Range: bytes %(a)d-%(b)d/%(t)d",
    b"Content-Range : bytes %(a)d-%(b)d/*\r\nContent-Range: bytes %(a)d-%(b)d/%(t)d",
]
_PLAIN = 4  # the forms before this one are those real servers write


def _varied_body(rng: random.Random) -> tuple[bytes, bool]:
    """A body whose part headers come in any of the forms above, and whether every part's
    header block is in a plain form."""
    out = rng.choice([b"\r\n", b""])
    plain = True
    for n in range(rng.randint(1, 4)):
        first = rng.randrange(0, 10**6, 2880)
        data = rng.choice([rng.randbytes(rng.randint(1, 300)), b"\r\n--" + BOUNDARY + b"\r\n"])
        form = rng.randrange(len(_RANGE_HEADERS)) if rng.random() < 0.4 else rng.randrange(_PLAIN)
        plain = plain and form < _PLAIN
        values = {b"a": first, b"b": first + len(data) - 1, b"c": first + len(data), b"t": 10**6}
        lines = rng.sample(_OTHER_HEADERS, rng.randint(0, 2))
        lines.insert(rng.randint(0, len(lines)), _RANGE_HEADERS[form] % values)
        delimiter = b"--" + BOUNDARY
        if n and rng.random() < 0.1:
            delimiter, plain = delimiter[:-1] + b"2", False  # another boundary, as long
        out += (b"\r\n" if n else b"") + delimiter + b"\r\n"
        out += b"\r\n".join(lines) + b"\r\n\r\n" + data
    return out + b"\r\n--" + BOUNDARY + b"--\r\n", plain


def _outcome(chunks: list[bytes]) -> object:
    """The parts read from ``chunks``, or the error raised, as plain values."""
    try:
        return [(p.first, p.data, p.total) for p in parse(chunks)]
    except ResponseError as err:
        return (str(err), err.code, err.offset)


@pytest.mark.parametrize("seed", range(300))
def test_the_whole_body_reading_agrees_with_the_general_one_on_varied_headers(seed: int) -> None:
    rng = random.Random(seed)
    data, plain = _varied_body(rng)
    general = _outcome([data[i : i + 1] for i in range(len(data))])  # a byte at a time
    fast = ByteRangesParser(BOUNDARY, max_part=1 << 20)._whole(data)
    if plain:
        assert fast is not None
    if fast is not None:
        assert [(p.first, p.data, p.total) for p in fast] == general
    # Fed whole, in two pieces or at random cuts, a body gives what the general reader gives.
    cut = rng.randint(1, len(data) - 1)
    sizes = [rng.randint(1, 200) for _ in range(len(data) // 40)]
    for chunks in ([data], [data[:cut], data[cut:]], cuts(data, sizes)):
        assert _outcome(chunks) == general
