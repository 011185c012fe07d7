"""HTTP(S) range reads over aiohttp, against any server that honours (or ignores) Range.

The answer checks live in :mod:`.answers` and the aiohttp plumbing in :mod:`.transport`, shared
with the object-store transports; this module adds what belongs to plain HTTP: the caller's
extra headers and credentials, ``If-Match`` pinning and, where a server gives no ETag, the
``Last-Modified`` that tells versions apart. Retrying is the pool's business, not ours.
"""

from __future__ import annotations

import base64
import dataclasses

import aiohttp

from ..errors import ConfigurationError, ObjectChangedError
from ..options import Options
from .answers import error_for_status, etags_match, retry_after, xml_field
from .base import ListPage, RangeResult, SourceKind, StoreBase, check_range, range_header
from .transport import (
    client_timeout,
    make_session,
    map_client_errors,
    read_error_body,
    read_range_response,
)

__all__ = ["HTTPStore", "authorization_header"]


def authorization_header(auth: object) -> str | None:
    """The ``Authorization`` value for ``Options.auth``: a ``(login, password)`` pair, an
    ``aiohttp.BasicAuth``, or a ready header value such as ``"Bearer ..."``."""
    if auth is None:
        return None
    if isinstance(auth, str):
        return auth
    if isinstance(auth, tuple) and len(auth) == 2 and all(isinstance(x, str) for x in auth):
        raw = f"{auth[0]}:{auth[1]}"
        try:
            encoded = raw.encode("latin1")
        except UnicodeEncodeError:
            encoded = raw.encode("utf-8")
        return "Basic " + base64.b64encode(encoded).decode("ascii")
    encode = getattr(auth, "encode", None)
    if callable(encode):  # aiohttp.BasicAuth
        value = encode()
        if isinstance(value, str):
            return value
    raise ConfigurationError(
        "auth must be a (login, password) pair, an aiohttp.BasicAuth or a header value"
    )


class HTTPStore(StoreBase):
    """Ranged GETs against any HTTP(S) server honouring (or ignoring) Range.

    ``session`` is shared and never closed here when given; without one the store makes its
    own on first use and closes it in :meth:`aclose`.
    """

    def __init__(self, options: Options, session: aiohttp.ClientSession | None = None):
        self._options = options
        self._session = session
        self._owns_session = session is None
        self._headers: dict[str, str] = dict(options.headers)
        self._headers["Accept-Encoding"] = "identity"
        authorization = authorization_header(options.auth)
        if authorization is not None:
            self._headers["Authorization"] = authorization
        self._timeout = client_timeout(options)

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = make_session(self._options)
        return self._session

    async def get_range(
        self, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult:
        check_range(url, start, end)
        headers = dict(self._headers)
        headers["Range"] = range_header(start, end)
        if if_match is not None and not if_match.startswith("W/"):
            headers["If-Match"] = if_match  # weak tags never match If-Match; checked below
        session = self._get_session()
        with map_client_errors(url, start):
            async with session.get(
                url,
                headers=headers,
                timeout=self._timeout,
                raise_for_status=False,
                auto_decompress=False,
            ) as resp:
                if resp.status not in (200, 206, 416):
                    # S3-compatible servers reached over plain HTTP(S) say why in XML.
                    code = xml_field(await read_error_body(resp), "Code")
                    wait = retry_after(resp.headers)
                    raise error_for_status(resp.status, url, start, code=code, retry_after=wait)
                result = await read_range_response(resp, url, start, end)
                if result.etag is None and "Last-Modified" in resp.headers:
                    result = dataclasses.replace(
                        result, last_modified=resp.headers["Last-Modified"]
                    )
        if if_match is not None and not etags_match(if_match, result.etag):
            raise ObjectChangedError(
                f"ETag is now {result.etag}, expected {if_match}", url=url, offset=start
            )
        return result

    def source_kind(self, source: str) -> SourceKind:
        """An HTTP(S) URL always names one object: plain servers have no listing."""
        return SourceKind.OBJECT

    async def list_page(
        self,
        url_prefix: str,
        token: str | None = None,
        *,
        suffixes: tuple[str, ...] | None = None,
        limit: int | None = None,
    ) -> ListPage:
        raise ConfigurationError("HTTP(S) locations cannot be listed", url=url_prefix)

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def __repr__(self) -> str:
        return f"<HTTPStore session={'own' if self._owns_session else 'shared'}>"
