"""CPU time per ranged GET, per transport: run by hand.

Reads one 2880-byte block per GET, ``--in-flight`` GETs at a time, through the store itself
(not the pool), and reports this process's user and system CPU per GET (``os.times``; the
servers run in their own processes) for:

- HTTP through the store's own HTTP/1.1 client and through an aiohttp session, against nginx
  on loopback, and the same GETs through a minimal keep-alive HTTP/1.1 client on
  ``asyncio.Protocol`` (:mod:`benchlib.raw_http`: a floor, not a transport: no redirects, TLS,
  time-outs or error mapping), to show what the client's own machinery costs;
- S3 through the package's SigV4 signer (over the own client, and over aiohttp), and through
  aiobotocore ``GetObject``, against SeaweedFS on loopback (a real SigV4-checking server);
- the SigV4 path once more against nginx, which serves the same bytes at ``/bucket/key`` and
  ignores the signature: same server as the HTTP line, so the difference is the client's cost;
- local files, ``os.pread`` inline and in a thread.

The servers are started with the test-suite launchers (``tests/servers``) unless
``--http-url`` / ``--s3-url`` (with ``--endpoint-url`` and credentials in the environment)
point elsewhere. Example: ``python benchmarks/bench_get_cpu.py --n 3000``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchlib.botocore_get import BotocoreReader
from benchlib.raw_http import RawHTTPReader

from astro_cloud_async.options import BLOCK, Options
from astro_cloud_async.stores.base import RangeReader
from astro_cloud_async.stores.http import HTTPStore
from astro_cloud_async.stores.local import LocalStore
from astro_cloud_async.stores.s3 import S3Store
from astro_cloud_async.stores.transport import make_session

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
            if len(result.data) != BLOCK:
                raise RuntimeError(f"short answer at {start}: {result!r}")

    for i in range(min(50, n)):  # warm-up: connections, credentials, caches
        await reader.get_range(url, (i % blocks) * BLOCK, (i % blocks + 1) * BLOCK)
    per = n // in_flight
    before, began = os.times(), time.perf_counter()
    await asyncio.gather(*(worker(range(k * per, (k + 1) * per)) for k in range(in_flight)))
    after, wall = os.times(), time.perf_counter() - began
    done = per * in_flight
    print(f"    ({done} GETs in {wall:.2f} s wall)", file=sys.stderr)
    return (after.user - before.user) / done, (after.system - before.system) / done


def report(name: str, cpu: tuple[float, float]) -> None:
    user, system = cpu
    print(
        f"{name:<44} {(user + system) * 1e3:7.3f} ms CPU per GET "
        f"(user {user * 1e3:.3f}, system {system * 1e3:.3f})",
        flush=True,
    )


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


async def run(args: argparse.Namespace) -> None:
    options = Options(concurrency=args.in_flight * 2, connections_per_host=args.in_flight)
    n, k, size = args.n, args.in_flight, args.size
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        data = os.urandom(size)
        (tmp / "bucket").mkdir()
        (tmp / "bucket" / "object.bin").write_bytes(data)
        local = tmp / "bucket" / "object.bin"

        sys.path.insert(0, TESTS)
        http_url = args.http_url
        nginx_base = None
        if http_url is None:
            from servers import start_nginx

            nginx = start_nginx(tmp)
            stack.callback(nginx.stop)
            http_url, nginx_base = nginx.url("bucket/object.bin"), nginx.base_url
        async with HTTPStore(options) as store:
            report("HTTP (own HTTP/1.1 client), nginx", await measure(store, http_url, n, k, size))
        session = make_session(options)
        try:
            async with HTTPStore(options, session) as store:
                report("HTTP (aiohttp), nginx", await measure(store, http_url, n, k, size))
        finally:
            await session.close()
        raw = RawHTTPReader()
        try:
            report(
                "HTTP (minimal asyncio.Protocol client), nginx",
                await measure(raw, http_url, n, k, size),
            )  # type: ignore[arg-type]
        finally:
            await raw.aclose()

        s3_url, endpoint, env, s3_size = args.s3_url, args.endpoint_url, {}, args.s3_size or size
        if s3_url is None:
            from servers.seaweedfs import start_seaweedfs

            weed = start_seaweedfs(logging_proxy=False)
            stack.callback(weed.stop)
            client = weed.client(direct=True)
            client.put_object(Bucket="private", Key="object.bin", Body=data)
            client.close()
            s3_url, endpoint, env = "s3://private/object.bin", weed.endpoint_url, weed.env()
        s3_options = Options.from_kwargs(
            options, endpoint_url=endpoint, anon=args.anon, region=args.region
        )
        with environment(env):
            async with S3Store(s3_options) as store:
                label = "S3 (SigV4 signer, own client), SeaweedFS"
                report(label, await measure(store, s3_url, n, k, s3_size))
            session = make_session(s3_options)
            try:
                async with S3Store(s3_options, http_session=session) as store:
                    label = "S3 (SigV4 signer over aiohttp), SeaweedFS"
                    report(label, await measure(store, s3_url, n, k, s3_size))
            finally:
                await session.close()
            async with BotocoreReader(s3_options) as reader:
                label = "S3 (aiobotocore GetObject), SeaweedFS"
                report(label, await measure(reader, s3_url, n, k, s3_size))
            if nginx_base is not None:
                same = Options.from_kwargs(options, endpoint_url=nginx_base)
                url = "s3://bucket/object.bin"
                async with S3Store(same) as store:
                    label = "S3 (SigV4 signer, own client), nginx"
                    report(label, await measure(store, url, n, k, size))
                async with BotocoreReader(same) as reader:
                    label = "S3 (aiobotocore GetObject), nginx"
                    report(label, await measure(reader, url, n, k, size))

        for threads, label in ((False, "local (pread inline)"), (True, "local (pread, thread)")):
            async with LocalStore(options, threads=threads) as store:
                report(label, await measure(store, str(local), n, k, size))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="GETs per transport")
    parser.add_argument("--in-flight", type=int, default=16, help="concurrent GETs")
    parser.add_argument("--size", type=int, default=100 * BLOCK, help="object size in bytes")
    parser.add_argument("--http-url", help="an object on an HTTP server (default: local nginx)")
    parser.add_argument("--s3-url", help="s3://bucket/key to read (default: local SeaweedFS)")
    parser.add_argument("--s3-size", type=int, help="its size (default: --size)")
    parser.add_argument("--endpoint-url")
    parser.add_argument("--region")
    parser.add_argument("--anon", action="store_true")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
