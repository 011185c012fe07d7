"""S3 URL forms: ``s3://bucket/key`` and the HTTPS spellings of the same object.

``s3://`` keys are raw (as s3fs writes them); HTTPS paths are percent-encoded and decoded here.
AWS hosts are recognised by pattern (virtual-hosted ``bucket.s3.region.amazonaws.com``,
path-style ``s3.region.amazonaws.com/bucket``, legacy ``s3-region`` and dual-stack forms);
any other host is an S3 object only when the caller names it as the endpoint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ...errors import ConfigurationError

__all__ = [
    "S3Location",
    "is_aws_endpoint",
    "parse_s3_https",
    "parse_s3_url",
    "s3_url_from_https",
]


@dataclass(frozen=True, slots=True)
class S3Location:
    """A bucket and key (``key`` may be a prefix), with the region when the URL names it."""

    bucket: str
    key: str
    region: str | None = None

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_s3_url(url: str) -> S3Location:
    """Split ``s3://bucket/key`` (also ``s3a://``); the key may be empty or a prefix."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("s3", "s3a"):
        raise ConfigurationError("not an s3:// URL", url=url)
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise ConfigurationError("s3 URL without a bucket", url=url)
    return S3Location(bucket, key)


_DOMAIN = r"amazonaws\.com(?:\.cn)?"
_REGION = r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)"
# bucket.s3.amazonaws.com, bucket.s3.REGION.amazonaws.com, bucket.s3-REGION.amazonaws.com,
# bucket.s3.dualstack.REGION.amazonaws.com, bucket.s3-accelerate.amazonaws.com
_VIRTUAL_HOST = re.compile(
    rf"^(?P<bucket>[a-z0-9][a-z0-9.\-]*[a-z0-9])\."
    rf"s3(?:-accelerate|(?:[.\-](?:dualstack\.)?{_REGION}))?\.{_DOMAIN}$"
)
# s3.amazonaws.com, s3.REGION.amazonaws.com, s3-REGION.amazonaws.com, s3.dualstack.REGION...
_PATH_HOST = re.compile(rf"^s3(?:[.\-](?:dualstack\.)?{_REGION})?\.{_DOMAIN}$")


def is_aws_endpoint(host: str) -> bool:
    """Whether ``host`` is an AWS S3 service host (path-style form)."""
    return _PATH_HOST.match(host.lower()) is not None


def parse_s3_https(url: str, *, endpoint_url: str | None = None) -> S3Location | None:
    """The S3 object an HTTP(S) URL names, or ``None`` if it is not an S3 URL.

    With ``endpoint_url`` (e.g. ``http://127.0.0.1:9000``) URLs under that endpoint are read
    path-style: ``{endpoint}/bucket/key``. Otherwise only AWS hosts are recognised.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or parts.query:
        return None
    if endpoint_url is not None:
        ep = urlsplit(endpoint_url)
        if (parts.scheme.lower(), parts.netloc.lower()) == (ep.scheme.lower(), ep.netloc.lower()):
            base = ep.path.rstrip("/")
            if not parts.path.startswith(base + "/"):
                return None
            return _path_style(parts.path[len(base) + 1 :], None)
    host = (parts.hostname or "").lower()
    m = _VIRTUAL_HOST.match(host)
    if m is not None:
        return S3Location(m.group("bucket"), unquote(parts.path.lstrip("/")), m.group("region"))
    m = _PATH_HOST.match(host)
    if m is not None:
        return _path_style(parts.path.lstrip("/"), m.group("region"))
    return None


def _path_style(path: str, region: str | None) -> S3Location | None:
    bucket, _, key = path.partition("/")
    if not bucket:
        return None
    return S3Location(unquote(bucket), unquote(key), region)


def s3_url_from_https(url: str, *, endpoint_url: str | None = None) -> str | None:
    """``s3://bucket/key`` for an HTTPS URL of an S3 object, else ``None``."""
    loc = parse_s3_https(url, endpoint_url=endpoint_url)
    return None if loc is None else loc.url
