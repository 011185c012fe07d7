"""A sans-I/O walker over the HDUs of one FITS object.

Strategy (in the manner of h11): the walker never reads, awaits or seeks. It is fed the bytes
it asked for and answers with one event at a time:

* :class:`NeedData` ``(start, end)`` -- fetch these bytes (half-open, block-aligned) and
  :meth:`Walker.feed` them;
* :class:`HDU` -- one HDU, final: its offsets, sizes, parsed header and whether the object
  ends before its data do;
* :class:`EndOfObject` -- the walk is over.

The read policy lives here, because only the walker knows whether a header goes on: the first
read takes ``first_read`` bytes (a TESS FFI's primary and first image header in one go); a
header that goes on past the bytes held doubles what it asks for; a jump over data asks
``next_read`` bytes at the next header. Bytes already held are reused (a small data section
often leaves the next header in the buffer) and never asked for twice.

A primary header with ``SIMPLE = F`` makes the rest of the object its data (as astropy reads
it); where no answer gave the object's size, the walker finds it with one-block reads,
doubling past the bytes seen and then halving the gap to the first offset known to be past
the end, so a non-standard file costs a few small reads, never its data.

An HDU is emitted once what follows it is known (end of object, a valid next header, or
trailing bytes that start no header), so every event is a final fact. Errors are raised from
:meth:`Walker.next_event` as :class:`FITSError` subclasses carrying the byte offset; HDUs
found before an error have already been emitted, so nothing read is lost.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, BinaryIO

from ..errors import (
    AstroCloudError,
    FITSError,
    HeaderTooLargeError,
    NotFITSError,
    TooManyHDUsError,
    TruncatedHeaderError,
)
from .header import Header, _first_card_with, find_end, parse_header
from .layout import (
    BLOCK,
    CARD,
    MAX_DATA_SIZE,
    data_size,
    padded,
    rest_is_data,
    standard_data_size,
)

__all__ = [
    "DEFAULT_FIRST_READ",
    "DEFAULT_MAX_HDUS",
    "DEFAULT_MAX_HEADER_BYTES",
    "DEFAULT_NEXT_READ",
    "HDU",
    "EndOfObject",
    "Event",
    "NeedData",
    "Walker",
    "walk_bytes",
    "walk_file",
]

DEFAULT_FIRST_READ = 10 * BLOCK
DEFAULT_NEXT_READ = 8 * BLOCK
DEFAULT_MAX_HEADER_BYTES = 4096 * BLOCK
DEFAULT_MAX_HDUS = 100_000

_END_CARD = b"END" + b" " * 77
_PRIMARY = b"SIMPLE  ="
_EXTENSION = b"XTENSION="


@dataclass(frozen=True, slots=True)
class NeedData:
    """Fetch bytes ``[start, end)`` of the object and feed them to the walker."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class HDU:
    """One header-data unit: where it lies and its parsed header.

    ``truncated``: the object ends before ``data_offset + data_size``.
    ``trailing_bytes``: on the last HDU only, bytes after it that start no valid header.
    """

    index: int
    header_offset: int
    data_offset: int
    data_size: int
    header: Header
    truncated: bool = False
    trailing_bytes: int = 0

    @property
    def header_size(self) -> int:
        """Header bytes, END card and padding included."""
        return self.data_offset - self.header_offset

    @property
    def end(self) -> int:
        """Offset just past this HDU's padded data: where the next header starts."""
        return self.data_offset + padded(self.data_size)


@dataclass(frozen=True, slots=True)
class EndOfObject:
    """The walk is complete: ``hdu_count`` HDUs in an object of ``object_size`` bytes.

    ``object_size`` is None only when no answer gave the size and the walk ended on bytes
    that start no header before the end of the object was seen.
    """

    object_size: int | None
    hdu_count: int


Event = NeedData | HDU | EndOfObject


