"""A small static HTTP server with Range support, on 127.0.0.1, for the demo and for tests.

aiohttp's ``FileResponse`` answers ``Range`` requests with ``206 Partial Content``, which is all
an index needs from a server. The server counts the requests it answers (per path too) so a
demo can show how little it fetched and a test can prove that a resumed run fetches nothing
twice; an optional ``delay`` slows every answer, to interrupt a run midway. It listens on a
port the system picks (port 0), never a fixed one.

:func:`serve_directory` runs it in the caller's event loop; :func:`serve_directory_in_thread`
runs it in a thread of its own, for synchronous code and for tests driving another process.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from aiohttp import ClientSession, web

from ..errors import ConfigurationError

__all__ = ["RangeServer", "check_range_support", "serve_directory", "serve_directory_in_thread"]


@dataclass
class RangeServer:
    """A running server: its base URL, the folder it serves and what it was asked."""

    base_url: str
    root: Path
    delay: float = 0.0
    requests: int = 0
    range_requests: int = 0
    paths: Counter[str] = field(default_factory=Counter)
    """Requests per URL path."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def url(self, name: str | Path) -> str:
        """The URL of ``name``, relative to the root or an absolute path inside it."""
        path = Path(name)
        if path.is_absolute():
            path = path.relative_to(self.root)
        return f"{self.base_url}/{quote(path.as_posix())}"

    def count(self) -> int:
        with self._lock:
            return self.requests

    def _record(self, request: web.Request) -> None:
        with self._lock:
            self.requests += 1
            self.paths[request.path] += 1
            if "Range" in request.headers:
                self.range_requests += 1


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _app(server: RangeServer) -> web.Application:
    @web.middleware
    async def count_and_delay(request: web.Request, handler: Handler) -> web.StreamResponse:
        server._record(request)
        if server.delay > 0:
            await asyncio.sleep(server.delay)
        return await handler(request)

    app = web.Application(middlewares=[count_and_delay])
    app.router.add_static("/", server.root, show_index=False, follow_symlinks=False)
    return app


def _folder(root: str | Path) -> Path:
    path = Path(root).resolve()
    if not path.is_dir():
        raise ConfigurationError(f"not a folder: {path}")
    return path


@asynccontextmanager
async def serve_directory(
    root: str | Path, *, host: str = "127.0.0.1", delay: float = 0.0
) -> AsyncIterator[RangeServer]:
    """Serve the files under ``root`` over HTTP on ``host`` and a free port."""
    root = _folder(root)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = RangeServer(base_url=f"http://{host}:{port}", root=root, delay=delay)
    runner = web.AppRunner(_app(server), access_log=None)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        yield server
    finally:
        await runner.cleanup()
        sock.close()


@contextmanager
def serve_directory_in_thread(
    root: str | Path, *, host: str = "127.0.0.1", delay: float = 0.0
) -> Iterator[RangeServer]:
    """:func:`serve_directory` in a background thread with its own event loop."""
    started = threading.Event()
    holder: dict[str, RangeServer | BaseException] = {}
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def main() -> None:
        try:
            async with serve_directory(root, host=host, delay=delay) as server:
                holder["server"] = server
                started.set()
                await stop.wait()
        except BaseException as err:
            holder["error"] = err
            started.set()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started.wait()
    try:
        result = holder.get("server")
        if not isinstance(result, RangeServer):
            error = holder.get("error")
            raise error if isinstance(error, BaseException) else RuntimeError("no server")
        yield result
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join()
        loop.close()


async def check_range_support(url: str) -> None:
    """Ask ``url`` for its first 80 bytes; raise unless it answers ``206`` with 80 bytes."""
    async with ClientSession() as session, session.get(url, headers={"Range": "bytes=0-79"}) as r:
        body = await r.read()
        if r.status != 206 or len(body) != 80:
            raise ConfigurationError(
                f"the server did not honour Range (status {r.status}, {len(body)} bytes)",
                url=url,
            )
