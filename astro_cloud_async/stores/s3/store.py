"""S3 and S3-compatible object stores: ranged GETs and listing pages, signed here.

One transport: every request (a ranged GET of an object, a page of ListObjectsV2) is signed by
:mod:`.sigv4` and sent over the shared aiohttp session; :mod:`.config` resolves (once per process,
cached) where requests go and with which credentials. A 206 is checked by the same rules as any HTTP
answer (:mod:`..answers`); error answers become typed errors through :mod:`.errors`. When AWS
answers that a bucket lives in another region, the store remembers the bucket's region and
sends the request once more. Retrying otherwise is the pool's business, not ours.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

import aiohttp

from ...errors import ConfigurationError, FetchError
from ...options import Options
from ..answers import check_if_match, parse_content_range, past_end, retry_after, xml_field
from ..base import (
    ListPage,
    RangeResult,
    SourceKind,
    StoreBase,
    body_range,
    check_range,
    range_header,
)
from ..body import BodyStream, Closer, body_of, empty_body, open_body
from ..http1 import Http1Client
from ..transport import (
    client_timeout,
    encoded_get,
    lean_client,
    map_client_errors,
    read_error_body,
    read_range_response,
)
from .config import S3Config, request_target, resolve_config
from .errors import REGION_CODES, s3_error
from .listing import list_query, parse_list_page
from .sigv4 import Credentials, SigV4Signer, canonical_query
from .urls import S3Location, parse_s3_https, parse_s3_url

if TYPE_CHECKING:
    from aiobotocore.session import AioSession

__all__ = ["S3Store"]


_REGION_STATUS = frozenset({301, 400})
"""Statuses with which AWS says a bucket lives in another region."""


class S3Store(StoreBase):
    """Reads and lists objects of S3 or an S3-compatible service.

    URLs are ``s3://bucket/key``, or HTTPS URLs of S3 objects (AWS forms, or any URL under
    ``endpoint_url``). ``http_session`` (aiohttp), ``client`` (the HTTP store's lean client,
    used when no aiohttp session is given) and ``botocore_session`` are shared and never closed
    here; without them the store makes its own lean client. Nothing is resolved or opened
    before the first request.
    """

    def __init__(
        self,
        options: Options,
        *,
        http_session: aiohttp.ClientSession | None = None,
        client: Http1Client | None = None,
        botocore_session: AioSession | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
    ):
        self._options = options
        self._region = region or options.region
        self._endpoint_url = endpoint_url or options.endpoint_url
        self._http = http_session
        self._client = client
        self._owns_client = http_session is None and client is None
        self._botocore_session = botocore_session
        self._lock = asyncio.Lock()
        self._config: S3Config | None = None
        self._bucket_regions: dict[str, str] = {}
        self._signers: dict[str, SigV4Signer] = {}
        self._credentials: Credentials | None = None
        self._timeout = client_timeout(options)
        self._closed = False

    def __repr__(self) -> str:
        where = self._endpoint_url or "aws"
        mode = "anon" if self._options.anon else "signed"
        return f"<S3Store {where} region={self._region} {mode}>"

    # --- lifetime ----------------------------------------------------------------------------

    async def _start(self) -> S3Config:
        async with self._lock:
            if self._closed:
                raise ConfigurationError("S3 store used after aclose()")
            if self._config is None:
                self._config = await resolve_config(
                    self._options,
                    region=self._region,
                    endpoint_url=self._endpoint_url,
                    botocore_session=self._botocore_session,
                )
                if self._http is None and self._client is None:
                    self._client = lean_client(self._options)
            return self._config

    async def aclose(self) -> None:
        async with self._lock:
            self._closed = True
            self._config = None
            if self._owns_client and self._client is not None:
                client, self._client = self._client, None
                await client.close()

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

    def source_kind(self, source: str) -> SourceKind:
        """A bucket, or a key ending in ``/``, is a prefix; a key whose last part has a dot
        (``.../frame.fits``) is an object, with no request at all (a list of ten million keys
        must not cost ten million LISTs); any other key may be either."""
        key = self.locate(source).key
        if key == "" or key.endswith("/"):
            return SourceKind.PREFIX
        if "." in key.rsplit("/", 1)[-1]:
            return SourceKind.OBJECT
        return SourceKind.UNKNOWN

    def _signer(self, region: str) -> SigV4Signer:
        signer = self._signers.get(region)
        if signer is None:
            signer = self._signers[region] = SigV4Signer(region, "s3")
        return signer

    async def _credentials_for(self, config: S3Config, url: str, offset: int) -> Credentials:
        frozen = await config.frozen_credentials(url, offset)
        cached = self._credentials
        if cached is None or cached != frozen:
            cached = self._credentials = frozen  # one object while unchanged
        return cached

    # --- requests -----------------------------------------------------------------------------

    @asynccontextmanager
    async def _send(
        self,
        loc: S3Location,
        url: str,
        offset: int,
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Sign and send one GET for ``loc``; the answer, whatever its status.

        A wrong-region answer from AWS is followed once (the bucket's region is remembered).
        """
        config = self._config or await self._start()
        for redirected in (False, True):
            region = self._bucket_regions.get(loc.bucket, config.region)
            target, host, path = request_target(config.endpoint, loc, region)
            canonical = canonical_query(query) if query else ""
            signed: dict[str, str] = {}
            if self._options.requester_pays:
                signed["x-amz-request-payer"] = "requester"
            if self._options.anon:
                sent = signed
            else:
                creds = await self._credentials_for(config, url, offset)
                sent = self._signer(region).sign(
                    "GET", host, path, creds, query=canonical, headers=signed
                )
            if headers:
                sent.update(headers)
            with map_client_errors(url, offset):
                async with self._get(target + (f"?{canonical}" if canonical else ""), sent) as resp:
                    moved = None
                    if resp.status in _REGION_STATUS and config.endpoint.aws and not redirected:
                        body = await read_error_body(resp)
                        code = xml_field(body, "Code")
                        moved = resp.headers.get("x-amz-bucket-region") or xml_field(body, "Region")
                        if (
                            not moved
                            or moved == region
                            or (code not in REGION_CODES and resp.status != 301)
                        ):
                            wait = retry_after(resp.headers)
                            raise s3_error(resp.status, code, url, offset, retry_after=wait)
                    if moved is None:
                        yield resp
                        return
            self._bucket_regions[loc.bucket] = moved

    def _get(self, request_url: str, headers: dict[str, str]) -> Any:
        """The GET of a signed, encoded URL (:func:`~..transport.encoded_get`)."""
        return encoded_get(self._http, self._client, request_url, headers, self._timeout)

    async def _error(self, resp: aiohttp.ClientResponse, url: str, offset: int) -> FetchError:
        body = await read_error_body(resp)
        code = xml_field(body, "Code")
        return s3_error(resp.status, code, url, offset, retry_after=retry_after(resp.headers))

    async def get_range(
        self, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult:
        check_range(url, start, end)
        loc = self.locate(url)
        headers = {"Range": range_header(start, end), "Accept-Encoding": "identity"}
        if if_match is not None:
            headers["If-Match"] = if_match
        async with self._send(loc, url, start, headers=headers) as resp:
            if resp.status in (200, 206):
                result = await read_range_response(resp, url, start, end, stored=True)
            else:
                total = await _past_end_or_raise(resp, url, start)
                return past_end(url, start, total, resp.headers.get("ETag"))
        check_if_match(url, start, if_match, result.etag)
        return result

    async def open_stream(
        self,
        url: str,
        start: int,
        end: int | None = None,
        *,
        if_match: str | None = None,
        prefetch: int | None = None,
    ) -> BodyStream:
        """Bytes ``[start, end)`` of an S3 object as a body kept open, read in order (see
        :class:`~astro_cloud_async.stores.capabilities.StreamOpener`)."""
        headers = {"Range": body_range(url, start, end), "Accept-Encoding": "identity"}
        if if_match is not None:
            headers["If-Match"] = if_match

        async def answer(resp: aiohttp.ClientResponse, closer: Closer) -> BodyStream:
            etag = resp.headers.get("ETag")
            if resp.status in (200, 206):
                return await body_of(resp, url, start, end, etag=etag, closer=closer, stored=True)
            total = await _past_end_or_raise(resp, url, start)
            return empty_body(url, start, total, etag, closer=closer)

        request = self._send(self.locate(url), url, start, headers=headers)
        return await open_body(
            request, url, start, end, if_match=if_match, prefetch=prefetch, answer=answer
        )

    async def list_page(
        self,
        url_prefix: str,
        token: str | None = None,
        *,
        suffixes: tuple[str, ...] | None = None,
        limit: int | None = None,
    ) -> ListPage:
        """One page of the objects whose keys start with the prefix, in key order."""
        loc = self.locate(url_prefix)
        bucket = S3Location(loc.bucket, "", loc.region)
        query = list_query(loc.key, token, limit)
        async with self._send(bucket, url_prefix, 0, query=query) as resp:
            if resp.status != 200:
                raise await self._error(resp, url_prefix, 0)
            body = await resp.read()
        return parse_list_page(body, url_prefix, _url_maker(url_prefix, loc), suffixes)


async def _past_end_or_raise(resp: aiohttp.ClientResponse, url: str, start: int) -> int | None:
    """An answer to a GET other than 200 or 206: when it refuses a range past the end (416,
    ``InvalidRange``), the object size it states; otherwise its typed error is raised."""
    body = await read_error_body(resp)
    code = xml_field(body, "Code")
    if resp.status != 416 and code != "InvalidRange":
        raise s3_error(resp.status, code, url, start, retry_after=retry_after(resp.headers))
    return _past_end_size(resp, body)


def _past_end_size(resp: aiohttp.ClientResponse, body: bytes) -> int | None:
    """The object size an answer to a range past the end states: its Content-Range's total,
    else the error body's ``ActualObjectSize``."""
    cr = parse_content_range(resp.headers.get("Content-Range"))
    if cr is not None and cr.total is not None:
        return cr.total
    size = xml_field(body, "ActualObjectSize")
    return int(size) if size and size.isdigit() else None


def _url_maker(url_prefix: str, loc: S3Location) -> Callable[[str], str]:
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
