"""The Google Cloud Storage store: ranged reads and listing, GETs of the JSON API.

An object is read with ``GET /storage/v1/b/BUCKET/o/KEY?alt=media`` and a Range header, a
prefix listed with ``objects.list`` one page per request; both carry a bearer token from
Application Default Credentials (:mod:`.credentials`), or nothing with ``anon=True``. The
object's *generation* is its version: it is what this store reports as the ETag, pins with
``ifGenerationMatch`` and checks on every answer. The endpoint is ``endpoint_url``, else
``STORAGE_EMULATOR_HOST`` (as Google's client libraries read it), else
``https://storage.googleapis.com``; against an emulator, missing credentials mean anonymous
requests, as in Google's libraries. Every request is a GET, sent with the lean HTTP/1.1 client
(:mod:`..http1`) shared through :class:`~..registry.Stores`, or through the caller's aiohttp
session when one is given; tokens are fetched by google-auth on its own transport. Retrying
is the pool's business, not ours.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp

from ...errors import AccessDeniedError, ConfigurationError
from ...options import Options
from ..answers import check_if_match, retry_after
from ..base import (
    ListPage,
    RangeResult,
    SourceKind,
    StoreBase,
    body_range,
    check_range,
    key_kind,
    listed_url_maker,
    range_header,
)
from ..body import BodyStream, Closer, body_of, open_body
from ..http1 import Http1Client
from ..transport import (
    client_timeout,
    encoded_get,
    lean_client,
    map_client_errors,
    read_error_body,
    read_range_response,
)
from .credentials import NO_CREDENTIALS, TokenSource, token_source
from .errors import error_reason, gcs_error
from .listing import list_query, parse_list_page
from .urls import GCSLocation, gcs_schemes, parse_gcs_https, parse_gcs_url

__all__ = ["DEFAULT_ENDPOINT", "GCSStore", "gcs_endpoint"]

DEFAULT_ENDPOINT = "https://storage.googleapis.com"


def gcs_endpoint(options: Options) -> str:
    """Where requests go: ``endpoint_url``, ``STORAGE_EMULATOR_HOST`` or Google's endpoint."""
    endpoint = options.endpoint_url or os.environ.get("STORAGE_EMULATOR_HOST") or ""
    endpoint = endpoint.strip().rstrip("/")
    if not endpoint:
        return DEFAULT_ENDPOINT
    if "://" not in endpoint:
        endpoint = "http://" + endpoint  # "localhost:4443", as the emulators document it
    return endpoint


