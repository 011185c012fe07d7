"""The package under uvloop's event loop, as uvicorn and other async services run it.

uvloop's transports are not subclasses of ``asyncio.Transport``, so nothing on the data path
may assume they are. A scan over nginx (multi-range answers), over S3 (SeaweedFS, signed
requests) and one over HTTPS (a throwaway CA) must give under uvloop exactly what they give
under the default loop.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import trustme
import uvloop
from servers import HTTPServer
from servers.seaweedfs import S3Server

from astro_cloud_async import Client, HDURecord, Options
from astro_cloud_async.stores.http import HTTPStore

Outcome = tuple[str, int, str]
"""URL, HDU index (-1 for a failed object) and the header's values or the error's type."""


def _both(make: Callable[[], Coroutine[Any, Any, list[Outcome]]]) -> list[Outcome]:
    """Run the coroutine ``make()`` under uvloop and under the default loop; they must agree."""

    async def on_uvloop() -> list[Outcome]:
        assert type(asyncio.get_running_loop()).__module__.startswith("uvloop")
        return await make()

    under_uvloop = uvloop.run(on_uvloop())
    assert under_uvloop == asyncio.run(make())
    return under_uvloop


def _scanner(urls: list[str], **options: Any) -> Callable[[], Coroutine[Any, Any, list[Outcome]]]:
    async def scan() -> list[Outcome]:
        async with Client(**options) as client:
            items = [item async for item in client.scan(urls)]
        return sorted(
            (item.url, item.index, repr(item.header.to_dict()))
            if isinstance(item, HDURecord)
            else (item.url, -1, type(item.error).__name__)
            for item in items
        )

    return scan


def test_a_scan_over_nginx(nginx_server: HTTPServer, sample_corpus: dict[str, Path]) -> None:
    urls = [f"{nginx_server.base_url}/{path.name}" for path in sample_corpus.values()]
    outcomes = _both(_scanner(urls))
    assert {url for url, _, _ in outcomes} == set(urls)
    assert sum(index >= 0 for _, index, _ in outcomes) > len(urls)  # multi-HDU files among them


def test_a_signed_scan_over_s3(s3_env: S3Server, sample_corpus: dict[str, Path]) -> None:
    good = ("tess_1", "tess_2", "tess_3", "mosaic", "table")
    urls = [f"s3://{s3_env.private_bucket}/{sample_corpus[name].name}" for name in good]
    outcomes = _both(_scanner(urls, endpoint_url=s3_env.endpoint_url, region="us-east-1"))
    assert {url for url, _, _ in outcomes} == set(urls)
    assert all(index >= 0 for _, index, _ in outcomes)


BODY = bytes(range(256)) * 16
_RANGE = re.compile(rb"\r\nrange: bytes=(\d+)-(\d+)\r\n", re.IGNORECASE)


def test_https_ranges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await r.readuntil(b"\r\n\r\n")
                match = _RANGE.search(head)
                assert match is not None
                start, last = int(match[1]), int(match[2])
                w.write(
                    b"HTTP/1.1 206 Partial Content\r\n"
                    + f"Content-Range: bytes {start}-{last}/{len(BODY)}\r\n".encode()
                    + f"Content-Length: {last - start + 1}\r\n\r\n".encode()
                    + BODY[start : last + 1]
                )
                await w.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            w.close()

    async def fetch() -> list[Outcome]:
        server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=context)
        url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/object"
        try:
            async with HTTPStore(Options(retries=0)) as store:
                got = [await store.get_range(url, a, b) for a, b in ((100, 3000), (0, 50))]
        finally:
            server.close()
            await server.wait_closed()
        assert [g.data for g in got] == [BODY[100:3000], BODY[:50]]
        return [("object", g.start, g.data.hex()) for g in got]

    assert len(_both(fetch)) == 2
