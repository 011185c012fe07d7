"""Which connection bound a request counts against."""

from __future__ import annotations

from ..stores.capabilities import origin

__all__ = ["host_key"]


def host_key(url: str) -> str:
    """The bound a URL counts against: its host, an S3 bucket, or none for local files."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return ""
    scheme = scheme.lower()
    if scheme in ("http", "https"):
        return origin(url)
    if scheme in ("s3", "s3a"):
        return "s3://" + rest.partition("/")[0]
    return ""
