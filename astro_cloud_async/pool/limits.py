"""Per-host concurrency: grown while a host answers as fast as ever, cut when it throttles.

Every host starts at ``start`` requests in flight (``connections_per_host``, 64 by default).

*Growth* (only when ``ceiling`` is above ``start``: ``connections_per_host`` left to its
default): the answer times of a host's successful range reads are gathered in windows of
``limit`` samples (one round of its connections), counting only requests admitted since the
limit last changed (each request takes the host's *epoch* when it is admitted, and every change
moves the epoch on), so a window measures the limit in force. A window's median is compared
with the lowest window median the host has had (its unloaded answer time). While the two stay
within ``GROW_WITHIN`` and requests were waiting for the host, the limit grows, up to
``ceiling``: it doubles (TCP's slow start) until a window's median first rises past
``GROW_WITHIN``, and grows by a quarter after that; when the median has risen past
``SHRINK_PAST`` (the server, or the client, is queueing), it falls by a quarter, never below
``start``. This is TCP Vegas's delay-based rule applied to requests in flight, as adaptive
concurrency limiters do (Netflix's concurrency-limits, Envoy's adaptive concurrency filter):
more requests in flight only help while they do not wait.

*Throttling* (TCP's congestion avoidance): a throttling answer (429, 503 SlowDown) halves the
host's limit, down to an eighth of ``start`` (three halvings, at least 1: a few stalled
requests must not hold a whole host's scan), once per window: each request takes the host's
epoch when it is admitted, and the throttling answers of requests admitted before the last
change (the same burst, already paid for) cut nothing more. Below ``start`` each success adds
``1 / limit``, so the limit grows by one per full window of successes, back to ``start``. A
host that has throttled never grows by answer time again: the server has said what it takes. A
limit below the number of requests in flight admits no new request until enough of them end.

The bookkeeping is synchronous and uses no clock (answer times are given), so tests drive it
with plain calls; the pool (:mod:`.range_pool`) asks it for a host's limit at admission and
tells it what each attempt ended with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["GROW_WITHIN", "MIN_WINDOW", "SHRINK_PAST", "HostLimits"]

GROW_WITHIN = 1.25
"""Grow while a window's median answer time is at most this times the host's lowest."""
SHRINK_PAST = 1.6
"""Shrink when a window's median answer time is above this times the host's lowest."""
MIN_WINDOW = 16
"""The fewest answer times a window holds (a low limit still gets a steady median)."""


@dataclass(slots=True)
class _Host:
    """A host whose limit is not simply ``start``, or whose answer times are being watched."""

    limit: int
    credit: int = 0
    """Successes since the limit last grew (below ``start``)."""
    throttled: bool = False
    """The host has throttled: its limit no longer grows by answer time."""
    window: list[float] = field(default_factory=list)
    pressed: bool = False
    """Some request of this window waited for the host's limit."""
    unloaded: float | None = None
    """The lowest window median so far, in seconds."""
    slow_start: bool = True
    """No window's median has risen past ``GROW_WITHIN`` yet: growth doubles."""


