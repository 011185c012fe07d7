"""The test servers themselves: each answers Range requests as the real program does.

These pin down the behaviour the fetching code is tested against (status codes, Content-Range,
what a past-the-end range gets) and that the access logs count what was sent.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from servers import HTTPServer

HTTP_SERVERS = ["nginx_server", "apache_server", "caddy_server"]


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Reply:
    """One request on a fresh connection; header names lower-cased."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), None,
                     headers or {})  # fmt: skip
        response = conn.getresponse()
        body = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        conn.close()


@pytest.fixture(params=HTTP_SERVERS)
def http_server(request: pytest.FixtureRequest) -> HTTPServer:
    server: HTTPServer = request.getfixturevalue(request.param)
    return server


def test_range_get(http_server: HTTPServer, sample_corpus: dict[str, Path]) -> None:
    path = sample_corpus["tess_1"]
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(2880)
        expected = f.read(6 * 2880)
    mark = http_server.log_mark()
    reply = get(http_server.url(path.name), {"Range": f"bytes=2880-{7 * 2880 - 1}"})
    assert reply.status == 206
    assert reply.headers["content-range"] == f"bytes 2880-{7 * 2880 - 1}/{size}"
    assert reply.body == expected
    assert reply.body.startswith(b"XTENSION= 'IMAGE   '")
    (entry,) = http_server.access_log_entries(mark, at_least=1)
    assert (entry.method, entry.status, entry.bytes_sent) == ("GET", 206, 6 * 2880)
    assert entry.range == f"bytes=2880-{7 * 2880 - 1}"
    assert entry.path == "/" + path.name


def test_range_in_a_hole_reads_zeros(http_server: HTTPServer, sample_corpus: dict[str, Path]) -> None:
    path = sample_corpus["tess_2"]
    reply = get(http_server.url(path.name), {"Range": "bytes=1000000-1009999"})
    assert reply.status == 206
    assert reply.body == bytes(10000)


def test_suffix_range(http_server: HTTPServer, sample_corpus: dict[str, Path]) -> None:
    path = sample_corpus["table"]
    data = path.read_bytes()
    reply = get(http_server.url(path.name), {"Range": "bytes=-2880"})
    assert reply.status == 206
    assert reply.headers["content-range"] == f"bytes {len(data) - 2880}-{len(data) - 1}/{len(data)}"
    assert reply.body == data[-2880:]


def test_range_past_end_is_clamped(http_server: HTTPServer, sample_corpus: dict[str, Path]) -> None:
    path = sample_corpus["unpadded"]
    data = path.read_bytes()
    reply = get(http_server.url(path.name), {"Range": f"bytes=14400-{14400 + 8 * 2880 - 1}"})
    assert reply.status == 206
    assert reply.headers["content-range"] == f"bytes 14400-{len(data) - 1}/{len(data)}"
    assert reply.body == data[14400:]


def test_range_starting_past_end(http_server: HTTPServer, sample_corpus: dict[str, Path]) -> None:
    path = sample_corpus["table"]
    size = path.stat().st_size
    reply = get(http_server.url(path.name), {"Range": f"bytes={size}-{size + 2879}"})
    assert reply.status == 416
    # nginx and Caddy name the size; what Apache sends is recorded in test_apache_416.
    if http_server.kind != "apache":
        assert reply.headers["content-range"] == f"bytes */{size}"


def test_empty_object_with_range(http_server: HTTPServer, sample_corpus: dict[str, Path]) -> None:
    reply = get(http_server.url(sample_corpus["empty"].name), {"Range": "bytes=0-28799"})
    assert reply.status in (200, 416)
    assert reply.body in (b"", reply.body) and len(reply.body) < 1000
    if reply.status == 200:
        assert reply.body == b""


def test_missing_object(http_server: HTTPServer) -> None:
    mark = http_server.log_mark()
    reply = get(http_server.url("no-such-file.fits"), {"Range": "bytes=0-2879"})
    assert reply.status == 404
    (entry,) = http_server.access_log_entries(mark, at_least=1)
    assert entry.status == 404 and entry.path == "/no-such-file.fits"


def test_head_gives_size(http_server: HTTPServer, sample_corpus: dict[str, Path]) -> None:
    path = sample_corpus["mosaic"]
    reply = get(http_server.url(path.name), method="HEAD")
    assert reply.status == 200
    assert int(reply.headers["content-length"]) == path.stat().st_size
    assert reply.headers.get("accept-ranges") == "bytes"
    assert "etag" in reply.headers


def test_norange_nginx_sends_everything(
    nginx_norange: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    path = sample_corpus["table"]
    mark = nginx_norange.log_mark()
    reply = get(nginx_norange.url(path.name), {"Range": "bytes=0-2879"})
    assert reply.status == 200
    assert "content-range" not in reply.headers
    assert reply.body == path.read_bytes()
    (entry,) = nginx_norange.access_log_entries(mark, at_least=1)
    assert (entry.status, entry.bytes_sent, entry.range) == (200, len(reply.body), "bytes=0-2879")
