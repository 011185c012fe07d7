"""S3 and S3-compatible object stores.

aiobotocore supplies what it is good at: the credential chain (environment, profile, instance
roles, refreshed when they expire), endpoint and region resolution (``AWS_ENDPOINT_URL_S3``
and friends, as botocore reads them) and ListObjectsV2. Ranged GETs, which are most of the
traffic, go by default through :class:`S3Transport.AIOHTTP`: signed by :mod:`.sigv4` and sent
on the shared aiohttp session, at a fraction of botocore's CPU cost per request. The
:class:`S3Transport.AIOBOTOCORE` transport sends them through botocore instead.

S3 errors become typed errors through a table keyed by the S3 error code, then by HTTP
status; error bodies are read for their ``Code`` only (SignatureDoesNotMatch bodies echo the
string to sign), so nothing secret reaches a message. botocore's own retries are off: the pool
retries GETs, and listing pages are retried here with the same back-off.
"""

from __future__ import annotations

import asyncio
import enum
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import aiohttp
import botocore.exceptions as bce
from aiobotocore.session import AioSession
from botocore import UNSIGNED
from botocore.config import Config
from yarl import URL

from ..errors import (
    AccessDeniedError,
    AstroCloudError,
    ConfigurationError,
    ConnectionFailedError,
    FetchError,
    FetchTimeoutError,
    ObjectChangedError,
    ObjectNotFoundError,
    ResponseError,
    ServerError,
    ThrottledError,
)
from ..options import Options
from .base import (
    INCOMPLETE_BODY,
    ObjectInfo,
    RangeResult,
    StoreBase,
    backoff_delay,
    check_range,
    etags_match,
    is_retryable,
    matches_suffix,
    parse_content_range,
    range_header,
)
from .http import (
    client_timeout,
    error_for_status,
    make_session,
    map_client_errors,
    past_end,
    read_error_body,
    read_range_response,
    xml_field,
)
from .s3urls import S3Location, is_aws_endpoint, parse_s3_https, parse_s3_url
from .sigv4 import Credentials, SigV4Signer, uri_encode_path

__all__ = ["Endpoint", "S3Store", "S3Transport", "request_target", "s3_error"]


class S3Transport(enum.Enum):
    """How ranged GETs reach S3."""

    AIOHTTP = "aiohttp"
    """Signed here (SigV4) and sent over aiohttp: the fast path."""
    AIOBOTOCORE = "aiobotocore"
    """``GetObject`` through aiobotocore."""


# S3 error code -> error class. Codes absent here fall back to the HTTP status table.
_CODE_ERRORS: dict[str, type[FetchError]] = {
    "NoSuchKey": ObjectNotFoundError,
    "NoSuchBucket": ObjectNotFoundError,
    "NoSuchVersion": ObjectNotFoundError,
    "AccessDenied": AccessDeniedError,
    "AllAccessDisabled": AccessDeniedError,
    "InvalidAccessKeyId": AccessDeniedError,
    "SignatureDoesNotMatch": AccessDeniedError,
    "InvalidToken": AccessDeniedError,
    "ExpiredToken": AccessDeniedError,
    "TokenRefreshRequired": AccessDeniedError,
    "AccountProblem": AccessDeniedError,
    "InvalidObjectState": AccessDeniedError,
    "RequestTimeTooSkewed": AccessDeniedError,
    "SlowDown": ThrottledError,
    "Throttling": ThrottledError,
    "ThrottlingException": ThrottledError,
    "RequestLimitExceeded": ThrottledError,
    "ServiceUnavailable": ThrottledError,
    "InternalError": ServerError,
    "RequestTimeout": FetchTimeoutError,
    "PreconditionFailed": ObjectChangedError,
}

# Codes whose answer names the bucket's real region.
_REGION_CODES = frozenset({"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocation"})

_DNS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9\-]{1,61}[a-z0-9]$")


