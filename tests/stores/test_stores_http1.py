"""The HTTP store's own HTTP/1.1 client at the wire: keep-alive, framing, redirects, failures.

The shapes here are what a raw server of this file's own writes, byte for byte (an answer
with an interim 103, a chunked body with extensions and trailers, one read to the close, a kept
connection the server closes, a malformed status line, a stall); real servers (nginx) show the
keep-alive pool and the per-host bound.
"""

from __future__ import annotations

import asyncio
import base64
import random
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme

from astro_cloud_async.errors import (
    AstroCloudError,
    ConfigurationError,
    ConnectionFailedError,
    FetchTimeoutError,
    ResponseError,
)
from astro_cloud_async.options import Options
from astro_cloud_async.stores.http import HTTPStore
from astro_cloud_async.stores.http1 import (
    HIGH_WATER,
    MAX_REDIRECTS,
    BodyReader,
    Http1Client,
    split_url,
)

BODY = bytes(range(256)) * 64  # 16 KiB

Handler = Callable[["RawServer", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class RawServer:
    """A server on 127.0.0.1 whose handler writes the answer's bytes itself."""

    handler: Handler
    connections: int = 0
    heads: list[bytes] = field(default_factory=list)
    server: asyncio.base_events.Server | None = None
    port: int = 0

    def url(self, path: str = "/object") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(self, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def read_head(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head)
        return head


@pytest.fixture
async def raw() -> AsyncIterator[Callable[[Handler], Awaitable[RawServer]]]:
    servers: list[RawServer] = []

    async def start(handler: Handler) -> RawServer:
        server = RawServer(handler)
        server.server = await asyncio.start_server(server._serve, "127.0.0.1", 0)
        server.port = server.server.sockets[0].getsockname()[1]
        servers.append(server)
        return server

    yield start
    for server in servers:
        assert server.server is not None
        server.server.close()
        await server.server.wait_closed()


def _range_of(head: bytes) -> tuple[int, int]:
    line = next(x for x in head.split(b"\r\n") if x.lower().startswith(b"range:"))
    first, last = line.split(b"=")[1].split(b"-")
    return int(first), int(last) + 1


def _partial(head: bytes, *, extra: bytes = b"") -> bytes:
    start, end = _range_of(head)
    return (
        b"HTTP/1.1 206 Partial Content\r\n"
        + f"Content-Range: bytes {start}-{end - 1}/{len(BODY)}\r\n".encode()
        + f"Content-Length: {end - start}\r\n".encode()
        + extra
        + b"\r\n"
        + BODY[start:end]
    )


async def _keep_alive(server: RawServer, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    while True:
        head = await server.read_head(r)
        w.write(_partial(head))
        await w.drain()


async def test_one_connection_serves_requests_in_turn(raw: Callable[..., Awaitable[RawServer]]):
    server = await raw(_keep_alive)
    async with HTTPStore(Options()) as store:
        for start in (0, 100, 5000, 16000):
            got = await store.get_range(server.url(), start, start + 300)
            assert got.data == BODY[start : start + 300]
    assert server.connections == 1
    assert len(server.heads) == 4


async def test_the_request_head_is_as_sent_by_aiohttp(raw: Callable[..., Awaitable[RawServer]]):
    server = await raw(_keep_alive)
    options = Options(headers={"X-Token": "t1"}, auth=("ann", "pw"))
    async with HTTPStore(options) as store:
        await store.get_range(server.url("/a/b.fits?x=1&y=2"), 0, 10)
    lines = server.heads[0].decode().split("\r\n")
    assert lines[0] == "GET /a/b.fits?x=1&y=2 HTTP/1.1"
    fields = dict(line.split(": ", 1) for line in lines[1:] if line)
    assert fields["Host"] == f"127.0.0.1:{server.port}"
    assert fields["Range"] == "bytes=0-9"
    assert fields["Accept-Encoding"] == "identity"
    assert fields["X-Token"] == "t1"
    assert fields["Authorization"] == "Basic " + base64.b64encode(b"ann:pw").decode()
    assert fields["User-Agent"].startswith("astro_cloud_async/")


async def test_credentials_in_the_url_become_basic_auth(raw: Callable[..., Awaitable[RawServer]]):
    server = await raw(_keep_alive)
    url = server.url().replace("http://", "http://ann:p%40ss@")
    async with HTTPStore(Options()) as store:
        got = await store.get_range(url, 0, 10)
        assert got.data == BODY[:10]
        with pytest.raises(ConfigurationError):  # and an Authorization header as well
            async with HTTPStore(Options(auth="Bearer x")) as other:
                await other.get_range(url, 0, 10)
    assert b"Authorization: Basic " + base64.b64encode(b"ann:p@ss") in server.heads[0]


@pytest.mark.parametrize(
    ("url", "target", "host"),
    [
        ("http://h.example/a b.fits", "/a%20b.fits", "h.example"),
        ("http://H.Example:80/x/../y.fits#frag", "/y.fits", "h.example"),
        ("https://h.example:8443", "/", "h.example:8443"),
        ("http://[::1]:8080/z?q=1", "/z?q=1", "[::1]:8080"),
        ("http://h.example/%7Ea/%zz", "/~a/%25zz", "h.example"),
    ],
)
def test_urls_are_sent_as_aiohttp_sends_them(url: str, target: str, host: str) -> None:
    assert split_url(url)[5] == target
    assert split_url(url)[2] == host


async def test_interim_answer_chunked_body_and_trailers(raw: Callable[..., Awaitable[RawServer]]):
    async def handler(server: RawServer, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        head = await server.read_head(r)
        start, end = _range_of(head)
        data = BODY[start:end]
        w.write(b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n")
        w.write(
            b"HTTP/1.1 206 Partial Content\r\nTransfer-Encoding: chunked\r\n"
            + f"Content-Range: bytes {start}-{end - 1}/{len(BODY)}\r\n\r\n".encode()
        )
        for i in range(0, len(data), 700):  # written in pieces that cut lines apart
            piece = data[i : i + 700]
            frame = f"{len(piece):x};ext=1\r\n".encode() + piece + b"\r\n"
            for j in range(0, len(frame), 333):
                w.write(frame[j : j + 333])
                await w.drain()
        w.write(b"0\r\nX-Trailer: yes\r\n\r\n")
        await _keep_alive(server, r, w)

    server = await raw(handler)
    async with HTTPStore(Options()) as store:
        got = await store.get_range(server.url(), 1000, 9000)
        again = await store.get_range(server.url(), 0, 50)
    assert got.data == BODY[1000:9000] and got.object_size == len(BODY)
    assert again.data == BODY[:50]
    assert server.connections == 1  # the chunked answer ended cleanly: the connection was kept


async def test_body_read_to_the_close(raw: Callable[..., Awaitable[RawServer]]):
    async def handler(server: RawServer, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        head = await server.read_head(r)
        start, end = _range_of(head)
        w.write(
            b"HTTP/1.1 206 Partial Content\r\nConnection: close\r\n"
            + f"Content-Range: bytes {start}-{end - 1}/{len(BODY)}\r\n\r\n".encode()
            + BODY[start:end]
        )
        await w.drain()

    server = await raw(handler)
    async with HTTPStore(Options()) as store:
        first = await store.get_range(server.url(), 10, 4000)
        second = await store.get_range(server.url(), 20, 30)
    assert first.data == BODY[10:4000] and second.data == BODY[20:30]
    assert server.connections == 2


async def test_a_kept_connection_closed_by_the_server_is_replaced(
    raw: Callable[..., Awaitable[RawServer]],
):
    async def handler(server: RawServer, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        head = await server.read_head(r)
        w.write(_partial(head))  # says nothing of closing, then closes: a keep-alive time-out
        await w.drain()
        await asyncio.sleep(0.05)

    server = await raw(handler)
    async with HTTPStore(Options(retries=0)) as store:
        first = await store.get_range(server.url(), 0, 100)
        await asyncio.sleep(0.02)  # the connection is back in the pool, still open
        second = await store.get_range(server.url(), 100, 200)
        await asyncio.sleep(0.1)  # now closed by the server while idle
        third = await store.get_range(server.url(), 200, 300)
    assert (first.data, second.data, third.data) == (BODY[:100], BODY[100:200], BODY[200:300])
    assert server.connections == 3


async def test_dead_connection_before_the_answer_is_retried_once(
    raw: Callable[..., Awaitable[RawServer]],
):
    async def handler(server: RawServer, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        head = await server.read_head(r)
        if server.connections % 2:
            return  # hang up without a word
        w.write(_partial(head))
        await w.drain()

    server = await raw(handler)
    async with HTTPStore(Options(retries=0)) as store:
        got = await store.get_range(server.url(), 0, 100)
    assert got.data == BODY[:100]
    assert server.connections == 2

    async def never(server: RawServer, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await server.read_head(r)

    silent = await raw(never)
    async with HTTPStore(Options(retries=0)) as store:
        with pytest.raises(Exception) as info:
            await store.get_range(silent.url(), 0, 100)
    assert type(info.value).__name__ == "ConnectionFailedError"
    assert info.value.url == silent.url() and info.value.offset == 0  # type: ignore[attr-defined]
    assert silent.connections == 2  # one retry, no more


async def test_malformed_answers_are_typed(raw: Callable[..., Awaitable[RawServer]]):
    answers = {
        "/status": b"HTTP/2 206 Yes\r\nContent-Length: 3\r\n\r\nabc",
        "/header": b"HTTP/1.1 206 OK\r\nno colon here\r\n\r\n",
        "/length": b"HTTP/1.1 206 OK\r\nContent-Length: 3, 4\r\n\r\nabc",
        "/chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
        "/head": b"HTTP/1.1 200 OK\r\nX: " + b"y" * 70_000 + b"\r\n\r\n",
    }

    async def handler(server: RawServer, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        head = await server.read_head(r)
        path = head.split(b" ")[1].decode()
        w.write(answers[path])
        await w.drain()
        await asyncio.sleep(0.2)

    server = await raw(handler)
    async with HTTPStore(Options(retries=0)) as store:
        for path in answers:
            with pytest.raises(ResponseError) as info:
                await store.get_range(server.url(path), 0, 3)
            assert info.value.url == server.url(path)
            assert info.value.offset == 0
            assert "malformed" in str(info.value) or "ended early" in str(info.value), path


async def test_a_stalled_body_times_out(raw: Callable[..., Awaitable[RawServer]]):
    async def handler(server: RawServer, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        head = await server.read_head(r)
        w.write(_partial(head)[:-50])  # the last 50 bytes never come
        await w.drain()
        await asyncio.sleep(5)

    server = await raw(handler)
    loop = asyncio.get_running_loop()
    async with HTTPStore(Options(retries=0, timeout=0.3)) as store:
        began = loop.time()
        with pytest.raises(FetchTimeoutError) as info:
            await store.get_range(server.url(), 0, 1000)
        took = loop.time() - began
    assert info.value.url == server.url()
    assert 0.25 < took < 2.0


async def test_a_header_value_with_a_line_break_is_refused(
    raw: Callable[..., Awaitable[RawServer]],
):
    server = await raw(_keep_alive)
    async with HTTPStore(Options(headers={"X-A": "1\r\nX-Injected: 2"})) as store:
        with pytest.raises(ConfigurationError):
            await store.get_range(server.url(), 0, 10)
    assert server.heads == []


async def test_redirects_are_followed_and_drop_authorization_across_origins(
    raw: Callable[..., Awaitable[RawServer]],
):
    target = await raw(_keep_alive)

    async def handler(server: RawServer, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while True:
            head = await server.read_head(r)
            path = head.split(b" ")[1]
            where = b"/moved" if path == b"/object" else target.url("/there").encode()
            if path == b"/moved" or path == b"/object":
                w.write(b"HTTP/1.1 302 Found\r\nLocation: " + where + b"\r\n")
                w.write(b"Content-Length: 5\r\n\r\nmoved")
            await w.drain()

    origin = await raw(handler)
    async with HTTPStore(Options(auth="Bearer secret")) as store:
        got = await store.get_range(origin.url(), 5, 25)
    assert got.data == BODY[5:25]
    assert [h.split(b" ")[1] for h in origin.heads] == [b"/object", b"/moved"]
    assert all(b"Authorization: Bearer secret" in h for h in origin.heads)
    assert origin.connections == 1  # the redirect's body was read: its connection was kept
    assert target.heads[0].startswith(b"GET /there ") and b"Authorization" not in target.heads[0]


async def test_requests_to_one_host_are_bounded(raw: Callable[..., Awaitable[RawServer]]):
    """A per-host bound of 3 holds 20 requests to three at once, over three connections."""
    active = most = 0

    async def slow(server: RawServer, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        nonlocal active, most
        while True:
            head = await server.read_head(r)
            active += 1
            most = max(most, active)
            await asyncio.sleep(0.03)
            active -= 1
            w.write(_partial(head))
            await w.drain()

    server = await raw(slow)

    async def one(client: Http1Client, i: int) -> bytes:
        async with client.get(server.url(), {"Range": f"bytes={i}-{i + 9}"}) as resp:
            assert resp.status == 206
            return await resp.read()

    bounds = {"limit": 100, "limit_per_host": 3, "connect_timeout": 5, "read_timeout": 5}
    async with Http1Client(**bounds) as client:
        got = await asyncio.gather(*(one(client, i) for i in range(20)))
    assert client.closed and "busy=0" in repr(client)
    assert got == [BODY[i : i + 10] for i in range(20)]
    assert most == 3 and server.connections == 3


class _Wire:
    """What a body reader asks of its connection: the loop, and pausing reading."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.paused = False

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False


@pytest.mark.parametrize("seed", range(20))
async def test_a_body_read_in_any_pieces_is_the_body_sent(seed: int) -> None:
    """Bytes fed in random chunks and read back with random ``read(n)``/``readany()`` come
    out whole and in order; reading pauses above the high-water mark and resumes below."""
    rng = random.Random(seed)
    data = rng.randbytes(rng.randrange(1, 3 * HIGH_WATER))
    wire = _Wire()
    body = BodyReader(wire)  # type: ignore[arg-type]
    fed = 0
    while fed < len(data):
        size = rng.choice((1, 7, 2880, 65536, 300_000))
        body.feed(data[fed : fed + size])
        fed += size
    assert wire.paused == (len(data) > HIGH_WATER)
    body.feed_eof()
    got = bytearray()
    while not body.at_eof():
        if rng.random() < 0.3:
            piece = await body.readany()
        else:
            n = rng.choice((1, 5, 2880, 10_000, 500_000))
            piece = await body.read(n)
            assert len(piece) <= n
        assert piece
        got += piece
    assert bytes(got) == data and not wire.paused
    assert await body.read(10) == b"" and await body.readany() == b""


async def test_a_redirect_loop_ends_in_a_typed_error(raw: Callable[..., Awaitable[RawServer]]):
    async def loop(server: RawServer, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while True:
            await server.read_head(r)
            w.write(b"HTTP/1.1 302 Found\r\nLocation: /object\r\nContent-Length: 0\r\n\r\n")
            await w.drain()

    server = await raw(loop)
    async with HTTPStore(Options(retries=0)) as store:
        with pytest.raises(AstroCloudError) as info:
            await store.get_range(server.url(), 0, 10)
    assert info.value.url == server.url() and "too many redirects" in str(info.value)
    assert len(server.heads) == MAX_REDIRECTS + 1 and server.connections == 1


async def test_https_with_a_trusted_and_an_untrusted_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TLS through the event loop: the certificate is checked against the trust store
    (``SSL_CERT_FILE`` here, a throwaway CA's), the host name against the certificate."""
    ca = trustme.CA()
    served = ca.issue_cert("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.configure_cert(context)
    heads: list[bytes] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await r.readuntil(b"\r\n\r\n")
                heads.append(head)
                w.write(_partial(head))
                await w.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            w.close()

    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=context)
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/object"
    try:
        async with HTTPStore(Options(retries=0)) as store:  # the CA is not trusted
            with pytest.raises(ConnectionFailedError) as info:
                await store.get_range(url, 0, 10)
        assert info.value.url == url and heads == []
        ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
        async with HTTPStore(Options(retries=0)) as store:
            first = await store.get_range(url, 100, 3000)
            second = await store.get_range(url, 0, 50)
        assert (first.data, second.data) == (BODY[100:3000], BODY[:50])
        assert len(heads) == 2
    finally:
        server.close()
        await server.wait_closed()


async def test_an_answer_head_split_over_many_reads(raw: Callable[..., Awaitable[RawServer]]):
    async def trickle(server: RawServer, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while True:
            answer = _partial(await server.read_head(r))
            cut = answer.index(b"\r\n\r\n") + 6  # the head, its blank line and 2 body bytes
            for i in range(0, cut, 3):
                w.write(answer[i : min(i + 3, cut)])
                await w.drain()
                await asyncio.sleep(0)
            w.write(answer[cut:])
            await w.drain()

    server = await raw(trickle)
    async with HTTPStore(Options(retries=0)) as store:
        first = await store.get_range(server.url(), 10, 2000)
        second = await store.get_range(server.url(), 0, 3)
    assert (first.data, second.data) == (BODY[10:2000], BODY[:3])
    assert server.connections == 1
