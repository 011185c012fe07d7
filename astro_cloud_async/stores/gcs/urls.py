"""Google Cloud Storage URL forms: ``gs://bucket/key`` and the HTTPS spellings of an object.

``gs://`` keys are raw (as gcsfs writes them); HTTPS paths are percent-encoded and decoded
here. The HTTPS forms are those of the XML API that browsers and ``gsutil`` print:
``https://storage.googleapis.com/bucket/key`` (path style),
``https://bucket.storage.googleapis.com/key`` (virtual-hosted) and the console's
``https://storage.cloud.google.com/bucket/key``; all are read through the JSON API.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from ...errors import ConfigurationError

__all__ = [
    "GCS_HOST",
    "GCSLocation",
    "gcs_schemes",
    "is_gcs_https",
    "parse_gcs_https",
    "parse_gcs_url",
]

GCS_HOST = "storage.googleapis.com"
_PATH_HOSTS = frozenset({GCS_HOST, "storage.cloud.google.com"})
_VIRTUAL_SUFFIX = "." + GCS_HOST

gcs_schemes = frozenset({"gs", "gcs"})
"""URL schemes that name a GCS object (``gcs://`` as gcsfs also accepts it)."""


@dataclass(frozen=True, slots=True)
class GCSLocation:
    """A bucket and key (``key`` may be a prefix or empty)."""

    bucket: str
    key: str

    @property
    def url(self) -> str:
        return f"gs://{self.bucket}/{self.key}"

    def object_path(self) -> str:
        """The JSON API path of the object: the key is one path segment, ``/`` encoded."""
        return f"/storage/v1/b/{quote(self.bucket, safe='')}/o/{quote(self.key, safe='')}"

    def list_path(self) -> str:
        """The JSON API path that lists the bucket."""
        return f"/storage/v1/b/{quote(self.bucket, safe='')}/o"


def parse_gcs_url(url: str) -> GCSLocation:
    """Split ``gs://bucket/key`` (also ``gcs://``); the key may be empty or a prefix."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in gcs_schemes:
        raise ConfigurationError("not a gs:// URL", url=url)
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise ConfigurationError("gs URL without a bucket", url=url)
    return GCSLocation(bucket, key)


def is_gcs_https(url: str) -> bool:
    """Whether ``url`` is an HTTP(S) URL of a GCS object (by its host)."""
    return parse_gcs_https(url) is not None


def parse_gcs_https(url: str) -> GCSLocation | None:
    """The object an ``https://storage.googleapis.com/...`` URL names, else ``None``."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or parts.query:
        return None
    host = (parts.hostname or "").lower()
    path = parts.path.lstrip("/")
    if host in _PATH_HOSTS:
        bucket, _, key = path.partition("/")
        return GCSLocation(unquote(bucket), unquote(key)) if bucket else None
    if host.endswith(_VIRTUAL_SUFFIX):
        return GCSLocation(host[: -len(_VIRTUAL_SUFFIX)], unquote(path))
    return None
