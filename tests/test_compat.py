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
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from astropy.io import fits
from servers import HTTPServer
from servers.azurite import AzureServer
from servers.gcs import GCSServer
from servers.seaweedfs import S3Server

import astro_cloud_async as aca
from astro_cloud_async.compat import s3_options
from astro_cloud_async.errors import (
    AccessDeniedError,
    ConfigurationError,
    NotFITSError,
    ObjectNotFoundError,
)


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
    # The old HTTP tier's positional form: load_headers(url, auth).
    assert len(aca.load_headers(url, ("reader", "secret"))) == 2  # type: ignore[arg-type]
    import requests.auth

    assert len(aca.load_headers(url, auth=requests.auth.HTTPBasicAuth("reader", "secret"))) == 2
    with pytest.raises(AccessDeniedError):
        aca.load_headers(url, auth=("reader", "wrong"), retries=0)
    with pytest.raises(ConfigurationError, match="unsupported auth"):
        aca.load_headers(url, auth=object())


def test_http_tier_errors_are_typed(nginx_server: HTTPServer) -> None:
    with pytest.raises(ObjectNotFoundError):
        aca.load_headers(nginx_server.url("absent.fits"), retries=0)


def test_services_are_told_what_they_cannot_take() -> None:
    for service in (aca.CloudService.ObjectStorage, aca.CloudService.BlobStorage):
        with pytest.raises(ConfigurationError, match="not the URL of"):
            aca.load_headers("https://storage.example/bucket/x.fits", service)
        with pytest.raises(ConfigurationError, match="not the URL of"):
            aca.load_headers("s3://bucket/x.fits", service)
        with pytest.raises(ConfigurationError, match="is for S3"):
            aca.load_headers("gs://b/x.fits", service, aca.PaymentSolution.AWSRequestPayer)
        with pytest.raises(ConfigurationError, match="own credentials"):
            aca.load_headers("az://c/x.fits", service, auth=("user", "password"))
    with pytest.raises(ConfigurationError, match="S3"):
        aca.load_headers(
            "https://www.example.org/x.fits", payment_solution=aca.PaymentSolution.AWSRequestPayer
        )
    with pytest.raises(ConfigurationError, match="credential chain"):
        aca.load_headers("s3://bucket/x.fits", aca.CloudService.S3, auth=("user", "password"))


def _as_tuples(headers: list[aca.FITSHeader]) -> list[tuple[int, int, list[tuple[str, Any]]]]:
    return [(h.offset, h.length, list(h.fits.items())) for h in headers]


def test_object_storage_reads_google_cloud_storage(
    gcs_server: GCSServer, sample_corpus: dict[str, Path]
) -> None:
    path = sample_corpus["tess_1"]
    expected = _as_tuples(aca.load_headers(str(path)))
    got = aca.load_headers(
        f"gs://public/{path.name}",
        aca.CloudService.ObjectStorage,
        endpoint_url=gcs_server.endpoint_url,
        anon=True,
    )
    assert expected and _as_tuples(got) == expected
    with pytest.raises(ObjectNotFoundError):
        aca.load_headers(
            "gs://public/absent.fits",
            aca.CloudService.ObjectStorage,
            endpoint_url=gcs_server.endpoint_url,
            anon=True,
            retries=0,
        )


def test_blob_storage_reads_azure_blobs(
    azure_server: AzureServer, sample_corpus: dict[str, Path]
) -> None:
    name = sample_corpus["table"].name
    expected = _as_tuples(aca.load_headers(str(sample_corpus["table"])))
    options = {"connection_string": azure_server.connection_string()}
    got = aca.load_headers(f"az://private/{name}", aca.CloudService.BlobStorage, **options)
    assert expected and _as_tuples(got) == expected
    # The blob's URL under the emulator's endpoint names it too.
    url = f"{azure_server.endpoint_url}/private/{name}"
    assert _as_tuples(aca.load_headers(url, aca.CloudService.BlobStorage, **options)) == expected


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
    # Said to be S3, a URL off AWS is path-style on an S3-compatible service at its origin.
    url, opts = s3_options("http://127.0.0.1:9000/bucket/dir/a%2Bb%20c%25.fits", {})
    assert (url, opts) == ("s3://bucket/dir/a+b c%.fits", {"endpoint_url": "http://127.0.0.1:9000"})
    with pytest.raises(ConfigurationError):
        s3_options("http://127.0.0.1:9000/", {})  # no bucket
    with pytest.raises(ConfigurationError):
        s3_options("http://127.0.0.1:9000/bucket/k.fits?X-Amz-Signature=abc", {})
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


# --- S3 tiers and AWSAuth against the S3 server (which checks signatures) ---------------------


def layout(path: Path) -> list[tuple[int, int]]:
    return [(r.offset, r.length) for r in aca.read_headers(path)]


def test_s3_tier_with_every_url_form(s3_env: S3Server, sample_corpus: dict[str, Path]) -> None:
    path = sample_corpus["tess_2"]
    expected = layout(path)
    for url in (s3_env.url("private", path.name), s3_env.http_url("private", path.name)):
        headers = aca.load_headers(url, aca.CloudService.S3)
        assert [(h.offset, h.length) for h in headers] == expected
    headers = aca.load_headers(
        s3_env.http_url("requester-pays", path.name),
        aca.CloudService.S3,
        aca.PaymentSolution.AWSRequestPayer,
    )
    assert [(h.offset, h.length) for h in headers] == expected
    assert headers[1].fits["NAXIS1"] == 2136


