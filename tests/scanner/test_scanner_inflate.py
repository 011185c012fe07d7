"""The sans-I/O inflater: gzip and bzip2 fed in pieces of any size, held against the stdlib.

Bytes go in split at 1, 80, 2880 and random sizes and come out asked for in random amounts;
what comes out must be what ``gzip.decompress`` and ``bz2.decompress`` give. Members and
streams follow one another as those modules read them, gzip headers carry every optional
field, and every fault (a failed check, bytes that start no member, damaged data, a stream cut
short) is reported, after all the output before it.
"""

from __future__ import annotations

import bz2
import gzip
import random
import struct
import tracemalloc
import zlib

import pytest

from astro_cloud_async.errors import CompressedDataError
from astro_cloud_async.scanner.inflate import PIECE, Inflater, compressed_name, sniff

DATA = random.Random(3).randbytes(60_000) + bytes(200_000) + b"END".ljust(2880)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _run(packed: bytes, compression: str, feed: int | None, seed: int = 0) -> bool:
    """Feed ``packed`` in pieces of ``feed`` bytes (random sizes when None), reading and
    skipping random amounts, each read checked against ``DATA``; whether the stream was whole."""
    rng = random.Random(seed)
    inflater = Inflater(compression)  # type: ignore[arg-type]
    position = at = 0
    while True:
        short = False
        while not short:
            n = rng.choice((1, 80, 2880, 10_000, 1 << 20))
            if rng.random() < 0.3:
                got = inflater.skip(n)
            else:
                data = inflater.read(n)
                assert data == DATA[position : position + len(data)]
                got = len(data)
            position += got
            short = got < n
        if at >= len(packed):
            assert position == len(DATA) == inflater.produced
            return inflater.finish()
        step = feed if feed is not None else rng.randint(1, 5000)
        inflater.feed(packed[at : at + step])
        at += step


def _without_skips(packed: bytes, compression: str, feed: int) -> bytes:
    inflater = Inflater(compression)  # type: ignore[arg-type]
    out = bytearray()
    for at in range(0, len(packed), feed):
        inflater.feed(packed[at : at + feed])
        while data := inflater.read(7777):
            out += data
    assert inflater.finish()
    assert inflater.produced == len(out) and inflater.fed == len(packed)
    return bytes(out)


CASES = {
    "gzip": ("gzip", _gzip(DATA)),
    "gzip-members": ("gzip", _gzip(DATA[:1]) + _gzip(DATA[1:70_000]) + _gzip(DATA[70_000:])),
    "gzip-empty-member": ("gzip", _gzip(DATA[:5000]) + _gzip(b"") + _gzip(DATA[5000:])),
    "gzip-zero-padded": ("gzip", _gzip(DATA[:9000]) + bytes(3) + _gzip(DATA[9000:]) + bytes(700)),
    "bzip2": ("bzip2", bz2.compress(DATA)),
    "bzip2-streams": ("bzip2", bz2.compress(DATA[:100]) + bz2.compress(DATA[100:])),
    "bzip2-then-text": ("bzip2", bz2.compress(DATA) + b"archive transfer log\n" * 10),
}


@pytest.mark.parametrize("feed", [1, 80, 2880, None])
@pytest.mark.parametrize("case", sorted(CASES))
def test_any_split_gives_what_the_stdlib_gives(case: str, feed: int | None) -> None:
    compression, packed = CASES[case]
    stdlib = gzip.decompress if compression == "gzip" else bz2.decompress
    assert stdlib(packed) == DATA  # bz2 too ignores bytes after its last stream
    assert _without_skips(packed, compression, feed or 997) == DATA
    assert _run(packed, compression, feed, seed=len(case))


def test_skipped_bytes_are_dropped_piece_by_piece() -> None:
    zeros = _gzip(bytes(96 << 20))  # 96 MiB of zeros: about 95 kB of gzip
    inflater = Inflater("gzip")
    inflater.feed(zeros)
    tracemalloc.start()
    try:
        assert inflater.skip(1 << 30) == 96 << 20
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * PIECE  # never the whole output, one piece at a time
    assert inflater.finish()


def _member(
    data: bytes, flags: int, *, extra: bytes = b"", name: bytes = b"", comment: bytes = b""
) -> bytes:
    header = bytearray(b"\x1f\x8b\x08" + bytes([flags]) + bytes(6))
    if flags & 4:
        header += struct.pack("<H", len(extra)) + extra
    if flags & 8:
        header += name + b"\0"
    if flags & 16:
        header += comment + b"\0"
    if flags & 2:
        header += struct.pack("<H", zlib.crc32(bytes(header)) & 0xFFFF)
    c = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = c.compress(data) + c.flush()
    return bytes(header) + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


