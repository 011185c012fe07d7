"""Run one peer over the survey in this process and print its measurements as one JSON line.

Strategy: every peer runs in a fresh interpreter (``python -m benchlib.child SPEC.json``), so
its peak RSS (``VmHWM``) and CPU time (``time.process_time``, all threads, Rust and
fsspec's I/O threads included) are its own. Imports and set-up happen before the clock starts;
the timed part is reading the headers of every object and nothing else. Each peer also counts
the HDUs it found, which the parent checks against the survey's manifest.

Peers:

* ``ours``: ``astro_cloud_async.Client(**options).scan(urls)``, all records consumed.
* ``astropy``: ``fits.open(url, use_fsspec=True, lazy_load_hdus=True)`` and every HDU's header,
  one object per call, sequentially or in a thread pool.
* ``ceiling``: obstore ``get_range_async`` of exactly the header ranges, known in advance, with
  a fixed number of requests in flight; no parsing at all.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import resource
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil

from . import REPO  # noqa: F401  (puts the package on sys.path)

BUCKET = "survey"
MAX_ERRORS = 5


def _url(spec: dict[str, Any], name: str) -> str:
    if spec["backend"] == "s3":
        return f"s3://{BUCKET}/{name}"
    return f"{spec['base_url']}/{quote(name)}"


# --- peers -------------------------------------------------------------------------------------


def run_ours(spec: dict[str, Any], objects: list[dict[str, Any]]) -> dict[str, Any]:
    from astro_cloud_async import Client, ObjectFailed

    options = dict(spec.get("options", {}))
    if spec["backend"] == "s3":
        options.setdefault("endpoint_url", spec["base_url"])
        options.setdefault("region", "us-east-1")
    urls = [_url(spec, o["name"]) for o in objects]
    found: dict[str, int] = {}
    errors: list[str] = []
    failed = 0

    async def main() -> dict[str, Any]:
        nonlocal failed
        async with Client(**options) as client:
            async for item in client.scan(urls):
                if isinstance(item, ObjectFailed):
                    failed += 1
                    if len(errors) < MAX_ERRORS:
                        errors.append(f"{item.url}: {item.error!r}")
                    continue
                found[item.url] = found.get(item.url, 0) + 1
            stats = client.stats.snapshot()
        return {
            "client_requests": stats.requests,
            "client_bytes": stats.bytes,
            "client_retries": stats.retries,
            "p50_ms": (stats.p50 or 0) * 1e3,
            "highest_limit": stats.highest_limit,
        }

    extra = asyncio.run(main())
    hdus = [found.get(u, 0) for u in urls]
    return {"hdus": hdus, "failed": failed, "errors": errors, **extra}


def run_ours_stream(spec: dict[str, Any], objects: list[dict[str, Any]]) -> dict[str, Any]:
    """Ours with sources read lazily from a file and nothing kept: for memory measurements."""
    from astro_cloud_async import Client, ObjectFailed

    options = dict(spec.get("options", {}))
    errors: list[str] = []
    hdus = failed = 0

    def sources() -> Iterator[str]:
        with open(spec["urls_file"]) as f:
            for line in f:
                yield line.rstrip("\n")

    async def main() -> dict[str, Any]:
        nonlocal hdus, failed
        async with Client(**options) as client:
            async for item in client.scan(sources()):
                if isinstance(item, ObjectFailed):
                    failed += 1
                    if len(errors) < MAX_ERRORS:
                        errors.append(f"{item.url}: {item.error!r}")
                else:
                    hdus += 1
            stats = client.stats.snapshot()
        return {"client_requests": stats.requests, "client_bytes": stats.bytes}

    extra = asyncio.run(main())
    return {"hdus_total": hdus, "failed": failed, "errors": errors, **extra}


def run_astropy(spec: dict[str, Any], objects: list[dict[str, Any]]) -> dict[str, Any]:
    from astropy.io import fits

    kwargs: dict[str, Any] = dict(spec.get("fsspec", {}))
    if spec["backend"] == "s3":
        if "block_size" in kwargs:  # s3fs names it differently
            kwargs["default_block_size"] = kwargs.pop("block_size")
        kwargs.update(
            key=os.environ["AWS_ACCESS_KEY_ID"],
            secret=os.environ["AWS_SECRET_ACCESS_KEY"],
            client_kwargs={"endpoint_url": spec["base_url"], "region_name": "us-east-1"},
        )
    errors: list[str] = []

    def read_one(url: str) -> int:
        try:
            with fits.open(url, use_fsspec=True, lazy_load_hdus=True, fsspec_kwargs=kwargs) as hdul:
                n = 0
                for hdu in hdul:  # each step reads the next header, lazily
                    _ = hdu.header
                    n += 1
                return n
        except Exception as exc:
            if len(errors) < MAX_ERRORS:
                errors.append(f"{url}: {exc!r}")
            return -1

    urls = [_url(spec, o["name"]) for o in objects]
    threads = int(spec.get("threads", 1))
    if threads <= 1:
        counts = [read_one(u) for u in urls]
    else:
        with ThreadPoolExecutor(threads) as pool:
            counts = list(pool.map(read_one, urls))
    failed = sum(1 for c in counts if c < 0)
    return {"hdus": [max(c, 0) for c in counts], "failed": failed, "errors": errors}


def _obstore_store(spec: dict[str, Any]) -> Any:
    from obstore.store import HTTPStore, S3Store

    if spec["backend"] == "s3":
        return S3Store(
            BUCKET,
            endpoint=spec["base_url"],
            access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
            secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
            region="us-east-1",
            client_options={"allow_http": True},
        )
    return HTTPStore.from_url(spec["base_url"], client_options={"allow_http": True})


def run_ceiling(spec: dict[str, Any], objects: list[dict[str, Any]]) -> dict[str, Any]:
    import obstore

    store = _obstore_store(spec)
    concurrency = int(spec.get("concurrency", 64))
    requests = 0
    received = 0
    errors: list[str] = []
    failed_objects: set[str] = set()

    def ranges() -> Iterator[tuple[str, int, int]]:
        for o in objects:
            for start, end in o["ranges"]:
                yield o["name"], start, end

    work = ranges()

    async def worker() -> None:
        nonlocal requests, received
        for name, start, end in work:
            requests += 1
            try:
                data = await obstore.get_range_async(store, name, start=start, end=end)
            except Exception as exc:
                failed_objects.add(name)
                if len(errors) < MAX_ERRORS:
                    errors.append(f"{name}: {exc!r}")
                continue
            received += len(data)

    async def main() -> None:
        await asyncio.gather(*(worker() for _ in range(concurrency)))

    asyncio.run(main())
    # No parsing here: an object counts as fully read when all its ranges arrived.
    hdus = [0 if o["name"] in failed_objects else int(o["hdus"]) for o in objects]
    return {
        "hdus": hdus,
        "failed": len(failed_objects),
        "errors": errors,
        "client_requests": requests,
        "client_bytes": received,
    }


PEERS: dict[str, Callable[[dict[str, Any], list[dict[str, Any]]], dict[str, Any]]] = {
    "ours": run_ours,
    "ours-stream": run_ours_stream,
    "astropy": run_astropy,
    "ceiling": run_ceiling,
}

# What each peer imports, done before the clock starts (fsspec loads its implementations
# lazily, on the first URL of a scheme).
IMPORTS = {
    # The package's root is lazy: import what a scan loads (aiohttp, the stores) up front too.
    "ours": ("astro_cloud_async", "astro_cloud_async.client"),
    "ours-stream": ("astro_cloud_async", "astro_cloud_async.client"),
    "astropy": ("astropy.io.fits", "fsspec", "fsspec.implementations.http", "s3fs"),
    "ceiling": ("obstore", "obstore.store"),
}


# --- measuring ---------------------------------------------------------------------------------


def _top_self_times(session: Any, limit: int = 40) -> list[dict[str, Any]]:
    """Self time per function over a pyinstrument session, largest first."""
    totals: dict[tuple[str, str], list[float]] = {}
    root = session.root_frame()
    stack = [root] if root is not None else []
    while stack:
        frame = stack.pop()
        stack.extend(frame.children)
        if (frame.function or "").startswith("["):  # pyinstrument's synthetic frames
            continue
        key = (frame.function or "?", f"{frame.file_path_short}:{frame.line_no}")
        entry = totals.setdefault(key, [0.0, 0.0])
        entry[0] += frame.total_self_time
        entry[1] += frame.time
    ranked = sorted(totals.items(), key=lambda kv: kv[1][0], reverse=True)[:limit]
    return [
        {"function": f, "where": w, "self_s": round(s, 4), "total_s": round(t, 4)}
        for (f, w), (s, t) in ranked
    ]


def peak_rss() -> int:
    """This process's peak resident set size in bytes.

    ``VmHWM`` rather than ``ru_maxrss``: Linux carries ``ru_maxrss`` over from the parent
    through fork and exec, so a child started by a large parent would report the parent's peak.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    objects: list[dict[str, Any]] = []
    if spec.get("objects_file"):
        objects = json.loads(Path(spec["objects_file"]).read_text())
        if spec.get("limit"):
            objects = objects[: int(spec["limit"])]
    peer = PEERS[spec["peer"]]
    for module in IMPORTS[spec["peer"]]:
        if spec["backend"] != "s3" and module == "s3fs":
            continue
        importlib.import_module(module)
    profiler = None
    if spec.get("profile") == "pyinstrument":
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005, async_mode="disabled")
    proc = psutil.Process()
    rss_start = proc.memory_info().rss
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.start()
    try:
        result = peer(spec, objects)
    except Exception:
        result = {"hdus": [], "failed": len(objects), "errors": [traceback.format_exc()[-2000:]]}
    if profiler is not None:
        profiler.stop()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    result.update(
        objects=len(objects) if objects else spec.get("count", 0),
        wall_s=wall,
        cpu_s=cpu,
        rss_start=rss_start,
        rss_peak=peak_rss(),
    )
    if profiler is not None:
        out = Path(spec["profile_out"])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".html").write_text(profiler.output_html())
        out.with_suffix(".txt").write_text(profiler.output_text(unicode=False, show_all=False))
        session = profiler.last_session
        out.with_suffix(".top.json").write_text(json.dumps(_top_self_times(session), indent=1))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
