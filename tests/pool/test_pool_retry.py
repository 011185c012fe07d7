"""The pool's retry policy on its own: which errors are retried, and the back-off schedule."""

from __future__ import annotations

import random

from astro_cloud_async.errors import ConnectionFailedError, FetchTimeoutError, ResponseError
from astro_cloud_async.options import Options
from astro_cloud_async.pool.retry import backoff_delay, is_retryable
from astro_cloud_async.stores.answers import INCOMPLETE_BODY


def test_retry_classification_of_transport_errors() -> None:
    assert is_retryable(ConnectionFailedError("reset"))
    assert is_retryable(FetchTimeoutError("slow"))
    assert is_retryable(ResponseError("short", code=INCOMPLETE_BODY))
    assert not is_retryable(ResponseError("wrong range", status=206))
    assert not is_retryable(ValueError("bug"))
    assert is_retryable(TimeoutError())


def test_backoff_delay_full_jitter_bounds() -> None:
    options = Options(backoff=0.1, max_backoff=1.0)
    rng = random.Random(1)
    for attempt in range(1, 12):
        ceiling = min(1.0, 0.1 * 2 ** (attempt - 1))
        draws = [backoff_delay(attempt, options, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in draws)
        assert max(draws) > 0.8 * ceiling  # spreads over the whole interval
        assert min(draws) < 0.2 * ceiling
