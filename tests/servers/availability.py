"""What a test does when a server program is missing: skip it, or fail it under CI."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import pytest

from .process import ServerBinaryMissing

__all__ = ["in_ci", "start_or_skip"]

T = TypeVar("T")


def in_ci() -> bool:
    """True when ``CI`` is set to a true value (as .ci/run and CI services do)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def start_or_skip(start: Callable[[], T]) -> T:
    """Run ``start``; a missing server program skips the test, or fails it under CI."""
    try:
        return start()
    except ServerBinaryMissing as exc:
        if in_ci():
            pytest.fail(f"{exc} (CI=true: .ci/run installs it)", pytrace=False)
        pytest.skip(str(exc))
