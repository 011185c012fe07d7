"""Peak memory of a scan against the number of objects: 2,000 against 20,000 TESS-like frames.

Strategy: a scan should stream. Sources are pulled lazily, at most ``max_objects_in_flight``
objects are walked at once, and records are handed on as objects complete, so a consumer that
keeps nothing should see the same peak RSS whatever the number of objects. Each size is scanned
in a fresh process (peak RSS from ``VmHWM``), reading its URLs lazily from a file and counting
records only, so nothing in the harness grows with the survey either; the files are served by
the same delaying nginx as in ``bench_scan.py`` (or read locally with ``--backend local``).
The figure of merit is the ratio of the peak RSS of the largest size to that of the smallest.

    python benchmarks/bench_memory.py --sizes 2000,20000 --delay 0.025
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import benchlib
from benchlib.backends import start_http
from benchlib.measure import PeerResult, run_peer
from benchlib.report import MiB, machine, machine_line, save_json
from benchlib.survey import ensure_survey, plan_survey

TARGET = 1.5


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="2000,20000", help="numbers of TESS-like objects")
    p.add_argument("--delay", type=float, default=0.025, help="server delay per request, s")
    p.add_argument("--backend", choices=("http", "local"), default="http")
    p.add_argument("--cache", type=Path, default=benchlib.DEFAULT_CACHE)
    p.add_argument("--jobs", type=int, default=None, help="processes writing the survey")
    p.add_argument("--out", type=Path, default=benchlib.OUT_DIR / "bench_memory.json")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sorted(int(x) for x in args.sizes.split(","))
    info = machine()
    print(f"machine: {machine_line(info)}", flush=True)
    objects = ensure_survey(args.cache, plan_survey(sizes[-1], {"tess": 1.0}), jobs=args.jobs)
    files = args.cache / "files"
    server = start_http(files, args.delay) if args.backend == "http" else None
    results: list[PeerResult] = []
    try:
        for n in sizes:
            urls_file = benchlib.OUT_DIR / f"urls-{args.backend}-{n}.txt"
            with open(urls_file, "w") as f:
                for o in objects[:n]:
                    url = server.url(o.name) if server else str(files / o.name)
                    f.write(url + "\n")
            spec: dict[str, Any] = {
                "peer": "ours-stream",
                "backend": args.backend,
                "urls_file": str(urls_file),
                "count": n,
            }
            pids = [server.pid] if server is not None else []
            result = run_peer(
                f"ours, {n} objects", spec, objects=objects[:n], log_server=server, server_pids=pids
            )
            results.append(result)
            print(
                f"  {n} objects: peak RSS {result.rss_peak / MiB:.1f} MiB (after imports "
                f"{result.rss_start / MiB:.1f} MiB), {result.rate:,.0f} objects/s, "
                f"failed {result.failed + result.wrong_hdus}",
                flush=True,
            )
    finally:
        if server is not None:
            server.stop()
    small, large = results[0], results[-1]
    ratio = large.rss_peak / small.rss_peak
    growth = (large.rss_peak - large.rss_start) / max(small.rss_peak - small.rss_start, 1)
    rows = [
        "| objects | objects/s | peak RSS MiB | RSS after imports MiB | peak - imports MiB "
        "| client CPU s | failed |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rows.append(
            f"| {r.objects:,} | {r.rate:,.0f} | {r.rss_peak / MiB:.1f} | {r.rss_start / MiB:.1f} "
            f"| {(r.rss_peak - r.rss_start) / MiB:.1f} | {r.cpu_s:.1f} "
            f"| {r.failed + r.wrong_hdus} |"
        )
    verdict = "meets" if ratio <= TARGET else "misses"
    lines = [
        f"peak RSS {large.objects:,} / {small.objects:,} objects: {ratio:.2f}x "
        f"({verdict} the <= {TARGET}x target); above the post-import baseline: {growth:.2f}x",
    ]
    delay = f"delay {args.delay * 1e3:g} ms" if args.backend == "http" else "local files"
    text = "\n".join([f"### memory ({args.backend}, {delay})\n", *rows, "", *lines])
    print(text)
    print(f"machine: {machine_line(info)}")
    save_json(
        args.out,
        {
            "machine": info,
            "backend": args.backend,
            "delay": args.delay,
            "results": [r.as_dict() for r in results],
            "ratio": ratio,
            "growth_ratio": growth,
        },
    )
    args.out.with_suffix(".md").write_text(f"machine: {machine_line(info)}\n{text}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
