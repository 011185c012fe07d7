"""The retry policy of the pool: which failures deserve another attempt, and how long to wait.

Kept apart from the stores, which only report what happened, and from the pool's admission
bookkeeping, so that the same policy serves range reads and listing pages alike and can be
tested with plain values. Back-off is exponential with full jitter (the AWS architecture
blog's recommendation for many clients hitting one service); a server that says how long to
wait (``Retry-After`` on a 429 or 503) is waited for at least that long, up to ``max_backoff``.
"""

from __future__ import annotations

import random

from ..errors import (
    AstroCloudError,
    ConnectionFailedError,
    FetchError,
    FetchTimeoutError,
    ResponseError,
    ServerError,
    ThrottledError,
)
from ..options import Options
from ..stores.answers import INCOMPLETE_BODY

__all__ = ["RETRYABLE_STATUS", "backoff_delay", "is_retryable", "is_throttling", "retry_delay"]

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP statuses worth another attempt; every other 4xx is final."""


def is_retryable(error: BaseException) -> bool:
    """Whether another attempt may succeed: server errors, throttling, time-outs, resets and
    bodies cut short. A 4xx other than 408/429 is final."""
    if isinstance(error, (ServerError, FetchTimeoutError, ConnectionFailedError)):
        return True
    if isinstance(error, ResponseError) and error.code == INCOMPLETE_BODY:
        return True
    if isinstance(error, FetchError) and error.status is not None:
        return error.status in RETRYABLE_STATUS
    if isinstance(error, AstroCloudError):
        return False
    return isinstance(error, TimeoutError)


def backoff_delay(attempt: int, options: Options, rng: random.Random | None = None) -> float:
    """Full-jitter back-off before retry number ``attempt`` (1-based), in seconds:
    uniform in ``[0, min(max_backoff, backoff * 2 ** (attempt - 1))]``."""
    ceiling = min(options.max_backoff, options.backoff * 2 ** (attempt - 1))
    return (rng or random).uniform(0.0, ceiling)


def is_throttling(error: BaseException) -> bool:
    """Whether the server asked us to slow down (429, 503, S3 SlowDown and kin)."""
    return isinstance(error, ThrottledError) or (
        isinstance(error, FetchError) and error.status in (429, 503)
    )


def retry_delay(
    attempt: int, error: BaseException | None, options: Options, rng: random.Random | None = None
) -> float:
    """Seconds to wait before retry number ``attempt`` after ``error``: the back-off, but no
    less than the ``Retry-After`` the server gave (capped by ``max_backoff``)."""
    delay = backoff_delay(attempt, options, rng)
    asked = error.retry_after if isinstance(error, FetchError) else None
    if asked is not None:
        delay = max(delay, min(asked, options.max_backoff))
    return delay
