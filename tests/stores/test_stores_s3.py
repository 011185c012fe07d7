"""The S3 store against SeaweedFS (which checks SigV4 signatures).

Buckets: ``public`` (anonymous read), ``private`` and ``requester-pays`` (signed only), each
holding the sample corpus keyed by file name; ``listing`` holds 2,500 tiny objects. Requests
go through the server's logging proxy, so the tests can count what was asked.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.credentials import AioRefreshableCredentials
from aiobotocore.session import AioSession
from botocore.credentials import CredentialProvider
from servers.accesslog import AccessLogEntry
from servers.faults import BODY, FaultServer
from servers.s3data import ManyKeys
from servers.seaweedfs import S3Server

from astro_cloud_async import Client
from astro_cloud_async.errors import (
    AccessDeniedError,
    ConfigurationError,
    ObjectChangedError,
    ObjectNotFoundError,
    ServerError,
    ThrottledError,
)
from astro_cloud_async.options import BLOCK, Options
from astro_cloud_async.pool import RangePool
from astro_cloud_async.pool.retry import is_retryable
from astro_cloud_async.scanner.sources import list_objects
from astro_cloud_async.stores import S3Store, Stores
from astro_cloud_async.stores.s3.errors import s3_error


@pytest.fixture
def signed_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """Admin keys in the environment, but no endpoint: each test passes ``endpoint_url``."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    return s3_server


def _ranges(size: int) -> list[tuple[int, int]]:
    return [(0, BLOCK), (BLOCK, 4 * BLOCK), (7, 3001), (size - 100, size + BLOCK), (size, size + 1)]


@pytest.mark.parametrize(
    ("bucket", "anon", "payer"),
    [("private", False, False), ("public", True, False), ("requester-pays", False, True)],
)
async def test_reads_match_the_files(
    signed_env: S3Server,
    sample_corpus: dict[str, Path],
    bucket: str,
    anon: bool,
    payer: bool,
) -> None:
    options = Options(endpoint_url=signed_env.endpoint_url, anon=anon, requester_pays=payer)
    async with S3Store(options) as store:
        for name in ("tess_2", "unpadded"):
            path = sample_corpus[name]
            content = path.read_bytes()
            url = signed_env.url(bucket, path.name)
            for start, end in _ranges(len(content)):
                result = await store.get_range(url, start, end)
                assert result.data == content[start:end], (name, start, end)
                assert result.object_size == len(content)
                if start < len(content):
                    assert result.etag is not None and result.etag.startswith('"')


async def test_empty_and_missing(signed_env: S3Server, sample_corpus: dict[str, Path]) -> None:
    options = Options(endpoint_url=signed_env.endpoint_url)
    async with S3Store(options) as store:
        empty = await store.get_range(signed_env.url("private", "empty.fits"), 0, BLOCK)
        assert (empty.data, empty.object_size) == (b"", 0)
        with pytest.raises(ObjectNotFoundError) as info:
            await store.get_range("s3://private/no/such.fits", BLOCK, 2 * BLOCK)
        assert info.value.code == "NoSuchKey" and info.value.offset == BLOCK
        assert info.value.url == "s3://private/no/such.fits"
        with pytest.raises(ObjectNotFoundError) as info:
            await store.get_range("s3://no-such-bucket/x.fits", 0, BLOCK)
        assert info.value.code == "NoSuchBucket"


async def test_anonymous_refused_on_private_bucket(
    s3_server: S3Server, sample_corpus: dict[str, Path]
) -> None:
    options = Options(endpoint_url=s3_server.endpoint_url, anon=True)
    key = sample_corpus["table"].name
    async with S3Store(options) as store:
        with pytest.raises(AccessDeniedError) as info:
            await store.get_range(s3_server.url("private", key), 0, BLOCK)
    assert isinstance(info.value, PermissionError)
    assert not is_retryable(info.value)


