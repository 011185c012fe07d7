"""Per-host limits: grown by answer time, cut by throttling; and how long a retry waits after a
throttling answer."""

from __future__ import annotations

import random

import pytest

from astro_cloud_async.errors import ResponseError, ServerError, ThrottledError
from astro_cloud_async.options import Options
from astro_cloud_async.pool.limits import MIN_WINDOW, HostLimits
from astro_cloud_async.pool.retry import is_throttling, retry_delay


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


# --- growth by answer time --------------------------------------------------------------


def _window(limits: HostLimits, seconds: float, pressed: bool = True, host: str = "a") -> bool:
    """Report one full window of answers taking ``seconds``; whether the limit changed."""
    changed = [
        limits.succeeded(host, seconds, pressed) for _ in range(max(limits.limit(host), MIN_WINDOW))
    ]
    assert not any(changed[:-1])  # only a full window is judged
    return changed[-1]


def test_a_fixed_bound_never_grows_and_holds_nothing() -> None:
    limits = HostLimits(64)
    assert not limits.adaptive
    for _ in range(3):
        assert not _window(limits, 0.025)
    assert limits.limit("a") == 64 and limits.raised == {} and limits.highest is None
    assert repr(limits) == "<HostLimits start=64 ceiling=64 {} cuts=0>"


def test_flat_answer_times_double_the_limit_up_to_the_ceiling() -> None:
    limits = HostLimits(64, 256)
    assert limits.adaptive
    assert _window(limits, 0.025) and limits.limit("a") == 128
    assert _window(limits, 0.026) and limits.limit("a") == 256
    assert not _window(limits, 0.025)  # at the ceiling
    assert limits.limit("a") == 256 and limits.raised == {"a": 256} and limits.lowered == {}
    assert limits.highest == 256 and limits.grown == 2
    assert limits.limit("b") == 64  # each host grows on its own


def test_no_growth_without_waiting_requests() -> None:
    limits = HostLimits(64, 256)
    assert not _window(limits, 0.025, pressed=False)
    assert limits.limit("a") == 64 and limits.highest is None
    assert _window(limits, 0.025, pressed=True) and limits.limit("a") == 128


def test_slower_answers_stop_the_doubling_then_shrink_back_but_not_below_the_start() -> None:
    limits = HostLimits(64, 1024)
    assert _window(limits, 0.020) and limits.limit("a") == 128
    # 1.5 times the unloaded answer time: hold, and slow start is over.
    assert not _window(limits, 0.030) and limits.limit("a") == 128
    # Back to flat: grow by a quarter now, not double.
    assert _window(limits, 0.020) and limits.limit("a") == 160
    # Twice the unloaded time: the server queues; fall by a quarter, down to the start.
    assert _window(limits, 0.040) and limits.limit("a") == 120
    assert _window(limits, 0.040) and limits.limit("a") == 90
    assert _window(limits, 0.040) and limits.limit("a") == 68
    assert _window(limits, 0.040) and limits.limit("a") == 64
    assert not _window(limits, 0.040) and limits.limit("a") == 64
    assert limits.highest == 160 and limits.lowered == {}


def test_the_median_decides_not_a_few_slow_answers() -> None:
    limits = HostLimits(64, 256)
    times = [0.025] * 40 + [5.0] * 24  # a third of a window stuck behind something slow
    changed = [limits.succeeded("a", t, True) for t in times]
    assert changed[-1] and limits.limit("a") == 128


def test_answers_that_say_nothing_of_load_are_not_counted() -> None:
    limits = HostLimits(64, 256)
    # Listing pages and held streams (no answer time) never fill a window.
    assert not any(limits.succeeded("a", None, True) for _ in range(1000))
    assert limits.limit("a") == 64


def test_a_small_limit_judges_windows_of_at_least_min_window_answers() -> None:
    limits = HostLimits(2, 8)
    changed = [limits.succeeded("a", 0.01, True) for _ in range(MIN_WINDOW)]
    assert changed == [False] * (MIN_WINDOW - 1) + [True] and limits.limit("a") == 4


def test_a_host_that_throttled_no_longer_grows_by_answer_time() -> None:
    limits = HostLimits(64, 256)
    assert _window(limits, 0.025) and limits.limit("a") == 128
    assert limits.throttled("a", limits.epoch("a")) and limits.limit("a") == 64
    for _ in range(3):
        assert not _window(limits, 0.025)
    assert limits.limit("a") == 64
    # Cut below the start, it grows back one per window of successes, to the start only.
    assert limits.throttled("a", limits.epoch("a")) and limits.limit("a") == 32
    for _ in range(40):
        _window(limits, 0.025)
    assert limits.limit("a") == 64 and limits.highest == 128 and limits.cuts == 2


def test_a_throttle_from_a_grown_limit_halves_it() -> None:
    limits = HostLimits(64, 256)
    _window(limits, 0.025)
    _window(limits, 0.025)
    assert limits.limit("a") == 256
    assert limits.throttled("a", limits.epoch("a")) and limits.limit("a") == 128
    assert limits.lowest == 128 and limits.lowered == {} and limits.raised == {"a": 128}


@pytest.mark.parametrize(
    ("given", "concurrency", "expected"),
    [(None, 256, (64, 256)), (None, 32, (32, 32)), (None, 100, (64, 100)), (16, 256, (16, 16))],
)
def test_options_give_where_limits_start_and_how_high_they_grow(
    given: int | None, concurrency: int, expected: tuple[int, int]
) -> None:
    options = Options(connections_per_host=given, concurrency=concurrency)
    assert options.host_limits == expected


def test_answers_admitted_under_an_earlier_limit_are_not_counted() -> None:
    limits = HostLimits(64, 256)
    before = limits.epoch("a")
    assert _window(limits, 0.025) and limits.limit("a") == 128
    assert limits.epoch("a") == before + 1  # a change starts a new window of admissions
    # Slow answers to requests admitted at 64 say nothing of 128: they fill no window.
    assert not any(limits.succeeded("a", 5.0, True, before) for _ in range(1000))
    assert limits.limit("a") == 128
    now = limits.epoch("a")
    changed = [limits.succeeded("a", 0.025, True, now) for _ in range(128)]
    assert changed[-1] and limits.limit("a") == 256
    # A throttling answer to a request admitted before the last change cuts nothing.
    assert not limits.throttled("a", now) and limits.limit("a") == 256
    assert limits.throttled("a", limits.epoch("a")) and limits.limit("a") == 128
