"""URL routing, source expansion (local) and the S3 URL forms."""

from __future__ import annotations

import aiohttp
import pytest

from astro_cloud_async.errors import ConfigurationError
from astro_cloud_async.options import Options
from astro_cloud_async.stores import (
    HTTPStore,
    LocalStore,
    S3Location,
    S3Store,
    Stores,
    parse_s3_https,
    parse_s3_url,
    s3_url_from_https,
)
from astro_cloud_async.stores.s3.config import Endpoint, request_target


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://my-bucket.s3.us-west-2.amazonaws.com/a/b.fits",
            ("my-bucket", "a/b.fits", "us-west-2"),
        ),
        ("https://my-bucket.s3.amazonaws.com/a%20b.fits", ("my-bucket", "a b.fits", None)),
        ("https://my-bucket.s3-eu-west-1.amazonaws.com/k", ("my-bucket", "k", "eu-west-1")),
        ("https://bkt.s3.dualstack.ap-south-1.amazonaws.com/k", ("bkt", "k", "ap-south-1")),
        (
            "https://s3.us-east-2.amazonaws.com/bucket.with.dots/x/y.fits",
            ("bucket.with.dots", "x/y.fits", "us-east-2"),
        ),
        (
            "https://s3.amazonaws.com/stpubdata/tess/public/x.fits",
            ("stpubdata", "tess/public/x.fits", None),
        ),
        ("https://s3.cn-north-1.amazonaws.com.cn/b/k", ("b", "k", "cn-north-1")),
        ("https://bucket.s3.us-west-2.amazonaws.com/", ("bucket", "", "us-west-2")),
    ],
)
def test_aws_https_forms(url: str, expected: tuple[str, str, str | None]) -> None:
    assert parse_s3_https(url) == S3Location(*expected)
    assert s3_url_from_https(url) == f"s3://{expected[0]}/{expected[1]}"


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/bucket/key.fits",
        "https://archive.stsci.edu/missions/tess/x.fits",
        "https://bucket.s3.us-west-2.amazonaws.com/k?X-Amz-Signature=abc",  # presigned: as is
        "ftp://s3.amazonaws.com/b/k",
    ],
)
def test_non_s3_urls(url: str) -> None:
    assert s3_url_from_https(url) is None


def test_custom_endpoint_mapping() -> None:
    ep = "http://127.0.0.1:8333"
    assert s3_url_from_https("http://127.0.0.1:8333/private/a/b.fits", endpoint_url=ep) == (
        "s3://private/a/b.fits"
    )
    assert s3_url_from_https("http://127.0.0.1:9999/private/a.fits", endpoint_url=ep) is None
    assert s3_url_from_https(
        "https://minio.example.org/s3/bkt/k", endpoint_url="https://minio.example.org/s3"
    ) == ("s3://bkt/k")


def test_parse_s3_url() -> None:
    assert parse_s3_url("s3://b/dir/x.fits") == S3Location("b", "dir/x.fits")
    assert parse_s3_url("s3://b") == S3Location("b", "")
    with pytest.raises(ConfigurationError):
        parse_s3_url("s3:///key")


async def test_for_url_routes_and_shares() -> None:
    async with Stores(Options(anon=True)) as stores:
        http = stores.for_url("https://example.org/x.fits")
        assert isinstance(http, HTTPStore)
        assert stores.for_url("http://example.org/y.fits") is http
        s3 = stores.for_url("s3://bucket/x.fits")
        assert isinstance(s3, S3Store)
        assert stores.for_url("s3://other/y.fits") is s3  # one store per endpoint/region
        assert isinstance(stores.for_url("/data/x.fits"), LocalStore)
        assert isinstance(stores.for_url("file:///data/x.fits"), LocalStore)
        # Without https_as_s3, an AWS HTTPS URL is plain HTTP.
        assert stores.for_url("https://b.s3.us-west-2.amazonaws.com/k") is http
        with pytest.raises(ConfigurationError):
            stores.for_url("gopher://x/y")
        assert "s3(aws, None)" in repr(stores)


async def test_https_as_s3_uses_region_of_the_url() -> None:
    async with Stores(Options(anon=True), https_as_s3=True) as stores:
        west = stores.for_url("https://bkt.s3.us-west-2.amazonaws.com/k")
        default = stores.for_url("s3://bkt/k")
        assert isinstance(west, S3Store) and west is not default
        assert stores.for_url("https://s3.us-west-2.amazonaws.com/other/j") is west
        assert isinstance(stores.for_url("https://example.org/k"), HTTPStore)