class GCSStore(StoreBase):
    """Reads and lists objects of Google Cloud Storage (or an emulator of it).

    URLs are ``gs://bucket/key`` or ``https://storage.googleapis.com/bucket/key``.
    ``http_session`` (aiohttp, which then carries every request) and ``client`` (a lean
    :class:`~..http1.Http1Client`, used when no aiohttp session is given) are shared and never
    closed here; without either the store makes its own lean client on first use. Nothing is
    opened, imported or asked for before the first request.
    """

    def __init__(
        self,
        options: Options,
        *,
        http_session: aiohttp.ClientSession | None = None,
        client: Http1Client | None = None,
    ):
        self._options = options
        self._endpoint = gcs_endpoint(options)
        self._emulated = self._endpoint != DEFAULT_ENDPOINT
        self._http = http_session
        self._client = client
        self._owns_client = False
        self._anonymous = options.anon
        self._tokens: TokenSource | None = None
        self._timeout = client_timeout(options)
        self._closed = False

    def __repr__(self) -> str:
        mode = "anon" if self._anonymous else "adc"
        return f"<GCSStore {self._endpoint} {mode}>"

    async def aclose(self) -> None:
        self._closed = True
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            await client.close()

    # --- addressing ---------------------------------------------------------------------------

    def locate(self, url: str) -> GCSLocation:
        """The bucket and key a ``gs://`` or ``https://storage.googleapis.com`` URL names."""
        if url.partition("://")[0].lower() in gcs_schemes:
            return parse_gcs_url(url)
        loc = parse_gcs_https(url)
        if loc is None:
            raise ConfigurationError("not a URL of a GCS object", url=url)
        return loc

    def source_kind(self, source: str) -> SourceKind:
        """A bucket or a key ending in ``/`` is a prefix, a key whose last part has a dot an
        object; any other key may be either (one short listing tells)."""
        return key_kind(self.locate(source).key)

    # --- requests -----------------------------------------------------------------------------

    async def _authorization(self, url: str, offset: int) -> dict[str, str]:
        if self._anonymous:
            return {}
        tokens = self._tokens
        if tokens is None:
            tokens = self._tokens = token_source()
        try:
            token = await tokens.token(url, offset)
        except AccessDeniedError as err:
            if self._emulated and err.code == NO_CREDENTIALS:
                self._anonymous = True  # an emulator without credentials: anonymous
                return {}
            raise
        return {"Authorization": f"Bearer {token}"}

    async def _billing(self, url: str, offset: int) -> dict[str, str]:
        """``userProject`` for requester-pays buckets: ``project=``, else the credentials'."""
        if not self._options.requester_pays:
            return {}
        project = self._options.project
        if project is None and self._tokens is not None:
            project = await self._tokens.project(url, offset)
        if not project:
            raise ConfigurationError(
                "requester_pays=True needs project= (the project billed for the reads)",
                url=url,
                offset=offset,
            )
        return {"userProject": project}

    @asynccontextmanager
    async def _get(
        self,
        path: str,
        query: Mapping[str, str],
        url: str,
        offset: int,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Send one authorised GET; the answer, whatever its status."""
        if self._closed:
            raise ConfigurationError("GCS store used after aclose()", url=url)
        sent = await self._authorization(url, offset)
        if headers:
            sent.update(headers)
        if self._options.requester_pays:
            query = {**query, **(await self._billing(url, offset))}
        target = f"{self._endpoint}{path}?{urlencode(query, quote_via=quote)}"
        with map_client_errors(url, offset):
            async with self._send(target, sent) as resp:
                yield resp

    def _send(self, target: str, headers: dict[str, str]) -> Any:
        """The GET of an encoded URL (:func:`~..transport.encoded_get`), with a lean client of
        the store's own when it was given neither a client nor a session."""
        if self._http is None and self._client is None:
            self._client, self._owns_client = lean_client(self._options), True
        return encoded_get(self._http, self._client, target, headers, self._timeout)

    async def get_range(
        self, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult:
        check_range(url, start, end)
        loc = self.locate(url)
        query = {"alt": "media"}
        if if_match is not None and if_match.isdigit():
            query["ifGenerationMatch"] = if_match
        headers = {"Range": range_header(start, end), "Accept-Encoding": "identity"}
        async with self._get(loc.object_path(), query, url, start, headers) as resp:
            if resp.status not in (200, 206, 416):
                raise await _error(resp, url, start)
            result = await read_range_response(resp, url, start, end)
            generation = resp.headers.get("x-goog-generation")
        if generation:
            result = dataclasses.replace(result, etag=generation)
        check_if_match(url, start, if_match, result.etag, label="generation")
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
        """Bytes ``[start, end)`` of a GCS object as a body kept open, read in order (see
        :class:`~astro_cloud_async.stores.capabilities.StreamOpener`)."""
        headers = {"Range": body_range(url, start, end), "Accept-Encoding": "identity"}
        loc = self.locate(url)
        query = {"alt": "media"}
        if if_match is not None and if_match.isdigit():
            query["ifGenerationMatch"] = if_match

        async def answer(resp: aiohttp.ClientResponse, closer: Closer) -> BodyStream:
            if resp.status not in (200, 206, 416):
                raise await _error(resp, url, start)
            generation = resp.headers.get("x-goog-generation") or resp.headers.get("ETag")
            return await body_of(resp, url, start, end, etag=generation, closer=closer)

        request = self._get(loc.object_path(), query, url, start, headers)
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
        """One page of the objects whose names start with the prefix, in name order."""
        loc = self.locate(url_prefix)
        query = list_query(loc.key, token, limit)
        async with self._get(loc.list_path(), query, url_prefix, 0) as resp:
            if resp.status != 200:
                raise await _error(resp, url_prefix, 0)
            body = await resp.read()
        return parse_list_page(body, url_prefix, _url_maker(url_prefix, loc), suffixes)


async def _error(resp: aiohttp.ClientResponse, url: str, offset: int) -> Exception:
    """The typed error of an answer that is not the one asked for (its reason, its status)."""
    body = await read_error_body(resp)
    wait = retry_after(resp.headers)
    return gcs_error(resp.status, error_reason(body), url, offset, retry_after=wait)


def _url_maker(url_prefix: str, loc: GCSLocation) -> Callable[[str], str]:
    """Build listed objects' URLs in the same form as the prefix was given."""
    scheme = url_prefix.partition("://")[0]
    if scheme.lower() in gcs_schemes:
        return lambda key: f"{scheme}://{loc.bucket}/{key}"
    return listed_url_maker(url_prefix, loc.key)
