"""Reading a ``multipart/byteranges`` answer (RFC 9110, section 14.6) as it arrives.

Strategy (sans-I/O, as h11's readers): :class:`ByteRangesParser` is fed the body in whatever
chunks the connection delivers and hands out each part once it is whole, with its checked
``Content-Range``. A part's length comes from its Content-Range, so part data (binary FITS
bytes could hold anything) is never searched for the boundary; only the short lines between
parts are parsed, and every line, header block and part is bounded, so a hostile answer cannot
make the parser hold more than the ranges asked for. The I/O side (:mod:`.multirange`) only
moves chunks from the socket to :meth:`ByteRangesParser.feed`. Most answers arrive whole in
one chunk, in one of the shapes below: such a body is read at once with a few C calls a part
(a test holds that reading to the general one's, body for body), and anything else (a body
still arriving, padding, an error to report) goes to the general reader.

Body shapes seen from real servers, all accepted: nginx and Apache start with an empty line
before the first delimiter, Caddy (Go) does not; Apache writes ``Content-range``; part headers
come in any order.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from ..errors import ResponseError
from .answers import INCOMPLETE_BODY, parse_content_range

__all__ = ["BytePart", "ByteRangesParser", "boundary_of"]

MAX_LINE = 1024
"""Longest line allowed between parts (a delimiter or a part header)."""
MAX_PART_HEADERS = 8192
"""Most bytes of headers one part may carry."""
MAX_PREAMBLE = 4096
"""Most bytes allowed before the first delimiter."""

_BOUNDARY = re.compile(r';\s*boundary\s*=\s*(?:"([^"]{1,200})"|([^\s;"]{1,200}))', re.IGNORECASE)
_PART_HEAD = re.compile(
    rb"(?:(?!content-range:)[^\r\n:]*:[^\r\n]*\r\n)*"
    rb"content-range:[ \t]*bytes[ \t]+([0-9]{1,20})-([0-9]{1,20})/([0-9]{1,20}|\*)[ \t]*\r\n"
    rb"(?:[^\r\n:]*:[^\r\n]*\r\n)*\r\n",
    re.IGNORECASE,
)
"""A part's header block up to its blank line, as real servers write it (lines with a colon,
each ending in CRLF, one plain Content-Range), for :meth:`ByteRangesParser._whole`."""


def boundary_of(content_type: str | None) -> bytes | None:
    """The boundary of a ``multipart/byteranges`` Content-Type, or None for any other type."""
    if not content_type:
        return None
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind != "multipart/byteranges":
        return None
    m = _BOUNDARY.search(content_type)
    if m is None:
        return None
    return (m.group(1) or m.group(2)).encode("latin-1")


@dataclass(frozen=True, slots=True)
class BytePart:
    """One part: bytes ``first..last`` (inclusive) of an object of ``total`` bytes (if said)."""

    first: int
    data: bytes
    total: int | None

    @property
    def end(self) -> int:
        return self.first + len(self.data)


class _State(enum.Enum):
    PREAMBLE = 1
    HEADERS = 2
    DATA = 3
    AFTER_DATA = 4
    DONE = 5


class ByteRangesParser:
    """Parses one ``multipart/byteranges`` body fed in chunks; see the module docstring.

    ``max_part`` bounds the bytes of any one part (the span of the ranges asked for).
    Malformed bodies raise :class:`ResponseError`; a body that ends early raises it with the
    code ``INCOMPLETE_BODY`` (worth another attempt).
    """

    __slots__ = (
        "_buf",
        "_chunks",
        "_close",
        "_delimiter",
        "_first",
        "_header_bytes",
        "_max_part",
        "_pos",
        "_remaining",
        "_state",
        "_total",
    )

    def __init__(self, boundary: bytes, *, max_part: int) -> None:
        self._delimiter = b"--" + boundary
        self._close = self._delimiter + b"--"
        self._max_part = max_part
        self._buf = b""
        self._pos = 0
        self._chunks: list[bytes] = []
        self._state = _State.PREAMBLE
        self._header_bytes = 0
        self._first = 0
        self._total: int | None = None
        self._remaining = 0

    @property
    def done(self) -> bool:
        """The closing delimiter has been read: no part follows."""
        return self._state is _State.DONE

    def feed(self, data: bytes) -> list[BytePart]:
        """Take the next chunk of the body; return the parts it completed, in order."""
        if self._state is _State.DONE:
            return []
        if self._state is _State.PREAMBLE and not self._buf:
            whole = self._whole(data)
            if whole is not None:
                return whole
        # What is held is at most a line or the start of a part: part data is gathered in
        # ``_chunks`` and joined once, so a large part is never copied chunk after chunk.
        self._buf = self._buf[self._pos :] + data if self._pos < len(self._buf) else data
        self._pos = 0
        parts: list[BytePart] = []
        while True:
            state = self._state
            if state is _State.DATA:
                buf, pos, want = self._buf, self._pos, self._remaining
                have = len(buf) - pos
                if have < want:
                    if have:
                        self._chunks.append(buf[pos:])
                        self._remaining = want - have
                    self._buf, self._pos = b"", 0
                    return parts
                piece = buf[pos : pos + want] if pos or want != len(buf) else buf
                self._pos = pos + want
                if self._chunks:
                    self._chunks.append(piece)
                    piece = b"".join(self._chunks)
                    self._chunks = []
                parts.append(BytePart(self._first, piece, self._total))
                self._state = _State.AFTER_DATA
                self._header_bytes = 0
                continue
            if state is _State.DONE:
                self._buf, self._pos = b"", 0
                return parts
            if state is _State.HEADERS:
                if not self._headers():
                    return parts
                continue
            line = self._line()
            if line is None:
                return parts
            if state is _State.PREAMBLE:
                self._preamble(line)
            else:
                self._after_data(line)

    def feed_eof(self) -> None:
        """The body ended: raise unless the closing delimiter was read."""
        if self._state is not _State.DONE:
            raise ResponseError(
                "multipart/byteranges answer ended before its closing delimiter",
                code=INCOMPLETE_BODY,
            )

    # -- internals ----------------------------------------------------------------------------

    def _whole(self, data: bytes) -> list[BytePart] | None:
        """Every part of ``data`` when it is a whole body in the shape real servers write
        (delimiters without padding, CRLF line breaks, a plain Content-Range), as the general
        reader below would give them; None for anything else (a body still arriving, another
        shape, an error to report), which the general reader then takes from the start.
        Most answers come in one chunk: this reads them with a few C calls a part."""
        delimiter, max_part, size = self._delimiter, self._max_part, len(data)
        pos = 2 if data.startswith(b"\r\n") else 0
        if not data.startswith(delimiter + b"\r\n", pos):
            return None
        pos += len(delimiter) + 2
        link = b"\r\n" + delimiter  # ends each part's data
        parts: list[BytePart] = []
        while True:
            head = _PART_HEAD.match(data, pos, pos + MAX_PART_HEADERS)
            if head is None:
                return None
            start = head.end()
            if data[pos:start].lower().count(b"content-range") != 1:
                return None  # another one the general reader may take
            first = int(head[1])
            n = int(head[2]) - first + 1
            if n < 1 or n > max_part:
                return None
            stop = start + n
            after = stop + len(link)
            if after + 2 > size or not data.startswith(link, stop):
                return None
            total = None if head[3] == b"*" else int(head[3])
            parts.append(BytePart(first, data[start:stop], total))
            if data.startswith(b"--\r\n", after):
                self._state, self._buf, self._pos = _State.DONE, b"", 0
                return parts
            if not data.startswith(b"\r\n", after):
                return None
            pos = after + 2

    def _line(self) -> bytes | None:
        """The next line without its line break, or None until one is whole."""
        buf, pos = self._buf, self._pos
        nl = buf.find(b"\n", pos, pos + MAX_LINE + 1)
        if nl < 0:
            if len(buf) - pos > MAX_LINE:
                raise ResponseError("multipart/byteranges answer with an overlong line")
            return None
        self._pos = nl + 1
        if self._state is _State.PREAMBLE:
            self._header_bytes += nl + 1 - pos
        return buf[pos:nl].rstrip(b"\r")

    def _is_delimiter(self, line: bytes) -> bool | None:
        """True for a delimiter, False for the closing one, None for anything else."""
        line = line.rstrip(b" \t")  # transport padding
        if line == self._delimiter:
            return True
        if line == self._close:
            return False
        return None

    def _preamble(self, line: bytes) -> None:
        kind = self._is_delimiter(line)
        if kind is None:
            if self._header_bytes > MAX_PREAMBLE:
                raise ResponseError("multipart/byteranges answer without its boundary")
            return
        self._next(kind)

    def _next(self, more: bool) -> None:
        """After a delimiter: a part follows (``more``) or the body is over."""
        if more:
            self._state = _State.HEADERS
        else:
            self._state = _State.DONE

    def _headers(self) -> bool:
        """Read a part's header block once it is whole (up to its blank line); False until
        then. Its Content-Range says what follows."""
        buf, pos = self._buf, self._pos
        if buf.startswith(b"\r\n", pos) or buf.startswith(b"\n", pos):
            end, block = pos, b""  # no header at all
        else:
            limit = pos + MAX_PART_HEADERS
            end = buf.find(b"\n\r\n", pos, limit)
            bare = buf.find(b"\n\n", pos, end if end >= 0 else limit)  # (not in part data)
            if bare >= 0:
                end = bare
            if end < 0:
                if len(buf) - pos > MAX_PART_HEADERS:
                    raise ResponseError("multipart/byteranges part with oversized headers")
                return False
            block = buf[pos:end]
            end += 1
        self._pos = buf.find(b"\n", end) + 1
        raw_range: str | None = None
        for line in block.split(b"\n"):
            name, sep, value = line.partition(b":")
            if not sep:
                raise ResponseError("multipart/byteranges part header without a colon")
            if raw_range is None and name.strip().lower() == b"content-range":
                raw_range = value.strip().decode("latin-1")
        cr = parse_content_range(raw_range)
        if cr is None or cr.first is None or cr.last is None:
            raise ResponseError(
                f"multipart/byteranges part without a usable Content-Range ({raw_range!r})"
            )
        n = cr.last - cr.first + 1
        if n > self._max_part:
            raise ResponseError(
                f"multipart/byteranges part of {n} bytes, more than the ranges asked for",
                offset=cr.first,
            )
        self._first, self._total, self._remaining = cr.first, cr.total, n
        self._state = _State.DATA
        return True

    def _after_data(self, line: bytes) -> None:
        if not line and not self._header_bytes:
            self._header_bytes = 1  # the line break that ends the data
            return
        kind = self._is_delimiter(line)
        if kind is None:
            raise ResponseError("multipart/byteranges part not followed by a delimiter")
        self._next(kind)
