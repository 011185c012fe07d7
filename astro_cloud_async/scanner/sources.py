"""What a scan reads: the caller's sources, pulled one at a time and expanded to object URLs.

A source is an object URL (``s3://``, ``http(s)://``, ``file://``), a local path, or a
location to expand (an ``s3://`` prefix, a local folder). ``sources`` may be one of those, or
any iterable or async iterable of them; it is pulled lazily, one item at a time and only when
the scan has room for another object, so a listing of a million keys never sits in memory.

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
from ..stores.base import RangeReader

__all__ = ["Resolver", "Source", "Sources", "iter_sources", "object_urls", "source_str"]

Source = str | os.PathLike[str]
Sources = Source | Iterable[Source] | AsyncIterable[Source]
"""One source, or an iterable or async iterable of them."""

T = TypeVar("T")


class Resolver(Protocol):
    """What a scan needs from the stores: a store per URL, and the expansion of sources."""

    def for_url(self, url: str) -> RangeReader: ...

    def expand(self, source: str) -> AsyncIterator[str]: ...


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


async def object_urls(
    resolver: Resolver, sources: Sources, *, expand: bool = True
) -> AsyncGenerator[str | ObjectFailed, None]:
    """Yield the object URL of every source, expanded; a source that fails is yielded as an
    :class:`ObjectFailed` in its place (after the URLs it gave before failing).

    With ``expand=False`` every source is taken as an object URL, as is (no listing at all).
    """
    async with _closing(iter_sources(sources)) as iterator:
        async for source in iterator:
            if not expand:
                yield source
                continue
            try:
                async with _closing(resolver.expand(source)) as urls:
                    async for url in urls:
                        yield url
            except AstroCloudError as err:
                yield ObjectFailed(source, err.with_url(source))
