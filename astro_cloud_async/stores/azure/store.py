"""The Azure Blob Storage store: ranged reads (``x-ms-range``) and List Blobs, all GETs.

Each request is authorised one of three ways, chosen per account: a SAS token (from the URL,
``sas_token=``, the environment or a connection string) appended to the query, Shared Key
signing (:mod:`.sharedkey`) with the account key, or nothing with ``anon=True`` (public
containers). Without any of them a request is refused before it is sent. A SAS met in an
HTTPS URL is remembered for its container, so the URLs a listing gives need none of their
own. ETags pin an object's version (``If-Match``, checked on every answer too). Requests go
through the lean HTTP/1.1 client (:mod:`..http1`) shared through :class:`~..registry.Stores`,
or through the caller's aiohttp session when one is given. Retrying is the pool's business,
not ours.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import aiohttp

from ...errors import AccessDeniedError, ConfigurationError
from ...options import Options
from ..answers import check_if_match, past_end, retry_after, xml_field
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
from .config import AzureAccount, configured_endpoint, resolve_account
from .errors import azure_error
from .listing import list_query, parse_list_page
from .sharedkey import API_VERSION, SharedKeySigner
from .urls import (
    AzureLocation,
    azure_schemes,
    blob_path,
    parse_azure_https,
    parse_azure_url,
    url_sas,
)

__all__ = ["AzureStore"]

NO_CREDENTIALS = "NoCredentials"


class AzureStore(StoreBase):
    """Reads and lists blobs of Azure Blob Storage (or Azurite).

    URLs are ``az://container/blob``, ``abfs[s]://container[@ACCOUNT.dfs.core.windows.net]/
    blob``, ``https://ACCOUNT.blob.core.windows.net/container/blob[?SAS]`` or, for an emulator,
    ``{blob endpoint}/container/blob``. ``http_session`` (aiohttp, which then carries every
    request) and ``client`` (a lean :class:`~..http1.Http1Client`, used when no aiohttp session
    is given) are shared and never closed here; without either the store makes its own lean
    client on first use.
    """

    times_itself = True
    """Every request (reads and listings; authorising one is local: SAS or Shared Key) is one
    GET whose connecting and each wait for bytes are bounded by the options' time-outs (the
    lean client's connect and read time-outs, or aiohttp's ``sock_connect`` and ``sock_read``),
    so the pool adds no timer of its own."""

    def __init__(
        self,
        options: Options,
        *,
        http_session: aiohttp.ClientSession | None = None,
        client: Http1Client | None = None,
    ):
        self._options = options
        self._http = http_session
        self._client = client
        self._owns_client = False
        self._endpoint = configured_endpoint(options)
        self._accounts: dict[str | None, AzureAccount] = {}
        self._signers: dict[str, SharedKeySigner] = {}
        self._url_sas: dict[tuple[str, str], str] = {}
        self._timeout = client_timeout(options)
        self._closed = False

    def __repr__(self) -> str:
        names = sorted(a.name for a in self._accounts.values()) or ["-"]
        mode = "anon" if self._options.anon else "signed"
        return f"<AzureStore accounts={','.join(names)} {mode}>"

    async def aclose(self) -> None:
        self._closed = True
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            await client.close()

    # --- addressing ---------------------------------------------------------------------------

    def handles(self, url: str) -> bool:
        """Whether an HTTP(S) URL names a blob (Azure's hosts, or under the blob endpoint)."""
        return parse_azure_https(url, endpoint=self._endpoint) is not None

    def locate(self, url: str) -> AzureLocation:
        """The container and blob a URL names (its account when the URL says it)."""
        if url.partition("://")[0].lower() in azure_schemes:
            return parse_azure_url(url)
        loc = parse_azure_https(url, endpoint=self._endpoint)
        if loc is None:
            raise ConfigurationError("not a URL of an Azure blob", url=url)
        return loc

    def source_kind(self, source: str) -> SourceKind:
        """A container or a name ending in ``/`` is a prefix, a name whose last part has a dot
        a blob; any other name may be either (one short listing tells)."""
        return key_kind(self.locate(source).blob)

    def _account(self, named: str | None) -> AzureAccount:
        account = self._accounts.get(named)
        if account is None:
            account = self._accounts[named] = resolve_account(self._options, named)
        return account

    def _signer(self, account: AzureAccount) -> SharedKeySigner:
        signer = self._signers.get(account.name)
        if signer is None:
            assert account.key is not None
            signer = self._signers[account.name] = SharedKeySigner(account.name, account.key)
        return signer

    # --- requests -----------------------------------------------------------------------------

    def _authorize(
        self,
        account: AzureAccount,
        container: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        url: str,
        offset: int,
    ) -> tuple[str, dict[str, str]]:
        """(query string, headers) of a request, authorised as the account allows."""
        own = urlencode(query, quote_via=quote)
        if self._options.anon:
            return own, {**headers, "x-ms-version": API_VERSION}
        sas = url_sas(url) or self._url_sas.get((account.name, container))
        if sas is None and account.sas is not None and (account.sas_first or not account.key):
            sas = account.sas
        if sas is not None:
            joined = f"{own}&{sas}" if own else sas
            return joined, {**headers, "x-ms-version": API_VERSION}
        if account.key is not None:
            return own, self._signer(account).sign("GET", path, query, headers)
        raise AccessDeniedError(
            "no Azure credentials (account_key=, sas_token=, AZURE_STORAGE_KEY, a connection "
            "string); anon=True reads public containers",
            url=url,
            offset=offset,
            code=NO_CREDENTIALS,
        )

    @asynccontextmanager
    async def _get(
        self,
        loc: AzureLocation,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        url: str,
        offset: int,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Send one authorised GET to ``path`` (below the endpoint); the answer, any status."""
        if self._closed:
            raise ConfigurationError("Azure store used after aclose()", url=url)
        account = self._account(loc.account)
        sas = url_sas(url)
        if sas is not None:
            self._url_sas[(account.name, loc.container)] = sas
        endpoint = urlsplit(account.endpoint)
        full_path = endpoint.path + path
        query_string, sent = self._authorize(
            account, loc.container, full_path, query, headers, url, offset
        )
        target = f"{endpoint.scheme}://{endpoint.netloc}{full_path}"
        if query_string:
            target += f"?{query_string}"
        with map_client_errors(url, offset):
            async with self._send(target, sent) as resp:
                yield resp

    def _send(self, target: str, headers: dict[str, str]) -> Any:
        """The GET of an encoded URL (:func:`~..transport.encoded_get`), with a lean client of
        the store's own when it was given neither a client nor a session."""
        if self._http is None and self._client is None:
            self._client, self._owns_client = lean_client(self._options), True
        return encoded_get(self._http, self._client, target, headers, self._timeout)

    @staticmethod
    async def _error(resp: aiohttp.ClientResponse, url: str, offset: int) -> Exception:
        code = resp.headers.get("x-ms-error-code")
        body = await read_error_body(resp)
        if code is None:
            code = xml_field(body, "Code")
        return azure_error(resp.status, code, url, offset, retry_after=retry_after(resp.headers))

    async def get_range(
        self, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult:
        check_range(url, start, end)
        loc = self.locate(url)
        headers = {"x-ms-range": range_header(start, end), "Accept-Encoding": "identity"}
        if if_match is not None:
            headers["If-Match"] = if_match
        path = blob_path(loc.container, loc.blob)
        async with self._get(loc, path, {}, headers, url, start) as resp:
            if resp.status not in (200, 206, 416):
                raise await self._error(resp, url, start)
            total = _empty_part(resp)
            if total is not None and start >= total:
                resp.close()
                return past_end(url, start, total, resp.headers.get("ETag"))
            result = await read_range_response(resp, url, start, end, stored=True)
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
        """Bytes ``[start, end)`` of a blob as a body kept open, read in order (see
        :class:`~astro_cloud_async.stores.capabilities.StreamOpener`)."""
        headers = {"x-ms-range": body_range(url, start, end), "Accept-Encoding": "identity"}
        if if_match is not None:
            headers["If-Match"] = if_match
        loc = self.locate(url)

        async def answer(resp: aiohttp.ClientResponse, closer: Closer) -> BodyStream:
            if resp.status not in (200, 206, 416):
                raise await self._error(resp, url, start)
            etag = resp.headers.get("ETag")
            total = _empty_part(resp)
            if total is not None and start >= total:
                resp.close()
                return empty_body(url, start, total, etag, closer=closer)
            return await body_of(resp, url, start, end, etag=etag, closer=closer, stored=True)

        request = self._get(loc, blob_path(loc.container, loc.blob), {}, headers, url, start)
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
        """One page of the blobs whose names start with the prefix, in name order."""
        loc = self.locate(url_prefix)
        query = list_query(loc.blob, token, limit)
        path = "/" + quote(loc.container, safe="")
        async with self._get(loc, path, query, {}, url_prefix, 0) as resp:
            if resp.status != 200:
                raise await self._error(resp, url_prefix, 0)
            body = await resp.read()
        return parse_list_page(body, url_prefix, _url_maker(url_prefix, loc), suffixes)


_EMPTY_PART = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


def _empty_part(resp: aiohttp.ClientResponse) -> int | None:
    """The object size of a 206 for a range past the end (``bytes N-(N-1)/N``), which Azurite
    sends where Azure answers 416; ``None`` for any other answer."""
    if resp.status != 206:
        return None
    m = _EMPTY_PART.match(resp.headers.get("Content-Range", ""))
    if m is None or int(m.group(2)) >= int(m.group(1)):
        return None
    return int(m.group(3))


def _url_maker(url_prefix: str, loc: AzureLocation) -> Callable[[str], str]:
    """Build listed blobs' URLs in the same form as the prefix was given (SAS left out)."""
    scheme, _, rest = url_prefix.partition("://")
    if scheme.lower() in azure_schemes:
        netloc = rest.partition("/")[0]
        return lambda name: f"{scheme}://{netloc}/{name}"
    return listed_url_maker(url_prefix, loc.blob, safe="/~")
