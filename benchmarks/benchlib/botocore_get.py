"""Ranged GETs through aiobotocore's ``GetObject``: the peer the S3 store is measured against.

The library sends every S3 request signed by its own SigV4 signer over aiohttp; this reader
does the same reads through botocore's request pipeline, so ``bench_get_cpu.py`` can show
what that costs per request. It is a benchmark peer only: nothing in the package uses it.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any

from aiobotocore.session import AioSession
from botocore.config import Config

from astro_cloud_async.options import Options
from astro_cloud_async.stores.answers import parse_content_range
from astro_cloud_async.stores.base import RangeResult, range_header
from astro_cloud_async.stores.s3.urls import parse_s3_url

__all__ = ["BotocoreReader"]


class BotocoreReader:
    """``get_range`` over aiobotocore ``GetObject`` (no retries: the pool's job)."""

    def __init__(self, options: Options):
        self._options = options
        self._stack = AsyncExitStack()
        self._client: Any = None

    async def __aenter__(self) -> BotocoreReader:
        config = Config(
            max_pool_connections=self._options.concurrency,
            retries={"total_max_attempts": 1},
            s3={"addressing_style": "path"},
        )
        self._client = await self._stack.enter_async_context(
            AioSession().create_client(
                "s3",
                endpoint_url=self._options.endpoint_url,
                region_name=self._options.region,
                config=config,
            )
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    async def get_range(
        self, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult:
        loc = parse_s3_url(url)
        kwargs: dict[str, Any] = {"Bucket": loc.bucket, "Key": loc.key}
        kwargs["Range"] = range_header(start, end)
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        answer = await self._client.get_object(**kwargs)
        async with answer["Body"] as body:
            data = await body.read()
        cr = parse_content_range(answer.get("ContentRange"))
        return RangeResult(data, start, cr.total if cr else None, answer.get("ETag"))