@pytest.mark.parametrize("feed", [1, 3, 4096])
def test_gzip_headers_with_every_optional_field(feed: int) -> None:
    first = _member(
        DATA[:3000], 4 | 8 | 16 | 2, extra=b"AP\x02\x00hi", name=b"a.fits", comment=b"c"
    )
    second = _member(DATA[3000:], 8, name=b"b.fits")
    packed = first + second
    assert gzip.decompress(packed) == DATA  # what Python's gzip makes of it
    assert _without_skips(packed, "gzip", feed) == DATA


def _read_all(inflater: Inflater, packed: bytes) -> bytes:
    inflater.feed(packed)
    return inflater.read(len(DATA) + 10)


def test_a_failed_crc_is_raised_after_all_the_output() -> None:
    packed = bytearray(_gzip(DATA))
    packed[-8] ^= 0xFF
    inflater = Inflater("gzip")
    assert _read_all(inflater, bytes(packed)) == DATA
    assert inflater.failed
    with pytest.raises(CompressedDataError, match="CRC-32") as info:
        inflater.read(1)
    assert info.value.offset == len(packed) - 8  # where the trailer starts


def test_a_wrong_length_is_raised() -> None:
    packed = bytearray(_gzip(DATA))
    packed[-1] ^= 0x01
    inflater = Inflater("gzip")
    assert _read_all(inflater, bytes(packed)) == DATA
    with pytest.raises(CompressedDataError, match="length"):
        inflater.skip(1)


def test_bytes_after_a_member_that_start_none_are_an_error() -> None:
    packed = _gzip(DATA)
    inflater = Inflater("gzip")
    assert _read_all(inflater, packed + b"not gzip") == DATA
    with pytest.raises(CompressedDataError, match="start no member") as info:
        inflater.read(1)
    assert info.value.offset == len(packed)
    with pytest.raises(gzip.BadGzipFile):  # as Python's gzip says
        gzip.decompress(packed + b"not gzip")


def test_one_byte_after_a_member_is_found_at_the_end() -> None:
    inflater = Inflater("gzip")
    assert _read_all(inflater, _gzip(DATA) + b"x") == DATA
    with pytest.raises(CompressedDataError):
        inflater.finish()


def test_damaged_deflate_data_are_an_error() -> None:
    packed = bytearray(_gzip(DATA))
    packed[12:40] = b"\xff" * 28
    inflater = Inflater("gzip")
    inflater.feed(bytes(packed))
    with pytest.raises(CompressedDataError, match="damaged gzip"):
        while inflater.read(PIECE):
            pass


def test_damaged_bzip2_is_an_error() -> None:
    packed = bytearray(bz2.compress(DATA))
    packed[20:60] = bytes(40)
    inflater = Inflater("bzip2")
    inflater.feed(bytes(packed))
    with pytest.raises(CompressedDataError, match="damaged bzip2"):
        while inflater.read(PIECE):
            pass


def test_an_unknown_method_is_an_error() -> None:
    inflater = Inflater("gzip")
    inflater.feed(b"\x1f\x8b\x07\x00" + bytes(20))
    with pytest.raises(CompressedDataError, match="method 7"):
        inflater.read(10)


@pytest.mark.parametrize("compression", ["gzip", "bzip2"])
def test_a_stream_cut_short_says_so(compression: str) -> None:
    packed = _gzip(DATA) if compression == "gzip" else bz2.compress(DATA)
    inflater = Inflater(compression)  # type: ignore[arg-type]
    inflater.feed(packed[: len(packed) // 2])
    out = inflater.read(len(DATA))
    assert DATA.startswith(out)
    assert not inflater.finish()


def test_the_header_of_a_second_member_cut_short_is_a_cut() -> None:
    inflater = Inflater("gzip")
    assert _read_all(inflater, _gzip(DATA) + b"\x1f\x8b\x08") == DATA
    assert not inflater.finish()


def test_nothing_fed_is_no_stream() -> None:
    assert not Inflater("gzip").finish()
    assert not Inflater("bzip2").finish()


def test_sniff_tells_compression_by_content() -> None:
    assert sniff(_gzip(b"x")) == "gzip"
    assert sniff(bz2.compress(b"x")) == "bzip2"
    assert sniff(b"BZh0") is None and sniff(b"BZhx") is None and sniff(b"BZh") is None
    assert sniff(b"SIMPLE  =                    T") is None
    assert sniff(b"") is None and sniff(b"\x1f") is None
    assert sniff(memoryview(b"\x1f\x8b\x08")) == "gzip"


def test_compressed_names_are_hints() -> None:
    assert compressed_name("s3://b/a.fits.gz")
    assert compressed_name("/data/A.FITS.BZ2")
    assert compressed_name("https://h/x.fits.gz?X-Amz-Signature=abc")
    assert not compressed_name("https://h/x.fits?name=a.gz")
    assert not compressed_name("a.fits.fz") and not compressed_name("a.fits")
