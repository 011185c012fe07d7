"""CPU seconds per ranged GET, per transport: run by hand.

Measures ``time.process_time()`` of this process only (servers run in their own processes)
over N ranged GETs of one block, issued through the store (not the pool) with a fixed number
in flight, for:

- HTTP over aiohttp (nginx on loopback, started here unless ``--http-url`` is given),
- S3 via the package's SigV4 signer over aiohttp, and S3 via aiobotocore ``GetObject``
  (against ``--s3-url`` with ``--endpoint-url``; credentials from the standard chain),
- local files, inline ``os.pread`` and in a thread.

Example::

    python benchmarks/bench_get_cpu.py --n 3000 \\
        --s3-url s3://private/some.fits --endpoint-url http://127.0.0.1:8333
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from astro_cloud_async.options import BLOCK, Options
from astro_cloud_async.stores.base import RangeReader
from astro_cloud_async.stores.http import HTTPStore
from astro_cloud_async.stores.local import LocalStore
from astro_cloud_async.stores.s3 import S3Store, S3Transport

TESTS = str(Path(__file__).resolve().parent.parent / "tests")


async def measure(
    reader: RangeReader, url: str, n: int, in_flight: int, size: int
) -> tuple[float, float]:
    """(user, system) CPU seconds per GET over ``n`` GETs, after a short warm-up.

    System time includes the kernel's loopback TCP work done on our behalf, which depends on
    the server; user time is what the Python code costs.
    """
    blocks = max(1, size // BLOCK)

    async def worker(indices: range) -> None:
        for i in indices:
            start = (i % blocks) * BLOCK
            result = await reader.get_range(url, start, start + BLOCK)
            if not result.data:
                raise RuntimeError(f"empty answer at {start}")

    for i in range(min(50, n)):  # warm-up: connections, credentials, caches
        await reader.get_range(url, (i % blocks) * BLOCK, (i % blocks + 1) * BLOCK)
    per = n // in_flight
    before, began_wall = os.times(), time.perf_counter()
    await asyncio.gather(*(worker(range(k * per, (k + 1) * per)) for k in range(in_flight)))
    after, wall = os.times(), time.perf_counter() - began_wall
    done = per * in_flight
    user, system = after.user - before.user, after.system - before.system
    print(f"    {done} GETs in {wall:.2f} s wall", file=sys.stderr)
    return user / done, system / done


def report(name: str, cpu: tuple[float, float]) -> None:
    user, system = cpu
    print(
        f"{name:<34} {(user + system) * 1e3:7.3f} ms CPU per GET "
        f"(user {user * 1e3:.3f}, system {system * 1e3:.3f})",
        flush=True,
    )


async def run(args: argparse.Namespace) -> None:
    options = Options(concurrency=args.in_flight * 2, connections_per_host=args.in_flight)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.urandom(args.size)
        local = Path(tmp) / "object.bin"
        local.write_bytes(data)

        stop: Callable[[], None] | None = None
        http_url = args.http_url
        if http_url is None and not args.no_http:
            sys.path.insert(0, TESTS)
            from servers import start_nginx

            server = start_nginx(tmp)
            http_url, stop = server.url("object.bin"), server.stop
        try:
            if http_url is not None:
                async with HTTPStore(options) as store:
                    report(
                        "HTTP (aiohttp)",
                        await measure(store, http_url, args.n, args.in_flight, args.size),
                    )
        finally:
            if stop is not None:
                stop()

        if args.s3_url:
            s3_options = Options.from_kwargs(
                options, endpoint_url=args.endpoint_url, anon=args.anon, region=args.region
            )
            for transport, label in (
                (S3Transport.AIOHTTP, "S3 (SigV4 signer over aiohttp)"),
                (S3Transport.AIOBOTOCORE, "S3 (aiobotocore GetObject)"),
            ):
                async with S3Store(s3_options, transport=transport) as store:
                    size = args.s3_size or args.size
                    report(label, await measure(store, args.s3_url, args.n, args.in_flight, size))

        for threads, label in (
            (False, "local (pread inline)"),
            (True, "local (pread in a thread)"),
        ):
            async with LocalStore(options, threads=threads) as store:
                report(label, await measure(store, str(local), args.n, args.in_flight, args.size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="GETs per transport")
    parser.add_argument("--in-flight", type=int, default=16, help="concurrent GETs")
    parser.add_argument("--size", type=int, default=100 * BLOCK, help="local/HTTP object size")
    parser.add_argument("--http-url", help="an object on an HTTP server (default: local nginx)")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--s3-url", help="s3://bucket/key of an object to read")
    parser.add_argument("--s3-size", type=int, help="its size (default: --size)")
    parser.add_argument("--endpoint-url")
    parser.add_argument("--region")
    parser.add_argument("--anon", action="store_true")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
