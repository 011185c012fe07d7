"""A small AWS Signature Version 4 signer for S3 GETs sent over aiohttp.

botocore's request pipeline costs several times the CPU of the GET itself, so ranged reads are
signed here and sent with aiohttp; botocore still supplies (and refreshes) the credentials.
The payload is never hashed (``UNSIGNED-PAYLOAD``, a GET has none), the derived signing key is
cached per (secret, date, region, service) and the ``x-amz-date`` string per second, so a
signature costs two HMACs over short strings plus one SHA-256 of the canonical request.
Secrets are kept out of every ``repr``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

__all__ = [
    "ALGORITHM",
    "UNSIGNED_PAYLOAD",
    "Credentials",
    "SigV4Signer",
    "canonical_query",
    "uri_encode_path",
]

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_KEY_CACHE_MAX = 32


@dataclass(frozen=True, slots=True)
class Credentials:
    """An access key, its secret and an optional session token (never shown by ``repr``)."""

    access_key: str
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        shown = self.access_key[:4] + "..." if len(self.access_key) > 4 else "..."
        return f"Credentials(access_key={shown!r}, token={'yes' if self.token else 'no'})"


def uri_encode_path(path: str) -> str:
    """Percent-encode an S3 key path as SigV4 wants it: every byte but unreserved and ``/``."""
    return quote(path, safe="/-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    """The canonical query string: names and values encoded, sorted by name."""
    return "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(params.items())
    )


class SigV4Signer:
    """Signs requests for one (region, service) scope."""

    __slots__ = ("_date_cache", "_keys", "_macs", "region", "service")

    def __init__(self, region: str, service: str = "s3"):
        self.region = region
        self.service = service
        self._keys: dict[tuple[str, str], bytes] = {}
        self._macs: dict[bytes, hmac.HMAC] = {}
        self._date_cache: tuple[int, str] = (-1, "")

    def __repr__(self) -> str:
        return f"<SigV4Signer {self.region}/{self.service}>"

    def _amz_date(self, now: float | None) -> str:
        second = int(time.time() if now is None else now)
        cached_second, cached = self._date_cache
        if second == cached_second:
            return cached
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
        self._date_cache = (second, stamp)
        return stamp

    def signing_key(self, secret_key: str, date: str) -> bytes:
        """``HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")``."""
        cache_key = (secret_key, date)
        key = self._keys.get(cache_key)
        if key is None:
            key = _hmac(("AWS4" + secret_key).encode(), date)
            key = _hmac(key, self.region)
            key = _hmac(key, self.service)
            key = _hmac(key, "aws4_request")
            if len(self._keys) >= _KEY_CACHE_MAX:
                self._keys.clear()
                self._macs.clear()
            self._keys[cache_key] = key
        return key

    def _mac(self, key: bytes) -> hmac.HMAC:
        """A fresh HMAC keyed with ``key``, copied from a cached keyed state."""
        template = self._macs.get(key)
        if template is None:
            template = self._macs[key] = hmac.new(key, digestmod=hashlib.sha256)
        return template.copy()

    def sign(
        self,
        method: str,
        host: str,
        path: str,
        credentials: Credentials,
        *,
        query: str = "",
        headers: Mapping[str, str] | None = None,
        payload_hash: str = UNSIGNED_PAYLOAD,
        now: float | None = None,
    ) -> dict[str, str]:
        """Return the headers to send: those given plus host, x-amz-* and Authorization.

        ``path`` must already be URI-encoded (:func:`uri_encode_path`) and sent as is;
        ``query`` is the canonical query string. Every header given is signed.
        """
        amz_date = self._amz_date(now)
        date = amz_date[:8]
        signed: dict[str, str] = {k.lower(): v.strip() for k, v in (headers or {}).items()}
        signed["host"] = host
        signed["x-amz-date"] = amz_date
        signed["x-amz-content-sha256"] = payload_hash
        if credentials.token:
            signed["x-amz-security-token"] = credentials.token
        names = sorted(signed)
        signed_headers = ";".join(names)
        canonical_headers = "".join(f"{n}:{signed[n]}\n" for n in names)
        canonical_request = (
            f"{method}\n{path}\n{query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}"
        )
        scope = f"{date}/{self.region}/{self.service}/aws4_request"
        string_to_sign = (
            f"{ALGORITHM}\n{amz_date}\n{scope}\n"
            f"{hashlib.sha256(canonical_request.encode()).hexdigest()}"
        )
        mac = self._mac(self.signing_key(credentials.secret_key, date))
        mac.update(string_to_sign.encode())
        signature = mac.hexdigest()
        signed["Authorization"] = (
            f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
            f"SignedHeaders={signed_headers}, Signature={signature}"
        )
        return signed


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.digest(key, msg.encode(), "sha256")
