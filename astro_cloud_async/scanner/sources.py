"""What a scan reads: the caller's sources, pulled one at a time and expanded to object URLs.

A source is an object URL (``s3://``, ``http(s)://``, ``file://``), a local path, or a
location to expand (an ``s3://`` prefix, a local folder). ``sources`` may be one of those, or
any iterable or async iterable of them; it is pulled lazily, one item at a time and only when
the scan has room for another object, so a listing of a million keys never sits in memory.

Each store says what a source names (:meth:`~astro_cloud_async.stores.base.Lister.source_kind`);
a prefix is listed page by page through the pool, so listing requests are bounded, retried and
counted like every other request.

A source that cannot be expanded (unknown scheme, listing denied) becomes one
:class:`ObjectFailed` for that source instead of ending the scan. An async generator given as
``sources`` is closed when the scan ends, so an early stop leaves nothing running.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Protocol, TypeVar

from ..errors import AstroCloudError
from ..records import ObjectFailed
from ..stores.base import Lister, ListPage, SourceKind, Store

__all__ = [
    "PagePool",
    "Resolver",
    "Source",
    "Sources",
    "expand",
    "iter_sources",
    "list_objects",
    "object_urls",
    "source_str",
]

Source = str | os.PathLike[str]
Sources = Source | Iterable[Source] | AsyncIterable[Source]
"""One source, or an iterable or async iterable of them."""

T = TypeVar("T")


class Resolver(Protocol):
    """What a scan needs from the stores: the store that reads a URL."""

    def for_url(self, url: str) -> Store: ...


class PagePool(Protocol):
    """What listing needs from the pool: one bounded, retried, counted listing page."""

    async def list_page(
        self,
        store: Lister,
        url_prefix: str,
        token: str | None = None,
        *,
        suffixes: tuple[str, ...] | None = None,
        limit: int | None = None,
    ) -> ListPage: ...


def source_str(source: object) -> str:
    """A source as a string: paths through ``os.fspath``; anything else is a caller's bug."""
    if isinstance(source, str):
        return source
    if isinstance(source, os.PathLike):
        path = os.fspath(source)
        if isinstance(path, str):
            return path
    raise TypeError(f"a source must be a str or a path, not {type(source).__name__}")


@asynccontextmanager
async def _closing(iterator: AsyncIterator[T]) -> AsyncGenerator[AsyncIterator[T], None]:
    """Close ``iterator`` on exit when it can be closed (async generators can)."""
    try:
        yield iterator
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


async def iter_sources(sources: Sources) -> AsyncGenerator[str, None]:
    """Yield each source as a string, pulling ``sources`` one item at a time."""
    if isinstance(sources, (str, os.PathLike)):
        yield source_str(sources)
        return
    if isinstance(sources, AsyncIterable):
        async with _closing(aiter(sources)) as iterator:
            async for source in iterator:
                yield source_str(source)
        return
    for source in sources:
        yield source_str(source)


async def list_objects(
    pool: PagePool, store: Lister, url_prefix: str, suffixes: tuple[str, ...] | None = None
) -> AsyncGenerator[str, None]:
    """The URLs of the objects under ``url_prefix``, page by page, as the listing streams."""
    token: str | None = None
    while True:
        page = await pool.list_page(store, url_prefix, token, suffixes=suffixes)
        for info in page.objects:
            yield info.url
        token = page.token
        if token is None:
            return


async def _first(pool: PagePool, store: Lister, url_prefix: str) -> str | None:
    page = await pool.list_page(store, url_prefix, limit=1)
    return page.objects[0].url if page.objects else None


async def expand(
    pool: PagePool, store: Lister, source: str, suffixes: tuple[str, ...] | None = None
) -> AsyncGenerator[str, None]:
    """The object URLs ``source`` names, streamed.

    An object passes through with no request. A prefix (or folder) is listed, filtered by
    ``suffixes``. A source the store cannot tell (an S3 key without a dot) costs one short
    listing: the object itself if it exists, else the prefix ``source + "/"``. A source naming
    nothing passes through, so that reading it reports the missing object.
    """
    kind = store.source_kind(source)
    if kind is SourceKind.OBJECT:
        yield source
        return
    if kind is SourceKind.UNKNOWN:
        first = await _first(pool, store, source)
        if first == source:
            yield source
            return
        if first is not None and not first.startswith(source + "/"):
            first = await _first(pool, store, source + "/")
        if first is None:
            yield source
            return
        source += "/"
    async with _closing(list_objects(pool, store, source, suffixes)) as urls:
        async for url in urls:
            yield url


async def object_urls(
    resolver: Resolver,
    pool: PagePool,
    sources: Sources,
    *,
    suffixes: tuple[str, ...] | None = None,
    expand_sources: bool = True,
) -> AsyncGenerator[str | ObjectFailed, None]:
    """Yield the object URL of every source, expanded; a source that fails is yielded as an
    :class:`ObjectFailed` in its place (after the URLs it gave before failing).

    With ``expand_sources=False`` every source is taken as an object URL, as is (no listing).
    """
    async with _closing(iter_sources(sources)) as iterator:
        async for source in iterator:
            if not expand_sources:
                yield source
                continue
            try:
                store = resolver.for_url(source)
                async with _closing(expand(pool, store, source, suffixes)) as urls:
                    async for url in urls:
                        yield url
            except AstroCloudError as err:
                yield ObjectFailed(source, err.with_url(source))
