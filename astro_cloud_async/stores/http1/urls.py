"""URLs as the client sends them, and the head of a GET.

A URL whose path and query hold only plain characters is split with ``str`` methods, the
common case costing a microsecond; anything else (``%`` escapes, spaces, non-ASCII, dot
segments, a fragment) goes through yarl, so the target is requoted exactly as aiohttp would.
Signed URLs (S3, GCS, Azure) are sent as built (``encoded=True``).
"""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote

import aiohttp
from yarl import URL

from ... import __version__

__all__ = ["basic_auth", "request_head", "split_url", "url_credentials"]

_USER_AGENT = f"astro_cloud_async/{__version__}"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SAFE_REST = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*\Z")
"""A path and query sent as they are: no ``%``, ``#``, spaces or non-ASCII (yarl's work)."""
_SAFE_AUTHORITY = re.compile(r"[A-Za-z0-9\-._:\[\]]+\Z")


def split_url(url: str, encoded: bool = False) -> tuple[str, str, str, int, str, str, str | None]:
    """``(scheme, host, host_header, port, origin_key, target, userinfo)`` of an absolute
    http(s) URL, as aiohttp would send it: the path and query requoted by yarl unless already
    plain (or ``encoded``: sent as they are), the fragment dropped, ``/`` for an empty path.
    Raises ``aiohttp.InvalidURL``."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in _DEFAULT_PORTS:
        raise aiohttp.InvalidURL(url)
    slash = rest.find("/")
    query = rest.find("?")
    cut = slash if query < 0 or 0 <= slash < query else query
    authority, target = (rest, "/") if cut < 0 else (rest[:cut], rest[cut:])
    if target[0] == "?":
        target = "/" + target
    userinfo: str | None = None
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
    if encoded:
        if " " in target or not target.isascii():
            raise aiohttp.InvalidURL(url)
        if not authority or not _SAFE_AUTHORITY.match(authority):
            raise aiohttp.InvalidURL(url)
    elif (
        not authority
        or not _SAFE_AUTHORITY.match(authority)
        or not _SAFE_REST.match(target)
        or "/." in target
    ):
        return _split_with_yarl(url)
    if authority[0] == "[":
        close = authority.find("]")
        host, port_text = authority[1:close], authority[close + 1 :].lstrip(":")
        shown = authority[: close + 1]
    else:
        host, _, port_text = authority.partition(":")
        shown = host
    host = host.lower()
    try:
        port = int(port_text) if port_text else _DEFAULT_PORTS[scheme]
    except ValueError:
        raise aiohttp.InvalidURL(url) from None
    if not 0 < port < 65536 or not host:
        raise aiohttp.InvalidURL(url)
    shown = shown.lower()
    header = shown if port == _DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    return scheme, host, header, port, f"{scheme}://{header}", target, userinfo


def _split_with_yarl(url: str) -> tuple[str, str, str, int, str, str, str | None]:
    try:
        parsed = URL(url)
        host, port, scheme = parsed.raw_host, parsed.port, parsed.scheme
    except (ValueError, TypeError):
        raise aiohttp.InvalidURL(url) from None
    if not host or port is None or scheme not in _DEFAULT_PORTS:
        raise aiohttp.InvalidURL(url)
    shown = f"[{host}]" if ":" in host else host
    header = shown if port == _DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    userinfo = None
    if parsed.raw_user is not None:
        userinfo = parsed.raw_user + (
            ":" + parsed.raw_password if parsed.raw_password is not None else ""
        )
    target = parsed.raw_path_qs or "/"
    return scheme, host, header, port, f"{scheme}://{header}", target, userinfo


def basic_auth(login: str, password: str) -> str:
    """The ``Authorization`` value of HTTP Basic auth (latin-1 where it fits, else UTF-8)."""
    raw = f"{login}:{password}"
    try:
        encoded = raw.encode("latin1")
    except UnicodeEncodeError:
        encoded = raw.encode("utf-8")
    return "Basic " + base64.b64encode(encoded).decode("ascii")


def url_credentials(userinfo: str) -> str:
    """The Basic ``Authorization`` value of a URL's ``login:password@`` part."""
    login, _, password = userinfo.partition(":")
    return basic_auth(unquote(login), unquote(password))


def request_head(target: str, host: str, headers: dict[str, str]) -> bytes:
    """The request's head: ``GET target HTTP/1.1`` and its headers; a header value holding a
    line break raises ``ValueError`` (it would smuggle another header or request)."""
    lines = [f"GET {target} HTTP/1.1\r\nHost: {host}\r\n"]
    agent = accept = False
    for name, value in headers.items():
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name or ":" in name:
            raise ValueError("a request header holds a line break")
        lower = name.lower()
        if lower == "host":
            continue
        agent = agent or lower == "user-agent"
        accept = accept or lower == "accept"
        lines.append(f"{name}: {value}\r\n")
    if not agent:
        lines.append(f"User-Agent: {_USER_AGENT}\r\n")
    if not accept:
        lines.append("Accept: */*\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("utf-8")
