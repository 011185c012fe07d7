"""A small aiohttp server on 127.0.0.1 that misbehaves on demand.

Real servers cannot produce 503 bursts, connection resets, stalls or short bodies when a test
wants them, so this one does. Every object is ``BODY`` (deterministic bytes) and a request's
path picks the behaviour: ``/ok``, ``/status/{code}``, ``/fail/{code}/{n}`` (``n`` failures
first), ``/reset/{n}``, ``/stall``, ``/stall-body``, ``/short/{n}``, ``/full`` (ignores Range),
``/no-content-range``, ``/wrong-range``, ``/gzip``, ``/hold`` (waits for ``release``),
``/s3error/{Code}/{status}/{n}`` (an S3 XML error ``n`` times first).
It records every request's path and headers and the number being served at once.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

from .aioapp import serve_app

BODY = bytes((i * 7 + i // 251) % 256 for i in range(100_000))
_RANGE = re.compile(r"bytes=(\d+)-(\d+)$")


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class FaultServer:
    base_url: str = ""
    requests: list[Seen] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    active: int = 0
    max_active: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.handle)
        self.runner, self.base_url = await serve_app(app, shutdown_timeout=0.5)

    async def stop(self) -> None:
        self.release.set()
        self.stopping.set()
        if self.runner is not None:
            await self.runner.cleanup()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.requests.append(Seen(path, dict(request.headers)))
        self.counts[path] += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            return await self._dispatch(request, path, self.counts[path])
        finally:
            self.active -= 1

    async def _dispatch(self, request: web.Request, path: str, nth: int) -> web.StreamResponse:
        parts = path.strip("/").split("/")
        kind = parts[0]
        if kind == "status":
            return web.Response(status=int(parts[1]), body=b"no")
        if kind == "s3error" and nth <= int(parts[3]):
            code, status = parts[1], int(parts[2])
            body = f"<?xml version='1.0'?><Error><Code>{code}</Code><Message>m</Message></Error>"
            return web.Response(status=status, body=body.encode(), content_type="application/xml")
        if kind == "fail" and nth <= int(parts[2]):
            return web.Response(status=int(parts[1]), body=b"try again")
        if kind == "reset" and nth <= int(parts[1]):
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=500)
        if kind == "stall":
            await self.stopping.wait()
        if kind == "hold":
            await self.release.wait()
        first, last = self._range(request)
        if kind == "full":
            return web.Response(body=BODY, headers={"ETag": '"v1"'})
        if kind == "gzip":
            return web.Response(
                status=206,
                body=BODY[first : last + 1],
                headers={
                    "Content-Range": f"bytes {first}-{last}/{len(BODY)}",
                    "Content-Encoding": "gzip",
                },
            )
        if first >= len(BODY):
            return web.Response(status=416, headers={"Content-Range": f"bytes */{len(BODY)}"})
        last = min(last, len(BODY) - 1)
        chunk = BODY[first : last + 1]
        headers = {"Content-Range": f"bytes {first}-{last}/{len(BODY)}", "ETag": '"v1"'}
        if kind == "no-content-range":
            del headers["Content-Range"]
        if kind == "wrong-range":
            headers["Content-Range"] = f"bytes {first + 1}-{last + 1}/{len(BODY)}"
        if kind in ("stall-body", "short") and (kind == "stall-body" or nth <= int(parts[1])):
            resp = web.StreamResponse(status=206, headers=headers)
            resp.content_length = len(chunk)
            await resp.prepare(request)
            await resp.write(chunk[: len(chunk) // 2])
            if kind == "stall-body":
                await self.stopping.wait()
            assert request.transport is not None
            request.transport.close()
            return resp
        return web.Response(status=206, body=chunk, headers=headers)

    @staticmethod
    def _range(request: web.Request) -> tuple[int, int]:
        m = _RANGE.match(request.headers.get("Range", ""))
        if m is None:
            return 0, len(BODY) - 1
        return int(m.group(1)), int(m.group(2))
