"""Decompressing a gzip or bzip2 object as it arrives: a sans-I/O inflater.

Strategy: the walker works on FITS bytes, so a compressed object is inflated in order and the
walker is fed the decompressed stream, whose offsets are the ones it reports. The inflater
never reads: it is given compressed bytes (:meth:`Inflater.feed`) and gives decompressed ones
(:meth:`Inflater.read`, :meth:`Inflater.skip`), asking its decompressor for at most
:data:`PIECE` bytes at a time, so a highly compressed object (sparse images, a decompression
bomb) never holds more than one piece of output in memory. Data between headers must be
decompressed to be passed, but :meth:`Inflater.skip` drops them piece by piece.

The standard library does the work (``zlib`` for gzip, ``bz2``), and both release the GIL while
they do, so the driver may run the calls in a worker thread. Members follow one another as
Python's own ``gzip`` and ``bz2`` modules (and so astropy) read them: a gzip object may hold
several members (``.gz`` files concatenated), zero bytes after a member are padding and any
other byte there is an error (``gzip``: "not a gzipped file"); a bzip2 object may hold several
streams, and bytes after the last one that start no stream are ignored.

Compression is told by content (:func:`sniff`: the ``1f 8b`` of gzip, the ``BZh`` of bzip2),
whatever the name; a name ending in ``.gz`` or ``.bz2`` (:func:`compressed_name`) is only a
hint for how to ask for the first bytes.
"""

from __future__ import annotations

import bz2
import zlib
from typing import Final

from ..errors import CompressedDataError
from ..records import Compression

__all__ = ["PIECE", "Inflater", "compressed_name", "sniff"]

GZIP_MAGIC: Final = b"\x1f\x8b"
BZIP2_MAGIC: Final = b"BZh"
PIECE: Final = 256 * 1024
"""Decompressed bytes asked of the decompressor at a time."""

_HINTS = (".gz", ".bz2")

# Where a gzip member's reading stands, and the flags of its header (RFC 1952).
_HEADER, _DATA, _TRAILER = 0, 1, 2
_FHCRC, _FEXTRA, _FNAME, _FCOMMENT = 2, 4, 8, 16


def sniff(head: bytes | bytearray | memoryview) -> Compression | None:
    """The compression of an object whose first bytes are ``head``, told by content."""
    first = bytes(head[:4])
    if first.startswith(GZIP_MAGIC):
        return "gzip"
    if len(first) == 4 and first.startswith(BZIP2_MAGIC) and 0x31 <= first[3] <= 0x39:
        return "bzip2"  # "BZh" then the block size, "1" to "9"
    return None


def compressed_name(url: str) -> bool:
    """Whether the name in ``url`` says the object is compressed (``.gz``, ``.bz2``)."""
    path = url.partition("?")[0].lower()
    return path.endswith(_HINTS)


