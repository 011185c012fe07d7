"""From a URL to the store that reads it, and from a source to the objects it names.

:class:`Stores` owns everything with a socket for one set of options: one aiohttp session for
all HTTP(S) hosts and signed S3 GETs, one S3 store per (endpoint, region), a local store.
Stores are made on first use, synchronously; their sockets open on their first request. The
whole set closes through one ``AsyncExitStack``; sessions passed in are never closed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from types import TracebackType

import aiohttp
from aiobotocore.session import AioSession

from ..errors import ConfigurationError
from ..options import Options
from .base import Store
from .http import HTTPStore, make_session
from .local import LocalStore, is_local_dir
from .s3 import S3Store, S3Transport
from .s3urls import S3Location, parse_s3_https, s3_url_from_https

__all__ = ["Stores", "s3_url_from_https", "url_scheme"]


def url_scheme(url: str) -> str:
    """``"s3"``, ``"http"``, ``"https"``, ``"file"`` (also for plain paths) or another scheme."""
    scheme, sep, _ = url.partition("://")
    if not sep:
        return "file"
    scheme = scheme.lower()
    return "s3" if scheme == "s3a" else scheme


class Stores:
    """The stores for one set of options; an async context manager.

    ``https_as_s3`` makes HTTPS URLs of S3 objects (AWS forms, or URLs under
    ``options.endpoint_url``) S3 objects, signed with the credential chain, instead of plain
    HTTP resources. ``s3_transport`` picks how S3 GETs are sent.
    """

    def __init__(
        self,
        options: Options | None = None,
        http_session: aiohttp.ClientSession | None = None,
        *,
        botocore_session: AioSession | None = None,
        s3_transport: S3Transport = S3Transport.AIOHTTP,
        https_as_s3: bool = False,
    ):
        self.options = options or Options()
        self._http_session = http_session
        self._owns_http = http_session is None
        self._botocore_session = botocore_session
        self._s3_transport = s3_transport
        self._https_as_s3 = https_as_s3
        self._stack = AsyncExitStack()
        self._http: HTTPStore | None = None
        self._local: LocalStore | None = None
        self._s3: dict[tuple[str | None, str | None], S3Store] = {}
        self._closed = False

    async def __aenter__(self) -> Stores:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every store made here, then the session if it is ours."""
        self._closed = True
        await self._stack.aclose()
        self._http = None
        self._local = None
        self._s3.clear()

    def __repr__(self) -> str:
        made = (["http"] if self._http else []) + (["local"] if self._local else [])
        made += [f"s3({endpoint or 'aws'}, {region})" for endpoint, region in self._s3]
        return f"<Stores {', '.join(made) or 'none yet'}>"

    # --- one store per kind ---------------------------------------------------------------

    def _session(self) -> aiohttp.ClientSession:
        if self._http_session is None:
            self._http_session = make_session(self.options)
            self._stack.push_async_callback(self._http_session.close)
        return self._http_session

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigurationError("Stores used after aclose()")

    def _s3_location(self, url: str) -> S3Location | None:
        """The S3 object an HTTP(S) URL names when ``https_as_s3`` is on."""
        if not self._https_as_s3:
            return None
        return parse_s3_https(url, endpoint_url=self.options.endpoint_url)

    def s3_store(self, region: str | None = None, endpoint_url: str | None = None) -> S3Store:
        """The S3 store for an (endpoint, region); the options' own by default."""
        self._check_open()
        key = (endpoint_url or self.options.endpoint_url, region or self.options.region)
        store = self._s3.get(key)
        if store is None:
            store = S3Store(
                self.options,
                http_session=self._session(),
                botocore_session=self._botocore_session,
                transport=self._s3_transport,
                region=key[1],
                endpoint_url=key[0],
            )
            self._stack.push_async_callback(store.aclose)
            self._s3[key] = store
        return store

    def http_store(self) -> HTTPStore:
        self._check_open()
        if self._http is None:
            self._http = HTTPStore(self.options, self._session())
        return self._http

    def local_store(self) -> LocalStore:
        self._check_open()
        if self._local is None:
            self._local = LocalStore(self.options)
        return self._local

    def for_url(self, url: str) -> Store:
        """The store that reads ``url``."""
        scheme = url_scheme(url)
        if scheme == "s3":
            return self.s3_store()
        if scheme in ("http", "https"):
            loc = self._s3_location(url)
            if loc is None:
                return self.http_store()
            if self.options.endpoint_url is not None and loc.region is None:
                return self.s3_store()
            return self.s3_store(region=loc.region)
        if scheme == "file":
            return self.local_store()
        raise ConfigurationError(f"unsupported URL scheme {scheme!r}", url=url)

    # --- sources ----------------------------------------------------------------------------

    async def expand(self, source: str) -> AsyncIterator[str]:
        """The object URLs a source names, streamed.

        An object URL passes through. An S3 prefix (ending in ``/``, or a key with no object
        under it) and a local directory expand to their objects, filtered by
        ``options.suffixes``. A source naming nothing passes through so that reading it
        reports the missing object.

        An S3 key whose last part has a dot (``.../frame.fits``) is taken as an object with no
        request at all: a list of ten million keys must not cost ten million LISTs. Only a key
        without one (``s3://bucket/sector1``) is looked up to tell an object from a prefix.
        """
        store = self.for_url(source)
        suffixes = self.options.suffixes
        if isinstance(store, S3Store):
            loc = store.locate(source)
            if loc.key == "" or loc.key.endswith("/"):
                async for info in store.list(source, suffixes=suffixes):
                    yield info.url
                return
            if "." in loc.key.rsplit("/", 1)[-1]:
                yield source
                return
            first = await store.first_key(source)
            if first == loc.key:
                yield source
                return
            if first is not None and not first.startswith(loc.key + "/"):
                first = await store.first_key(source + "/")
            if first is None:
                yield source
                return
            async for info in store.list(source + "/", suffixes=suffixes):
                yield info.url
            return
        if isinstance(store, LocalStore) and is_local_dir(source):
            async for info in store.list(source, suffixes=suffixes):
                yield info.url
            return
        yield source
