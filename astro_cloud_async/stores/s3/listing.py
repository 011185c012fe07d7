"""ListObjectsV2: the query of one page, and the page read from its XML answer.

One page is one request, sent by :meth:`S3Store.list_page` like any GET (signed here, retried
and counted by the pool), so a listing of ten million keys is ten thousand ordinary requests
that stream, never a loop of its own. Keys are asked URL-encoded (``encoding-type=url``, as the
AWS SDKs do), so keys holding characters XML cannot carry still come back exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote_plus
from xml.etree import ElementTree

from ...errors import ResponseError
from ..base import ListPage, ObjectInfo, matches_suffix

__all__ = ["MAX_KEYS", "list_query", "parse_list_page"]

MAX_KEYS = 1000
"""The most keys S3 returns in one page."""


def list_query(prefix: str, token: str | None, limit: int | None) -> dict[str, str]:
    """The query parameters of one ListObjectsV2 page."""
    query = {"list-type": "2", "prefix": prefix, "encoding-type": "url"}
    if limit is not None:
        query["max-keys"] = str(min(max(limit, 1), MAX_KEYS))
    if token:
        query["continuation-token"] = token
    return query


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def parse_list_page(
    body: bytes,
    url: str,
    make_url: Callable[[str], str],
    suffixes: tuple[str, ...] | None = None,
) -> ListPage:
    """The objects of one ListObjectsV2 answer (filtered by ``suffixes``) and its next token."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as err:
        raise ResponseError("the listing answer is not valid XML", url=url, offset=0) from err
    encoded = False
    truncated = False
    token: str | None = None
    objects: list[ObjectInfo] = []
    for child in root:
        name = _local(child.tag)
        if name == "Contents":
            fields = {_local(field.tag): (field.text or "") for field in child}
            key = fields.get("Key", "")
            size = fields.get("Size", "")
            objects.append(
                ObjectInfo(key, int(size) if size.isdigit() else None, fields.get("ETag") or None)
            )
        elif name == "EncodingType":
            encoded = (child.text or "").strip().lower() == "url"
        elif name == "IsTruncated":
            truncated = (child.text or "").strip().lower() == "true"
        elif name == "NextContinuationToken":
            token = child.text or None
    kept = []
    for info in objects:
        key = unquote_plus(info.url) if encoded else info.url
        if matches_suffix(key, suffixes):
            kept.append(ObjectInfo(make_url(key), info.size, info.etag))
    return ListPage(tuple(kept), token if truncated else None)