class Inflater:
    """Decompresses one object's gzip or bzip2 stream, fed in order; see the module docstring.

    gzip members are read as Python's ``gzip`` reads them: the header parsed here, the deflate
    data inflated raw and their CRC-32 and length checked against the member's trailer here,
    so that every byte of output comes out before a failed check is reported. An error found
    after some output of a call is raised by the next call. ``fed`` counts the compressed
    bytes given, ``produced`` the decompressed bytes given back (read or skipped), ``members``
    the gzip members or bzip2 streams that ended whole.
    """

    __slots__ = (
        "_bz2",
        "_crc",
        "_decompressor",
        "_error",
        "_ignoring",
        "_input",
        "_length",
        "_stage",
        "fed",
        "members",
        "produced",
    )

    def __init__(self, compression: Compression) -> None:
        self._bz2 = compression == "bzip2"
        self._decompressor: zlib._Decompress | bz2.BZ2Decompressor | None = None
        self._stage = _HEADER
        self._input = b""  # compressed bytes not yet given to a decompressor
        self._crc = 0  # of the gzip member's output so far
        self._length = 0  # of the gzip member's output so far
        self._ignoring = False  # bzip2: bytes after the last stream, ignored
        self._error: CompressedDataError | None = None  # found, to be raised by the next call
        self.fed = 0
        self.produced = 0
        self.members = 0

    @property
    def compression(self) -> Compression:
        return "bzip2" if self._bz2 else "gzip"

    @property
    def failed(self) -> bool:
        """An error was found, to be raised by the next call."""
        return self._error is not None

    def feed(self, data: bytes) -> None:
        """Give the next compressed bytes."""
        self.fed += len(data)
        if data and not self._ignoring:
            self._input = self._input + data if self._input else data

    def read(self, n: int) -> bytes:
        """Up to ``n`` decompressed bytes; fewer (perhaps none) only when no more can come
        before more compressed bytes are fed, or before an error is raised."""
        parts: list[bytes] = []
        want = n
        while want > 0:
            piece = self._guarded(min(want, PIECE), bool(parts))
            if piece is None:
                break
            if piece:
                parts.append(piece)
                want -= len(piece)
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        self.produced += len(data)
        return data

    def skip(self, n: int) -> int:
        """Decompress and drop up to ``n`` bytes; fewer only when no more can come before
        more compressed bytes are fed, or before an error is raised. Returns how many."""
        want = n
        while want > 0:
            piece = self._guarded(min(want, PIECE), want < n)
            if piece is None:
                break
            want -= len(piece)
        self.produced += n - want
        return n - want

    def finish(self) -> bool:
        """Every compressed byte has been fed and all output read: whether the stream was
        whole (False: it ends inside a member, cut short). Raises
        :class:`CompressedDataError` for a gzip object that ends in bytes starting no member."""
        if self._error is not None:
            raise self._error
        if self.members == 0 or self._stage != _HEADER:
            return False
        rest = self._input
        if rest and not self._bz2:
            if GZIP_MAGIC.startswith(rest[:2]):
                return False  # the header of another member, cut short
            raise CompressedDataError(
                "bytes after the last gzip member start no member", offset=self.fed - len(rest)
            )
        return True

    # -- internals ------------------------------------------------------------------------

    def _guarded(self, limit: int, gave: bool) -> bytes | None:
        """:meth:`_next`, an error kept for the next call when this one already gave output."""
        if self._error is not None:
            if gave:
                return None
            error, self._error = self._error, None
            raise error
        try:
            return self._next(limit)
        except CompressedDataError as err:
            if not gave:
                raise
            self._error = err
            return None

    def _at(self) -> int:
        """Offset in the stored object of the first compressed byte not used yet."""
        return self.fed - len(self._input)

    def _next(self, limit: int) -> bytes | None:
        """At most ``limit`` decompressed bytes (empty at a member's boundary), or None when
        more compressed bytes are needed."""
        if self._bz2:
            return self._next_bzip2(limit)
        if self._stage == _HEADER and not self._gzip_header():
            return None
        if self._stage == _TRAILER:
            return self._gzip_trailer()
        d = self._decompressor
        assert d is not None and not isinstance(d, bz2.BZ2Decompressor)
        before = self._input
        try:
            data = d.decompress(before, limit)
        except zlib.error as err:
            raise CompressedDataError(f"damaged gzip data: {err}", offset=self._at()) from None
        self._input = d.unconsumed_tail
        if data:
            self._crc = zlib.crc32(data, self._crc)
            self._length += len(data)
        if d.eof:
            # What follows the deflate data (zlib may leave it in unconsumed_tail as well).
            self._input = d.unused_data
            self._decompressor = None
            self._stage = _TRAILER
            return data
        if not data and len(self._input) == len(before):
            return None  # every byte given is used, and no output is pending
        return data

    def _gzip_header(self) -> bool:
        """Read the header of the next gzip member (after any zero padding); False until
        its bytes are all here."""
        data = self._input
        if self.members:
            data = self._input = data.lstrip(b"\0")  # padding after a member
        if len(data) >= 2 and data[:2] != GZIP_MAGIC:
            raise CompressedDataError(
                "bytes after a gzip member start no member", offset=self._at()
            )
        if len(data) < 10:
            return False
        if data[2] != 8:
            raise CompressedDataError(
                f"unknown gzip compression method {data[2]}", offset=self._at()
            )
        flags, at = data[3], 10
        if flags & _FEXTRA:
            if len(data) < at + 2:
                return False
            at += 2 + int.from_bytes(data[at : at + 2], "little")
        for flag in (_FNAME, _FCOMMENT):
            if flags & flag:
                zero = data.find(b"\0", at)
                if zero < 0:
                    return False
                at = zero + 1
        if flags & _FHCRC:
            at += 2
        if len(data) < at:
            return False
        self._input = data[at:]
        self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
        self._crc = self._length = 0
        self._stage = _DATA
        return True

    def _gzip_trailer(self) -> bytes | None:
        """Check the member's CRC-32 and length against its trailer."""
        data = self._input
        if len(data) < 8:
            return None
        at = self._at()
        crc = int.from_bytes(data[:4], "little")
        length = int.from_bytes(data[4:8], "little")
        self._input = data[8:]
        if crc != self._crc:
            raise CompressedDataError("gzip member fails its CRC-32 check", offset=at)
        if length != self._length & 0xFFFFFFFF:
            raise CompressedDataError("gzip member fails its length check", offset=at)
        self._stage = _HEADER
        self.members += 1
        return b""

    def _next_bzip2(self, limit: int) -> bytes | None:
        d = self._decompressor
        if d is None:
            data = self._input
            if self._ignoring or len(data) < 4:
                return None
            if self.members and sniff(data) != "bzip2":
                self._ignoring = True  # after the last stream: ignored, as bz2 does
                self._input = b""
                return None
            d = self._decompressor = bz2.BZ2Decompressor()
            self._stage = _DATA
        assert isinstance(d, bz2.BZ2Decompressor)
        try:
            data = d.decompress(self._input, limit)
        except (OSError, EOFError, ValueError) as err:
            raise CompressedDataError(f"damaged bzip2 data: {err}", offset=self.fed) from None
        self._input = b""  # bz2 keeps what it has not used yet
        if d.eof:
            self._input = d.unused_data
            self._decompressor = None
            self._stage = _HEADER
            self.members += 1
            return data
        if not data and d.needs_input:
            return None
        return data

    def __repr__(self) -> str:
        return (
            f"<Inflater {self.compression} fed={self.fed} produced={self.produced} "
            f"members={self.members}>"
        )
