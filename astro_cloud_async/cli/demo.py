"""``astro-cloud-async demo``: index a small survey over real HTTP, with no account or network.

It writes survey-like FITS files (TESS-like full-frame images, 60-CCD mosaic exposures and
binary tables; sparse, so gigabytes on paper and a few megabytes on disk), serves them with
Range support on 127.0.0.1 from this process, indexes them through the same HTTP path a remote
archive would take, and reports what that cost: requests and bytes fetched against the size of
the files, and a few rows of the catalog.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from .. import catalog, demo, indexing
from ..catalog.rows import normalize_keywords
from ..indexing.result import format_bytes, format_duration
from ..options import Options
from .progress import Progress

__all__ = ["configure", "run", "run_demo"]

_SHOWN_COLUMNS = ("url", "hdu", "extname", "NAXIS1", "NAXIS2", "data_offset", "data_size")


def configure(p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``demo`` to its parser."""
    p.description = (
        "Write a sample survey of realistic FITS files, serve it over HTTP with "
        "Range on 127.0.0.1, index it into a catalog and show what was fetched."
    )
    p.add_argument("--dir", type=Path, help="where to write the files (default: a new temp dir)")
    p.add_argument(
        "-o", "--output", type=Path, help="the catalog (default: catalog.parquet next to the files)"
    )
    p.add_argument("--n-tess", type=int, default=16, metavar="N", help="TESS-like frames (16)")
    p.add_argument(
        "--n-mosaic", type=int, default=2, metavar="N", help="60-CCD mosaic exposures (2)"
    )
    p.add_argument("--n-table", type=int, default=2, metavar="N", help="binary tables (2)")
    p.add_argument(
        "-k", "--keywords", default=None, metavar="K1,K2,...", help="keyword columns, as for index"
    )
    p.add_argument("--rows", type=int, default=6, metavar="N", help="catalog rows to show (6)")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.set_defaults(run=run)


async def run_demo(
    directory: Path, files: list[Path], output: Path, args: argparse.Namespace
) -> tuple[indexing.IndexResult, int, str]:
    """Serve ``files`` and index them into ``output``; return the result, the requests the
    server answered, and its base URL."""
    async with demo.serve_directory(directory) as server:
        await demo.check_range_support(server.url(files[0]))
        checked = server.count()
        job = indexing.IndexJob(
            output=output,
            sources=[server.url(f) for f in files],
            keywords=normalize_keywords(args.keywords),
            options=Options(concurrency=32),
            overwrite=True,
        )
        with Progress(enabled=Progress.wanted(args.no_progress)) as progress:
            result = await indexing.index(job, reporter=progress)
        return result, server.count() - checked, server.base_url


def _show_rows(output: Path, limit: int) -> None:
    table = catalog.read_catalog(output)
    columns = [c for c in _SHOWN_COLUMNS if c in table.column_names]
    rows = table.select(columns).slice(0, limit).to_pylist()
    if not rows:
        return
    text = [[_short(str(row[c]) if row[c] is not None else "") for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in text)) for i, c in enumerate(columns)]
    print(
        f"\nfirst {len(rows)} of {table.num_rows} rows (one per HDU; all columns: "
        f"{', '.join(table.column_names[:4])}, ..., header):"
    )
    print("  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for r in text:
        print("  " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))


def _short(text: str, width: int = 48) -> str:
    if text.startswith("http://") and "/" in text[7:]:
        text = ".../" + text.rsplit("/", 1)[1]
    return text if len(text) <= width else text[: width - 3] + "..."


def run(args: argparse.Namespace) -> int:
    directory = args.dir or Path(tempfile.mkdtemp(prefix="astro-cloud-async-demo-"))
    directory.mkdir(parents=True, exist_ok=True)
    survey = directory / "survey"
    output = args.output or directory / "catalog.parquet"
    started = time.monotonic()
    files = demo.write_survey(
        survey, n_tess=args.n_tess, n_mosaic=args.n_mosaic, n_table=args.n_table
    )
    if not files:
        print("nothing to index: every --n-* is 0", file=sys.stderr)
        return 2
    apparent = sum(f.stat().st_size for f in files)
    on_disk = sum(getattr(f.stat(), "st_blocks", 0) * 512 for f in files)
    print(
        f"wrote {len(files)} FITS files to {survey}: {format_bytes(apparent)} in all, "
        f"{format_bytes(on_disk)} on disk (sparse) in {format_duration(time.monotonic() - started)}"
    )
    result, served, base_url = asyncio.run(run_demo(survey, files, output, args))
    print(f"served them at {base_url}/ (Range answered 206 Partial Content)")
    c = result.counts
    share = 100 * c.bytes / apparent if apparent else 0.0
    print(
        f"indexed {c.objects} objects, {c.hdus} HDUs in {format_duration(result.elapsed)}: "
        f"fetched {format_bytes(c.bytes)} of {format_bytes(apparent)} ({share:.2f}%) "
        f"in {c.requests} requests ({served} answered by the server)"
    )
    if result.new_failures:
        for entry in result.new_failures:
            print(f"  failed: {entry.describe()}")
    print(f"catalog: {output} ({result.rows} rows)")
    _show_rows(output, args.rows)
    print(
        f"\nfiles and catalog kept in {directory}"
        + ("" if args.dir else f" (remove with: rm -r {directory})")
    )
    print("next: astro-cloud-async index s3://BUCKET/PREFIX/ --anon -o survey.parquet")
    return result.exit_status
