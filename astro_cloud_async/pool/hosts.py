"""Which connection bound a request counts against."""

from __future__ import annotations

from ..stores.capabilities import origin

__all__ = ["host_key"]


def host_key(url: str) -> str:
    """The bound a URL counts against: its host, a bucket (S3, GCS) or an Azure container,
    or none for local files."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return ""
    scheme = scheme.lower()
    if scheme in ("http", "https"):
        return origin(url)
    if scheme in ("s3", "s3a"):
        return "s3://" + rest.partition("/")[0]
    if scheme in ("gs", "gcs"):
        return "gs://" + rest.partition("/")[0]
    if scheme in ("az", "abfs", "abfss"):
        return "az://" + rest.partition("/")[0]
    return ""