class Walker:
    """Walks one FITS object's HDUs from bytes it is fed; see the module docstring."""

    def __init__(
        self,
        *,
        object_size: int | None = None,
        first_read: int = DEFAULT_FIRST_READ,
        next_read: int = DEFAULT_NEXT_READ,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        max_hdus: int = DEFAULT_MAX_HDUS,
        max_data_size: int = MAX_DATA_SIZE,
        url: str | None = None,
    ) -> None:
        self._first_read = padded(max(first_read, 1))
        self._next_read = padded(max(next_read, 1))
        self._max_header_bytes = padded(max_header_bytes)
        self._max_hdus = max_hdus
        self._max_data_size = max_data_size
        self._url = url
        self._size = object_size
        # One contiguous window of held bytes: [_buf_start, _buf_start + len(_buf)).
        self._buf = bytearray()
        self._buf_start = 0
        self._ahead: dict[int, bytes] = {}  # bytes fed before the walk reached them
        self._seen_end = 0  # the object holds at least this many bytes (some were fed)
        self._end_bound: int | None = None  # size unknown, but at most this (an empty answer)
        self._probed = False  # the last possible byte was asked for
        self._probed_data = False  # the last data byte of the last HDU was asked for
        self._pos = 0  # offset of the next header to read
        self._end_at: int | None = None  # absolute offset of the END card of the header at _pos
        self._end_free = 0  # the header at _pos has no card starting with END before this offset
        self._pending: HDU | None = None  # found, not yet emitted (what follows is unknown)
        self._rest: HDU | None = None  # a SIMPLE = F primary: its data size waits for the size
        self._index = 0
        self._outstanding: NeedData | None = None
        self._done = False
        self._error: AstroCloudError | None = None

    # -- facts ----------------------------------------------------------------------------

    @property
    def object_size(self) -> int | None:
        """The object's size, once known (given, learnt from a fetch, or found at its end)."""
        return self._size

    @property
    def hdu_count(self) -> int:
        """HDUs found so far."""
        return self._index

    @property
    def pending(self) -> HDU | None:
        """The last HDU found, not yet emitted because what follows it is not known yet."""
        return self._pending

    @property
    def held(self) -> int:
        """Bytes held in memory right now."""
        return len(self._buf) + sum(len(seg) for seg in self._ahead.values())

    # -- input ----------------------------------------------------------------------------

    def feed(self, start: int, data: bytes, *, object_size: int | None = None) -> None:
        """Give the walker bytes ``[start, start + len(data))`` of the object.

        ``object_size`` is the total size when the answer told it. When it is not given and
        fewer bytes arrive than the last :class:`NeedData` asked for, the object is taken to
        end where the bytes end. Bytes may also be fed before they are asked for (a predicted
        header): they are held and used if the walk reaches them.
        """
        if object_size is not None:
            self._size = object_size
        end = start + len(data)
        need = self._outstanding
        if data:
            self._seen_end = max(self._seen_end, end)
        if need is not None and start <= need.start <= end:
            self._outstanding = None
            if self._size is None and end < need.end:
                if data or start <= self._seen_end:
                    # Bytes up to ``end`` exist and none after: the object ends there.
                    self._size = end
                else:
                    # An empty answer after a jump (416 with no size): the object ends at or
                    # before ``start``, perhaps inside the data just jumped over.
                    bound = self._end_bound
                    self._end_bound = start if bound is None else min(bound, start)
        if end <= self._pos:
            return
        buf_end = self._buf_start + len(self._buf)
        if self._buf and self._buf_start <= start <= buf_end:
            # Contiguous with (or overlapping) what we hold: keep only the new part.
            self._buf += memoryview(data)[buf_end - start :]
            self._absorb()
        elif start <= self._pos:
            self._set_window(start, bytearray(data))
        else:
            self._ahead[start] = bytes(data)
        self._trim()

    # -- output ---------------------------------------------------------------------------

    def next_event(self) -> Event:
        """The next thing to do or to know. Raises a :class:`FITSError` subclass."""
        if self._error is not None:
            raise self._error
        if self._done:
            raise RuntimeError("the walk is over: EndOfObject was already returned")
        try:
            event = self._step()
        except AstroCloudError as err:
            if self._url is not None:
                err.with_url(self._url)
            if self._pending is not None:
                # Emit what was found before the error; raise on the next call.
                hdu, self._pending = self._pending, None
                self._error = err
                return self._finish(hdu)
            self._error = err
            raise
        if isinstance(event, NeedData):
            self._outstanding = event
        elif isinstance(event, EndOfObject):
            self._done = True
        return event

    # -- internals ------------------------------------------------------------------------

    def _finish(self, hdu: HDU, trailing: int = 0) -> HDU:
        """``hdu`` with the facts known once the object's size is known."""
        data_end = hdu.data_offset + hdu.data_size
        if self._size is not None:
            truncated = data_end > self._size
        else:
            truncated = self._end_bound is not None and self._end_bound < data_end
        if truncated or trailing:
            return HDU(
                hdu.index,
                hdu.header_offset,
                hdu.data_offset,
                hdu.data_size,
                hdu.header,
                truncated,
                trailing,
            )
        return hdu

    def _end(self, trailing: int = 0) -> Event:
        if self._pending is not None:
            hdu, self._pending = self._pending, None
            return self._finish(hdu, trailing)
        return EndOfObject(self._size, self._index)

    def _need(self, start: int, size: int) -> NeedData:
        end = start + size
        if self._size is not None:
            end = min(end, self._size)
        for seg_start in self._ahead:
            if start < seg_start < end:
                end = seg_start  # held already: never ask for the same bytes twice
        return NeedData(start, end)

    def _set_window(self, start: int, data: bytearray) -> None:
        self._buf = data
        self._buf_start = start
        self._end_at = None
        self._end_free = 0
        self._absorb()

    def _absorb(self) -> None:
        """Join held-ahead segments that touch the window's end."""
        while self._ahead:
            buf_end = self._buf_start + len(self._buf)
            for seg_start in sorted(self._ahead):
                seg = self._ahead[seg_start]
                if seg_start + len(seg) <= buf_end:
                    del self._ahead[seg_start]  # wholly held already
                    break
                if seg_start <= buf_end:
                    del self._ahead[seg_start]
                    self._buf += memoryview(seg)[buf_end - seg_start :]
                    break
            else:
                return

    def _trim(self) -> None:
        """Drop held bytes before the next header (they will never be needed again)."""
        pos = self._pos
        drop = pos - self._buf_start
        if drop > 0:
            if drop >= len(self._buf):
                self._buf = bytearray()
            else:
                del self._buf[:drop]
            self._buf_start = pos
        ahead = self._ahead
        if ahead and min(ahead) <= pos:  # else no segment is passed or starts the window
            for seg_start in [s for s, seg in ahead.items() if s + len(seg) <= pos]:
                del ahead[seg_start]
            if not self._buf:
                for seg_start, seg in sorted(ahead.items()):
                    if seg_start <= pos:
                        del ahead[seg_start]
                        self._set_window(pos, bytearray(seg[pos - seg_start :]))
                        break

    def _step(self) -> Event:
        if self._rest is not None:
            return self._take_rest(self._rest)
        pos = self._pos
        size = self._size
        if size is None and self._end_bound is not None and pos >= self._end_bound:
            # The object ends before the next header, where exactly is unknown (an empty
            # answer gave no size). Ask for its last possible byte: if it is there, that is the
            # size; if not, ask for the last data byte of the last HDU to learn whether its
            # data are whole.
            bound = self._end_bound
            hdu = self._pending
            if self._seen_end < bound and not self._probed:
                self._probed = True
                return NeedData(bound - 1, bound)
            if self._seen_end >= bound:
                self._size = size = bound
            elif (
                hdu is not None
                and not self._probed_data
                and self._seen_end < hdu.data_offset + hdu.data_size <= bound
            ):
                self._probed_data = True
                data_end = hdu.data_offset + hdu.data_size
                return NeedData(data_end - 1, data_end)
            else:
                if self._index == 0 and hdu is None:
                    raise NotFITSError("empty object: no SIMPLE card", offset=0)
                return self._end()
        if size is not None and pos >= size:
            if self._index == 0 and self._pending is None:
                raise NotFITSError("empty object: no SIMPLE card", offset=0)
            return self._end()
        # The held bytes are already trimmed to ``pos``: whatever moves the position or brings
        # bytes (feed, _take_header, _take_rest) trims them.
        held_from = pos - self._buf_start
        held = len(self._buf) - held_from if held_from >= 0 else 0
        if held < CARD:
            if size is not None and pos + held >= size and held > 0:
                return self._short_tail(pos, held)
            if held <= 0 or held_from < 0:
                read = self._first_read if self._index == 0 else self._next_read
                return self._need(pos, read)
            return self._need(self._buf_start + len(self._buf), self._next_read)
        # The first card says whether a header starts here.
        buf = self._buf
        if not buf.startswith(_EXTENSION, held_from) and not (
            self._index == 0 and buf.startswith(_PRIMARY, held_from)
        ):
            if self._index == 0:
                raise NotFITSError("no SIMPLE or XTENSION card at the start", offset=pos)
            # Bytes after the last HDU that start no header end the walk (as in astropy).
            return self._end((size - pos) if size is not None else held)
        if self._end_at is None:
            found = self._find_end(held_from)
            if found is not None:
                self._end_at = self._buf_start + found
        if self._end_at is None:
            if held >= self._max_header_bytes:
                raise HeaderTooLargeError(
                    f"no END card in the first {self._max_header_bytes} header bytes", offset=pos
                )
            if size is not None and pos + held >= size:
                where = "a header" if self._index == 0 else f"the header of HDU {self._index}"
                raise TruncatedHeaderError(
                    f"the object ends inside {where} (no END card)",
                    offset=size,
                    header=parse_header(bytes(self._buf[held_from:])),
                )
            # Grow geometrically while the header goes on, from where the held bytes end.
            grow = max(self._next_read, held)
            grow = min(grow, self._max_header_bytes - held)
            return self._need(pos + held, padded(grow))
        if self._pending is not None:
            # A valid next header follows: the previous HDU is final.
            hdu, self._pending = self._pending, None
            return self._finish(hdu)
        return self._take_header(pos, held_from, self._end_at - self._buf_start)

    def _short_tail(self, pos: int, held: int) -> Event:
        """Fewer than 80 bytes left at a header position: not a header."""
        if self._index == 0:
            raise NotFITSError("object too short to hold a FITS header", offset=pos)
        return self._end(held)

    def _find_end(self, held_from: int) -> int | None:
        """Offset (in ``_buf``) of the END card of the header starting at ``held_from``.

        The rule is the header parser's (:func:`find_end`, astropy's): the first exact END
        card. A damaged one (``END`` then a byte that cannot continue a keyword) is taken only
        where no exact one follows, so, with no exact END in the bytes held, only once nothing
        more can follow: the object, or the header size bound, ends there.

        While a header goes on over several reads, the whole cards already found not to start
        with END are not looked at again.
        """
        buf = self._buf
        start = max(held_from, self._end_free - self._buf_start)
        i = _first_card_with(buf, b"END", start, len(buf))
        if i < 0:
            self._end_free = self._buf_start + start + (len(buf) - start) // CARD * CARD
            return None
        self._end_free = self._buf_start + i
        if buf.startswith(_END_CARD, i):
            return i  # the first card starting with END is exact: find_end's answer
        i = find_end(buf, held_from)
        if i < 0 or buf.startswith(_END_CARD, i):
            return None if i < 0 else i
        if _aligned_find(buf, _END_CARD, i, held_from) >= 0:
            return i  # the parser chose the damaged card with an exact one in view
        held = len(buf) - held_from
        known_end = self._size if self._size is not None else self._end_bound
        if held >= self._max_header_bytes or (
            known_end is not None and self._buf_start + len(buf) >= known_end
        ):
            return i
        return None

    def _take_header(self, pos: int, held_from: int, end_card: int) -> Event:
        if self._index >= self._max_hdus:
            raise TooManyHDUsError(f"more than {self._max_hdus} HDUs", offset=pos)
        header_end = end_card + CARD
        raw = bytes(self._buf[held_from:header_end])
        # An exact END card is the one the parser would find too (see Header._cut).
        header = Header._cut(raw) if raw.endswith(_END_CARD) else parse_header(raw)
        data_offset = pos + padded(header_end - held_from)
        self._end_at = None
        self._end_free = 0
        if self._index == 0 and rest_is_data(header):
            self._index = 1
            self._rest = HDU(0, pos, data_offset, 0, header)
            self._pos = data_offset
            self._trim()
            return self._step()
        size = standard_data_size(header.raw, max_size=self._max_data_size)
        if size is None:
            try:
                size = data_size(header, max_size=self._max_data_size)
            except FITSError as err:
                err.offset = pos
                raise
        hdu = HDU(self._index, pos, data_offset, size, header)
        self._index += 1
        self._pending = hdu
        self._pos = hdu.end
        self._trim()
        return self._step()

    def _take_rest(self, hdu: HDU) -> Event:
        """The HDU of a ``SIMPLE = F`` primary, once the object's size is known: its data are
        the rest of the object, and nothing follows them."""
        size = self._size
        if size is None:
            probe = self._size_probe(hdu.data_offset)
            if probe is not None:
                return probe
            size = self._size
            assert size is not None
        self._rest = None
        rest = max(size - hdu.data_offset, 0)
        self._pending = HDU(hdu.index, hdu.header_offset, hdu.data_offset, rest, hdu.header)
        self._pos = max(size, hdu.data_offset)
        self._trim()
        return self._end()

    def _size_probe(self, start: int) -> NeedData | None:
        """A one-block read that narrows down where the object ends, or ``None`` once the size
        is known. Bytes exist below ``low``; none at or after ``high`` (an empty answer)."""
        low = max(self._seen_end, start)
        high = self._end_bound
        if high is not None and low >= high:
            self._size = high
            return None
        if high is None:
            at = 2 * padded(max(low, BLOCK))  # gallop: well past the bytes seen
            return NeedData(at, at + BLOCK)
        at = max(low, (low + (high - low) // 2) // BLOCK * BLOCK)
        return NeedData(at, min(at + BLOCK, high))


def _aligned_find(buf: bytearray, needle: bytes, start: int, origin: int) -> int:
    """Offset of ``needle`` in ``buf`` at or after ``start`` on a card boundary from ``origin``."""
    while True:
        i = buf.find(needle, start)
        if i < 0:
            return -1
        misalign = (i - origin) % CARD
        if not misalign:
            return i
        start = i - misalign + CARD


def walk_bytes(data: bytes, **options: Any) -> list[HDU]:
    """Walk an object held whole in memory; return its HDUs (options as for :class:`Walker`)."""
    walker = Walker(object_size=len(data), **options)
    hdus: list[HDU] = []
    while True:
        event = walker.next_event()
        if isinstance(event, NeedData):
            walker.feed(event.start, data[event.start : event.end])
        elif isinstance(event, HDU):
            hdus.append(event)
        else:
            return hdus


def walk_file(file: str | os.PathLike[str] | BinaryIO, **options: Any) -> list[HDU]:
    """Walk a local file, reading only the blocks the walk needs; return its HDUs."""
    if isinstance(file, (str, os.PathLike)):
        with open(file, "rb") as f:
            return walk_file(f, **options)
    fd = file.fileno()
    walker = Walker(object_size=os.fstat(fd).st_size, url=getattr(file, "name", None), **options)
    hdus: list[HDU] = []
    while True:
        event = walker.next_event()
        if isinstance(event, NeedData):
            walker.feed(event.start, os.pread(fd, event.end - event.start, event.start))
        elif isinstance(event, HDU):
            hdus.append(event)
        else:
            return hdus
