"""Server-side request records: what each test server says it was asked and what it sent.

nginx and Apache write one tab-separated line per request in a format we configure
(request line, status, body bytes, Range header); Caddy writes its own JSON lines. Both are
parsed into the same :class:`AccessLogEntry`, so tests count requests and bytes the same way
whatever the server.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AccessLog", "AccessLogEntry", "parse_caddy_line", "parse_tab_line"]


@dataclass(frozen=True, slots=True)
class AccessLogEntry:
    """One request as the server logged it; ``bytes_sent`` counts body bytes only."""

    method: str
    path: str
    status: int
    bytes_sent: int
    range: str | None
    request_payer: str | None = None
    """The ``x-amz-request-payer`` header (nginx logs it; others leave it ``None``)."""
    authorization: str | None = None
    """The scheme of the ``Authorization`` header (``AWS4-HMAC-SHA256``), where logged."""
    connection: int | None = None
    """The server's serial number of the connection the request came on (nginx)."""
    in_flight: int | None = None
    """Requests being answered when this one arrived, itself included (nginx counting them)."""


def _none_if_dash(value: str) -> str | None:
    return None if value in ("", "-") else value


def parse_tab_line(line: str) -> AccessLogEntry:
    """``request-line <TAB> status <TAB> body-bytes <TAB> range`` (nginx and Apache format),
    then (nginx) the request-payer header, the Authorization header, of which only the scheme
    is kept, the connection's serial number and the count of requests in flight."""
    fields = line.rstrip("\n").split("\t")
    request, status, sent, range_ = fields[:4]
    payer, authorization, connection, in_flight = [*fields[4:8], "-", "-", "-", "-"][:4]
    method, _, rest = request.partition(" ")
    path = rest.rsplit(" ", 1)[0] if " " in rest else rest
    return AccessLogEntry(
        method=method,
        path=path,
        status=int(status),
        bytes_sent=0 if sent == "-" else int(sent),
        range=_none_if_dash(range_),
        request_payer=_none_if_dash(payer),
        authorization=_none_if_dash(authorization.split(" ", 1)[0]),
        connection=None if connection in ("", "-") else int(connection),
        in_flight=None if in_flight in ("", "-") else int(in_flight),
    )


def parse_caddy_line(line: str) -> AccessLogEntry:
    """One JSON line of Caddy's access log."""
    record = json.loads(line)
    request = record["request"]
    ranges = request.get("headers", {}).get("Range") or [None]
    return AccessLogEntry(
        method=request["method"],
        path=request["uri"],
        status=int(record["status"]),
        bytes_sent=int(record.get("size", 0)),
        range=ranges[0],
    )


@dataclass(frozen=True, slots=True)
class AccessLog:
    """An access-log file and how to parse it. Positions are byte offsets into the file."""

    path: Path
    parse: Callable[[str], AccessLogEntry]

    def mark(self) -> int:
        """The current end of the log: pass it as ``since`` to see only later requests."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def entries(
        self, since: int = 0, *, at_least: int = 0, timeout: float = 5.0
    ) -> list[AccessLogEntry]:
        """Entries logged after byte ``since``, waiting up to ``timeout`` for ``at_least``.

        Servers log a request just after sending its last byte, so a client can finish before
        the line is written; ``at_least`` waits for the lines the caller knows are coming.
        """
        deadline = time.monotonic() + timeout
        while True:
            entries = self._read(since)
            if len(entries) >= at_least or time.monotonic() > deadline:
                return entries
            time.sleep(0.01)

    def _read(self, since: int) -> list[AccessLogEntry]:
        try:
            with open(self.path, "rb") as f:
                f.seek(since)
                data = f.read()
        except FileNotFoundError:
            return []
        # A line still being written has no newline yet: leave it for the next read.
        complete = data[: data.rfind(b"\n") + 1].decode("utf-8", "replace")
        return [self.parse(line) for line in complete.splitlines() if line.strip()]
