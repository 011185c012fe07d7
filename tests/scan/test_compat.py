"""The original astro-cloud API: load_headers tiers, CloudService, PaymentSolution, AWSAuth."""

from __future__ import annotations

import asyncio
import base64
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from astropy.io import fits
from servers import HTTPServer

import astro_cloud_async as aca
from astro_cloud_async.compat import s3_options
from astro_cloud_async.errors import AccessDeniedError, ConfigurationError, ObjectNotFoundError


def test_enums_keep_their_values() -> None:
    assert aca.PaymentSolution.AWSRequestPayer.value == "aws-request-payer"
    assert aca.CloudService.S3.value == "amazon-web-services-static-storage-service"
    assert {s.name for s in aca.CloudService} == {"S3", "ObjectStorage", "BlobStorage", "Spaces"}


def test_http_tier_returns_fits_headers(
    nginx_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    path = sample_corpus["tess_1"]
    headers = aca.load_headers(nginx_server.url(path))
    records = aca.read_headers(path)
    assert [(h.offset, h.length) for h in headers] == [(r.offset, r.length) for r in records]
    assert [h.length for h in headers] == [2880, 6 * 2880, 4 * 2880]
    offset, length, header = headers[1]  # still a tuple, as FITSHeader was
    assert (offset, length) == (2880, 6 * 2880)
    assert isinstance(header, fits.Header)
    assert header["XTENSION"] == "IMAGE"
    with fits.open(path) as hdul:
        assert list(header.keys()) == list(hdul[1].header.keys())
    assert headers[0].fits.get("SIMPLE") is True


@pytest.fixture
def basic_auth_server(sample_corpus: dict[str, Path]) -> Iterator[str]:
    """An aiohttp file server on 127.0.0.1 that wants user 'reader', password 'secret'."""
    expected = "Basic " + base64.b64encode(b"reader:secret").decode()

    async def serve(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != expected:
            return web.Response(status=401)
        return web.FileResponse(sample_corpus["table"])

    app = web.Application()
    app.router.add_get("/table.fits", serve)
    ready: queue.Queue[str] = queue.Queue()
    loop = asyncio.new_event_loop()

    async def start() -> web.AppRunner:
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready.put(f"http://127.0.0.1:{port}/table.fits")
        return runner

    runner = loop.run_until_complete(start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield ready.get(timeout=10)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def test_http_tier_basic_credentials(basic_auth_server: str) -> None:
    url = basic_auth_server
    with pytest.raises(AccessDeniedError):
        aca.load_headers(url, retries=0)
    assert len(aca.load_headers(url, auth=("reader", "secret"))) == 2
    assert len(aca.load_headers(url, ("reader", "secret"))) == 2  # the old positional form
    import requests.auth

    assert len(aca.load_headers(url, auth=requests.auth.HTTPBasicAuth("reader", "secret"))) == 2
    with pytest.raises(AccessDeniedError):
        aca.load_headers(url, auth=("reader", "wrong"), retries=0)
    with pytest.raises(ConfigurationError, match="unsupported auth"):
        aca.load_headers(url, auth=object())


def test_http_tier_errors_are_typed(nginx_server: HTTPServer) -> None:
    with pytest.raises(ObjectNotFoundError):
        aca.load_headers(nginx_server.url("absent.fits"), retries=0)


def test_unsupported_services() -> None:
    for service in (aca.CloudService.ObjectStorage, aca.CloudService.BlobStorage):
        with pytest.raises(NotImplementedError):
            aca.load_headers("https://storage.example/bucket/x.fits", service)
    with pytest.raises(ConfigurationError, match="S3"):
        aca.load_headers(
            "https://www.example.org/x.fits", payment_solution=aca.PaymentSolution.AWSRequestPayer
        )


def test_s3_urls_of_every_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    url, opts = s3_options("https://stpubdata.s3.us-east-1.amazonaws.com/tess/a%20b.fits", {})
    assert (url, opts) == ("s3://stpubdata/tess/a b.fits", {"region": "us-east-1"})
    url, opts = s3_options("https://s3.us-west-2.amazonaws.com/bucket/key.fits", {})
    assert (url, opts) == ("s3://bucket/key.fits", {"region": "us-west-2"})
    assert s3_options("s3://bucket/key.fits", {"anon": True}) == (
        "s3://bucket/key.fits",
        {"anon": True},
    )
    with pytest.raises(ConfigurationError, match="endpoint_url"):
        s3_options("http://127.0.0.1:9000/bucket/key.fits", {})
    given = {"endpoint_url": "http://127.0.0.1:9000"}
    assert s3_options("http://127.0.0.1:9000/bucket/k.fits", given)[0] == "s3://bucket/k.fits"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    url, opts = s3_options("http://127.0.0.1:9000/bucket/dir/k.fits", {})
    assert (url, opts) == ("s3://bucket/dir/k.fits", {"endpoint_url": "http://127.0.0.1:9000"})


def test_requests_is_imported_only_for_aws_auth() -> None:
    code = (
        "import sys, astro_cloud_async as a\n"
        "assert 'requests' not in sys.modules, 'imported too early'\n"
        "import requests.auth\n"
        "assert issubclass(a.AWSAuth, requests.auth.AuthBase)\n"
        "assert a.AWSAuth is a.compat.AWSAuth\n"
        "print(a.AWSAuth(request_payer=True))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "AWSAuth(request_payer=True, profile=None, region=None)"
