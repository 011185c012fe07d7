"""Fixtures of the store and pool tests: the fault-injecting server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from store_faults import FaultServer


@pytest.fixture
async def faults() -> AsyncIterator[FaultServer]:
    server = FaultServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
