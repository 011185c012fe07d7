"""Requests and bytes per object for typical layouts, counted by the server and by the pool.

Each object is read by a client of its own, so the pool's statistics are that object's; the
server's access log is read from a mark taken just before. Run it from the repository root
(it starts nginx, Apache and Caddy on free loopback ports, from the test helpers)::

    python tests/scanner/measure_reads.py

The numbers in ``docs/scan.md`` come from this script; ``test_scanner_corpus.py`` asserts the
TESS row with the same function.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # run as a script: make the test helpers importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from servers import HTTPServer

import astro_cloud_async as aca
from astro_cloud_async.demo.survey import (
    write_mosaic_like,
    write_table_like,
    write_tess_ffi_like,
    write_test_corpus,
)
from astro_cloud_async.tasks import run_sync


@dataclass(frozen=True, slots=True)
class Reads:
    """What reading one object's headers cost."""

    name: str
    hdus: int
    object_size: int
    server_requests: int
    server_bytes: int
    pool_requests: int
    pool_bytes: int
    """Body bytes the pool read: returned, and dropped (multipart framing, skipped data)."""


async def _read_url(url: str, **options: Any) -> tuple[int, aca.StatsSnapshot]:
    async with aca.Client(**options) as client:
        records = await client.read_headers(url)
        return len(records), client.stats.snapshot()


def measure_object(server: HTTPServer, name: str, path: Path, **options: Any) -> Reads:
    """Read ``path`` (served by ``server``) with a client of its own and count what it took."""
    mark = server.log_mark()
    hdus, stats = run_sync(lambda: _read_url(server.url(path), **options))
    entries = server.access_log_entries(mark, at_least=stats.requests)
    return Reads(
        name=name,
        hdus=hdus,
        object_size=path.stat().st_size,
        server_requests=len(entries),
        server_bytes=sum(e.bytes_sent for e in entries),
        pool_requests=stats.requests,
        pool_bytes=stats.bytes + stats.discarded_bytes,
    )


def typical_layouts(folder: Path) -> dict[str, Path]:
    """The layouts of the table in docs/scan.md, written (sparse) into ``folder``."""
    corpus = write_test_corpus(folder / "corpus")
    return {
        "TESS FFI-like (3 HDUs)": write_tess_ffi_like(folder / "tess.fits", seed=1),
        "mosaic, 60 CCDs (61 HDUs)": write_mosaic_like(folder / "mosaic.fits", n_ccds=60),
        "small table (2 HDUs)": write_table_like(folder / "table.fits"),
        "tile-compressed (.fits.fz)": corpus["compressed"],
        "ASCII table": corpus["ascii_table"],
        "random groups": corpus["random_groups"],
    }


def table(rows: list[Reads]) -> str:
    lines = [
        "| layout | HDUs | object size | GETs (server) | bytes (server) | GETs (pool) "
        "| bytes read (pool) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.hdus} | {r.object_size:,} | {r.server_requests} "
            f"| {r.server_bytes:,} | {r.pool_requests} | {r.pool_bytes:,} |"
        )
    return "\n".join(lines)


def measure_s3(folder: Path, layouts: dict[str, Path]) -> list[Reads]:
    """The same reads from SeaweedFS (counted by its logging proxy); the 1 GB mosaic is left
    out to keep the upload short."""
    from servers import start_seaweedfs
    from servers.s3data import upload_folder

    rows: list[Reads] = []
    with start_seaweedfs() as server:
        small = {name: path for name, path in layouts.items() if path.stat().st_size < 1 << 28}
        for name, path in small.items():
            upload_folder(server, path.parent, "public", prefix=f"{len(rows)}/")
            url = server.url("public", f"{len(rows)}/{path.name}")
            mark = server.log_mark()
            hdus, stats = run_sync(
                partial(_read_url, url, endpoint_url=server.endpoint_url, anon=True)
            )
            entries = server.access_log_entries(mark, at_least=stats.requests)
            rows.append(
                Reads(
                    name=name,
                    hdus=hdus,
                    object_size=path.stat().st_size,
                    server_requests=len(entries),
                    server_bytes=sum(e.bytes_sent for e in entries),
                    pool_requests=stats.requests,
                    pool_bytes=stats.bytes + stats.discarded_bytes,
                )
            )
    return rows


def main() -> None:
    from servers import start_apache, start_caddy, start_nginx

    starters: list[tuple[str, Callable[[Path], HTTPServer]]] = [
        ("nginx", start_nginx),
        ("Apache", start_apache),
        ("Caddy", start_caddy),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        layouts = typical_layouts(folder)
        for kind, start in starters:
            with start(folder) as server:
                rows = [measure_object(server, name, path) for name, path in layouts.items()]
            print(f"\n{kind}, default options:\n")
            print(table(rows))
        print("\nS3 (SeaweedFS, anonymous GETs through its logging proxy):\n")
        print(table(measure_s3(folder, layouts)))
        with start_nginx(folder, max_ranges=0) as server:
            rows = [
                measure_object(server, name, path, max_stream_bytes=2 << 30)
                for name, path in layouts.items()
            ]
        print(
            "\nnginx with Range disabled (200 and the whole body to every GET), "
            "max_stream_bytes=2 GiB:\n"
        )
        print(table(rows))


if __name__ == "__main__":
    main()