async def test_wrong_secret_is_access_denied_and_never_shown(
    s3_server: S3Server,
    sample_corpus: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrong = "wrongSECRETvalue-do-not-print-0123456789"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    options = Options(endpoint_url=s3_server.endpoint_url, retries=0)
    pool = RangePool(options)
    url = s3_server.url("private", sample_corpus["table"].name)
    async with S3Store(options) as store:
        with pytest.raises(AccessDeniedError) as info:
            await pool.fetch(store, url, 0, BLOCK)
        shown = " ".join([str(info.value), repr(info.value), repr(store), repr(pool)])
        chained = info.value.__cause__ or info.value.__context__
        shown += " " + repr(chained) + " " + str(chained)
    assert info.value.code == "SignatureDoesNotMatch"
    assert wrong not in shown and wrong[:12] not in shown
    assert pool.stats.requests == 1  # access denied is not retried


async def test_if_match(signed_env: S3Server, sample_corpus: dict[str, Path]) -> None:
    url = signed_env.url("private", sample_corpus["table"].name)
    async with S3Store(Options(endpoint_url=signed_env.endpoint_url)) as s:
        first = await s.get_range(url, 0, BLOCK)
        assert first.etag is not None
        again = await s.get_range(url, BLOCK, 2 * BLOCK, if_match=first.etag)
        assert again.etag == first.etag
        with pytest.raises(ObjectChangedError):
            await s.get_range(url, BLOCK, 2 * BLOCK, if_match='"0123456789abcdef"')


async def test_endpoint_from_environment(s3_env: S3Server, sample_corpus: dict[str, Path]) -> None:
    # AWS_ENDPOINT_URL(_S3) and the keys come from the environment, as botocore reads them.
    path = sample_corpus["mosaic"]
    async with S3Store(Options()) as store:
        result = await store.get_range(s3_env.url("private", path.name), 0, 2 * BLOCK)
    assert result.data == path.read_bytes()[: 2 * BLOCK]


async def test_signed_requests_reach_the_server_once_each(
    signed_env: S3Server, sample_corpus: dict[str, Path]
) -> None:
    path = sample_corpus["tess_3"]
    mark = signed_env.log_mark()
    async with S3Store(Options(endpoint_url=signed_env.endpoint_url)) as store:
        for i in range(5):
            await store.get_range(signed_env.url("private", path.name), i * BLOCK, (i + 1) * BLOCK)
    entries = signed_env.access_log_entries(mark, at_least=5)
    assert [(e.status, e.range) for e in entries] == [
        (206, f"bytes={i * BLOCK}-{(i + 1) * BLOCK - 1}") for i in range(5)
    ]
    assert all(e.path == f"/private/{path.name}" for e in entries)


class _RotatingProvider(CredentialProvider):  # type: ignore[misc]
    """Starts with a wrong secret that must be refreshed at once; refreshes to the right one."""

    METHOD = "rotating-test"
    CANONICAL_NAME = "RotatingTest"

    def __init__(self, access_key: str, secret_key: str):
        self.access_key = access_key
        self.secret_key = secret_key
        self.refreshes = 0

    async def _refresh(self) -> dict[str, str]:
        self.refreshes += 1
        return self._metadata(self.secret_key)

    def _metadata(self, secret: str) -> dict[str, str]:
        # Expiring within botocore's mandatory-refresh window: every use refreshes.
        expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 120))
        return {
            "access_key": self.access_key,
            "secret_key": secret,
            "token": "",
            "expiry_time": expiry,
        }

    async def load(self) -> AioRefreshableCredentials:
        return AioRefreshableCredentials.create_from_metadata(
            metadata=self._metadata("stale-secret"),
            refresh_using=self._refresh,
            method=self.METHOD,
        )


async def test_credentials_are_refreshed_through_botocore(
    s3_server: S3Server, sample_corpus: dict[str, Path]
) -> None:
    provider = _RotatingProvider(s3_server.access_key, s3_server.secret_key)
    session = AioSession()
    session.get_component("credential_provider").insert_before("env", provider)
    options = Options(endpoint_url=s3_server.endpoint_url)
    async with S3Store(options, botocore_session=session) as store:
        result = await store.get_range(s3_server.url("private", "empty.fits"), 0, BLOCK)
        await store.get_range(s3_server.url("private", sample_corpus["table"].name), 0, BLOCK)
    assert result.object_size == 0
    assert provider.refreshes >= 2


