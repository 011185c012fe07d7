"""The Google Cloud Storage store against fake-gcs-server behind a token-checking gateway.

Buckets: ``public`` (anyone), ``private`` (a bearer token from google-auth's service-account
flow against the gateway's token endpoint) and ``requester-pays`` (a token and
``userProject``). Requests are counted in the gateway's access log.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from servers.gcs import GCSServer
from store_clients import check_caller_session, check_shared_lean_client

from astro_cloud_async import Client
from astro_cloud_async.errors import (
    AccessDeniedError,
    ConfigurationError,
    FetchTimeoutError,
    ObjectChangedError,
    ObjectNotFoundError,
    ServerError,
    ThrottledError,
)
from astro_cloud_async.options import BLOCK, Options
from astro_cloud_async.pool import RangePool
from astro_cloud_async.pool.retry import is_retryable
from astro_cloud_async.scanner.sources import list_objects
from astro_cloud_async.stores import SourceKind, Stores
from astro_cloud_async.stores.gcs import GCSStore, parse_gcs_https, parse_gcs_url
from astro_cloud_async.stores.gcs.credentials import REFRESH_MARGIN, _refresh_at, token_source
from astro_cloud_async.stores.gcs.errors import error_reason, gcs_error
from astro_cloud_async.stores.gcs.store import DEFAULT_ENDPOINT, gcs_endpoint

ACCESS = {
    "public": {"anon": True},
    "private": {},
    "requester-pays": {"requester_pays": True},
}


def _ranges(size: int) -> list[tuple[int, int]]:
    return [(0, BLOCK), (BLOCK, 4 * BLOCK), (7, 3001), (size - 100, size + BLOCK), (size, size + 1)]


@pytest.mark.parametrize("bucket", sorted(ACCESS))
async def test_reads_match_the_files(
    gcs_credentials: GCSServer, sample_corpus: dict[str, Path], bucket: str
) -> None:
    options = Options(endpoint_url=gcs_credentials.endpoint_url, **ACCESS[bucket])
    async with GCSStore(options) as store:
        for name in ("table", "unpadded", "tess_1"):
            path = sample_corpus[name]
            content = path.read_bytes()
            url = gcs_credentials.url(bucket, path.name)
            for start, end in _ranges(len(content)):
                result = await store.get_range(url, start, end)
                assert result.data == content[start:end], (name, start, end)
                if start < len(content):  # fake-gcs-server's 416 does not state the size
                    assert result.object_size == len(content)
                assert result.etag is not None and result.etag.isdigit()  # the generation


async def test_tess_costs_two_requests(
    gcs_credentials: GCSServer, sample_corpus: dict[str, Path]
) -> None:
    url = gcs_credentials.url("private", sample_corpus["tess_1"].name)
    mark = gcs_credentials.log_mark()
    async with Client(endpoint_url=gcs_credentials.endpoint_url) as client:
        records = await client.read_headers(url)
    assert len(records) == 3
    await asyncio.sleep(0.3)
    entries = [e for e in gcs_credentials.access_log_entries(mark) if e.path != "/token"]
    assert [e.status for e in entries] == [206, 206]
    assert all("alt=media" in e.path for e in entries)
    assert sum(e.bytes_sent for e in entries) < 64 * 1024


async def test_missing_objects_and_buckets(gcs_server: GCSServer) -> None:
    async with GCSStore(Options(endpoint_url=gcs_server.endpoint_url, anon=True)) as store:
        with pytest.raises(ObjectNotFoundError) as info:
            await store.get_range("gs://public/no/such.fits", BLOCK, 2 * BLOCK)
        assert (info.value.status, info.value.offset) == (404, BLOCK)
        assert info.value.url == "gs://public/no/such.fits"
        with pytest.raises(ObjectNotFoundError):
            await store.get_range("gs://no-such-bucket/x.fits", 0, BLOCK)
        empty = await store.get_range("gs://public/empty.fits", 0, BLOCK)
        assert (empty.data, empty.object_size) == (b"", 0)


async def test_anonymous_refused_on_private_bucket(gcs_server: GCSServer) -> None:
    options = Options(endpoint_url=gcs_server.endpoint_url, anon=True, retries=3)
    pool = RangePool(options)
    async with GCSStore(options) as store:
        with pytest.raises(AccessDeniedError) as info:
            await pool.fetch(
                store, "gs://private/table.fits".replace("table", "catalog_sources"), 0, BLOCK
            )
    assert (info.value.status, info.value.code) == (401, "required")
    assert isinstance(info.value, PermissionError)
    assert pool.stats.requests == 1  # access denied is final


async def test_token_is_fetched_once_and_shared(gcs_credentials: GCSServer) -> None:
    mark = gcs_credentials.log_mark()
    url = "gs://private/survey/obs-0000.fits"
    for _ in range(2):  # two clients, each with its own store and session
        async with Client(endpoint_url=gcs_credentials.endpoint_url) as client:
            for start in range(0, 4 * BLOCK, BLOCK):
                await client.fetch_range(url, start, start + BLOCK)
    await asyncio.sleep(0.3)
    entries = gcs_credentials.access_log_entries(mark)
    assert [e.method for e in entries if e.path == "/token"] == ["POST"]
    assert sum(1 for e in entries if e.path != "/token") == 8
    source = token_source()
    assert source.refreshes == 1
    assert gcs_credentials.token not in repr(source)


async def test_token_is_refreshed_when_it_nears_expiry(gcs_credentials: GCSServer) -> None:
    url = "gs://private/survey/obs-0001.fits"
    options = Options(endpoint_url=gcs_credentials.endpoint_url)
    async with GCSStore(options) as store:
        await store.get_range(url, 0, BLOCK)
        source = token_source()
        assert source.refreshes == 1
        source._token = type(source._token)("stale", time.time() - 1)  # type: ignore[misc,union-attr]
        await store.get_range(url, 0, BLOCK)
    assert source.refreshes == 2
    assert source.current() == gcs_credentials.token


def test_refresh_schedule() -> None:
    from datetime import datetime, timedelta, timezone

    now = time.time()
    hour = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(hours=1)
    assert 3600 - REFRESH_MARGIN - 5 < _refresh_at(hour) - now <= 3600 - REFRESH_MARGIN + 1
    short = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(seconds=120)
    assert 55 < _refresh_at(short) - now <= 61  # half its life
    assert _refresh_at(None) - now > 600


async def test_requester_pays_sends_the_project(gcs_credentials: GCSServer) -> None:
    url = "gs://requester-pays/survey/obs-0002.fits"
    mark = gcs_credentials.log_mark()
    # The project of the credentials file by default, project= when given.
    async with GCSStore(
        Options(endpoint_url=gcs_credentials.endpoint_url, requester_pays=True)
    ) as store:
        await store.get_range(url, 0, BLOCK)
    options = Options(
        endpoint_url=gcs_credentials.endpoint_url, requester_pays=True, project="billing-1"
    )
    async with GCSStore(options) as store:
        await store.get_range(url, 0, BLOCK)
    # Without requester_pays the gateway refuses, as GCS does.
    async with GCSStore(Options(endpoint_url=gcs_credentials.endpoint_url, retries=0)) as store:
        with pytest.raises(AccessDeniedError) as info:
            await store.get_range(url, 0, BLOCK)
    assert (info.value.status, info.value.code) == (400, "userProjectMissing")
    entries = [e for e in gcs_credentials.access_log_entries(mark, at_least=3) if "/o/" in e.path]
    assert f"userProject={gcs_credentials.project}" in entries[0].path
    assert "userProject=billing-1" in entries[1].path
    assert "userProject" not in entries[2].path


async def test_if_match_pins_the_generation(gcs_server: GCSServer) -> None:
    url = "gs://public/survey/obs-0003.fits"
    async with GCSStore(Options(endpoint_url=gcs_server.endpoint_url, anon=True)) as store:
        first = await store.get_range(url, 0, BLOCK)
        assert first.etag is not None
        again = await store.get_range(url, 0, BLOCK, if_match=first.etag)
        assert again.etag == first.etag
        with pytest.raises(ObjectChangedError):
            await store.get_range(url, 0, BLOCK, if_match="1234")


async def test_listing_pages_through_500_objects(
    gcs_server: GCSServer, cloud_survey: dict[str, Path]
) -> None:
    options = Options(endpoint_url=gcs_server.endpoint_url, anon=True)
    async with GCSStore(options) as store:
        pages = []
        token = None
        while True:
            page = await store.list_page("gs://public/survey/", token, limit=200)
            pages.append(page)
            token = page.token
            if token is None:
                break
        urls = [info.url for page in pages for info in page.objects]
        assert [len(p.objects) for p in pages] == [200, 200, 100]
        assert urls == [f"gs://public/{key}" for key in sorted(cloud_survey)]
        assert all(
            info.size == cloud_survey[info.url[len("gs://public/") :]].stat().st_size
            for p in pages
            for info in p.objects
        )
        pool = RangePool(options)
        streamed = [u async for u in list_objects(pool, store, "gs://public/", (".fz",))]
        assert streamed == ["gs://public/image_rice.fits.fz"]


async def test_https_form_and_emulator_variable(
    gcs_server: GCSServer, sample_corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # STORAGE_EMULATOR_HOST without a scheme, as Google's libraries take it.
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_server.endpoint_url.removeprefix("http://"))
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("HOME", "/nonexistent")  # no gcloud user credentials either
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")  # and no metadata server
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    path = sample_corpus["table"]
    url = f"https://storage.googleapis.com/public/{path.name}"
    async with Stores(Options()) as stores:
        store = stores.for_url(url)
        assert isinstance(store, GCSStore)
        # No credentials anywhere: against an emulator, requests go out anonymously.
        result = await store.get_range(url, 0, 2 * BLOCK)
        assert result.data == path.read_bytes()[: 2 * BLOCK]
        page = await store.list_page(
            "https://storage.googleapis.com/public/survey/obs-000", limit=3
        )
        assert [i.url for i in page.objects] == [
            f"https://storage.googleapis.com/public/survey/obs-000{n}.fits" for n in range(3)
        ]


def test_url_forms() -> None:
    assert parse_gcs_url("gs://b/a/b c.fits").key == "a/b c.fits"
    assert parse_gcs_url("gcs://b/").key == ""
    assert parse_gcs_https("https://storage.googleapis.com/b/a%20b.fits") == parse_gcs_url(
        "gs://b/a b.fits"
    )
    assert parse_gcs_https("https://b.storage.googleapis.com/k.fits") == parse_gcs_url(
        "gs://b/k.fits"
    )
    assert parse_gcs_https("https://storage.cloud.google.com/b/k.fits") == parse_gcs_url(
        "gs://b/k.fits"
    )
    assert parse_gcs_https("https://example.org/b/k.fits") is None
    assert parse_gcs_url("gs://b/x/y.fits").object_path() == "/storage/v1/b/b/o/x%2Fy.fits"
    with pytest.raises(ConfigurationError):
        parse_gcs_url("gs:///k")
    store = GCSStore(Options(anon=True))
    assert store.source_kind("gs://b/") is SourceKind.PREFIX
    assert store.source_kind("gs://b") is SourceKind.PREFIX
    assert store.source_kind("gs://b/x/f.fits") is SourceKind.OBJECT
    assert store.source_kind("gs://b/x/f") is SourceKind.UNKNOWN


def test_endpoint_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    assert gcs_endpoint(Options()) == DEFAULT_ENDPOINT
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "localhost:4443")
    assert gcs_endpoint(Options()) == "http://localhost:4443"
    assert gcs_endpoint(Options(endpoint_url="https://gcs.internal/")) == "https://gcs.internal"


@pytest.mark.parametrize(
    ("status", "reason", "cls", "retry"),
    [
        (404, "notFound", ObjectNotFoundError, False),
        (403, "forbidden", AccessDeniedError, False),
        (401, "required", AccessDeniedError, False),
        (400, "userProjectMissing", AccessDeniedError, False),
        (412, "conditionNotMet", ObjectChangedError, False),
        (429, "rateLimitExceeded", ThrottledError, True),
        (503, None, ThrottledError, True),
        (500, "backendError", ServerError, True),
        (408, None, FetchTimeoutError, True),
    ],
)
def test_reason_table(status: int, reason: str | None, cls: type[Exception], retry: bool) -> None:
    error = gcs_error(status, reason, "gs://b/k", 5, retry_after=7.0)
    assert type(error) is cls
    assert (error.status, error.code, error.offset) == (status, reason, 5)
    assert is_retryable(error) is retry
    throttled = issubclass(cls, ThrottledError)
    assert ("retry after 7 s" in str(error)) is throttled
    assert error.retry_after == 7.0  # kept on the error, where the pool waits it out


def test_error_bodies() -> None:
    body = {"error": {"code": 404, "message": "x", "errors": [{"reason": "notFound"}]}}
    assert error_reason(json.dumps(body).encode()) == "notFound"
    assert error_reason(b'{"error": {"code": 404, "status": "NOT_FOUND"}}') == "NOT_FOUND"
    assert error_reason(b"Not Found") is None
    assert error_reason(b"[1]") is None


def test_anonymous_reads_never_import_google_auth(gcs_server: GCSServer) -> None:
    code = (
        "import sys, astro_cloud_async as aca\n"
        f"r = aca.read_headers('gs://public/survey/obs-0004.fits', anon=True, "
        f"endpoint_url={gcs_server.endpoint_url!r})\n"
        "assert len(r) >= 1\n"
        "print(sorted(m for m in sys.modules if m.startswith('google')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


async def test_a_silent_token_service_fails_the_refresh_in_bounded_time(
    gcs_server: GCSServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import socket

    from astro_cloud_async.errors import ConnectionFailedError
    from astro_cloud_async.stores.gcs import credentials

    # A token service that takes the connection and never answers: the refresh (in a worker
    # thread, under the source's lock) must give up, not hold every later refresh forever.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        account = json.loads(gcs_server.credentials_file(tmp_path).read_text())
        account["token_uri"] = f"http://127.0.0.1:{silent.getsockname()[1]}/token"
        path = tmp_path / "silent-account.json"
        path.write_text(json.dumps(account))
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
        monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
        monkeypatch.setattr(credentials, "TOKEN_TIMEOUT", (1.0, 0.5))
        source = token_source()
        began = time.monotonic()
        with pytest.raises(ConnectionFailedError, match="token service"):
            await source.token("gs://private/x.fits", 0)
        assert time.monotonic() - began < 10
        assert source.refreshes == 0 and source.current() is None
    finally:
        silent.close()


async def test_requests_go_through_the_shared_lean_client_on_kept_connections(
    gcs_server: GCSServer, sample_corpus: dict[str, Path]
) -> None:
    path = sample_corpus["table"]
    options = Options(endpoint_url=gcs_server.endpoint_url, anon=True)
    url, prefix = gcs_server.url("public", path.name), "gs://public/survey/obs-000"
    await check_shared_lean_client(options, Stores.gcs_store, url, prefix, path.read_bytes())


async def test_an_encoded_object_name_is_sent_exactly_as_built(gcs_server: GCSServer) -> None:
    mark = gcs_server.log_mark()
    async with GCSStore(Options(endpoint_url=gcs_server.endpoint_url, anon=True)) as store:
        with pytest.raises(ObjectNotFoundError):
            await store.get_range("gs://public/a b+c%2F/d~é.fits", 0, BLOCK)
    (entry,) = gcs_server.access_log_entries(mark, at_least=1)
    assert entry.path == "/storage/v1/b/public/o/a%20b%2Bc%252F%2Fd~%C3%A9.fits?alt=media"


async def test_a_caller_session_carries_every_request(
    gcs_server: GCSServer, sample_corpus: dict[str, Path]
) -> None:
    path = sample_corpus["table"]
    options = Options(endpoint_url=gcs_server.endpoint_url, anon=True)
    url, prefix = gcs_server.url("public", path.name), "gs://public/survey/obs-000"
    await check_caller_session(options, Stores.gcs_store, url, prefix, path.read_bytes())
