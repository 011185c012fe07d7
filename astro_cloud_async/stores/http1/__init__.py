"""A small HTTP/1.1 client for the stores' GETs, on ``asyncio.Protocol``.

A scan's GETs are all alike: small ranged reads over keep-alive connections, thousands a
second on one core. aiohttp spends about 0.15 ms of CPU on each (URL objects, request and
response objects, tracing hooks, a timer per read); this client does the same work in a
fraction of that and gives the stores the same face: ``get(url, headers)`` is entered with
``async with`` for a response with ``status``, ``headers`` (case-insensitive), ``content_length``,
``content`` (``read``, ``readany``, ``at_eof``), ``read()``, ``release()`` and ``close()``.

What it does, as aiohttp would for these requests: a keep-alive pool per origin bounded per
host and overall (connections waiting idle are not counted), idle connections dropped after
:data:`KEEPALIVE` seconds, one retry of a request whose connection died before its answer
began, redirects (at most :data:`MAX_REDIRECTS`, ``Authorization`` dropped across origins),
``Content-Length``, chunked and read-to-close bodies, reading paused while a body's unread
bytes exceed :data:`HIGH_WATER`, TLS through the event loop, a connect time-out and a read
time-out between bytes (one timer per connection, moved, never remade per read), credentials
in the URL sent as Basic auth. Failures are raised as the aiohttp exceptions the stores'
error mapping already types (:func:`..transport.map_client_errors`); a malformed answer is a
:class:`MalformedAnswer`. No cookies, proxies or decompression: stores want none of them.

Modules: :mod:`.urls` (a URL as sent, the request's head), :mod:`.body` (an answer's body as
it arrives), :mod:`.connection` (one connection's protocol and its answers), :mod:`.client`
(the pool, requests and redirects).
"""

from .body import HIGH_WATER, BodyReader
from .client import CLOSE_WAIT, KEEPALIVE, MAX_REDIRECTS, Http1Client
from .connection import MAX_HEAD, Http1Response, MalformedAnswer
from .urls import basic_auth, split_url

__all__ = [
    "CLOSE_WAIT",
    "HIGH_WATER",
    "KEEPALIVE",
    "MAX_HEAD",
    "MAX_REDIRECTS",
    "BodyReader",
    "Http1Client",
    "Http1Response",
    "MalformedAnswer",
    "basic_auth",
    "split_url",
]