async def test_plain_hosts_are_remembered_but_cloud_hosts_still_decide_per_url() -> None:
    # URLs that a cloud's host answers only in some forms (a GCS URL with a query is plain
    # HTTP, an endpoint's URLs outside its path are too) must not settle their host as plain.
    options = Options(anon=True, endpoint_url="http://127.0.0.1:9000/s3")
    async with Stores(options, https_as_s3=True) as stores:
        http = stores.for_url("https://example.org/x.fits")
        assert isinstance(http, HTTPStore)
        assert stores.for_url("https://EXAMPLE.org/y.fits?v=1") is http
        assert stores.for_url("https://storage.googleapis.com/b/k?alt=media") is http
        assert type(stores.for_url("https://storage.googleapis.com/b/k")).__name__ == "GCSStore"
        assert stores.for_url("http://127.0.0.1:9000/elsewhere/k") is http
        assert isinstance(stores.for_url("http://127.0.0.1:9000/s3/bucket/k"), S3Store)
        assert isinstance(stores.for_url("https://bkt.s3.amazonaws.com/k?x=1"), HTTPStore)
        assert isinstance(stores.for_url("https://bkt.s3.amazonaws.com/k"), S3Store)
        assert stores._plain_origins == {"https://example.org"}


async def test_caller_session_survives_stores() -> None:
    async with aiohttp.ClientSession() as session:
        async with Stores(Options(), http_session=session) as stores:
            stores.for_url("https://example.org/x")
            stores.for_url("s3://b/k")
        assert not session.closed
    with pytest.raises(ConfigurationError):
        stores.for_url("https://example.org/x")


async def test_every_store_shares_one_lean_client_and_no_session_is_made() -> None:
    options = Options(anon=True, account_name="acct")
    async with Stores(options) as stores:
        made = [
            stores.http_store(),
            stores.s3_store(),
            stores.gcs_store(),
            stores.azure_store(),
            stores.for_url("https://acct.blob.core.windows.net/c/k.fits"),
            stores.for_url("https://storage.googleapis.com/b/k.fits"),
        ]
        lean = stores._lean_client
        assert lean is not None
        assert all(store._client is lean for store in made)  # type: ignore[attr-defined]
        assert stores._http_session is None
        assert all(store._http is None for store in made[1:])  # type: ignore[attr-defined]
    assert lean.closed


async def test_a_caller_session_is_given_to_every_store() -> None:
    async with aiohttp.ClientSession() as session:
        async with Stores(Options(anon=True, account_name="acct"), http_session=session) as stores:
            http = stores.http_store()
            clouds = [stores.s3_store(), stores.gcs_store(), stores.azure_store()]
            assert http._session is session and http._client is None
            assert all(store._http is session for store in clouds)  # type: ignore[attr-defined]
            assert all(store._client is None for store in clouds)  # type: ignore[attr-defined]
            assert stores._lean_client is None
        assert not session.closed


@pytest.mark.parametrize(
    ("endpoint", "bucket", "key", "region", "expected"),
    [
        (
            "https://s3.amazonaws.com",
            "stpubdata",
            "tess/a b.fits",
            "us-east-1",
            "https://stpubdata.s3.us-east-1.amazonaws.com/tess/a%20b.fits",
        ),
        (
            "https://s3.eu-west-1.amazonaws.com",
            "bucket.with.dots",
            "k",
            "eu-west-1",
            "https://s3.eu-west-1.amazonaws.com/bucket.with.dots/k",
        ),
        (
            "https://s3.cn-north-1.amazonaws.com.cn",
            "bkt",
            "k",
            "cn-north-1",
            "https://bkt.s3.cn-north-1.amazonaws.com.cn/k",
        ),
        (
            "http://127.0.0.1:8333",
            "private",
            "dir/x+y.fits",
            "us-east-1",
            "http://127.0.0.1:8333/private/dir/x%2By.fits",
        ),
        (
            "https://storage.example.org/s3/",
            "bkt",
            "k",
            "auto",
            "https://storage.example.org/s3/bkt/k",
        ),
    ],
)
def test_request_target(endpoint: str, bucket: str, key: str, region: str, expected: str) -> None:
    url, host, path = request_target(Endpoint.from_url(endpoint), S3Location(bucket, key), region)
    assert url == expected
    assert url == f"{url.split('://')[0]}://{host}{path}"