def _listings(server: S3Server, mark: int, at_least: int) -> list[AccessLogEntry]:
    """ListObjectsV2 requests logged since ``mark``, waiting up to 5 s for ``at_least``.

    The logging proxy may write an earlier request's line after the mark, and a request's
    line after its answer: only listings are kept, and they are waited for.
    """
    deadline = time.monotonic() + 5.0
    while True:
        found = [e for e in server.access_log_entries(mark) if "list-type=2" in e.path]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


async def test_listing_2500_keys_streamed(s3_many_keys: ManyKeys) -> None:
    server = s3_many_keys.server
    options = Options(endpoint_url=server.endpoint_url, anon=True)
    mark = server.log_mark()
    pool = RangePool(options)
    async with S3Store(options) as store:
        listing = list_objects(pool, store, s3_many_keys.url)
        first = await anext(listing)
        # Only the first page has been asked for when the first key arrives.
        pages_so_far = _listings(server, mark, 1)
        rest = [url async for url in listing]
        page = await store.list_page(s3_many_keys.url, limit=10)
    keys = [first, *rest]
    assert keys == [f"s3://listing/{k}" for k in s3_many_keys.keys]
    assert len(pages_so_far) == 1
    assert len(_listings(server, mark, 3)) >= 3  # 1000 + 1000 + 500 (and the short page)
    assert pool.stats.list_requests == 3 and pool.stats.requests == 0
    assert [info.size for info in page.objects] == [BLOCK] * 10 and page.token is not None


async def test_listing_suffix_filter(signed_env: S3Server, sample_corpus: dict[str, Path]) -> None:
    options = Options(endpoint_url=signed_env.endpoint_url)
    pool = RangePool(options)
    async with S3Store(options) as store:
        found = [u async for u in list_objects(pool, store, "s3://private/", (".fits.fz",))]
        everything = [u async for u in list_objects(pool, store, "s3://private/")]
    # Other tests may add objects under prefixes of their own: the corpus is the top level.
    found = [u for u in found if "/" not in u.removeprefix("s3://private/")]
    everything = [u for u in everything if "/" not in u.removeprefix("s3://private/")]
    assert found == [f"s3://private/{sample_corpus['compressed'].name}"]
    assert sorted(everything) == sorted(f"s3://private/{p.name}" for p in sample_corpus.values())


@pytest.mark.slow
async def test_expand_sources(s3_many_keys: ManyKeys, signed_env: S3Server) -> None:
    options = Options(endpoint_url=signed_env.endpoint_url, anon=True)
    async with Client(options) as client:
        by_prefix = [u async for u in client.expand("s3://listing/many/")]
        by_key = [u async for u in client.expand("s3://listing/many")]  # no object: a prefix
        mark = signed_env.log_mark()
        one = [u async for u in client.expand("s3://listing/many/tiny-000007.fits")]
        missing = [u async for u in client.expand("s3://listing/nothing-here.fits")]
        # Keys that name a file are taken as objects without a request.
        assert signed_env.access_log_entries(mark, timeout=0.5) == []
    expected = [f"s3://listing/{k}" for k in s3_many_keys.keys]
    assert by_prefix == expected and by_key == expected
    assert one == ["s3://listing/many/tiny-000007.fits"]
    assert missing == ["s3://listing/nothing-here.fits"]


async def test_https_urls_read_as_signed_s3(
    signed_env: S3Server, sample_corpus: dict[str, Path]
) -> None:
    path = sample_corpus["table"]
    url = signed_env.http_url("private", path.name)
    options = Options(endpoint_url=signed_env.endpoint_url)
    async with Stores(options, https_as_s3=True) as stores:
        store = stores.for_url(url)
        assert isinstance(store, S3Store)
        result = await store.get_range(url, 0, 3 * BLOCK)
        prefix = signed_env.http_url("private", "")
        listed = [u async for u in list_objects(RangePool(options), store, prefix)]
    assert result.data == path.read_bytes()[: 3 * BLOCK]
    assert signed_env.http_url("private", path.name) in listed


async def test_shared_stores_sign_with_one_session(
    signed_env: S3Server, sample_corpus: dict[str, Path]
) -> None:
    options = Options(endpoint_url=signed_env.endpoint_url)
    pool = RangePool(options)
    async with Stores(options) as stores:
        for name in ("tess_1", "table", "mosaic"):
            url = signed_env.url("private", sample_corpus[name].name)
            result = await pool.fetch(stores.for_url(url), url, 0, BLOCK)
            assert result.data[:9] == b"SIMPLE  ="
    assert pool.stats.completed == 3 and pool.stats.retries == 0


