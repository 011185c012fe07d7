"""Reading the headers of a file the page holds, with the server's walker.

Strategy: the page never uploads a file. It opens a session with the file's name and size;
the server makes a sans-I/O :class:`~astro_cloud_async.fits.walker.Walker` for it and answers
with the first byte range the walker needs. The page slices exactly those bytes from the
file (``File.slice``) and posts them back; the server feeds them and answers with the HDUs
now final and the next range, until the walk ends. It is the loop a remote scan runs (ask,
fetch, feed), with the page as the store: one parser, and a 4 GB file costs its header
blocks. Each session counts the bytes it was sent, so the page (and the tests) can show what
was read.

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
from .encode import hdu_json
from .errors import BadRequestError, NotFoundError, error_json

__all__ = ["IDLE_SECONDS", "MAX_SESSIONS", "WalkSession", "WalkSessions"]

MAX_SESSIONS = 32
IDLE_SECONDS = 600.0


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

    def advance(self) -> dict[str, Any]:
        """Run the walker until it needs bytes or ends: the answer the page gets."""
        found: list[dict[str, Any]] = []
        answer: dict[str, Any] = {"id": self.id, "hdus": found}
        try:
            while True:
                event = self.walker.next_event()
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
