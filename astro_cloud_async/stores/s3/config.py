"""Where S3 requests go and with which credentials, resolved once per process.

Strategy: endpoint, region and credentials come from where the AWS SDKs take them (an explicit
option; ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``, the profile's ``services`` section or
``endpoint_url``; ``AWS_DEFAULT_REGION`` or the profile's ``region``; botocore's credential
chain), but no botocore client is ever made for it, and what is resolved is kept in a
process-wide cache. Its key holds the options and everything the answer was read from: the
``AWS_*`` environment variables and the paths and modification times of the config and
credentials files. So a loop of ``read_headers("s3://...")``, each call with a client of its
own, resolves once, and a changed environment or file is seen at the next call.

Credentials come from botocore's synchronous chain, whose refreshable credentials refresh
under a thread lock: one object serves every event loop and thread of the process. They are
frozen for signing and frozen again only when botocore says they are about to expire; the
refresh (which may call STS or the instance metadata service) runs in a worker thread, as
does the first resolution. Anonymous access makes no botocore session at all: at most the
config file is read, for a profile's endpoint and region; nor do static keys in the environment
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, no profile named),
which botocore's chain would take first and as they are. A session's loading, and the
garbage collections its memory costs later, were most of a short signed scan's CPU. A
botocore or aiobotocore session given by the caller is used as it is and never cached.
Requests never go through botocore: they are signed by :mod:`.sigv4` and sent over aiohttp
(:mod:`.store`).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import botocore.exceptions as bce

from ...errors import (
    AccessDeniedError,
    AstroCloudError,
    ConfigurationError,
    ConnectionFailedError,
    FetchTimeoutError,
    ResponseError,
)
from ...options import Options
from ..answers import INCOMPLETE_BODY
from ..transport import map_client_errors
from .errors import s3_error
from .sigv4 import Credentials, uri_encode_path
from .urls import S3Location, is_aws_endpoint

__all__ = [
    "DEFAULT_REGION",
    "CredentialSource",
    "Endpoint",
    "S3Config",
    "clear_config_cache",
    "map_botocore_errors",
    "request_target",
    "resolve_config",
]

DEFAULT_REGION = "us-east-1"

_DNS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9\-]{1,61}[a-z0-9]$")
_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
_CACHE_MAX = 32
_STILL_VALID = 60.0
"""Seconds of validity left that let frozen credentials be used while a refresh runs."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where signed requests go: AWS (virtual-hosted per bucket region) or one custom host."""

    aws: bool
    scheme: str
    netloc: str
    base_path: str

    @classmethod
    def from_url(cls, endpoint_url: str) -> Endpoint:
        parts = urlsplit(endpoint_url)
        aws = is_aws_endpoint(parts.hostname or "")
        return cls(aws, parts.scheme, parts.netloc, parts.path.rstrip("/"))

    @classmethod
    def for_aws(cls, region: str) -> Endpoint:
        domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        return cls(True, "https", f"s3.{region}.{domain}", "")