# --- fault injection: S3 error bodies that a real server will not produce on demand -------


def _fake_s3(faults: FaultServer, **kwargs: Any) -> S3Store:
    return S3Store(Options(endpoint_url=faults.base_url, anon=True, **kwargs))


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [("SlowDown", 503, ThrottledError), ("InternalError", 500, ServerError)],
)
async def test_s3_retryable_codes_are_retried(
    faults: FaultServer, code: str, status: int, error: type[Exception]
) -> None:
    options = Options(endpoint_url=faults.base_url, anon=True, backoff=0.005, retries=3)
    pool = RangePool(options)
    async with S3Store(options) as store:
        ok = await pool.fetch(store, f"s3://s3error/{code}/{status}/2/obj", 0, 100)
        with pytest.raises(error) as info:
            await pool.fetch(store, f"s3://s3error/{code}/{status}/99/obj", 0, 100)
    assert ok.data == BODY[:100]
    assert info.value.code == code  # type: ignore[attr-defined]
    assert faults.hits(f"/s3error/{code}/{status}/2/obj") == 3
    assert faults.hits(f"/s3error/{code}/{status}/99/obj") == 4


async def test_request_payer_header_is_signed(faults: FaultServer) -> None:
    store = S3Store(
        Options(endpoint_url=faults.base_url, requester_pays=True),
        botocore_session=_static_session("AKIDEXAMPLE", "secret"),
    )
    async with store:
        await store.get_range("s3://bucket/some key.fits", 0, 10)
    seen = faults.requests[-1]
    assert seen.path == "/bucket/some key.fits"
    assert seen.headers["x-amz-request-payer"] == "requester"
    assert "x-amz-request-payer" in seen.headers["Authorization"].split("SignedHeaders=")[1]
    assert seen.headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"


async def test_http_options_never_reach_s3(faults: FaultServer) -> None:
    store = _fake_s3(faults, headers={"X-Api-Token": "tok123"}, auth=("user", "pw"))
    async with store:
        await store.get_range("s3://bucket/k", 0, 10)
    seen = faults.requests[-1].headers
    assert "X-Api-Token" not in seen and "Authorization" not in seen


def _static_session(access_key: str, secret_key: str) -> AioSession:
    session = AioSession()
    session.set_credentials(access_key, secret_key)
    return session


@pytest.mark.parametrize(
    ("code", "status", "cls", "retry"),
    [
        ("NoSuchKey", 404, ObjectNotFoundError, False),
        ("NoSuchBucket", 404, ObjectNotFoundError, False),
        ("AccessDenied", 403, AccessDeniedError, False),
        ("InvalidAccessKeyId", 403, AccessDeniedError, False),
        ("SignatureDoesNotMatch", 403, AccessDeniedError, False),
        ("SlowDown", 503, ThrottledError, True),
        (None, 503, ThrottledError, True),
        ("InternalError", 500, ServerError, True),
        ("PreconditionFailed", 412, ObjectChangedError, False),
    ],
)
def test_s3_code_table(code: str | None, status: int, cls: type[Exception], retry: bool) -> None:
    error = s3_error(status, code, "s3://b/k", 2880)
    assert type(error) is cls and is_retryable(error) is retry
    assert (error.url, error.offset, error.code) == ("s3://b/k", 2880, code)


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


async def test_no_credentials_is_access_denied_without_a_request(
    faults: FaultServer, no_credentials: None
) -> None:
    options = Options(endpoint_url=faults.base_url)
    async with S3Store(options) as store:
        with pytest.raises(AccessDeniedError) as info:
            await store.get_range("s3://bucket/k.fits", 0, BLOCK)
    assert info.value.url == "s3://bucket/k.fits"
    assert faults.requests == []


async def test_unknown_profile_is_a_configuration_error(
    faults: FaultServer, no_credentials: None
) -> None:
    options = Options(endpoint_url=faults.base_url, profile="no-such-profile")
    async with S3Store(options) as store:
        with pytest.raises(ConfigurationError):
            await store.get_range("s3://bucket/k.fits", 0, BLOCK)
