"""Run one index job in this process and print what it did as one JSON line.

``python -m benchlib.index_run SPEC.json`` (from ``benchmarks/``), where the spec holds the
URLs file, the output path, ``footprints`` and the concurrency; ``"inline": true`` computes the
footprint batches in this process, on the event loop, instead of in the worker process (to
compare the two placements). Each run is a fresh interpreter,
as a run of the command line is: the footprint workers start with the run and their start is
part of its cost. Measured: the run's own elapsed time and requests (``IndexResult``), this
process's CPU (all threads) and the CPU of its worker processes, which are waited for after the
run (they exit when the run shuts its pool down).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import resource
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

from . import REPO  # noqa: F401  (puts the package on sys.path)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class _Inline(Executor):
    """Runs each call at once, in the caller's thread: the footprint batches on the loop."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def main(argv: list[str]) -> int:
    from astro_cloud_async.indexing import IndexJob, enrich, index
    from astro_cloud_async.options import Options

    spec = json.loads(Path(argv[0]).read_text())
    if spec.get("inline"):
        given = enrich.Enrichment.__init__

        def inline(self: enrich.Enrichment, *args: Any, **kwargs: Any) -> None:
            given(self, *args, **{**kwargs, "executor": _Inline()})

        enrich.Enrichment.__init__ = inline  # type: ignore[method-assign]
    job = IndexJob(
        output=Path(spec["output"]),
        from_files=[spec["urls_file"]],
        footprints=bool(spec["footprints"]),
        overwrite=True,
        options=Options(concurrency=int(spec.get("concurrency", 64))),
    )
    cpu0 = time.process_time()
    result = asyncio.run(index(job))
    cpu = time.process_time() - cpu0
    deadline = time.monotonic() + 10
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.01)  # the pool's workers, exiting: their CPU counts once they are reaped
    counts = result.counts
    print(
        json.dumps(
            {
                "seconds": result.elapsed,
                "requests": counts.requests,
                "rate": counts.requests / result.elapsed,
                "objects": counts.objects,
                "hdus": counts.hdus,
                "failed": counts.failed,
                "cpu_s": cpu,
                "worker_cpu_s": _children_cpu(),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
