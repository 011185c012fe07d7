"""Checks shared by the cloud stores' tests: which client carries a store's requests.

Each takes the store from a :class:`Stores` (``store_of``, e.g. ``Stores.gcs_store``), reads a
range, a streamed body and a listing page, and checks what carried them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from servers.traced import traced_session

from astro_cloud_async.options import BLOCK, Options
from astro_cloud_async.stores.registry import Stores

__all__ = ["check_caller_session", "check_shared_lean_client"]


async def check_shared_lean_client(
    options: Options, store_of: Callable[[Stores], Any], url: str, prefix: str, content: bytes
) -> None:
    """Without a caller's session the store uses the shared lean client, no aiohttp session
    is made, and every answer is read to its end: one kept connection does all, twice over."""
    async with Stores(options) as stores:
        store = store_of(stores)
        assert stores._lean_client is not None and store._client is stores._lean_client
        assert stores._http_session is None and store._http is None  # no aiohttp session made
        for _ in range(2):
            assert (await store.get_range(url, 7, 3001)).data == content[7:3001]
            body = await store.open_stream(url, 0, 2 * BLOCK)
            assert await body.read(2 * BLOCK) == content[: 2 * BLOCK]
            await body.aclose()
            page = await store.list_page(prefix, limit=3)
            assert len(page.objects) == 3
        assert len(stores._lean_client._open) == 1
    assert stores._lean_client.closed


async def check_caller_session(
    options: Options, store_of: Callable[[Stores], Any], url: str, prefix: str, content: bytes
) -> None:
    """A caller's aiohttp session carries every request (three GETs), no lean client is made,
    and the session is left open."""
    async with traced_session() as (session, sent):
        async with Stores(options, http_session=session) as stores:
            store = store_of(stores)
            assert store._http is session and store._client is None
            assert (await store.get_range(url, 0, BLOCK)).data == content[:BLOCK]
            body = await store.open_stream(url, 0, BLOCK)
            await body.aclose()
            await store.list_page(prefix, limit=2)
            assert stores._lean_client is None
        assert not session.closed
    assert sent.methods == ["GET", "GET", "GET"]