def s3_error(status: int, code: str | None, url: str, offset: int) -> FetchError:
    """The typed error for an S3 error answer."""
    cls = _CODE_ERRORS.get(code or "")
    if cls is None:
        if status == 503:
            cls = ThrottledError
        else:
            return error_for_status(status, url, offset, code=code)
    return cls(f"S3 {code or status}", url=url, offset=offset, status=status, code=code)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where signed GETs go: AWS (virtual-hosted per bucket region) or one custom host."""

    aws: bool
    scheme: str
    netloc: str
    base_path: str

    @classmethod
    def from_url(cls, endpoint_url: str) -> Endpoint:
        parts = urlsplit(endpoint_url)
        aws = is_aws_endpoint(parts.hostname or "")
        return cls(aws, parts.scheme, parts.netloc, parts.path.rstrip("/"))


def request_target(endpoint: Endpoint, loc: S3Location, region: str) -> tuple[str, str, str]:
    """(request URL, Host header, canonical path) of a signed GET of ``loc``.

    On AWS: virtual-hosted ``bucket.s3.region.amazonaws.com`` (path-style for bucket names that
    are not DNS labels, e.g. with dots, which would break TLS). Elsewhere: path-style on the
    endpoint, as S3-compatible servers expect.
    """
    key_path = uri_encode_path(loc.key)
    if endpoint.aws:
        domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        if _DNS_BUCKET.match(loc.bucket):
            host = f"{loc.bucket}.s3.{region}.{domain}"
            path = "/" + key_path
        else:
            host = f"s3.{region}.{domain}"
            path = f"/{uri_encode_path(loc.bucket)}/{key_path}"
        return f"https://{host}{path}", host, path
    path = f"{endpoint.base_path}/{uri_encode_path(loc.bucket)}/{key_path}"
    return f"{endpoint.scheme}://{endpoint.netloc}{path}", endpoint.netloc, path


class _WrongRegion(Exception):
    def __init__(self, region: str):
        self.region = region


class S3Store(StoreBase):
    """Reads and lists objects of S3 or an S3-compatible service.

    URLs are ``s3://bucket/key``, or HTTPS URLs of S3 objects (AWS forms, or any URL under
    ``endpoint_url``). ``http_session`` and ``botocore_session`` are shared and never closed
    here; without them the store makes its own. Sockets are opened on first use.
    """

    def __init__(
        self,
        options: Options,
        *,
        http_session: aiohttp.ClientSession | None = None,
        botocore_session: AioSession | None = None,
        transport: S3Transport = S3Transport.AIOHTTP,
        region: str | None = None,
        endpoint_url: str | None = None,
    ):
        self._options = options
        self._transport = transport
        self._region = region or options.region
        self._endpoint_url = endpoint_url or options.endpoint_url
        self._http = http_session
        self._owns_http = http_session is None
        self._botocore_session = botocore_session
        self._stack = AsyncExitStack()
        self._lock = asyncio.Lock()
        self._client: Any = None
        self._endpoint: Endpoint | None = None
        self._default_region = "us-east-1"
        self._bucket_regions: dict[str, str] = {}
        self._signers: dict[str, SigV4Signer] = {}
        self._botocore_credentials: Any = None
        self._credentials: Credentials | None = None
        self._timeout = client_timeout(options)
        self._closed = False

    def __repr__(self) -> str:
        where = self._endpoint_url or "aws"
        mode = "anon" if self._options.anon else "signed"
        return f"<S3Store {where} region={self._region} {mode} transport={self._transport.name}>"

    @property
    def transport(self) -> S3Transport:
        return self._transport

    # --- lifetime ----------------------------------------------------------------------------

    async def _start(self) -> None:
        async with self._lock:
            if self._client is not None:
                return
            if self._closed:
                raise ConfigurationError("S3 store used after aclose()")
            with map_botocore_errors(self._endpoint_url or "s3://", 0):
                session = self._botocore_session or AioSession(profile=self._options.profile)
                client = await self._stack.enter_async_context(self._create_client(session))
                endpoint = Endpoint.from_url(client.meta.endpoint_url)
                if not endpoint.aws and self._client_addressing(client) != "path":
                    # A custom endpoint (given, or from AWS_ENDPOINT_URL*): path-style keys.
                    await self._stack.aclose()
                    self._stack = AsyncExitStack()
                    client = await self._stack.enter_async_context(
                        self._create_client(session, client.meta.endpoint_url, path_style=True)
                    )
                if not self._options.anon:
                    self._botocore_credentials = await session.get_credentials()
            self._default_region = client.meta.region_name or "us-east-1"
            self._endpoint = endpoint
            if self._http is None:
                self._http = make_session(self._options)
            self._client = client

    @staticmethod
    def _client_addressing(client: Any) -> str | None:
        s3_config = client.meta.config.s3 or {}
        style = s3_config.get("addressing_style")
        return style if isinstance(style, str) else None

    def _create_client(
        self, session: AioSession, endpoint_url: str | None = None, *, path_style: bool = False
    ) -> Any:
        opts = self._options
        config = Config(
            signature_version=UNSIGNED if opts.anon else None,
            connect_timeout=opts.connect_timeout,
            read_timeout=opts.timeout,
            max_pool_connections=opts.concurrency,
            retries={"total_max_attempts": 1},
            s3={"addressing_style": "path"} if path_style else None,
        )
        return session.create_client(
            "s3",
            region_name=self._region,
            endpoint_url=endpoint_url or self._endpoint_url,
            config=config,
        )

    async def aclose(self) -> None:
        async with self._lock:
            self._closed = True
            self._client = None
            await self._stack.aclose()
            if self._owns_http and self._http is not None:
                session, self._http = self._http, None
                await session.close()

    # --- addressing ---------------------------------------------------------------------------

    def locate(self, url: str) -> S3Location:
        """The bucket and key an ``s3://`` or HTTPS URL names."""
        if "://" in url and url.split("://", 1)[0].lower() in ("s3", "s3a"):
            return parse_s3_url(url)
        loc = parse_s3_https(url, endpoint_url=self._endpoint_url)
        if loc is None:
            raise ConfigurationError("not a URL of an S3 object", url=url)
        if loc.region is not None and loc.bucket not in self._bucket_regions:
            self._bucket_regions[loc.bucket] = loc.region
        return loc

    def _signer(self, region: str) -> SigV4Signer:
        signer = self._signers.get(region)
        if signer is None:
            signer = self._signers[region] = SigV4Signer(region, "s3")
        return signer

    async def _frozen_credentials(self, url: str, offset: int) -> Credentials:
        source = self._botocore_credentials
        if source is None:
            raise AccessDeniedError(
                "no AWS credentials found (anon=True reads public buckets)", url=url, offset=offset
            )
        with map_botocore_errors(url, offset):
            frozen = await source.get_frozen_credentials()
        cached = self._credentials
        if (
            cached is None
            or cached.access_key != frozen.access_key
            or cached.secret_key != frozen.secret_key
            or cached.token != frozen.token
        ):
            cached = self._credentials = Credentials(
                frozen.access_key, frozen.secret_key, frozen.token
            )
        return cached

    # --- reading ------------------------------------------------------------------------------

    async def get_range(
        self, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult:
        check_range(url, start, end)
        loc = self.locate(url)
        if self._client is None:
            await self._start()
        if self._transport is S3Transport.AIOBOTOCORE:
            result = await self._get_botocore(loc, url, start, end, if_match)
        else:
            try:
                result = await self._get_signed(loc, url, start, end, if_match)
            except _WrongRegion as moved:
                self._bucket_regions[loc.bucket] = moved.region
                result = await self._get_signed(loc, url, start, end, if_match, redirected=True)
        if if_match is not None and not etags_match(if_match, result.etag):
            raise ObjectChangedError(
                f"ETag is now {result.etag}, expected {if_match}", url=url, offset=start
            )
        return result

    async def _get_signed(
        self,
        loc: S3Location,
        url: str,
        start: int,
        end: int,
        if_match: str | None,
        *,
        redirected: bool = False,
    ) -> RangeResult:
        region = self._bucket_regions.get(loc.bucket, self._default_region)
        assert self._endpoint is not None
        target, host, path = request_target(self._endpoint, loc, region)
        signed: dict[str, str] = {}
        if self._options.requester_pays:
            signed["x-amz-request-payer"] = "requester"
        if self._options.anon:
            headers = signed
        else:
            creds = await self._frozen_credentials(url, start)
            headers = self._signer(region).sign("GET", host, path, creds, headers=signed)
        headers["Range"] = range_header(start, end)
        headers["Accept-Encoding"] = "identity"
        if if_match is not None:
            headers["If-Match"] = if_match
        http = self._http
        assert http is not None
        with map_client_errors(url, start):
            async with http.get(
                URL(target, encoded=True),
                headers=headers,
                allow_redirects=False,
                timeout=self._timeout,
                raise_for_status=False,
                auto_decompress=False,
            ) as resp:
                if resp.status in (200, 206):
                    return await read_range_response(resp, url, start, end)
                body = await read_error_body(resp)
                code = xml_field(body, "Code")
                if resp.status == 416 or code == "InvalidRange":
                    cr = parse_content_range(resp.headers.get("Content-Range"))
                    total = cr.total if cr is not None else None
                    if total is None:
                        size = xml_field(body, "ActualObjectSize")
                        total = int(size) if size and size.isdigit() else None
                    return past_end(url, start, total, resp.headers.get("ETag"))
                moved = resp.headers.get("x-amz-bucket-region") or xml_field(body, "Region")
                if (
                    not redirected
                    and self._endpoint is not None
                    and self._endpoint.aws
                    and moved
                    and moved != region
                    and (code in _REGION_CODES or resp.status == 301)
                ):
                    raise _WrongRegion(moved)
                raise s3_error(resp.status, code, url, start)

    async def _get_botocore(
        self, loc: S3Location, url: str, start: int, end: int, if_match: str | None
    ) -> RangeResult:
        kwargs: dict[str, Any] = {
            "Bucket": loc.bucket,
            "Key": loc.key,
            "Range": range_header(start, end),
        }
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        if self._options.requester_pays:
            kwargs["RequestPayer"] = "requester"
        with map_botocore_errors(url, start):
            try:
                answer = await self._client.get_object(**kwargs)
            except bce.ClientError as e:
                error = e.response.get("Error", {})
                code = error.get("Code")
                status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if status == 416 or code == "InvalidRange":
                    return past_end(url, start, _botocore_total(e.response), None)
                raise s3_error(status, code, url, start) from None
            etag = answer.get("ETag")
            async with answer["Body"] as body:
                raw = answer.get("ContentRange")
                cr = parse_content_range(raw)
                if cr is None or cr.first is None or cr.last is None:
                    # No Content-Range: the whole object. Read only what is needed.
                    length: int | None = answer.get("ContentLength")
                    head = await _read_body(body, end)
                    if length is None and len(head) < end:
                        length = len(head)
                    return RangeResult(head[start:end], start, length, etag, discarded=start)
                wanted_last = cr.last if cr.total is None else min(end, cr.total) - 1
                if cr.first != start or cr.last < wanted_last:
                    raise ResponseError(
                        f"asked bytes {start}-{end - 1}, answer holds {cr.first}-{cr.last}",
                        url=url,
                        offset=start,
                        status=206,
                    )
                take = min(cr.last - cr.first + 1, end - start)
                data = await _read_body(body, take)
                if len(data) != take:
                    raise ResponseError(
                        f"response body ended after {len(data)} of {take} bytes",
                        url=url,
                        offset=start,
                        code=INCOMPLETE_BODY,
                    )
                return RangeResult(data, start, cr.total, etag)

    # --- listing ------------------------------------------------------------------------------

    async def list(
        self, url_prefix: str, *, suffixes: tuple[str, ...] | None = None
    ) -> AsyncIterator[ObjectInfo]:
        """Stream the objects whose keys start with the prefix, page by page, in key order."""
        loc = self.locate(url_prefix)
        if self._client is None:
            await self._start()
        make_url = _url_maker(url_prefix, loc)
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": loc.bucket, "Prefix": loc.key}
            if token:
                kwargs["ContinuationToken"] = token
            if self._options.requester_pays:
                kwargs["RequestPayer"] = "requester"
            page = await self._list_page(kwargs, url_prefix)
            for item in page.get("Contents", ()):
                key = item["Key"]
                if matches_suffix(key, suffixes):
                    yield ObjectInfo(make_url(key), item.get("Size"), item.get("ETag"))
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    async def first_key(self, url_prefix: str) -> str | None:
        """The first key (in S3 order) starting with the prefix, or ``None``."""
        loc = self.locate(url_prefix)
        if self._client is None:
            await self._start()
        kwargs: dict[str, Any] = {"Bucket": loc.bucket, "Prefix": loc.key, "MaxKeys": 1}
        if self._options.requester_pays:
            kwargs["RequestPayer"] = "requester"
        page = await self._list_page(kwargs, url_prefix)
        contents = page.get("Contents") or ()
        return str(contents[0]["Key"]) if contents else None

    async def _list_page(self, kwargs: dict[str, Any], url: str) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                with map_botocore_errors(url, 0):
                    try:
                        page: dict[str, Any] = await self._client.list_objects_v2(**kwargs)
                        return page
                    except bce.ClientError as e:
                        code = e.response.get("Error", {}).get("Code")
                        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                        raise s3_error(status, code, url, 0) from None
            except AstroCloudError as e:
                if attempt >= self._options.retries or not is_retryable(e):
                    raise
                attempt += 1
                await asyncio.sleep(backoff_delay(attempt, self._options))


async def _read_body(body: Any, n: int) -> bytes:
    parts: list[bytes] = []
    got = 0
    while got < n:
        chunk = await body.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _botocore_total(response: dict[str, Any]) -> int | None:
    """The object size a botocore 416 answer states (Content-Range, or ActualObjectSize)."""
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    cr = parse_content_range(headers.get("content-range"))
    if cr is not None and cr.total is not None:
        return cr.total
    size = str(response.get("Error", {}).get("ActualObjectSize", ""))
    return int(size) if size.isdigit() else None


def _url_maker(url_prefix: str, loc: S3Location) -> Any:
    """Build listed objects' URLs in the same form as the prefix was given."""
    if url_prefix.split("://", 1)[0].lower() in ("s3", "s3a"):
        scheme = url_prefix.split("://", 1)[0]
        return lambda key: f"{scheme}://{loc.bucket}/{key}"
    parts = urlsplit(url_prefix)
    path = parts.path
    head = path
    for i in range(len(path), -1, -1):
        if (i == 0 or path[i - 1] == "/") and unquote(path[i:]) == loc.key:
            head = path[:i]
            break
    base = f"{parts.scheme}://{parts.netloc}{head}"
    return lambda key: base + quote(key, safe="/-_.~")


@contextmanager
def map_botocore_errors(url: str, offset: int) -> Iterator[None]:
    """Turn botocore (and aiohttp) exceptions raised inside the block into typed errors."""
    with map_client_errors(url, offset):
        try:
            yield
        except AstroCloudError:
            raise
        except bce.ClientError as e:
            code = e.response.get("Error", {}).get("Code")
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            raise s3_error(status, code, url, offset) from None
        except (bce.NoCredentialsError, bce.PartialCredentialsError) as e:
            raise AccessDeniedError(
                f"AWS credentials unusable ({type(e).__name__})", url=url, offset=offset
            ) from None
        except bce.CredentialRetrievalError as e:
            raise AccessDeniedError(
                "AWS credentials could not be retrieved", url=url, offset=offset
            ) from e
        except (bce.ProfileNotFound, bce.InvalidConfigError, bce.ParamValidationError) as e:
            raise ConfigurationError(
                f"invalid S3 configuration ({type(e).__name__})", url=url, offset=offset
            ) from None
        except (bce.ConnectTimeoutError, bce.ReadTimeoutError) as e:
            raise FetchTimeoutError(
                f"timed out ({type(e).__name__})", url=url, offset=offset
            ) from e
        except (bce.ResponseStreamingError, bce.IncompleteReadError) as e:
            raise ResponseError(
                "response body ended early", url=url, offset=offset, code=INCOMPLETE_BODY
            ) from e
        except (bce.EndpointConnectionError, bce.ConnectionClosedError, bce.HTTPClientError) as e:
            raise ConnectionFailedError(
                f"connection failed ({type(e).__name__})", url=url, offset=offset
            ) from e
        except bce.BotoCoreError as e:
            raise ResponseError(
                f"S3 request failed ({type(e).__name__})", url=url, offset=offset
            ) from e
