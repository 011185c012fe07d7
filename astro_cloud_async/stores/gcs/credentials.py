"""Bearer tokens for GCS from Application Default Credentials, cached process-wide.

``google-auth`` finds the credentials as Google's own libraries do (a service-account or user
file in ``GOOGLE_APPLICATION_CREDENTIALS``, gcloud's user credentials, the metadata server)
and fetches tokens; it is imported only here, only when a GCS store first needs a token, so
anonymous reads of public buckets never load it. Its calls block, so they run in a worker
thread. One :class:`TokenSource` per credential source serves every store and event loop in
the process: a request costs a clock read and a string while the token is fresh, and the
first request after the token nears its expiry refreshes it (once, under a lock) before it
lapses. A token is never shown in a ``repr`` or message.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from ...errors import AccessDeniedError, ConnectionFailedError

__all__ = [
    "NO_CREDENTIALS",
    "READ_SCOPE",
    "REFRESH_MARGIN",
    "TOKEN_TIMEOUT",
    "TokenSource",
    "token_source",
]

NO_CREDENTIALS = "NoCredentials"
"""``FetchError.code`` when no Application Default Credentials exist."""
READ_SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"
REFRESH_MARGIN = 300.0
"""Seconds before expiry at which a token is refreshed."""
_UNKNOWN_LIFETIME = 1800.0
"""How long a token with no stated expiry is used before it is refreshed anyway."""
TOKEN_TIMEOUT = (10.0, 30.0)
"""Seconds to connect to the token service, and to wait for each read of its answer: a
refresh runs in a worker thread under a lock, so one that hung would hold every later one."""


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    refresh_at: float
    """``time.time()`` after which the token is refreshed."""


class TokenSource:
    """One credential source and its current access token (thread- and loop-safe)."""

    def __init__(self, key: tuple[str | None, ...]):
        self._key = key
        self._lock = threading.Lock()
        self._credentials: Any = None
        self._project: str | None = None
        self._token: _Token | None = None
        self.refreshes = 0
        """Tokens fetched so far (tests and statistics read it)."""

    def __repr__(self) -> str:
        state = "fresh" if self.current() is not None else "stale"
        return f"<TokenSource {state} refreshes={self.refreshes}>"

    def current(self) -> str | None:
        """The token if it is fresh enough to send, else ``None`` (no I/O, no lock)."""
        token = self._token
        if token is not None and time.time() < token.refresh_at:
            return token.value
        return None

    async def token(self, url: str, offset: int) -> str:
        """A fresh token, refreshed in a worker thread when it nears its expiry."""
        value = self.current()
        if value is not None:
            return value
        return await asyncio.to_thread(self._refresh, url, offset)

    async def project(self, url: str, offset: int) -> str | None:
        """The project the credentials name (the default billing project), if any."""
        await self.token(url, offset)
        return self._project

    def _refresh(self, url: str, offset: int) -> str:
        with self._lock:
            value = self.current()
            if value is not None:
                return value  # another thread refreshed it while this one waited
            try:
                import google.auth
                import google.auth.exceptions as gae
                import urllib3
                from google.auth.transport.urllib3 import Request
            except ImportError as err:
                raise AccessDeniedError(
                    "signed GCS requests need google-auth (pip install "
                    "'astro_cloud_async[gcs]'); anon=True reads public buckets",
                    url=url,
                    offset=offset,
                ) from err
            try:
                if self._credentials is None:
                    credentials, project = google.auth.default(scopes=[READ_SCOPE])
                    self._credentials, self._project = credentials, project
                connect, read = TOKEN_TIMEOUT
                http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=connect, read=read))
                self._credentials.refresh(Request(http))  # type: ignore[no-untyped-call]
            except gae.DefaultCredentialsError:
                raise AccessDeniedError(
                    "no Google credentials found (set GOOGLE_APPLICATION_CREDENTIALS, run "
                    "'gcloud auth application-default login', or anon=True for public buckets)",
                    url=url,
                    offset=offset,
                    code=NO_CREDENTIALS,
                ) from None
            except gae.TransportError as err:
                raise ConnectionFailedError(
                    f"could not reach the Google token service ({type(err).__name__})",
                    url=url,
                    offset=offset,
                ) from None
            except gae.GoogleAuthError as err:
                # The token service's answer may quote the request: only the type is kept.
                raise AccessDeniedError(
                    f"Google credentials were refused ({type(err).__name__})",
                    url=url,
                    offset=offset,
                ) from None
            token = self._credentials.token
            if not isinstance(token, str) or not token:
                raise AccessDeniedError("the Google token service gave no token", url=url)
            self._token = _Token(token, _refresh_at(self._credentials.expiry))
            self.refreshes += 1
            return token


def _refresh_at(expiry: Any) -> float:
    """When to refresh a token that expires at ``expiry`` (google-auth: naive UTC)."""
    now = time.time()
    if expiry is None:
        return now + _UNKNOWN_LIFETIME
    import calendar

    expires = calendar.timegm(expiry.utctimetuple())
    lifetime = expires - now
    if lifetime > 2 * REFRESH_MARGIN:
        return now + lifetime - REFRESH_MARGIN
    return now + max(lifetime, 0.0) / 2  # a short-lived token: refreshed at half its life


_SOURCES: dict[tuple[str | None, ...], TokenSource] = {}
_SOURCES_LOCK = threading.Lock()


def token_source() -> TokenSource:
    """The process-wide token source for the current Application Default Credentials.

    Keyed by the variables that choose them, so a test (or program) that points
    ``GOOGLE_APPLICATION_CREDENTIALS`` elsewhere gets a source of its own.
    """
    key = (
        os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"),
        os.environ.get("CLOUDSDK_CONFIG"),
        os.environ.get("GCE_METADATA_HOST"),
    )
    with _SOURCES_LOCK:
        source = _SOURCES.get(key)
        if source is None:
            source = _SOURCES[key] = TokenSource(key)
        return source