class HostLimits:
    """The current concurrency limit of each host, between ``floor`` and ``ceiling``.

    With ``ceiling`` equal to ``start`` (a fixed ``connections_per_host``) only hosts whose
    limit is lowered are held, so a host at the bound costs nothing.
    """

    __slots__ = (
        "_epochs",
        "_hosts",
        "bound",
        "ceiling",
        "cuts",
        "floor",
        "grown",
        "highest",
        "lowest",
    )

    def __init__(self, start: int, ceiling: int | None = None):
        self.bound = start
        """Where every host starts, and where a throttled host grows back to."""
        self.ceiling = max(start, ceiling or start)
        self.floor = max(start // 8, 1)
        self._hosts: dict[str, _Host] = {}
        self._epochs: dict[str, int] = {}
        """Cuts per host so far (absent: none), the epoch its requests are admitted with."""
        self.cuts = 0
        """Times a limit was halved."""
        self.lowest: int | None = None
        """The lowest limit any host had (``None``: never throttled)."""
        self.grown = 0
        """Times a limit grew by answer time."""
        self.highest: int | None = None
        """The highest limit any host grew to (``None``: none grew above ``start``)."""

    @property
    def adaptive(self) -> bool:
        """Whether limits grow by answer time."""
        return self.ceiling > self.bound

    def limit(self, host: str) -> int:
        state = self._hosts.get(host)
        return self.bound if state is None else state.limit

    def epoch(self, host: str) -> int:
        """The host's epoch, to be given back with the attempt's outcome."""
        return self._epochs.get(host, 0) if self._epochs else 0

    @property
    def lowered(self) -> dict[str, int]:
        """Hosts whose limit is below ``start``, and their limit."""
        return {host: s.limit for host, s in self._hosts.items() if s.limit < self.bound}

    @property
    def raised(self) -> dict[str, int]:
        """Hosts whose limit grew above ``start``, and their limit."""
        return {host: s.limit for host, s in self._hosts.items() if s.limit > self.bound}

    def throttled(self, host: str, epoch: int) -> bool:
        """A request admitted at ``epoch`` was throttled: halve the limit (not below
        ``floor``) unless a request of the same window already did. Returns whether it was
        cut."""
        if epoch != self.epoch(host):
            return False
        limit = max(self.limit(host) // 2, self.floor)
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _Host(limit)
        state.limit = limit
        state.credit = 0
        state.throttled = True
        state.window.clear()
        self._epochs[host] = epoch + 1
        self.cuts += 1
        if self.lowest is None or limit < self.lowest:
            self.lowest = limit
        return True

    def succeeded(
        self,
        host: str,
        seconds: float | None = None,
        pressed: bool = False,
        epoch: int | None = None,
    ) -> bool:
        """A request admitted at ``epoch`` succeeded after ``seconds`` (``None``: an answer
        whose time says nothing of the host's load, such as a listing page or a held stream);
        ``pressed``: other requests were waiting for this host's limit. Returns whether the
        limit changed."""
        state = self._hosts.get(host)
        if state is None:
            if seconds is None or self.ceiling == self.bound:
                return False
            state = self._hosts[host] = _Host(self.bound)
        if state.limit < self.bound:
            state.credit += 1
            if state.credit < state.limit:
                return False
            state.credit = 0
            state.limit += 1
            if state.limit >= self.bound and self.ceiling == self.bound:
                del self._hosts[host]
            return True
        if seconds is None or state.throttled:
            return False
        if epoch is not None and epoch != self.epoch(host):
            return False  # admitted under an earlier limit
        window = state.window
        window.append(seconds)
        if pressed:
            state.pressed = True
        if len(window) < max(state.limit, MIN_WINDOW):
            return False
        if not self._judge(state):
            return False
        self._epochs[host] = self.epoch(host) + 1
        return True

    def _judge(self, state: _Host) -> bool:
        """Close a full window: grow, shrink or keep the limit by its median answer time."""
        window = state.window
        window.sort()
        median = window[len(window) // 2]
        window.clear()
        pressed, state.pressed = state.pressed, False
        if state.unloaded is None or median < state.unloaded:
            state.unloaded = median
        unloaded = state.unloaded
        limit = state.limit
        if median <= unloaded * GROW_WITHIN:
            if not pressed or limit >= self.ceiling:
                return False
            step = limit if state.slow_start else max(1, limit // 4)
            limit = min(self.ceiling, limit + step)
            self.grown += 1
            if self.highest is None or limit > self.highest:
                self.highest = limit
        else:
            state.slow_start = False
            if median <= unloaded * SHRINK_PAST or limit <= self.bound:
                return False
            limit = max(self.bound, limit - max(1, limit // 4))
        state.limit = limit
        return True

    def __repr__(self) -> str:
        shown = ", ".join(f"{h}={s.limit}" for h, s in self._hosts.items() if s.limit != self.bound)
        return (
            f"<HostLimits start={self.bound} ceiling={self.ceiling} {{{shown}}} cuts={self.cuts}>"
        )