def request_target(endpoint: Endpoint, loc: S3Location, region: str) -> tuple[str, str, str]:
    """(request URL, Host header, canonical path) of a request for ``loc``.

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


class CredentialSource:
    """Signing credentials from a botocore credentials object, frozen until they near expiry.

    Synchronous botocore credentials (the process-wide case) are refreshed in a worker thread
    when botocore says so; while one refresh runs, other requests keep the frozen credentials
    if they are still valid for a minute. Credentials of an aiobotocore session (given by the
    caller) are asked each time, in the caller's event loop, as aiobotocore refreshes them.
    """

    __slots__ = ("_credentials", "_frozen", "_refreshing", "_sync")

    def __init__(self, credentials: Any):
        self._credentials = credentials
        self._sync = not inspect.iscoroutinefunction(credentials.get_frozen_credentials)
        self._frozen: Credentials | None = None
        self._refreshing = False

    def __repr__(self) -> str:
        kind = "refreshable" if self._refreshable else "static"
        return f"<CredentialSource {kind}{'' if self._sync else ' (aiobotocore)'}>"

    @property
    def _refreshable(self) -> bool:
        return callable(getattr(self._credentials, "refresh_needed", None))

    def ready(self) -> Credentials | None:
        """The frozen credentials when no refresh is due (no I/O, no await), else ``None``."""
        frozen = self._frozen
        if frozen is None or not self._sync:
            return None
        if self._refreshable and self._credentials.refresh_needed():
            return None
        return frozen

    async def current(self) -> Credentials:
        credentials = self._credentials
        if not self._sync:
            return _signing(await credentials.get_frozen_credentials())
        frozen = self._frozen
        if not self._refreshable or not credentials.refresh_needed():
            if frozen is None:  # no refresh due: botocore freezes them without I/O
                frozen = self._frozen = _signing(credentials.get_frozen_credentials())
            return frozen
        if frozen is not None and self._refreshing and not credentials.refresh_needed(_STILL_VALID):
            return frozen
        self._refreshing = True
        try:
            fresh = await asyncio.to_thread(credentials.get_frozen_credentials)
        finally:
            self._refreshing = False
        frozen = self._frozen = _signing(fresh)
        return frozen


def _signing(frozen: Any) -> Credentials:
    return Credentials(frozen.access_key, frozen.secret_key, frozen.token)


@dataclass(frozen=True, slots=True)
class S3Config:
    """The resolved endpoint, default region and credential source of one S3 store."""

    endpoint: Endpoint
    region: str
    credentials: CredentialSource | None
    """``None`` for anonymous access, or when the credential chain found nothing."""

    async def frozen_credentials(self, url: str, offset: int) -> Credentials:
        """The current credentials (refreshed when they are about to expire)."""
        source = self.credentials
        if source is None:
            raise AccessDeniedError(
                "no AWS credentials found (anon=True reads public buckets)", url=url, offset=offset
            )
        ready = source.ready()
        if ready is not None:
            return ready
        with map_botocore_errors(url, offset):
            return await source.current()


# --- resolution -----------------------------------------------------------------------------

_CACHE: dict[tuple[object, ...], S3Config] = {}


def clear_config_cache() -> None:
    """Forget every resolved configuration (the next store resolves again)."""
    _CACHE.clear()


async def resolve_config(
    options: Options,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    botocore_session: Any = None,
) -> S3Config:
    """Endpoint, region and credentials for an S3 store, as the AWS SDKs would find them:
    from the process-wide cache, or resolved now (see the module docstring).
    ``botocore_session``: a botocore or aiobotocore session to take them from instead."""
    region = region or options.region
    endpoint_url = endpoint_url or options.endpoint_url
    with map_botocore_errors(endpoint_url or "s3://", 0):
        if botocore_session is not None:
            return await _from_session(botocore_session, options, region, endpoint_url)
        key = _cache_key(options, region, endpoint_url)
        config = _CACHE.get(key)
        if config is None:
            if options.anon and options.profile is None:
                config = _anonymous(region, endpoint_url)
            elif (static := _environment_credentials(options)) is not None:
                config = _from_environment(static, region, endpoint_url)
            else:
                config = await asyncio.to_thread(_signed, options, region, endpoint_url)
            if len(_CACHE) >= _CACHE_MAX:
                _CACHE.clear()
            _CACHE[key] = config
        return config


def _file_paths() -> tuple[str, str]:
    config = os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    credentials = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    return os.path.expanduser(config), os.path.expanduser(credentials)


def _modified(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _cache_key(
    options: Options, region: str | None, endpoint_url: str | None
) -> tuple[object, ...]:
    """Everything a resolution depends on (secrets included: the key never leaves memory)."""
    environment = tuple(sorted(kv for kv in os.environ.items() if kv[0].startswith("AWS_")))
    files = tuple((path, _modified(path)) for path in _file_paths())
    return (options.anon, options.profile, region, endpoint_url, environment, files)


@dataclass(frozen=True, slots=True)
class _Settings:
    """What the config file and environment say about endpoints and regions."""

    full: Mapping[str, Any]
    profile: Mapping[str, Any]
    region: str | None
    ignore_configured_endpoints: bool


def _where(
    settings: _Settings, region: str | None, endpoint_url: str | None
) -> tuple[Endpoint, str]:
    """The endpoint and default region, by the SDKs' precedence."""
    region = region or settings.region or DEFAULT_REGION
    url = endpoint_url
    if url is None and not settings.ignore_configured_endpoints:
        url = next((os.environ[n] for n in _ENDPOINT_VARIABLES if os.environ.get(n)), None)
        if url is None:
            url = _configured_endpoint(settings)
    return (Endpoint.from_url(url) if url else Endpoint.for_aws(region)), region


