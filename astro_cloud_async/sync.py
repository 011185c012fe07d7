"""Blocking entry points: :func:`read_headers`, and :func:`run_sync` beneath it.

Local files are walked with plain ``pread`` calls and need no event loop. Remote objects go
through the async path: with no loop running in this thread a fresh one runs the coroutine
(``asyncio.run``); inside a running loop (a Jupyter cell, an async framework) blocking that
loop's thread on itself would deadlock, so the coroutine runs on a new loop in a worker thread
and this thread waits for it. Each call opens and closes its own client, so no loop, session or
thread outlives the call (no global background loop, unlike fsspec).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from urllib.request import url2pathname

from .errors import (
    AccessDeniedError,
    AstroCloudError,
    ConfigurationError,
    FetchError,
    ObjectNotFoundError,
)
from .fits.walker import walk_file
from .options import Options
from .records import HDURecord

__all__ = ["local_path", "read_headers", "run_sync"]

T = TypeVar("T")


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``make()`` to completion from synchronous code and return its result.

    ``make`` is called where the coroutine will run (this thread, or a worker thread when this
    thread already runs an event loop), so no coroutine is created on one loop and awaited on
    another.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="astro-cloud-async") as worker:
        return worker.submit(lambda: asyncio.run(make())).result()


def local_path(url: str | os.PathLike[str]) -> Path | None:
    """The local path ``url`` names (a path or a ``file://`` URL), else ``None``."""
    if isinstance(url, os.PathLike):
        return Path(os.fspath(url))
    if "://" not in url:
        return Path(url)
    parts = urlsplit(url)
    if parts.scheme.lower() != "file":
        return None
    if parts.netloc not in ("", "localhost"):
        raise ConfigurationError("file:// URLs of another host are not supported", url=url)
    return Path(url2pathname(parts.path))


def _read_local(url: str, path: Path, options: Options) -> list[HDURecord]:
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            hdus = walk_file(
                f,
                first_read=options.first_read,
                next_read=options.next_read,
                max_header_bytes=options.max_header_bytes,
                max_hdus=options.max_hdus,
            )
    except AstroCloudError as err:
        err.url = None  # the walker names the path; report the URL the caller gave
        err.with_url(url)
        raise
    except FileNotFoundError as err:
        raise ObjectNotFoundError("no such file", url=url) from err
    except PermissionError as err:
        raise AccessDeniedError("permission denied", url=url) from err
    except IsADirectoryError as err:
        raise ConfigurationError("a folder, not a file: use scan() for folders", url=url) from err
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise FetchError(f"cannot read the file: {reason}", url=url) from err
    return [HDURecord.from_hdu(url, hdu, object_size=size) for hdu in hdus]


async def _read_remote(url: str, options: Options) -> list[HDURecord]:
    from .client import Client  # aiohttp and aiobotocore are loaded only for remote reads

    async with Client(options) as client:
        return await client.read_headers(url)


def read_headers(url: str | os.PathLike[str], **options: Any) -> list[HDURecord]:
    """All the HDU records of one object, blocking; raises the typed error on failure.

    ``url``: a local path, ``file://``, ``http(s)://`` or ``s3://`` URL. ``options`` are the
    names of :class:`~astro_cloud_async.options.Options`. Works inside a running event loop too
    (e.g. in Jupyter), where the read runs in a worker thread with its own loop.
    """
    opts = Options.from_kwargs(**options)
    path = local_path(url)
    name = os.fspath(url)
    if path is not None:
        return _read_local(name, path, opts)
    return run_sync(lambda: _read_remote(name, opts))
