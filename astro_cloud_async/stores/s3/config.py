"""Where S3 requests go and with which credentials, resolved the way the AWS SDKs resolve it.

aiobotocore supplies what it is good at: the credential chain (environment, profile, instance
roles, refreshed when they expire) and endpoint and region resolution (``AWS_ENDPOINT_URL_S3``
and friends, profiles' ``endpoint_url`` and ``region``, as botocore reads them). Requests
themselves never go through botocore: they are signed by :mod:`.sigv4` and sent over aiohttp
(:mod:`.store`), at a fraction of botocore's CPU cost per request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import botocore.exceptions as bce
from aiobotocore.session import AioSession
from botocore import UNSIGNED
from botocore.config import Config

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
    "Endpoint",
    "S3Config",
    "map_botocore_errors",
    "request_target",
    "resolve_config",
]

DEFAULT_REGION = "us-east-1"

_DNS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9\-]{1,61}[a-z0-9]$")


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


@dataclass(frozen=True, slots=True)
class S3Config:
    """The resolved endpoint, default region and credential source of one S3 store."""

    endpoint: Endpoint
    region: str
    credentials: Any
    """botocore's (refreshable) credentials object; ``None`` for anonymous access."""

    async def frozen_credentials(self, url: str, offset: int) -> Credentials:
        """The current credentials (refreshed by botocore when they are about to expire)."""
        if self.credentials is None:
            raise AccessDeniedError(
                "no AWS credentials found (anon=True reads public buckets)", url=url, offset=offset
            )
        with map_botocore_errors(url, offset):
            frozen = await self.credentials.get_frozen_credentials()
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)


async def resolve_config(
    options: Options,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    botocore_session: AioSession | None = None,
) -> S3Config:
    """Resolve endpoint, region and credentials as botocore would for an S3 client."""
    with map_botocore_errors(endpoint_url or "s3://", 0):
        session = botocore_session or AioSession(profile=options.profile)
        async with _client(session, options, region, endpoint_url) as client:
            endpoint = Endpoint.from_url(client.meta.endpoint_url)
            default_region = client.meta.region_name or DEFAULT_REGION
        credentials = None if options.anon else await session.get_credentials()
    return S3Config(endpoint, default_region, credentials)


def _client(
    session: AioSession, options: Options, region: str | None, endpoint_url: str | None
) -> Any:
    config = Config(
        signature_version=UNSIGNED if options.anon else None,
        connect_timeout=options.connect_timeout,
        read_timeout=options.timeout,
        retries={"total_max_attempts": 1},
    )
    return session.create_client("s3", region_name=region, endpoint_url=endpoint_url, config=config)


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
