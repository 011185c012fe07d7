"""The public async API: :class:`Client` for several scans, :func:`scan` for one.

A :class:`Client` owns what holds sockets (the stores and their sessions, through one
``AsyncExitStack``, as aiobotocore clients are held) and one :class:`RangePool`, and shares them
between all its scans, so concurrency bounds and statistics cover everything it does. An
``aiohttp.ClientSession`` given by the caller is used for HTTP(S) and never closed here.

:func:`scan` is the one-shot form: it opens a client for the duration of the scan. Its options
are checked when it is called, not on the first ``__anext__``. Scans are async generators;
leaving ``async for`` early and calling ``aclose()`` (or using ``contextlib.aclosing``), or
closing the client, cancels the walks in flight.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AsyncExitStack, suppress
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .errors import AstroCloudError, ConfigurationError
from .options import Options
from .pool.range_pool import RangePool
from .pool.stats import PoolStats
from .records import HDURecord, ObjectFailed, ScanResult
from .scanner.engine import ScanCounts, run_scan
from .scanner.sources import Sources, expand, source_str
from .scanner.walk import walk_object
from .stores.base import RangeResult, SourceKind, Store
from .stores.registry import Stores

if TYPE_CHECKING:
    import aiohttp

__all__ = ["Client", "scan"]


class Client:
    """Shared stores, connection pools and statistics for any number of scans.

    ::

        async with Client(anon=True, concurrency=128) as client:
            async for record in client.scan(["s3://bucket/prefix/"]):
                ...
            records = await client.read_headers("https://host/file.fits")
            print(client.stats)

    Options are the names of :class:`~astro_cloud_async.options.Options`, given as keyword
    arguments, as an ``Options`` (positional), or both (keywords win).
    """

    def __init__(
        self,
        options: Options | None = None,
        /,
        *,
        http_session: aiohttp.ClientSession | None = None,
        **option_kwargs: Any,
    ) -> None:
        self.options = Options.from_kwargs(options, **option_kwargs)
        self._http_session = http_session
        self._pool = RangePool(self.options)
        self._counts = ScanCounts()
        self._stack: AsyncExitStack | None = None
        self._stores: Stores | None = None
        self._scans: weakref.WeakSet[AsyncGenerator[ScanResult, None]] = weakref.WeakSet()
        self._closed = False

    # --- lifetime --------------------------------------------------------------------------

    async def __aenter__(self) -> Client:
        if self._stack is not None or self._closed:
            raise RuntimeError("a Client can be entered only once")
        async with AsyncExitStack() as stack:
            self._stores = await stack.enter_async_context(
                Stores(self.options, http_session=self._http_session)
            )
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop every scan still open, then close the stores and their sessions."""
        self._closed = True
        scans = list(self._scans)
        self._scans.clear()
        try:
            for running in scans:
                with suppress(RuntimeError):  # being iterated by another task
                    await running.aclose()
        finally:
            stack, self._stack, self._stores = self._stack, None, None
            if stack is not None:
                await stack.aclose()

    def _open_stores(self) -> Stores:
        if self._stores is None:
            state = "closed" if self._closed else "not entered"
            raise RuntimeError(f"Client is {state}: use 'async with Client(...) as client:'")
        return self._stores

    # --- work ------------------------------------------------------------------------------

    def scan(
        self, sources: Sources, *, raise_errors: bool = False, expand: bool = True
    ) -> AsyncGenerator[ScanResult, None]:
        """Records of every object of ``sources``, as objects complete.

        Each object gives all its :class:`HDURecord` together, or one :class:`ObjectFailed`
        (with ``raise_errors=True``, the first failure's error is raised instead).
        ``expand=False`` takes every source as an object URL and lists nothing (for URLs
        that came from a listing or a catalog: an ``s3://`` key otherwise costs a LIST to tell
        an object from a prefix).
        """
        stores = self._open_stores()
        running = run_scan(
            stores,
            self._pool,
            sources,
            self.options,
            raise_errors=raise_errors,
            expand=expand,
            counts=self._counts,
        )
        self._scans.add(running)
        return running

    def expand(self, source: str | os.PathLike[str]) -> AsyncIterator[str]:
        """The object URLs a source names (prefixes and folders listed through the pool,
        filtered by the ``suffixes`` option), streamed."""
        name = source_str(source)
        return expand(self._pool, self._store(name), name, self.options.suffixes)

    def _store(self, url: str) -> Store:
        try:
            return self._open_stores().for_url(url)
        except AstroCloudError as err:
            raise err.with_url(url) from None

    async def read_headers(self, url: str | os.PathLike[str]) -> list[HDURecord]:
        """All the HDU records of one object; raises its typed error if it cannot be walked."""
        name = source_str(url)
        store = self._store(name)
        if store.source_kind(name) is SourceKind.PREFIX:
            raise ConfigurationError(
                "a folder or prefix, not an object: scan() reads the objects under it", url=name
            )
        self._counts.in_flight += 1
        try:
            outcome = await walk_object(self._pool, store, name, self.options)
        finally:
            self._counts.in_flight -= 1
        if isinstance(outcome, ObjectFailed):
            raise outcome.error
        return list(outcome)

    async def fetch_range(
        self, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult:
        """Bytes ``[start, end)`` of the object at ``url``, through the shared pool (bounded,
        retried, counted in :attr:`stats`); ``if_match`` pins the object's version."""
        return await self._pool.fetch(self._store(url), url, start, end, if_match=if_match)

    # --- state -----------------------------------------------------------------------------

    @property
    def stores(self) -> Stores:
        """The open stores this client reads through (RuntimeError outside ``async with``)."""
        return self._open_stores()

    @property
    def stats(self) -> PoolStats:
        """Live request statistics of everything this client has fetched."""
        return self._pool.stats

    @property
    def counts(self) -> ScanCounts:
        """Live object counts over this client's scans."""
        return self._counts

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("open" if self._stores is not None else "new")
        c, s = self._counts, self._pool.stats
        return (
            f"<Client {state} objects: in_flight={c.in_flight} ready={c.ready} done={c.done} "
            f"failed={c.failed}; requests: in_flight={s.in_flight} queued={s.queued} "
            f"retrying={s.retrying} total={s.requests}>"
        )


def scan(
    sources: Sources,
    *,
    options: Options | None = None,
    raise_errors: bool = False,
    expand: bool = True,
    http_session: aiohttp.ClientSession | None = None,
    **option_kwargs: Any,
) -> AsyncGenerator[ScanResult, None]:
    """Scan ``sources`` with a client of its own, closed when the scan ends.

    ``sources``: an object URL (``s3://``, ``http(s)://``, ``file://``), a local path, a
    location to expand (``s3://`` prefix, local folder), or any iterable or async iterable of
    these, pulled lazily. Yields :class:`HDURecord` and :class:`ObjectFailed` as objects
    complete. Unknown option names raise :class:`ConfigurationError` here, at the call.
    """
    client = Client(options, http_session=http_session, **option_kwargs)
    return _scan_with(client, sources, raise_errors, expand)


async def _scan_with(
    client: Client, sources: Sources, raise_errors: bool, expand: bool
) -> AsyncGenerator[ScanResult, None]:
    async with client:
        running = client.scan(sources, raise_errors=raise_errors, expand=expand)
        try:
            async for result in running:
                yield result
        finally:
            await running.aclose()