def _configured_endpoint(settings: _Settings) -> str | None:
    """A profile's S3 endpoint: its ``services`` section's ``s3.endpoint_url``, else its own
    ``endpoint_url``."""
    section_name = settings.profile.get("services")
    if section_name:
        section = settings.full.get("services", {}).get(section_name)
        if not section:
            raise ConfigurationError(
                f"the profile names a missing services section {section_name!r}"
            )
        url = section.get("s3", {}).get("endpoint_url")
        if url:
            return str(url)
    url = settings.profile.get("endpoint_url")
    return str(url) if url else None


def _true(value: object) -> bool:
    return str(value).strip().lower() == "true" if value is not None else False


def _anonymous(region: str | None, endpoint_url: str | None) -> S3Config:
    """Anonymous access: the environment, and the default profile of the config file if there
    is one (read with botocore's config loader; no session, no credential chain)."""
    endpoint, default_region = _where(_file_settings(), region, endpoint_url)
    return S3Config(endpoint, default_region, None)


def _environment_credentials(options: Options) -> Credentials | None:
    """Static keys from ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` (with
    ``AWS_SESSION_TOKEN``), where botocore's chain would take them first and as they are: no
    profile asked for (by option or variable), no expiry stated. ``None`` otherwise."""
    env = os.environ
    if options.profile is not None or env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE"):
        return None
    key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret or env.get("AWS_CREDENTIAL_EXPIRATION"):
        return None
    token = env.get("AWS_SESSION_TOKEN") or env.get("AWS_SECURITY_TOKEN") or None
    return Credentials(key, secret, token)


class _StaticCredentials:
    """Keys that never change, in the shape :class:`CredentialSource` asks botocore's for."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Credentials):
        self._keys = keys

    def get_frozen_credentials(self) -> Credentials:
        return self._keys


def _from_environment(keys: Credentials, region: str | None, endpoint_url: str | None) -> S3Config:
    """Signed access with keys from the environment: settings as for anonymous access, and no
    botocore session (whose loading, and the memory it keeps, cost more than all the rest)."""
    endpoint, default_region = _where(_file_settings(), region, endpoint_url)
    return S3Config(endpoint, default_region, CredentialSource(_StaticCredentials(keys)))


def _file_settings() -> _Settings:
    """The environment's and the config file's settings (the default profile, or the one the
    environment names), read with botocore's config loader alone."""
    profile = os.environ.get("AWS_DEFAULT_PROFILE") or os.environ.get("AWS_PROFILE") or "default"
    full: Mapping[str, Any] = {}
    config_file = _file_paths()[0]
    if os.path.isfile(config_file):
        from botocore.configloader import load_config

        full = load_config(config_file)
    scoped = full.get("profiles", {}).get(profile, {})
    ignore = os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
    return _Settings(
        full,
        scoped,
        os.environ.get("AWS_DEFAULT_REGION") or scoped.get("region"),
        _true(ignore if ignore is not None else scoped.get("ignore_configured_endpoint_urls")),
    )


def _session_settings(session: Any) -> _Settings:
    return _Settings(
        session.full_config,
        session.get_scoped_config(),
        session.get_config_variable("region"),
        _true(session.get_config_variable("ignore_configured_endpoint_urls")),
    )


def _signed(options: Options, region: str | None, endpoint_url: str | None) -> S3Config:
    """A botocore session's settings and credential chain (in a worker thread: the chain may
    ask the instance metadata service)."""
    import botocore.session

    session = botocore.session.Session(profile=options.profile)
    endpoint, default_region = _where(_session_settings(session), region, endpoint_url)
    if options.anon:
        return S3Config(endpoint, default_region, None)
    credentials = session.get_credentials()
    source = CredentialSource(credentials) if credentials is not None else None
    return S3Config(endpoint, default_region, source)


async def _from_session(
    session: Any, options: Options, region: str | None, endpoint_url: str | None
) -> S3Config:
    """The settings and credentials of a session given by the caller (botocore's or
    aiobotocore's)."""
    endpoint, default_region = _where(_session_settings(session), region, endpoint_url)
    if options.anon:
        return S3Config(endpoint, default_region, None)
    found = session.get_credentials()
    if inspect.isawaitable(found):
        found = await found
    return S3Config(endpoint, default_region, CredentialSource(found) if found else None)


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
