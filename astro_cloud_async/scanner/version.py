"""The version of one object during its walk, held against every answer.

The first answer that says it fixes the object's ETag, size and (where there is no ETag)
``Last-Modified``; the ETag is then sent as ``If-Match`` on every later request, and each
answer is compared too (some servers ignore ``If-Match``), so the records of one object never
mix two versions. Whatever way the bytes came (one range, several in one request, a streamed
body), they are checked here by the same rules.
"""

from __future__ import annotations

from ..errors import ObjectChangedError
from ..stores.answers import etags_match

__all__ = ["ObjectVersion"]


class ObjectVersion:
    """What the answers so far said about the object's version."""

    __slots__ = ("etag", "modified", "size", "url")

    def __init__(self, url: str) -> None:
        self.url = url
        self.etag: str | None = None
        self.size: int | None = None
        self.modified: str | None = None

    def check(self, offset: int, etag: str | None, size: int | None, modified: str | None) -> None:
        """Take an answer's facts: remember the first ones, raise
        :class:`ObjectChangedError` when they contradict what earlier answers said.

        ETags decide where there are some; without, a changed ``Last-Modified`` does; a
        changed size always does."""
        known = self.etag
        if known is not None:
            if etag is not None and etag != known and not etags_match(known, etag):
                raise ObjectChangedError(
                    f"ETag changed from {known} to {etag} during the walk",
                    url=self.url,
                    offset=offset,
                )
        elif etag is not None:
            self.etag = etag
        elif modified is not None:
            if self.modified is None:
                self.modified = modified
            elif modified != self.modified:
                raise ObjectChangedError(
                    f"Last-Modified changed from {self.modified} to {modified} during the walk",
                    url=self.url,
                    offset=offset,
                )
        if size is not None:
            if self.size is None:
                self.size = size
            elif size != self.size:
                raise ObjectChangedError(
                    f"size changed from {self.size} to {size} bytes during the walk",
                    url=self.url,
                    offset=offset,
                )
