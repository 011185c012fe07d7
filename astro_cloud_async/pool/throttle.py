"""Per-host concurrency that gives way to throttling: halve it on a slow-down, grow it back slowly.

Strategy (TCP's congestion avoidance, applied to requests in flight instead of packets): every
host starts at ``connections_per_host``. A throttling answer (429, 503 SlowDown) halves that
host's limit, down to an eighth of the bound (three halvings, at least 1: a few stalled
requests must not hold a whole host's scan), once per window: each request takes the host's
*epoch* when it is admitted, a cut moves the epoch on, and the throttling answers of requests
admitted before the cut (the same burst, already paid for) cut nothing more. Each success adds
``1 / limit``, so the limit grows by one per full window of successes, back to the configured
bound. A limit below the number of requests in flight admits no new request until enough of
them end.

The bookkeeping is synchronous and uses no clock, so tests drive it with plain calls; the pool
(:mod:`.range_pool`) asks it for a host's limit at admission and tells it what each attempt
ended with.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HostLimits"]


@dataclass(slots=True)
class _Lowered:
    """A host whose limit is below the bound."""

    limit: int
    credit: int = 0
    """Successes since the limit last grew."""


class HostLimits:
    """The current concurrency limit of each host, between 1 and ``bound``.

    Only hosts whose limit is lowered are held (a host at the bound costs nothing), so
    ``lowered`` is also what a display shows.
    """

    __slots__ = ("_epochs", "_hosts", "bound", "cuts", "floor", "lowest")

    def __init__(self, bound: int):
        self.bound = bound
        self.floor = max(bound // 8, 1)
        self._hosts: dict[str, _Lowered] = {}
        self._epochs: dict[str, int] = {}
        """Cuts per host so far (absent: none), the epoch its requests are admitted with."""
        self.cuts = 0
        """Times a limit was halved."""
        self.lowest: int | None = None
        """The lowest limit any host had (``None``: never throttled)."""

    def limit(self, host: str) -> int:
        lowered = self._hosts.get(host)
        return self.bound if lowered is None else lowered.limit

    def epoch(self, host: str) -> int:
        """The host's epoch, to be given back with the attempt's outcome."""
        return self._epochs.get(host, 0) if self._epochs else 0

    @property
    def lowered(self) -> dict[str, int]:
        """Hosts whose limit is below the bound, and their limit."""
        return {host: state.limit for host, state in self._hosts.items()}

    def throttled(self, host: str, epoch: int) -> bool:
        """A request admitted at ``epoch`` was throttled: halve the limit (not below 1) unless
        a request of the same window already did. Returns whether it was cut."""
        if epoch != self.epoch(host):
            return False
        current = self.limit(host)
        limit = max(current // 2, self.floor)
        self._hosts[host] = _Lowered(limit)
        self._epochs[host] = epoch + 1
        self.cuts += 1
        if self.lowest is None or limit < self.lowest:
            self.lowest = limit
        return True

    def succeeded(self, host: str) -> bool:
        """A request succeeded: grow a lowered limit by one per window of successes. Returns
        whether the limit grew."""
        lowered = self._hosts.get(host)
        if lowered is None:
            return False
        lowered.credit += 1
        if lowered.credit < lowered.limit:
            return False
        lowered.credit = 0
        lowered.limit += 1
        if lowered.limit >= self.bound:
            del self._hosts[host]
        return True

    def __repr__(self) -> str:
        shown = ", ".join(f"{h}={n}" for h, n in self.lowered.items())
        return f"<HostLimits bound={self.bound} lowered={{{shown}}} cuts={self.cuts}>"
