"""Reading the headers of a file the page holds, with the server's walker.

Strategy: the page never uploads a file. It opens a session with the file's name and size;
the server makes a sans-I/O :class:`~astro_cloud_async.fits.walker.Walker` for it and answers
with the first byte range the walker needs. The page slices exactly those bytes from the
file (``File.slice``) and posts them back; the server feeds them and answers with the HDUs
now final and the next range, until the walk ends. It is the loop a remote scan runs (ask,
fetch, feed), with the page as the store: one parser, and a 4 GB file costs its header
blocks. Each session counts the bytes it was sent, so the page (and the tests) can show what
was read.

A file compressed whole (gzip or bzip2, told by its first bytes) is asked for in order instead,
window after window, and inflated here (:class:`Inflating`): the walker is fed the
decompressed stream, as a scan feeds it, and the HDUs come with the decompressed offsets.

Sessions live in memory, at most :data:`MAX_SESSIONS` at once (the oldest is dropped) and
:data:`IDLE_SECONDS` without a request.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..errors import AstroCloudError
from ..fits.walker import HDU, NeedData, Walker
from ..records import Compression
from ..scanner.inflate import Inflater, sniff
from .encode import hdu_json
from .errors import BadRequestError, NotFoundError, error_json

__all__ = ["IDLE_SECONDS", "MAX_SESSIONS", "WINDOW", "Inflating", "WalkSession", "WalkSessions"]

MAX_SESSIONS = 32
IDLE_SECONDS = 600.0
WINDOW = 1 << 20
"""Stored bytes of a compressed file asked of the page at a time."""


class Inflating:
    """A compressed file being walked: its stored bytes asked of the page in order, the
    walker's needs served from their decompressed stream."""

    def __init__(self, compression: Compression, head: bytes, size: int) -> None:
        self.inflater = Inflater(compression)
        self.inflater.feed(head)
        self.stored = len(head)  # stored bytes had so far: the next one asked for
        self.size = size
        self.ended = False
        self._read = bytearray()  # of the need being served

    @property
    def compression(self) -> Compression:
        return self.inflater.compression

    def take(self, data: bytes) -> None:
        self.inflater.feed(data)
        self.stored += len(data)

    def serve(self, walker: Walker, need: NeedData) -> NeedData | None:
        """Feed ``walker`` the decompressed bytes of ``need`` once all are here (None), or
        say which stored bytes to ask the page for first."""
        inflater = self.inflater
        while True:
            if inflater.produced < need.start:
                inflater.skip(need.start - inflater.produced)
            want = need.end - need.start - len(self._read)
            if inflater.produced == need.start + len(self._read) and want > 0:
                self._read += inflater.read(want)
                want = need.end - need.start - len(self._read)
            if want == 0 or self.ended:
                data, self._read = bytes(self._read), bytearray()
                walker.feed(need.start, data, object_size=inflater.produced if self.ended else None)
                return None
            if self.stored < self.size:
                return NeedData(self.stored, min(self.size, self.stored + WINDOW))
            self.ended = True  # every stored byte given: the stream ends here
            inflater.finish()


@dataclass
class WalkSession:
    """One file being walked for the page."""

    id: str
    name: str
    size: int
    walker: Walker
    need: NeedData | None = None
    fed: int = 0
    requests: int = 0
    hdus: int = 0
    touched: float = field(default_factory=time.monotonic)
    inflating: Inflating | None = None

    def advance(self) -> dict[str, Any]:
        """Run the walker until it needs bytes or ends: the answer the page gets."""
        found: list[dict[str, Any]] = []
        answer: dict[str, Any] = {"id": self.id, "hdus": found}
        try:
            while True:
                event = self.walker.next_event()
                if isinstance(event, NeedData) and self.inflating is not None:
                    ask = self.inflating.serve(self.walker, event)
                    if ask is None:
                        continue  # served from what the page sent
                    event = ask
                if isinstance(event, NeedData):
                    self.need = event
                    answer["need"] = [event.start, event.end]
                    break
                if isinstance(event, HDU):
                    found.append(hdu_json(event))
                    self.hdus += 1
                    continue
                self.need = None
                answer["need"] = None
                answer["done"] = True
                break
        except AstroCloudError as err:
            err.with_url(self.name)
            self.need = None
            answer["need"] = None
            answer["done"] = True
            answer["error"] = error_json(err)
        answer.setdefault("done", False)
        answer["bytes_read"] = self.fed
        answer["requests"] = self.requests
        answer["size"] = self.size
        if self.inflating is not None:
            answer["compression"] = self.inflating.compression
        return answer

    def feed(self, start: int, data: bytes) -> dict[str, Any]:
        """Take the bytes the page sliced for the range it was asked for."""
        need = self.need
        if need is None:
            raise BadRequestError("this walk needs no more bytes", url=self.name)
        if start != need.start or len(data) > need.end - need.start:
            raise BadRequestError(
                f"expected bytes [{need.start}, {need.end}), got {len(data)} from {start}",
                url=self.name,
                offset=start,
            )
        self.fed += len(data)
        self.requests += 1
        compression = sniff(data) if start == 0 and self.inflating is None else None
        if self.inflating is not None:
            self.inflating.take(data)
        elif compression is not None:
            # Compressed whole: a new walker, fed the decompressed stream from here on.
            self.inflating = Inflating(compression, data, self.size)
            self.walker = Walker(url=self.name)
        else:
            self.walker.feed(start, data)
        return self.advance()


class WalkSessions:
    """The open sessions, oldest first."""

    def __init__(self) -> None:
        self._sessions: OrderedDict[str, WalkSession] = OrderedDict()

    def open(self, name: str, size: int) -> WalkSession:
        if size < 0:
            raise BadRequestError(f"a file size cannot be negative ({size})", url=name)
        self._expire()
        while len(self._sessions) >= MAX_SESSIONS:
            self._sessions.popitem(last=False)
        session = WalkSession(
            id=secrets.token_urlsafe(12),
            name=name,
            size=size,
            walker=Walker(object_size=size, url=name),
        )
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str) -> WalkSession:
        session = self._sessions.get(session_id)
        if session is None:
            raise NotFoundError("no such file session (it ended or expired): drop the file again")
        session.touched = time.monotonic()
        self._sessions.move_to_end(session_id)
        return session

    def close(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, s in self._sessions.items() if now - s.touched > IDLE_SECONDS]:
            del self._sessions[key]

    def __len__(self) -> int:
        return len(self._sessions)
