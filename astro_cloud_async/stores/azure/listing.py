"""List Blobs: the query of one page, and the page read from its XML answer.

One page is one request, sent by :meth:`AzureStore.list_page` like any GET (so the pool
retries and counts it); the service's ``NextMarker`` is the continuation token. A name that
XML cannot carry comes back percent-encoded with ``Encoded="true"`` and is decoded here.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote
from xml.etree import ElementTree

from ...errors import ResponseError
from ..base import ListPage, ObjectInfo, matches_suffix

__all__ = ["MAX_RESULTS", "list_query", "parse_list_page"]

MAX_RESULTS = 5000
"""The most blobs Azure returns in one page."""


def list_query(prefix: str, token: str | None, limit: int | None) -> dict[str, str]:
    """The query parameters of one List Blobs page."""
    query = {"restype": "container", "comp": "list"}
    if prefix:
        query["prefix"] = prefix
    if limit is not None:
        query["maxresults"] = str(min(max(limit, 1), MAX_RESULTS))
    if token:
        query["marker"] = token
    return query


def parse_list_page(
    body: bytes,
    url: str,
    make_url: Callable[[str], str],
    suffixes: tuple[str, ...] | None = None,
) -> ListPage:
    """The blobs of one List Blobs answer (filtered by ``suffixes``) and its next marker."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as err:
        raise ResponseError("the listing answer is not valid XML", url=url, offset=0) from err
    kept: list[ObjectInfo] = []
    for blob in root.iterfind("Blobs/Blob"):
        element = blob.find("Name")
        if element is None or element.text is None:
            continue
        name = element.text
        if element.get("Encoded", "").lower() == "true":
            name = unquote(name)
        if not matches_suffix(name, suffixes):
            continue
        size = blob.findtext("Properties/Content-Length") or ""
        etag = blob.findtext("Properties/Etag") or None
        kept.append(ObjectInfo(make_url(name), int(size) if size.isdigit() else None, etag))
    marker = (root.findtext("NextMarker") or "").strip()
    return ListPage(tuple(kept), marker or None)
