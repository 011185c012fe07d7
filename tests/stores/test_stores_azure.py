"""The Azure Blob store against Azurite, which checks Shared Key and SAS signatures.

Containers: ``public`` (anonymous read and list) and ``private`` (signed only), each holding
the survey and the small corpus files. SAS tokens are made by Microsoft's SDK. Requests are
counted in the logging gateway's access log.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from servers.azurite import AzureServer
from store_clients import check_caller_session, check_shared_lean_client

from astro_cloud_async import scan
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
from astro_cloud_async.records import ObjectFailed
from astro_cloud_async.stores import SourceKind, Stores
from astro_cloud_async.stores.azure import (
    AzureStore,
    SharedKeySigner,
    parse_azure_https,
    parse_azure_url,
    parse_connection_string,
    resolve_account,
)
from astro_cloud_async.stores.azure.config import DEV_ACCOUNT, DEV_ENDPOINT, DEV_KEY
from astro_cloud_async.stores.azure.errors import azure_error
from astro_cloud_async.stores.azure.sharedkey import string_to_sign

_VARIABLES = (
    "AZURE_STORAGE_ACCOUNT_NAME",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_STORAGE_CONNECTION_STRING",
)


@pytest.fixture(autouse=True)
def _no_azure_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _ranges(size: int) -> list[tuple[int, int]]:
    return [(0, BLOCK), (BLOCK, 4 * BLOCK), (7, 3001), (size - 100, size + BLOCK), (size, size + 1)]


def _access(server: AzureServer) -> dict[str, tuple[str, Options]]:
    """Ways of reading: container and options."""
    sas = server.container_sas("private")
    return {
        "anonymous": ("public", Options(anon=True, connection_string=server.connection_string())),
        "shared-key": ("private", Options(connection_string=server.connection_string())),
        "key-option": (
            "private",
            Options(
                account_name=server.account,
                account_key=server.key,
                endpoint_url=server.endpoint_url,
            ),
        ),
        "sas-option": (
            "private",
            Options(account_name=server.account, sas_token=sas, endpoint_url=server.endpoint_url),
        ),
    }


@pytest.mark.parametrize("way", ["anonymous", "shared-key", "key-option", "sas-option"])
async def test_reads_match_the_files(
    azure_server: AzureServer, sample_corpus: dict[str, Path], way: str
) -> None:
    container, options = _access(azure_server)[way]
    async with AzureStore(options) as store:
        for name in ("table", "unpadded", "tess_1"):
            path = sample_corpus[name]
            content = path.read_bytes()
            url = azure_server.url(container, path.name)
            for start, end in _ranges(len(content)):
                result = await store.get_range(url, start, end)
                assert result.data == content[start:end], (name, start, end)
                if start < len(content):
                    assert result.object_size == len(content)
                    assert result.etag is not None


async def test_sas_in_an_https_url_serves_its_container(
    azure_server: AzureServer, sample_corpus: dict[str, Path]
) -> None:
    sas = azure_server.container_sas("private")
    path = sample_corpus["table"]
    url = f"{azure_server.endpoint_url}/private/{path.name}?{sas}"
    options = Options(connection_string=azure_server.connection_string(key=False))
    async with Stores(options) as stores:
        store = stores.for_url(url)
        assert isinstance(store, AzureStore)
        result = await store.get_range(url, 0, BLOCK)
        assert result.data == path.read_bytes()[:BLOCK]
        # A listing of the container under the same SAS gives URLs without it, still readable.
        page = await store.list_page(f"{azure_server.endpoint_url}/private/survey/?{sas}", limit=2)
        urls = [info.url for info in page.objects]
        assert urls == [
            f"{azure_server.endpoint_url}/private/survey/obs-000{n}.fits" for n in range(2)
        ]
        assert (await store.get_range(urls[0], 0, BLOCK)).data[:6] == b"SIMPLE"
        assert "sig=" not in repr(store)
        with pytest.raises(ObjectNotFoundError) as info:
            await store.get_range(f"{azure_server.endpoint_url}/private/nothing.fits?{sas}", 0, 1)
    signature = sas.split("sig=")[1].split("&")[0]
    for shown in (str(info.value), repr(info.value)):
        assert "sig=REDACTED" in shown and signature not in shown


async def test_missing_blobs_and_containers(azure_server: AzureServer) -> None:
    options = Options(connection_string=azure_server.connection_string())
    async with AzureStore(options) as store:
        with pytest.raises(ObjectNotFoundError) as info:
            await store.get_range("az://private/no/such.fits", BLOCK, 2 * BLOCK)
        assert (info.value.code, info.value.offset) == ("BlobNotFound", BLOCK)
        assert info.value.url == "az://private/no/such.fits"
        with pytest.raises(ObjectNotFoundError) as info:
            await store.get_range("az://nocontainer/x.fits", 0, BLOCK)
        assert info.value.code == "ContainerNotFound"
        empty = await store.get_range("az://private/empty.fits", 0, BLOCK)
        assert (empty.data, empty.object_size) == (b"", 0)


async def test_anonymous_reads_of_a_private_container_fail_per_object(
    azure_server: AzureServer,
) -> None:
    options = {"anon": True, "connection_string": azure_server.connection_string(), "retries": 0}
    urls = [azure_server.url("private", f"survey/obs-000{n}.fits") for n in range(3)]
    results = [r async for r in scan(urls, **options)]
    assert sorted(r.url for r in results) == urls  # objects come as they end, in any order
    for result in results:
        assert isinstance(result, ObjectFailed)
        assert isinstance(result.error, AccessDeniedError)
        assert result.error.code in (
            "AuthorizationFailure",
            "ResourceNotFound",
            "NoAuthenticationInformation",
        )
    listing = [r async for r in scan("az://private/survey/", **options)]
    assert len(listing) == 1 and isinstance(listing[0], ObjectFailed)


async def test_wrong_key_is_denied_and_never_shown(azure_server: AzureServer) -> None:
    wrong = "V1JPTkcta2V5LWRvLW5vdC1wcmludC0wMTIzNDU2Nzg5YWJjZGVm"
    options = Options(
        account_name=azure_server.account,
        account_key=wrong,
        endpoint_url=azure_server.endpoint_url,
        retries=0,
    )
    pool = RangePool(options)
    async with AzureStore(options) as store:
        with pytest.raises(AccessDeniedError) as info:
            await pool.fetch(store, "az://private/catalog_sources.fits", 0, BLOCK)
        shown = " ".join(
            [str(info.value), repr(info.value), repr(store), repr(pool), repr(options)]
        )
    assert info.value.code in ("AuthenticationFailed", "AuthorizationFailure")  # Azure, Azurite
    assert wrong not in shown and wrong[:12] not in shown
    assert azure_server.key[:12] not in repr(Options(account_key=azure_server.key))
    assert pool.stats.requests == 1


async def test_sas_without_list_permission_reads_but_cannot_list(azure_server: AzureServer) -> None:
    read_only = azure_server.container_sas("private", permission="r")
    options = Options(
        account_name=azure_server.account,
        sas_token=read_only,
        endpoint_url=azure_server.endpoint_url,
        retries=0,
    )
    async with AzureStore(options) as store:
        assert (await store.get_range("az://private/catalog_sources.fits", 0, 6)).data == b"SIMPLE"
        with pytest.raises(AccessDeniedError) as info:
            await store.list_page("az://private/survey/")
    assert info.value.code == "AuthorizationPermissionMismatch"
    expired = azure_server.container_sas("private", hours=-1)
    options = Options(
        account_name=azure_server.account, sas_token=expired, endpoint_url=azure_server.endpoint_url
    )
    async with AzureStore(options) as store:
        with pytest.raises(AccessDeniedError):
            await store.get_range("az://private/catalog_sources.fits", 0, BLOCK)


async def test_no_credentials_is_denied_without_a_request(azure_server: AzureServer) -> None:
    options = Options(account_name=azure_server.account, endpoint_url=azure_server.endpoint_url)
    mark = azure_server.log_mark()
    async with AzureStore(options) as store:
        with pytest.raises(AccessDeniedError) as info:
            await store.get_range("az://private/catalog_sources.fits", 0, BLOCK)
    assert info.value.code == "NoCredentials"
    await asyncio.sleep(0.2)
    assert azure_server.access_log_entries(mark) == []


async def test_if_match_pins_the_etag(azure_server: AzureServer) -> None:
    options = Options(connection_string=azure_server.connection_string())
    async with AzureStore(options) as store:
        first = await store.get_range("az://private/catalog_sources.fits", 0, BLOCK)
        assert first.etag is not None
        again = await store.get_range(
            "az://private/catalog_sources.fits", BLOCK, 2 * BLOCK, if_match=first.etag
        )
        assert again.etag == first.etag
        with pytest.raises(ObjectChangedError) as info:
            await store.get_range(
                "az://private/catalog_sources.fits", 0, BLOCK, if_match='"0x8D0000000000000"'
            )
    assert info.value.status == 412


async def test_listing_pages_with_markers(
    azure_server: AzureServer, cloud_survey: dict[str, Path]
) -> None:
    options = Options(connection_string=azure_server.connection_string())
    mark = azure_server.log_mark()
    async with AzureStore(options) as store:
        pages = []
        token = None
        while True:
            page = await store.list_page("abfs://private/survey/", token, limit=200)
            pages.append(page)
            token = page.token
            if token is None:
                break
    assert [len(p.objects) for p in pages] == [200, 200, 100]
    urls = [info.url for page in pages for info in page.objects]
    assert urls == [f"abfs://private/{key}" for key in sorted(cloud_survey)]
    sizes = {info.url: info.size for page in pages for info in page.objects}
    assert all(sizes[f"abfs://private/{k}"] == p.stat().st_size for k, p in cloud_survey.items())
    entries = azure_server.access_log_entries(mark, at_least=3)
    assert sum("comp=list" in e.path for e in entries) == 3
    assert sum("marker=" in e.path for e in entries) == 2


def test_url_forms() -> None:
    assert parse_azure_url("az://c/a/b c.fits") == parse_azure_url("abfs://c/a/b c.fits")
    loc = parse_azure_url("abfss://c@acct.dfs.core.windows.net/x/y.fits")
    assert (loc.account, loc.container, loc.blob) == ("acct", "c", "x/y.fits")
    loc = parse_azure_https("https://acct.blob.core.windows.net/c/a%20b.fits?sv=1&sig=s")
    assert loc is not None and (loc.account, loc.container, loc.blob) == ("acct", "c", "a b.fits")
    assert parse_azure_https("https://example.org/c/b.fits") is None
    loc = parse_azure_https(f"{DEV_ENDPOINT}/c/b.fits", endpoint=DEV_ENDPOINT)
    assert loc is not None and (loc.container, loc.blob) == ("c", "b.fits")
    with pytest.raises(ConfigurationError):
        parse_azure_url("az:///b.fits")
    with pytest.raises(ConfigurationError):
        parse_azure_url("abfs://c@example.org/b.fits")
    store = AzureStore(Options(anon=True, account_name="a"))
    assert store.source_kind("az://c") is SourceKind.PREFIX
    assert store.source_kind("az://c/x/f.fits") is SourceKind.OBJECT
    assert store.source_kind("az://c/x/f") is SourceKind.UNKNOWN


def test_accounts_and_connection_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    dev = parse_connection_string("UseDevelopmentStorage=true")
    assert (dev["accountname"], dev["accountkey"], dev["blobendpoint"]) == (
        DEV_ACCOUNT,
        DEV_KEY,
        DEV_ENDPOINT,
    )
    cs = (
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;"
        "EndpointSuffix=core.usgovcloudapi.net"
    )
    account = resolve_account(Options(connection_string=cs))
    assert (account.name, account.endpoint, account.key) == (
        "acct",
        "https://acct.blob.core.usgovcloudapi.net",
        "a2V5",
    )
    assert "a2V5" not in repr(account)
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "envacct")
    monkeypatch.setenv("AZURE_STORAGE_KEY", "ZW52")
    account = resolve_account(Options())
    assert (account.name, account.endpoint, account.key) == (
        "envacct",
        "https://envacct.blob.core.windows.net",
        "ZW52",
    )
    other = resolve_account(Options(), "elsewhere")  # another account: none of our credentials
    assert (other.key, other.sas) == (None, None)
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_NAME")
    with pytest.raises(ConfigurationError):
        resolve_account(Options(account_key="ZW52"))


def test_shared_key_string_to_sign() -> None:
    headers = {
        "x-ms-date": "Fri, 26 Jun 2015 23:39:12 GMT",
        "x-ms-version": "2015-02-21",
        "range": "bytes=0-9",
    }
    text = string_to_sign(
        "GET", "acct", "/c/a%20b.fits", {"comp": "list", "restype": "container"}, headers
    )
    assert text.split("\n") == [
        "GET", "", "", "", "", "", "", "", "", "", "", "bytes=0-9",
        "x-ms-date:Fri, 26 Jun 2015 23:39:12 GMT",
        "x-ms-version:2015-02-21",
        "/acct/c/a%20b.fits",
        "comp:list",
        "restype:container",
    ]  # fmt: skip
    signer = SharedKeySigner("acct", DEV_KEY)
    signed = signer.sign("GET", "/c/b", {}, {"x-ms-range": "bytes=0-1"}, now=0)
    assert signed["authorization"].startswith("SharedKey acct:")
    assert signed["x-ms-date"] == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert DEV_KEY[:12] not in repr(signer)
    with pytest.raises(ConfigurationError):
        SharedKeySigner("acct", "not base64!")


@pytest.mark.parametrize(
    ("status", "code", "cls", "retry"),
    [
        (404, "BlobNotFound", ObjectNotFoundError, False),
        (403, "AuthenticationFailed", AccessDeniedError, False),
        (412, "ConditionNotMet", ObjectChangedError, False),
        (503, "ServerBusy", ThrottledError, True),
        (500, "OperationTimedOut", FetchTimeoutError, True),
        (500, "InternalError", ServerError, True),
        (409, "LeaseIdMissing", type(azure_error(409, None, "x", 0)), False),
    ],
)
def test_code_table(status: int, code: str, cls: type[Exception], retry: bool) -> None:
    error = azure_error(status, code, "az://c/b", 3, retry_after=2.0)
    assert type(error) is cls
    assert (error.status, error.code, error.offset) == (status, code, 3)
    assert is_retryable(error) is retry
    throttled = issubclass(cls, ThrottledError)
    assert ("retry after 2 s" in str(error)) is throttled
    assert error.retry_after == 2.0  # kept on the error, where the pool waits it out


async def test_requests_go_through_the_shared_lean_client_on_kept_connections(
    azure_server: AzureServer, sample_corpus: dict[str, Path]
) -> None:
    path = sample_corpus["table"]
    options = Options(connection_string=azure_server.connection_string())
    url, prefix = azure_server.url("private", path.name), "az://private/survey/obs-000"
    await check_shared_lean_client(options, Stores.azure_store, url, prefix, path.read_bytes())


@pytest.mark.parametrize("way", ["shared-key", "sas-option"])
async def test_an_encoded_blob_name_is_sent_exactly_as_signed(
    azure_server: AzureServer, way: str
) -> None:
    # Shared Key signs the path as sent and a SAS is sent as given: requoting either would be
    # refused (403) where the missing blob is a 404.
    container, options = _access(azure_server)[way]
    mark = azure_server.log_mark()
    async with AzureStore(options) as store:
        with pytest.raises(ObjectNotFoundError) as info:
            await store.get_range(f"az://{container}/a b+c%2F/d~é.fits", 0, BLOCK)
    assert info.value.code == "BlobNotFound"
    (entry,) = azure_server.access_log_entries(mark, at_least=1)
    assert entry.path.startswith(f"/{azure_server.account}/private/a%20b%2Bc%252F/d~%C3%A9.fits")


async def test_a_caller_session_carries_every_request(
    azure_server: AzureServer, sample_corpus: dict[str, Path]
) -> None:
    path = sample_corpus["table"]
    options = Options(connection_string=azure_server.connection_string())
    url, prefix = azure_server.url("private", path.name), "az://private/survey/obs-000"
    await check_caller_session(options, Stores.azure_store, url, prefix, path.read_bytes())