def test_s3_tier_through_aws_auth_and_explicit_endpoint(
    s3_env: S3Server, sample_corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = sample_corpus["mosaic"]
    url = s3_env.http_url("requester-pays", path.name)
    headers = aca.load_headers(url, auth=aca.AWSAuth(request_payer=True))
    assert [(h.offset, h.length) for h in headers] == layout(path)
    headers = aca.load_headers(url, aca.CloudService.S3, endpoint_url=s3_env.endpoint_url)
    assert len(headers) == 4
    # The rest of the API keeps refusing an S3 URL it cannot tell from a web page.
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    with pytest.raises(aca.AccessDeniedError):
        aca.read_headers(url, retries=0)  # read as a plain HTTP resource: unsigned, refused


def test_s3_tier_errors_are_typed(
    s3_env: S3Server, sample_corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ObjectNotFoundError):
        aca.load_headers(s3_env.url("private", "absent.fits"), aca.CloudService.S3, retries=0)
    with pytest.raises(NotFITSError):
        aca.load_headers(s3_env.url("private", sample_corpus["not_fits"].name))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with pytest.raises(AccessDeniedError) as info:
        aca.load_headers(s3_env.url("private", sample_corpus["table"].name), retries=0)
    assert "not-the-secret" not in str(info.value) + repr(info.value)


def test_aws_auth_signs_range_gets_for_requests(
    s3_env: S3Server, sample_corpus: dict[str, Path]
) -> None:
    import requests

    path = sample_corpus["tess_3"]
    url = s3_env.http_url("private", path.name)
    data = path.read_bytes()
    response = requests.get(url, headers={"Range": "bytes=0-2879"}, auth=aca.AWSAuth(), timeout=30)
    assert response.status_code == 206
    assert response.content == data[:2880]
    authorization = response.request.headers["Authorization"]
    assert isinstance(authorization, str)
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKID")
    assert "/us-east-1/s3/aws4_request" in authorization
    assert "range" in authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    # Unsigned, the private bucket refuses; the requester-pays header is signed too.
    assert requests.get(url, headers={"Range": "bytes=0-79"}, timeout=30).status_code == 403
    url = s3_env.http_url("requester-pays", path.name)
    response = requests.get(
        url, headers={"Range": "bytes=2880-5759"}, auth=aca.AWSAuth(request_payer=True), timeout=30
    )
    assert response.status_code == 206
    assert response.content == data[2880:5760]
    assert response.request.headers["x-amz-request-payer"] == "requester"
    assert "x-amz-request-payer" in response.request.headers["Authorization"]


def test_aws_auth_with_a_wrong_secret_is_refused(
    s3_env: S3Server, sample_corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import requests

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    url = s3_env.http_url("private", sample_corpus["table"].name)
    response = requests.get(url, headers={"Range": "bytes=0-79"}, auth=aca.AWSAuth(), timeout=30)
    assert response.status_code == 403
    assert b"SignatureDoesNotMatch" in response.content


def test_aws_auth_encodes_odd_keys_as_s3_does(
    s3_env: S3Server, sample_corpus: dict[str, Path]
) -> None:
    import requests

    key = "odd names/frame (1)+ñ.fits"
    data = sample_corpus["table"].read_bytes()
    client = s3_env.client(direct=True)
    try:
        client.put_object(Bucket=s3_env.scratch_private_bucket, Key=key, Body=data)
        url = s3_env.http_url(s3_env.scratch_private_bucket, quote(key))
        response = requests.get(
            url, headers={"Range": "bytes=0-2879"}, auth=aca.AWSAuth(), timeout=30
        )
        assert response.status_code == 206
        assert response.content == data[:2880]
    finally:
        client.delete_object(Bucket=s3_env.scratch_private_bucket, Key=key)
        client.close()


def test_aws_auth_without_credentials(
    s3_env: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import requests

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(AccessDeniedError, match="no AWS credentials"):
        requests.get(s3_env.http_url("private", "x.fits"), auth=aca.AWSAuth(), timeout=30)


def test_path_style_urls_off_aws_load_as_the_readme_loop_teaches(
    s3_env: S3Server, sample_corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Credentials in the environment, no AWS_ENDPOINT_URL: the URL's origin is the endpoint.
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    bucket = s3_env.scratch_private_bucket  # signed only, like a requester-pays bucket
    files = {
        key: sample_corpus[name]
        for key, name in (
            ("odd/a+b c%.fits", "mosaic"),
            ("plain.fits", "tess_1"),
            ("dir/table.fits", "table"),
        )
    }
    client = s3_env.client(direct=True)
    try:
        for key, path in files.items():
            client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        urls = {key: s3_env.http_url(bucket, quote(key)) for key in files}
        mark = s3_env.log_mark()
        for key, url in urls.items():  # the loop of the original package's README, as written
            headers = aca.load_headers(
                url, aca.CloudService.S3, aca.PaymentSolution.AWSRequestPayer
            )
            assert [(h.offset, h.length) for h in headers] == layout(files[key])
            assert [h.fits.tostring() for h in headers] == [
                r.fits.tostring() for r in aca.read_headers(files[key])
            ]
        entries = s3_env.access_log_entries(mark, at_least=len(files))
        mine = [e for e in entries if e.path.startswith(f"/{bucket}/")]
        assert {e.path for e in mine} == {f"/{bucket}/{quote(k, safe='/-_.~')}" for k in files}
        assert all(e.request_payer == "requester" for e in mine)
        assert all(e.authorization == "AWS4-HMAC-SHA256" for e in mine)
        # Unsigned, the bucket refuses: the records above came from signed requests.
        with pytest.raises(aca.AccessDeniedError):
            aca.read_headers(urls["plain.fits"], retries=0)
    finally:
        for key in files:
            client.delete_object(Bucket=bucket, Key=key)
        client.close()
