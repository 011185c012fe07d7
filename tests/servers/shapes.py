"""A small aiohttp server answering ranged GETs in shapes no real file server produces.

nginx, Apache and Caddy answer several ranges with ``multipart/byteranges``, merge neighbours,
or (when told to) send the whole body; this server gives the other shapes a client must still
read right: only the first range of several, one part spanning all the ranges asked (with the
gaps), a broken multipart body, an object store's headers, a whole body cut off a given number
of times, a whole body sent chunked with no length. It serves the files of one folder, and
records each request's path, Range header and the body bytes it wrote (as an access log would).

Paths are ``/{shape}/{file name}``; ``shape`` is one of :data:`SHAPES`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from .aioapp import serve_app

__all__ = ["SHAPES", "Served", "ShapesServer"]

SHAPES = (
    "first-only",  # several ranges asked: a plain 206 of the first one
    "spanning",  # several ranges asked: one 206 part from the first start to the last end
    "bad-multipart",  # a multipart answer whose second part is not followed by a delimiter
    "object-store",  # S3's headers; several ranges asked: 200 and the whole body
    "cut-once",  # Range ignored: 200 and the whole body, cut off half-way the first time
    "chunked",  # Range ignored: 200 and the whole body, chunked, no Content-Length
    "cut-206-once",  # one range: a 206 of it, cut off half-way the first time a range is asked
)

_RANGE = re.compile(r"(\d+)-(\d*)")
_BOUNDARY = "3d6b6a416f9b5"


@dataclass
class Served:
    """One request as this server saw it."""

    path: str
    range: str | None
    status: int
    bytes_sent: int


@dataclass
class ShapesServer:
    root: Path
    base_url: str = ""
    log: list[Served] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _files: dict[str, bytes] = field(default_factory=dict)

    def url(self, shape: str, name: str) -> str:
        return f"{self.base_url}/{shape}/{name}"

    def served(self, shape: str) -> list[Served]:
        return [s for s in self.log if s.path.startswith(f"/{shape}/")]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{shape}/{name}", self._handle)
        self._runner, self.base_url = await serve_app(app)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _body(self, name: str) -> bytes:
        if name not in self._files:
            self._files[name] = (self.root / name).read_bytes()
        return self._files[name]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        shape, name = request.match_info["shape"], request.match_info["name"]
        body = self._body(name)
        size = len(body)
        asked = request.headers.get("Range")
        ranges = []
        for m in _RANGE.finditer(asked or ""):
            first = int(m.group(1))
            last = int(m.group(2)) if m.group(2) else size - 1
            ranges.append((first, min(last, size - 1)))
        headers = {"ETag": '"shape-v1"'}
        if shape == "object-store":
            headers["x-amz-request-id"] = "4442587FB7D0A2F9"
            headers["Server"] = "AmazonS3"
        whole = shape in ("cut-once", "chunked") or (shape == "object-store" and len(ranges) > 1)
        if whole or not ranges:
            return await self._whole(request, shape, body, headers)
        if shape == "cut-206-once" and len(ranges) == 1 and not self.served(shape):
            return await self._cut_part(request, body, headers, *ranges[0])
        if len(ranges) == 1 or shape == "first-only":
            first, last = ranges[0]
            return self._respond(request, 206, body[first : last + 1], headers, first, last, size)
        if shape == "spanning":
            first, last = ranges[0][0], ranges[-1][1]
            return self._respond(request, 206, body[first : last + 1], headers, first, last, size)
        parts = []
        for n, (first, last) in enumerate(ranges):
            parts.append(
                f"\r\n--{_BOUNDARY}\r\nContent-Range: bytes {first}-{last}/{size}\r\n\r\n".encode()
                + body[first : last + 1]
            )
            if shape == "bad-multipart" and n == 1:
                parts.append(b"\r\nnot a delimiter\r\n")
        data = b"".join(parts) + f"\r\n--{_BOUNDARY}--\r\n".encode()
        headers["Content-Type"] = f"multipart/byteranges; boundary={_BOUNDARY}"
        self.log.append(Served(request.path, asked, 206, len(data)))
        return web.Response(status=206, body=data, headers=headers)

    def _respond(
        self,
        request: web.Request,
        status: int,
        data: bytes,
        headers: dict[str, str],
        first: int,
        last: int,
        size: int,
    ) -> web.Response:
        headers = {**headers, "Content-Range": f"bytes {first}-{last}/{size}"}
        self.log.append(Served(request.path, request.headers.get("Range"), status, len(data)))
        return web.Response(status=status, body=data, headers=headers)

    async def _cut_part(
        self, request: web.Request, body: bytes, headers: dict[str, str], first: int, last: int
    ) -> web.StreamResponse:
        """A 206 of ``first..last`` that announces the whole part and sends half of it."""
        part = body[first : last + 1]
        headers = {**headers, "Content-Range": f"bytes {first}-{last}/{len(body)}"}
        resp = web.StreamResponse(status=206, headers=headers)
        resp.content_length = len(part)
        entry = Served(request.path, request.headers.get("Range"), 206, 0)
        self.log.append(entry)
        await resp.prepare(request)
        await resp.write(part[: len(part) // 2])
        entry.bytes_sent = len(part) // 2
        assert request.transport is not None
        request.transport.close()
        return resp

    async def _whole(
        self, request: web.Request, shape: str, body: bytes, headers: dict[str, str]
    ) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers=headers)
        if shape != "chunked":
            resp.content_length = len(body)
        else:
            resp.enable_chunked_encoding()
        entry = Served(request.path, request.headers.get("Range"), 200, 0)
        self.log.append(entry)
        await resp.prepare(request)
        cut = shape == "cut-once" and len(self.served("cut-once")) == 1
        stop = len(body) // 2 if cut else len(body)
        step = 64 * 1024
        try:
            for pos in range(0, stop, step):
                chunk = body[pos : min(pos + step, stop)]
                await resp.write(chunk)
                entry.bytes_sent += len(chunk)
        except (ConnectionError, RuntimeError):
            return resp  # the client hung up: what it took is counted
        if cut:
            assert request.transport is not None
            request.transport.close()
            return resp
        await resp.write_eof()
        return resp
