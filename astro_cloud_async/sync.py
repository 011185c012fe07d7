"""The blocking entry point :func:`read_headers`, for scripts and notebooks.

It runs :meth:`Client.read_headers` through the one sync bridge
(:func:`~astro_cloud_async.tasks.run_sync`), so local files, HTTP(S) and S3 objects are all
read by the same stores and walk as a scan reads them: the same errors, the same ETag on
every record (so a section read later can check the object has not changed). Each call
opens and closes its own client, so no loop, session or thread outlives the call.
"""

from __future__ import annotations

import os
from typing import Any

from .client import Client
from .options import Options
from .records import HDURecord
from .tasks import run_sync

__all__ = ["read_headers"]


def read_headers(url: str | os.PathLike[str], **options: Any) -> list[HDURecord]:
    """All the HDU records of one object, blocking; raises the typed error on failure.

    ``url``: a local path, ``file://``, ``http(s)://`` or ``s3://`` URL. ``options`` are the
    names of :class:`~astro_cloud_async.options.Options`. Works inside a running event loop too
    (e.g. in Jupyter), where the read runs in a worker thread with its own loop.
    """
    opts = Options.from_kwargs(**options)

    async def read() -> list[HDURecord]:
        async with Client(opts) as client:
            return await client.read_headers(url)

    return run_sync(read)
