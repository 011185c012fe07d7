"""Requests, bytes and client CPU per compressed object (.fits.gz, .fits.bz2) on each path,
against the same files uncompressed. Run by hand.

Two kinds of file, each written plain, gzip-compressed (level 6) and bzip2-compressed (level
9): ``field`` (an image primary, two 512 x 512 float32 images of noise and a 1,000-row table:
2.1 MB, which compresses poorly, as real pixels do) and ``tess`` (a TESS-FFI-like frame of
35.5 MB whose images are zeros: 41 kB of gzip, 4 kB of bzip2, so nearly all the cost is
inflating and dropping 35 MB of data). ``--objects`` copies of each (``--tess-objects`` of
the frames, which the emulators hold in memory) are scanned from a local
folder, nginx, S3 (SeaweedFS), GCS (fake-gcs-server) and Azure (Azurite), ``--repeat`` times
(a fresh ``Client`` each time), the fastest run reported: client CPU per object
(``time.process_time``: every thread of the process, decompression threads included; the
servers run in their own processes), wall
time per object, and requests and bytes per object as the client's pool counted them. Example::

    python benchmarks/bench_compressed.py --objects 20 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import bz2
import gzip
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

import astro_cloud_async as aca
from astro_cloud_async.demo.survey import write_tess_ffi_like

TESTS = str(Path(__file__).resolve().parent.parent / "tests")
PATHS = ("local", "http", "s3", "gcs", "azure")
KINDS = ("field", "tess")
FORMS = {"": None, ".gz": "gzip", ".bz2": "bzip2"}


def write_field(path: Path) -> None:
    rng = np.random.default_rng(13)
    n = 1000
    table = fits.BinTableHDU.from_columns(
        [
            fits.Column(name="ID", format="K", array=np.arange(n, dtype=np.int64)),
            fits.Column(name="RA", format="D", array=rng.uniform(150, 151, n)),
        ],
        name="SOURCES",
    )
    fits.HDUList(
        [
            fits.PrimaryHDU(rng.integers(0, 1000, (64, 64)).astype(np.int16)),
            fits.ImageHDU(rng.normal(1000, 30, (512, 512)).astype(np.float32), name="SCI"),
            fits.ImageHDU(rng.normal(30, 1, (512, 512)).astype(np.float32), name="ERR"),
            table,
        ]
    ).writeto(path)


WRITERS: dict[str, Callable[[Path], Any]] = {
    "field": write_field,
    "tess": lambda path: write_tess_ffi_like(path, seed=1),
}


def write_files(folder: Path, counts: dict[str, int]) -> dict[tuple[str, str], list[str]]:
    """(kind, suffix) -> file names, ``counts[kind]`` copies each (hard links of one file)."""
    names: dict[tuple[str, str], list[str]] = {}
    for kind, objects in counts.items():
        plain = folder / f"{kind}-0000.fits"
        WRITERS[kind](plain)
        raw = plain.read_bytes()
        packed = {"": raw, ".gz": gzip.compress(raw, 6, mtime=0), ".bz2": bz2.compress(raw, 9)}
        for suffix, data in packed.items():
            first = folder / f"{kind}-0000.fits{suffix}"
            if suffix:
                first.write_bytes(data)
            names[(kind, suffix)] = [first.name]
            for i in range(1, objects):
                copy = folder / f"{kind}-{i:04d}.fits{suffix}"
                os.link(first, copy)
                names[(kind, suffix)].append(copy.name)
    return names


async def scan_once(urls: list[str], options: dict[str, Any]) -> tuple[float, float, Any]:
    """(CPU seconds, wall seconds, stats) of one scan of ``urls``."""
    before, began = time.process_time(), time.perf_counter()
    async with aca.Client(**options) as client:
        async for result in client.scan(urls, expand=False):
            if isinstance(result, aca.ObjectFailed):
                raise RuntimeError(f"{result.url}: {result.error!r}")
        stats = client.stats.snapshot()
    wall = time.perf_counter() - began
    return time.process_time() - before, wall, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--tess-objects", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--paths", default=",".join(PATHS))
    args = parser.parse_args()
    paths = args.paths.split(",")

    sys.path.insert(0, TESTS)
    from servers import start_nginx
    from servers.azurite import start_azurite
    from servers.gcs import start_fake_gcs
    from servers.s3data import upload_folder
    from servers.seaweedfs import start_seaweedfs

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        names = write_files(folder, {"field": args.objects, "tess": args.tess_objects})
        sizes = {name: (folder / name).stat().st_size for group in names.values() for name in group}
        servers: list[Any] = []
        url_of: dict[str, Callable[[str], str]] = {}
        options: dict[str, dict[str, Any]] = {}
        try:
            if "local" in paths:
                url_of["local"] = lambda name: str(folder / name)
                options["local"] = {}
            if "http" in paths:
                nginx = start_nginx(folder)
                servers.append(nginx)
                url_of["http"] = nginx.url
                options["http"] = {}
            if "s3" in paths:
                weed = start_seaweedfs(logging_proxy=False)
                servers.append(weed)
                upload_folder(weed, folder, weed.public_bucket)
                url_of["s3"] = lambda name: f"s3://{weed.public_bucket}/{name}"
                options["s3"] = {"endpoint_url": weed.direct_endpoint_url, "anon": True}
            if "gcs" in paths:
                files = {p.name: p for p in folder.iterdir()}
                gcs = start_fake_gcs({"public": files})
                servers.append(gcs)
                url_of["gcs"] = lambda name: f"gs://public/{name}"
                options["gcs"] = {"endpoint_url": gcs.endpoint_url, "anon": True}
            if "azure" in paths:
                azure = start_azurite()
                servers.append(azure)
                azure.upload("public", {p.name: p for p in folder.iterdir()})
                cs = azure.connection_string(direct=True)
                url_of["azure"] = lambda name: f"az://public/{name}"
                options["azure"] = {"connection_string": cs, "anon": True}

            rows = []
            for path in paths:
                for (kind, suffix), group in names.items():
                    urls = [url_of[path](name) for name in group]
                    runs = [asyncio.run(scan_once(urls, options[path])) for _ in range(args.repeat)]
                    cpu, wall, stats = min(runs, key=lambda run: run[0])
                    n = len(group)
                    rows.append(
                        (
                            path,
                            f"{kind}.fits{suffix}",
                            sizes[group[0]],
                            stats.requests / n,
                            (stats.bytes + stats.discarded_bytes) / n,
                            cpu / n * 1e3,
                            wall / n * 1e3,
                        )
                    )
        finally:
            for server in servers:
                server.stop()

    print(
        f"\n{args.objects} field and {args.tess_objects} tess objects of each form, "
        f"fastest of {args.repeat} runs (CPU):\n"
    )
    print(
        "| path | file | stored bytes | requests / object | bytes read / object "
        "| CPU ms / object | wall ms / object |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for path, name, size, requests, read, cpu, wall in rows:
        print(
            f"| {path} | {name} | {size:,} | {requests:.2f} | {read:,.0f} "
            f"| {cpu:.2f} | {wall:.1f} |"
        )


if __name__ == "__main__":
    main()
