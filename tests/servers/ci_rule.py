"""The CI rule of real-server tests: under ``CI=true`` none of them may skip.

A missing server program already fails a test under CI where the program is started through
:func:`.availability.start_or_skip`. This pytest plugin (loaded by ``tests/conftest.py``) is
the net for every other way: under CI, a test marked ``servers`` that ends skipped, or any test
skipped while a :class:`~.process.ServerBinaryMissing` was being handled (a test or fixture that
caught it itself), is reported as failed, with the skip's reason. So a broken install can never
pass CI as a row of skips.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from .availability import in_ci
from .process import ServerBinaryMissing

__all__ = ["pytest_runtest_makereport"]


def _server_missing(error: BaseException | None) -> bool:
    """Whether ``error`` was raised while handling (or because of) a missing server program."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, ServerBinaryMissing):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail") or not in_ci():
        return
    missing = call.excinfo is not None and _server_missing(call.excinfo.value)
    if item.get_closest_marker("servers") is None and not missing:
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    report.outcome = "failed"
    report.longrepr = f"CI=true: a test of the real servers may not skip ({reason})"
