"""The retry policy of the pool: which failures deserve another attempt, and how long to wait.

Kept apart from the stores, which only report what happened, and from the pool's admission
bookkeeping, so that the same policy serves range reads and listing pages alike and can be
tested with plain values. Back-off is exponential with full jitter (the AWS architecture
blog's recommendation for many clients hitting one service).
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
)
from ..options import Options
from ..stores.answers import INCOMPLETE_BODY

__all__ = ["RETRYABLE_STATUS", "backoff_delay", "is_retryable"]

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
