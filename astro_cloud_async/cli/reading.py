"""Reading the headers of a few objects for ``headers`` and ``info``.

One client for all the URLs of a command, read concurrently; results come back in the order
given, each the object's records or the typed error that ended it, so one bad URL does not stop
the others.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

import astro_cloud_async as aca

from ..errors import AstroCloudError, redact_url
from ..options import Options
from ..records import HDURecord
from ..tasks import gather_all

__all__ = ["read_objects"]

Outcome = list[HDURecord] | AstroCloudError


async def _read_all(urls: Sequence[str], options: Options) -> list[Outcome]:
    async with aca.Client(options) as client:

        async def one(url: str) -> Outcome:
            try:
                return await client.read_headers(url)
            except AstroCloudError as err:
                return err

        return await gather_all(one(u) for u in urls)


def read_objects(urls: Sequence[str], options: Options) -> list[Outcome]:
    """The records of each object at ``urls``, or the error it gave, in order."""
    return asyncio.run(_read_all(urls, options))


def print_failure(url: str, error: AstroCloudError) -> None:
    """Say on stderr that ``url`` could not be read (secrets removed from the URL)."""
    print(f"error: {redact_url(url)}: {type(error).__name__}: {error}", file=sys.stderr)
