"""``astro-cloud-async index``: the command line of the index job.

It parses arguments into an :class:`~astro_cloud_async.indexing.IndexJob`, runs it with one of
the executors of :mod:`astro_cloud_async.indexing` (here, or on a Dask cluster with
``--dask-scheduler``), shows progress on a terminal and prints the summary. Ctrl-C or SIGTERM
ends the run, keeps every whole object received, and exits with status 130.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from .. import indexing
from ..catalog.rows import normalize_keywords
from ..errors import ConfigurationError
from .options import add_option_flags, options_from_args
from .progress import Progress

__all__ = ["configure", "job_from_args", "run"]


# --- command line -------------------------------------------------------------------------


def configure(p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``index`` to its parser."""
    p.description = (
        "Read the headers of every FITS object under SOURCES (URLs, s3:// prefixes, local "
        "folders) and write one row per HDU to a catalog: Parquet (a dataset directory; "
        "the default), JSON Lines (.jsonl) or CSV (.csv), chosen by the output's suffix."
    )
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="object URL, prefix or folder")
    p.add_argument(
        "--from-file",
        action="append",
        default=[],
        metavar="FILE",
        dest="from_files",
        help="read more sources from FILE, one per line ('-' for standard input)",
    )
    p.add_argument("-o", "--output", required=True, type=Path, help="the catalog to write")
    p.add_argument(
        "--format",
        choices=("parquet", "jsonl", "csv"),
        help="catalog format (default: from the output's suffix; else Parquet)",
    )
    p.add_argument(
        "-k",
        "--keywords",
        default=None,
        metavar="K1,K2,...",
        help="keyword columns: a comma-separated list, 'all' (every keyword seen) or 'none' "
        "(default: BITPIX,NAXIS,NAXIS1,NAXIS2,OBJECT,DATE-OBS,EXPTIME)",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--resume",
        action="store_true",
        help="add to an existing catalog, skipping objects already in it",
    )
    mode.add_argument(
        "--retry-failed",
        action="store_true",
        help="re-run only the objects listed in the failure report",
    )
    mode.add_argument("--overwrite", action="store_true", help="replace an existing catalog")
    p.add_argument(
        "--batch-size",
        type=int,
        default=1000,
        metavar="N",
        help="objects per durable batch (default 1000)",
    )
    p.add_argument(
        "--flush-interval",
        type=float,
        default=30.0,
        metavar="S",
        help="write a batch at least every S seconds (default 30)",
    )
    p.add_argument(
        "--footprints",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="compute each image's sky footprint from its header's WCS (footprint_* columns, "
        "which 'find', 'cutout' and the web page's sky need), in batches in a worker process; "
        "about a tenth of the request rate on a scan bound by this machine's CPU "
        "(docs/answers.md); off by default",
    )
    p.add_argument(
        "--verify-data",
        action="store_true",
        help="also read every HDU's data to check DATASUM and CHECKSUM (checksum and datasum "
        "columns). This reads ALL the data, not just the headers; without it CHECKSUM is "
        "checked from the header and the stored DATASUM",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.add_argument(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="run the job on the Dask cluster at ADDRESS (e.g. tcp://host:8786); Parquet only",
    )
    p.add_argument(
        "--objects-per-task",
        type=int,
        default=1000,
        metavar="N",
        help="with --dask-scheduler: objects scanned by one task (default 1000)",
    )
    add_option_flags(p)
    p.set_defaults(run=run)


def job_from_args(args: argparse.Namespace) -> indexing.IndexJob:
    if not args.sources and not args.from_files and not args.retry_failed:
        raise ConfigurationError("give SOURCES, --from-file or --retry-failed")
    for name in args.from_files:
        if name != "-" and not os.path.isfile(name):
            raise ConfigurationError(f"--from-file {name}: no such file")
    if args.batch_size < 1 or args.flush_interval <= 0:
        raise ConfigurationError("--batch-size and --flush-interval must be positive")
    return indexing.IndexJob(
        output=args.output,
        sources=list(args.sources),
        from_files=list(args.from_files),
        keywords=normalize_keywords(args.keywords),
        options=options_from_args(args),
        format=args.format,
        resume=args.resume,
        retry_failed=args.retry_failed,
        overwrite=args.overwrite,
        batch_objects=args.batch_size,
        flush_seconds=args.flush_interval,
        footprints=args.footprints,
        verify_data=args.verify_data,
    )


async def _main(job: indexing.IndexJob, progress: Progress) -> indexing.IndexResult:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    if task is not None:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
    return await indexing.index(job, reporter=progress)


def run(args: argparse.Namespace) -> int:
    job = job_from_args(args)
    if args.retry_failed and args.sources:
        print(
            "note: --retry-failed re-runs the failure report; SOURCES are not read", file=sys.stderr
        )
    if args.dask_scheduler and args.objects_per_task < 1:
        raise ConfigurationError("--objects-per-task must be at least 1")
    if args.dask_scheduler and args.verify_data:
        raise ConfigurationError("--verify-data runs here only, not with --dask-scheduler")
    with Progress(enabled=Progress.wanted(args.no_progress)) as progress:
        if args.dask_scheduler:
            result = indexing.index_on_dask(
                job,
                args.dask_scheduler,
                objects_per_partition=args.objects_per_task,
                reporter=progress,
            )
        else:
            try:
                result = asyncio.run(_main(job, progress))
            except KeyboardInterrupt:
                print("interrupted", file=sys.stderr)
                return indexing.EXIT_INTERRUPTED
    result.report(sys.stderr)
    return result.exit_status
