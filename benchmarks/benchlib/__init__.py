"""Shared parts of the benchmarks: the cached survey, the servers, the peers and the reports.

Importing this package puts the repository root (for ``astro_cloud_async``) and its ``tests/``
folder (for the ``servers`` launchers) on ``sys.path``, so the scripts run from a checkout
without installing anything.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
DEFAULT_CACHE = OUT_DIR / "cache"

for _path in (REPO / "tests", REPO):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

__all__ = ["BENCH_DIR", "DEFAULT_CACHE", "OUT_DIR", "REPO"]
