"""An aiohttp session of the caller's that records what it sends, for the tests that check a
caller's session carries every request (and is left open)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp

__all__ = ["Sent", "traced_session"]


@dataclass
class Sent:
    """The requests a traced session started, in order."""

    methods: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)


@asynccontextmanager
async def traced_session() -> AsyncIterator[tuple[aiohttp.ClientSession, Sent]]:
    """``async with traced_session() as (session, sent)``: every request the session starts
    is added to ``sent``."""
    sent = Sent()

    async def on_start(
        session: aiohttp.ClientSession, context: object, params: aiohttp.TraceRequestStartParams
    ) -> None:
        sent.methods.append(params.method)
        sent.urls.append(str(params.url))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        yield session, sent
