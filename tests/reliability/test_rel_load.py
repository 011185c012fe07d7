"""A long scan: 20,000 objects from nginx with file descriptors and memory sampled over time.

Strategy: one small real FITS file served under 20,000 names through a folder of symbolic
links (made in a fraction of a second, a few kB on disk), so the scan does 20,000 full object
walks over real HTTP while nothing else varies. A sampler task reads the process's open file
descriptors and resident memory every 0.2 s. What must hold: every object ends in its records;
descriptors stay within the connection bound; memory after warm-up stays flat (what a leak per
object would break: 20,000 objects times even 1 kB is 20 MB); the client leaves no task, socket
or session behind (the suite turns "Unclosed" warnings into errors).
"""

from __future__ import annotations

import asyncio
import gc
import io
import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
from astropy.io import fits
from servers import HTTPServer, start_nginx
from servers.availability import start_or_skip

from astro_cloud_async import Client, HDURecord, ObjectFailed

OBJECTS = 20_000
CONCURRENCY = 64


@pytest.fixture(scope="module")
def link_farm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("farm")
    buf = io.BytesIO()
    image = fits.ImageHDU(np.arange(100, dtype=np.int16).reshape(10, 10), name="SCI")
    fits.HDUList([fits.PrimaryHDU(), image]).writeto(buf)
    (root / "target.fits").write_bytes(buf.getvalue())
    for i in range(OBJECTS):
        os.symlink("target.fits", root / f"f{i:05d}.fits")
    return root


@pytest.fixture(scope="module")
def farm_nginx(link_farm: Path) -> Iterator[HTTPServer]:
    server = start_or_skip(lambda: start_nginx(link_farm))
    yield server
    server.stop()


@pytest.mark.servers
@pytest.mark.slow
async def test_twenty_thousand_objects_keep_fds_and_memory_flat(farm_nginx: HTTPServer) -> None:
    process = psutil.Process()
    gc.collect()
    fds_before = process.num_fds()
    samples: list[tuple[float, int, int]] = []  # (time, fds, rss)

    async def sample() -> None:
        while True:
            samples.append((time.monotonic(), process.num_fds(), process.memory_info().rss))
            await asyncio.sleep(0.2)

    urls = (farm_nginx.url(f"f{i:05d}.fits") for i in range(OBJECTS))  # pulled lazily
    mark = farm_nginx.log_mark()
    objects: set[str] = set()
    records = failures = 0
    began = time.monotonic()
    sampler = asyncio.create_task(sample())
    try:
        async with Client(concurrency=CONCURRENCY, timeout=20, retries=2) as client:
            async for item in client.scan(urls):
                if isinstance(item, ObjectFailed):
                    failures += 1
                else:
                    assert isinstance(item, HDURecord)
                    records += 1
                    objects.add(item.url)
            stats = client.stats
    finally:
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
    elapsed = time.monotonic() - began

    assert failures == 0
    assert records == 2 * OBJECTS and len(objects) == OBJECTS
    assert stats.requests == OBJECTS and stats.retries == 0
    served = farm_nginx.access_log_entries(mark, at_least=OBJECTS, timeout=20)
    assert len(served) == OBJECTS and {e.status for e in served} == {206}

    # Descriptors: bounded by the connections the pool may open, and all given back.
    fds = [f for _, f, _ in samples]
    assert max(fds) - fds_before <= CONCURRENCY + 16, (fds_before, max(fds))
    gc.collect()
    assert process.num_fds() <= fds_before + 2

    # Memory: after the first quarter (pools and caches warm), flat within 40 MB.
    rss = [r for _, _, r in samples]
    assert len(rss) >= 8, f"only {len(rss)} samples in {elapsed:.1f} s"
    warm = rss[len(rss) // 4 :]
    baseline = statistics.median(warm[: max(1, len(warm) // 4)])
    assert max(warm) - baseline < 40 * 2**20, (baseline, max(warm))

    # Nothing left running.
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert not others, others
    print(
        f"\n{OBJECTS} objects in {elapsed:.1f} s ({OBJECTS / elapsed:.0f}/s); fds {fds_before} "
        f"-> max {max(fds)}; rss {min(rss) / 2**20:.0f}-{max(rss) / 2**20:.0f} MiB"
    )
