"""Per-host limits under throttling, and how long a retry waits after a throttling answer."""

from __future__ import annotations

import random

import pytest

from astro_cloud_async.errors import ResponseError, ServerError, ThrottledError
from astro_cloud_async.options import Options
from astro_cloud_async.pool.retry import is_throttling, retry_delay
from astro_cloud_async.pool.throttle import HostLimits


def test_a_burst_halves_the_limit_once() -> None:
    limits = HostLimits(16)
    assert limits.limit("a") == 16 and limits.lowest is None
    epoch = limits.epoch("a")
    # Eight requests admitted together are throttled together: one cut.
    assert [limits.throttled("a", epoch) for _ in range(8)] == [True] + [False] * 7
    assert limits.limit("a") == 8 and limits.cuts == 1
    # A request admitted after the cut is in the next window: it cuts again.
    assert limits.throttled("a", limits.epoch("a"))
    assert limits.limit("a") == 4 and limits.lowered == {"a": 4} and limits.lowest == 4
    assert limits.limit("b") == 16  # other hosts are untouched


@pytest.mark.parametrize(("bound", "floor"), [(64, 8), (16, 2), (4, 1), (1, 1)])
def test_the_limit_falls_to_an_eighth_of_the_bound_at_most(bound: int, floor: int) -> None:
    limits = HostLimits(bound)
    for _ in range(10):
        limits.throttled("a", limits.epoch("a"))
    assert limits.limit("a") == floor and limits.lowest == floor and limits.cuts == 10


def test_successes_grow_the_limit_by_one_per_window_back_to_the_bound() -> None:
    limits = HostLimits(8)
    limits.throttled("a", 0)
    limits.throttled("a", 1)
    assert limits.limit("a") == 2
    grown = [limits.succeeded("a") for _ in range(2 + 3 + 4 + 5 + 6 + 7)]
    # 2 successes at 2 make it 3, 3 more make it 4, ... 7 at 7 make it 8, the bound.
    assert sum(grown) == 6
    assert limits.limit("a") == 8 and limits.lowered == {}
    assert not limits.succeeded("a")  # at the bound: nothing to grow
    # A late answer from the first window cuts nothing.
    assert not limits.throttled("a", 0) and limits.limit("a") == 8
    assert limits.throttled("a", limits.epoch("a")) and limits.limit("a") == 4


def test_throttling_errors() -> None:
    assert is_throttling(ThrottledError("slow down", status=503, code="SlowDown"))
    assert is_throttling(ServerError("busy", status=503))
    assert is_throttling(ResponseError("too many", status=429))
    assert not is_throttling(ServerError("broken", status=500))
    assert not is_throttling(TimeoutError())


@pytest.mark.parametrize(("asked", "low"), [(None, 0.0), (0.0, 0.0), (1.0, 1.0), (3600.0, 2.0)])
def test_retry_delay_waits_for_retry_after_up_to_max_backoff(
    asked: float | None, low: float
) -> None:
    options = Options(backoff=0.01, max_backoff=2.0)
    rng = random.Random(4)
    error = ThrottledError("slow down", status=503, retry_after=asked)
    for attempt in range(1, 8):
        delay = retry_delay(attempt, error, options, rng)
        assert low <= delay <= 2.0
        if asked is None:
            assert delay <= min(2.0, 0.01 * 2 ** (attempt - 1))
