"""The pool: concurrency bounds, retries and statistics for every request a client makes.

:class:`RangePool` admits and retries requests (:mod:`.range_pool`), :mod:`.retry` says which
failures deserve another attempt and how long to wait, :mod:`.stats` keeps the counters.
"""

from .hosts import host_key
from .range_pool import RangePool
from .retry import RETRYABLE_STATUS, backoff_delay, is_retryable
from .stats import LatencyHistogram, PoolStats, StatsSnapshot

__all__ = [
    "RETRYABLE_STATUS",
    "LatencyHistogram",
    "PoolStats",
    "RangePool",
    "StatsSnapshot",
    "backoff_delay",
    "host_key",
    "is_retryable",
]
