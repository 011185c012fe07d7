"""Shared Key signing of Azure Blob GETs, checked by the service (and by Azurite).

The string to sign is the verb, eleven standard header values (only Range and If-Match can be
set on a GET here), the ``x-ms-*`` headers in name order, and the canonicalized resource
(``/account/path`` plus the query parameters, lower-case names in order, one per line). The
signature is an HMAC-SHA256 keyed by the decoded account key, whose keyed state is made once
and copied per request; the ``x-ms-date`` string is kept per second. The key never appears
in a ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from urllib.parse import unquote

from ...errors import ConfigurationError

__all__ = ["API_VERSION", "SharedKeySigner", "string_to_sign"]

API_VERSION = "2021-12-02"
"""The Blob service version sent (``x-ms-version``); Azurite and Azure both serve it."""

_STANDARD = (
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
)


def string_to_sign(
    method: str, account: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]
) -> str:
    """The Shared Key string to sign (``headers`` with lower-case names, ``path`` as sent)."""
    lines = [method]
    lines += [headers.get(name, "") for name in _STANDARD]
    ms = sorted((k, v) for k, v in headers.items() if k.startswith("x-ms-"))
    canonical_headers = "".join(f"{k}:{v.strip()}\n" for k, v in ms)
    resource = f"/{account}{path}"
    for name in sorted(query, key=str.lower):
        resource += f"\n{name.lower()}:{unquote(query[name])}"
    return "\n".join(lines) + "\n" + canonical_headers + resource


class SharedKeySigner:
    """Signs requests for one storage account with its key."""

    __slots__ = ("_date", "_mac", "account")

    def __init__(self, account: str, key: str):
        try:
            secret = base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            raise ConfigurationError("the Azure account key is not valid base64") from None
        self.account = account
        self._mac = hmac.new(secret, digestmod=hashlib.sha256)
        self._date: tuple[int, str] = (-1, "")

    def __repr__(self) -> str:
        return f"<SharedKeySigner {self.account}>"

    def ms_date(self, now: float | None = None) -> str:
        """The ``x-ms-date`` value (RFC 1123), made once per second."""
        second = int(time.time() if now is None else now)
        cached_second, cached = self._date
        if second != cached_second:
            cached = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(second))
            self._date = (second, cached)
        return cached

    def sign(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        *,
        now: float | None = None,
    ) -> dict[str, str]:
        """The headers to send: those given (names lower-cased), ``x-ms-date``,
        ``x-ms-version`` and ``Authorization``. ``path`` is the URL path as sent."""
        sent = {k.lower(): v for k, v in headers.items()}
        sent["x-ms-date"] = self.ms_date(now)
        sent.setdefault("x-ms-version", API_VERSION)
        mac = self._mac.copy()
        mac.update(string_to_sign(method, self.account, path, query, sent).encode("utf-8"))
        signature = base64.b64encode(mac.digest()).decode("ascii")
        sent["authorization"] = f"SharedKey {self.account}:{signature}"
        return sent
