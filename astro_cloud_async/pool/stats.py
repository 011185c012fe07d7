"""Counters and latency percentiles of a :class:`~astro_cloud_async.pool.RangePool`.

The pool updates a :class:`PoolStats` synchronously as requests start and end, so it can be
read at any moment without locks. Latencies go into a fixed-size log-bucketed histogram
(16 buckets per doubling from 10 µs, about 4 % resolution) rather than a list, so memory stays
constant over billions of requests; percentiles are read from the cumulative counts.

Throttling is shown here too: ``throttled`` counts the answers that asked us to slow down, and
``host_limits`` holds the hosts whose concurrency the pool has lowered (see
:mod:`.limits`), so a display can show the limit in force while it is below the bound;
``highest_limit`` is the most requests in flight any host was allowed by answer time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["LatencyHistogram", "PoolStats", "StatsSnapshot"]

_MIN_SECONDS = 1e-5
_PER_DOUBLING = 16
_BUCKETS = 28 * _PER_DOUBLING  # 10 µs .. about 45 minutes


class LatencyHistogram:
    """Log-bucketed histogram of durations in seconds, of constant size."""

    __slots__ = ("_counts", "count", "max", "total")

    def __init__(self) -> None:
        self._counts = [0] * _BUCKETS
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def record(self, seconds: float) -> None:
        if seconds <= _MIN_SECONDS:
            index = 0
        else:
            index = min(int(math.log2(seconds / _MIN_SECONDS) * _PER_DOUBLING), _BUCKETS - 1)
        self._counts[index] += 1
        self.count += 1
        self.total += seconds
        if seconds > self.max:
            self.max = seconds

    def percentile(self, q: float) -> float | None:
        """The ``q``-quantile (0 < q <= 1) to bucket resolution; ``None`` when empty."""
        if self.count == 0:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for index, n in enumerate(self._counts):
            seen += n
            if seen >= rank:
                middle = _MIN_SECONDS * 2 ** ((index + 0.5) / _PER_DOUBLING)
                return min(middle, self.max)
        return self.max  # pragma: no cover  (counts always sum to count)

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def copy(self) -> LatencyHistogram:
        other = LatencyHistogram()
        other._counts = list(self._counts)
        other.count, other.total, other.max = self.count, self.total, self.max
        return other

    def __repr__(self) -> str:
        return f"<LatencyHistogram n={self.count}>"


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    """A frozen copy of :class:`PoolStats` at one moment; latencies in seconds."""

    requests: int
    completed: int
    bytes: int
    discarded_bytes: int
    retries: int
    failures: int
    timeouts: int
    in_flight: int
    queued: int
    retrying: int
    list_requests: int
    throttled: int
    limit: int | None
    lowest_limit: int | None
    limit_cuts: int
    highest_limit: int | None
    p50: float | None
    p90: float | None
    p99: float | None
    mean_latency: float | None
    max_latency: float | None


@dataclass(slots=True, eq=False)
class PoolStats:
    """Live counters of a pool.

    ``requests`` counts attempts sent (retries included); ``completed`` and ``failures``
    count fetches that ended with bytes or with an error after their retries; ``bytes`` are
    the bytes returned and ``discarded_bytes`` the body bytes read and dropped (data skipped
    where a server ignored Range, the framing of multi-range answers), so that the two add up
    to what servers sent. ``list_requests`` counts listing pages asked for (retries included),
    which the other counters leave out. ``in_flight``, ``queued`` and ``retrying`` (waiting out a
    back-off) are gauges over both kinds.

    ``throttled`` counts throttling answers (429, 503), ``limit_cuts`` the times a host's
    concurrency was halved for them; ``host_limits`` maps each host whose limit is lowered
    right now to that limit (empty once every host is back at ``connections_per_host``),
    ``limit`` is the lowest of them and ``lowest_limit`` the lowest over the pool's life
    (``None`` when never lowered). ``highest_limit`` is the highest any host's limit grew to
    while its answers stayed as fast as with fewer in flight (``None`` when none grew).
    """

    requests: int = 0
    completed: int = 0
    bytes: int = 0
    discarded_bytes: int = 0
    retries: int = 0
    failures: int = 0
    timeouts: int = 0
    in_flight: int = 0
    queued: int = 0
    retrying: int = 0
    list_requests: int = 0
    throttled: int = 0
    limit_cuts: int = 0
    lowest_limit: int | None = None
    highest_limit: int | None = None
    host_limits: dict[str, int] = field(default_factory=dict)
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    @property
    def limit(self) -> int | None:
        """The lowest per-host limit in force, while some host's is lowered."""
        return min(self.host_limits.values()) if self.host_limits else None

    @property
    def p50(self) -> float | None:
        return self.latency.percentile(0.50)

    @property
    def p90(self) -> float | None:
        return self.latency.percentile(0.90)

    @property
    def p99(self) -> float | None:
        return self.latency.percentile(0.99)

    def snapshot(self) -> StatsSnapshot:
        return StatsSnapshot(
            requests=self.requests,
            completed=self.completed,
            bytes=self.bytes,
            discarded_bytes=self.discarded_bytes,
            retries=self.retries,
            failures=self.failures,
            timeouts=self.timeouts,
            in_flight=self.in_flight,
            queued=self.queued,
            retrying=self.retrying,
            list_requests=self.list_requests,
            throttled=self.throttled,
            limit=self.limit,
            lowest_limit=self.lowest_limit,
            limit_cuts=self.limit_cuts,
            highest_limit=self.highest_limit,
            p50=self.p50,
            p90=self.p90,
            p99=self.p99,
            mean_latency=self.latency.mean,
            max_latency=self.latency.max if self.latency.count else None,
        )

    def __repr__(self) -> str:
        def ms(x: float | None) -> str:
            return "-" if x is None else f"{x * 1e3:.1f}ms"

        throttling = ""
        if self.throttled:
            limit = "" if self.limit is None else f" limit={self.limit}"
            throttling = f" throttled={self.throttled}{limit}"

        return (
            f"<PoolStats requests={self.requests} completed={self.completed} "
            f"bytes={self.bytes} retries={self.retries} failures={self.failures} "
            f"in_flight={self.in_flight} queued={self.queued} retrying={self.retrying} "
            f"p50={ms(self.p50)} p90={ms(self.p90)} p99={ms(self.p99)}{throttling}>"
        )
