"""The range-fetcher pool: admission, time-outs, retries and statistics around stores.

Stores only fetch; this pool decides when. Bookkeeping is synchronous, as in httpcore's
connection pool: a request is admitted when both the global bound (``concurrency``) and its
host's current limit have room, otherwise it waits in its host's FIFO queue; each release
hands slots straight to the oldest waiters that can use them (looking only at each host's
first), so after every release no queued request could have run. Only the store call and
the back-off sleep are awaited. A request that fails with a retryable error (:mod:`.retry`)
gives its slot back while it waits out an exponential back-off with full jitter (or the
server's ``Retry-After``), then queues again; ``retries + 1`` attempts at most. A host's
limit starts at ``connections_per_host`` (64 when that option is left adaptive), grows while
the host answers as fast as with fewer requests in flight (adaptive only), and is halved when
the host throttles (:mod:`.limits`). Range reads and listing pages go through the same loop;
every error that leaves the pool is typed and carries the URL and offset.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

from ..errors import AstroCloudError, FetchTimeoutError
from ..options import Options
from ..stores.base import Lister, ListPage, RangeReader, RangeResult
from ..stores.capabilities import MultiRangeReader, RangesResult, SequentialBody, StreamOpener
from .hosts import host_key
from .limits import HostLimits
from .retry import is_retryable, is_throttling, retry_delay
from .stats import PoolStats

__all__ = ["RangePool"]

_T = TypeVar("_T")


if sys.version_info >= (3, 11):

    async def _within(seconds: float, awaitable: Awaitable[_T]) -> _T:
        async with asyncio.timeout(seconds):
            return await awaitable

else:  # pragma: no cover

    async def _within(seconds: float, awaitable: Awaitable[_T]) -> _T:
        return await asyncio.wait_for(awaitable, seconds)


class _Waiter:
    __slots__ = ("future", "host", "order")

    def __init__(self, host: str, order: int, future: asyncio.Future[None]):
        self.host = host
        self.order = order
        """Arrival number: the oldest head among the hosts with room goes first."""
        self.future = future


class RangePool:
    """Runs range fetches and listing pages through stores with bounded concurrency, retries
    and statistics.

    One pool serves any number of stores; ``stats`` is live and may be read at any time.
    ``rng`` seeds the jitter (tests).
    """

    def __init__(
        self, options: Options, *, stats: PoolStats | None = None, rng: random.Random | None = None
    ):
        self.options = options
        self.stats = stats if stats is not None else PoolStats()
        self._rng = rng or random.Random()
        self._active: dict[str, int] = {}
        self._queues: dict[str, deque[_Waiter]] = {}
        """Waiting requests, one FIFO queue per host (only hosts with waiters are held)."""
        self._arrivals = 0
        self.limits = HostLimits(*options.host_limits)
        """Each host's concurrency limit, grown by answer time and cut by throttling (see
        :mod:`.limits`)."""

    # --- admission (synchronous bookkeeping) ----------------------------------------------

    def _has_room(self, host: str) -> bool:
        if self.stats.in_flight >= self.options.concurrency:
            return False
        return not host or self._active.get(host, 0) < self.limits.limit(host)

    def _assign(self, host: str) -> None:
        self.stats.in_flight += 1
        if host:
            self._active[host] = self._active.get(host, 0) + 1

    def _release(self, host: str) -> None:
        self.stats.in_flight -= 1
        if host:
            left = self._active[host] - 1
            if left:
                self._active[host] = left
            else:
                del self._active[host]
        self._hand_over()

    def _hand_over(self) -> None:
        """Give free slots to the oldest queued requests that can use them (one slot, or more
        when a host's limit has just grown).

        Only each host's first waiter is looked at, so a release costs one step per host with
        waiters, however many requests wait (a scan queues thousands on one host).
        """
        queues = self._queues
        active = self._active
        limits = self.limits
        stats = self.stats
        bound = self.options.concurrency
        while queues and stats.in_flight < bound:
            chosen: _Waiter | None = None
            for host, queue in queues.items():
                head = queue[0]
                if (chosen is None or head.order < chosen.order) and (
                    not host or active.get(host, 0) < limits.limit(host)
                ):
                    chosen = head
            if chosen is None:
                return
            queue = queues[chosen.host]
            queue.popleft()
            if not queue:
                del queues[chosen.host]
            stats.queued -= 1
            if chosen.future.done():  # cancelled while waiting: the slot goes on
                continue
            self._assign(chosen.host)
            chosen.future.set_result(None)

    async def _acquire(self, host: str) -> None:
        if self._has_room(host):
            self._assign(host)
            return
        self._arrivals += 1
        waiter = _Waiter(host, self._arrivals, asyncio.get_running_loop().create_future())
        queue = self._queues.get(host)
        if queue is None:
            queue = self._queues[host] = deque()
        queue.append(waiter)
        self.stats.queued += 1
        try:
            await waiter.future
        except BaseException:
            if waiter.future.done() and not waiter.future.cancelled():
                self._release(host)  # the slot arrived just as we were cancelled
            else:
                self._unqueue(waiter)
            raise

    def _unqueue(self, waiter: _Waiter) -> None:
        """Take a cancelled waiter out of its queue, unless a hand-over already dropped it."""
        queue = self._queues.get(waiter.host)
        if queue is None:
            return
        try:
            queue.remove(waiter)
        except ValueError:
            return
        if not queue:
            del self._queues[waiter.host]
        self.stats.queued -= 1

    # --- requests --------------------------------------------------------------------------

    async def fetch(
        self,
        store: RangeReader,
        url: str,
        start: int,
        end: int,
        *,
        if_match: str | None = None,
    ) -> RangeResult:
        """``store.get_range(url, start, end)`` with admission, time-out and retries."""
        stats = self.stats
        result = await self._attempts(
            url,
            start,
            lambda: store.get_range(url, start, end, if_match=if_match),
            listing=False,
            timed=not getattr(store, "times_itself", False),
        )
        stats.completed += 1
        stats.bytes += len(result.data)
        stats.discarded_bytes += result.discarded
        return result

    async def fetch_ranges(
        self,
        store: MultiRangeReader,
        url: str,
        ranges: Sequence[tuple[int, int]],
        *,
        if_match: str | None = None,
    ) -> RangesResult:
        """``store.get_ranges(url, ranges)``: several ranges in one request, with admission,
        time-out and retries, counted as one request."""
        stats = self.stats
        result = await self._attempts(
            url,
            ranges[0][0],
            lambda: store.get_ranges(url, ranges, if_match=if_match),
            listing=False,
            timed=not getattr(store, "times_itself", False),
        )
        stats.completed += 1
        stats.bytes += result.data_bytes
        stats.discarded_bytes += result.discarded
        return result

    @asynccontextmanager
    async def stream(
        self,
        store: StreamOpener,
        url: str,
        start: int,
        end: int | None = None,
        *,
        if_match: str | None = None,
        retry: int = 0,
        prefetch: int | None = None,
    ) -> AsyncIterator[SequentialBody]:
        """``store.open_stream(url, start, end)`` opened with admission, time-out and retries;
        the body holds its slot until the block ends, then is closed and counted (bytes
        skipped count as discarded). ``retry`` > 0: the body is asked for again because an
        earlier one broke off; it is counted as a retry and waits out the back-off first.
        ``prefetch`` bounds the bytes read while the request is made (default: to ``end``)."""
        if retry:
            await self._back_off(retry)
        body = await self._attempts(
            url,
            start,
            lambda: store.open_stream(url, start, end, if_match=if_match, prefetch=prefetch),
            listing=False,
            hold=True,
            timed=not getattr(store, "times_itself", False),
        )
        stats = self.stats
        ok = False
        try:
            yield body
            ok = True
        finally:
            try:
                await body.aclose()
            finally:
                self._release(host_key(url))
                stats.bytes += body.received - body.skipped
                stats.discarded_bytes += body.skipped
                if ok:
                    stats.completed += 1
                else:
                    stats.failures += 1

    async def list_page(
        self,
        store: Lister,
        url_prefix: str,
        token: str | None = None,
        *,
        suffixes: tuple[str, ...] | None = None,
        limit: int | None = None,
    ) -> ListPage:
        """One page of ``store``'s listing of ``url_prefix``, with admission and retries."""
        return await self._attempts(
            url_prefix,
            0,
            lambda: store.list_page(url_prefix, token, suffixes=suffixes, limit=limit),
            listing=True,
        )

    async def _attempts(
        self,
        url: str,
        offset: int,
        call: Callable[[], Awaitable[_T]],
        *,
        listing: bool,
        hold: bool = False,
        timed: bool = True,
    ) -> _T:
        """Run ``call()`` until it succeeds, fails for good or runs out of retries.

        With ``hold`` the slot of the successful attempt stays taken: the caller releases it
        (a streamed body holds its connection). ``timed=False`` leaves out the time-out of
        each attempt, for stores that bound their own waits (``times_itself``)."""
        host = host_key(url)
        stats = self.stats
        attempt = 0
        while True:
            await self._acquire(host)
            epoch = self.limits.epoch(host)
            if listing:
                stats.list_requests += 1
            else:
                stats.requests += 1
            began = time.perf_counter()
            try:
                result = await (_within(self.options.timeout, call()) if timed else call())
            except Exception as exc:
                error = self._typed(exc, url, offset)
                if host and is_throttling(error):
                    self._throttled(host, epoch)
                self._release(host)
                if isinstance(error, FetchTimeoutError):
                    stats.timeouts += 1
                if attempt >= self.options.retries or not is_retryable(error):
                    stats.failures += 1
                    if error is exc:
                        raise
                    raise error from exc
                attempt += 1
                await self._back_off(attempt, error)
                continue
            except BaseException:
                self._release(host)
                raise
            elapsed = time.perf_counter() - began
            if host and self.limits.succeeded(
                host, None if listing or hold else elapsed, host in self._queues, epoch
            ):
                self._show_limits()
            if not hold:
                self._release(host)
            if not listing:
                stats.latency.record(elapsed)
            return result

    # --- throttling ------------------------------------------------------------------------

    def _throttled(self, host: str, epoch: int) -> None:
        self.stats.throttled += 1
        if self.limits.throttled(host, epoch):
            self._show_limits()

    def _show_limits(self) -> None:
        limits, stats = self.limits, self.stats
        stats.host_limits = limits.lowered
        stats.limit_cuts = limits.cuts
        stats.lowest_limit = limits.lowest
        stats.highest_limit = limits.highest

    async def _back_off(self, attempt: int, error: BaseException | None = None) -> None:
        """Count retry number ``attempt`` and wait out its back-off (or the ``Retry-After`` of
        ``error``), holding no slot."""
        stats = self.stats
        stats.retries += 1
        stats.retrying += 1
        try:
            await asyncio.sleep(retry_delay(attempt, error, self.options, self._rng))
        finally:
            stats.retrying -= 1

    def _typed(self, exc: Exception, url: str, start: int) -> Exception:
        if isinstance(exc, AstroCloudError):
            return exc
        if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
            return FetchTimeoutError(
                f"no complete answer within {self.options.timeout:g} s", url=url, offset=start
            )
        return exc

    def __repr__(self) -> str:
        s = self.stats
        per_host = self.limits.bound if s.limit is None else s.limit
        return (
            f"<RangePool active={s.in_flight} queued={s.queued} retrying={s.retrying} "
            f"limit={self.options.concurrency}/{per_host} per host "
            f"requests={s.requests} failures={s.failures}>"
        )
