"""Where our scan spends its CPU: a sampling profile of one run, summarised by function.

Strategy: run our scan exactly as ``bench_scan.py`` does (a child process against the delaying
nginx, or SeaweedFS behind it) under a sampling profiler. py-spy (the default) samples only
threads that are running, so its counts are CPU time, and it costs the profiled process almost
nothing; its raw stacks are kept to those under the timed scan (imports and set-up dropped) and
ranked by self time, by inclusive time and by package. pyinstrument (``--tool pyinstrument``)
gives a wall-clock call tree instead, saved as text and HTML.

    python benchmarks/profile_scan.py --objects 2000 --mix tess=1 --delay 0.025
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import benchlib
from benchlib.backends import start_http, start_s3
from benchlib.measure import run_peer, write_objects
from benchlib.report import machine, machine_line
from benchlib.survey import DEFAULT_MIX, ensure_survey, parse_mix, plan_survey

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")
_MARKER = "run_ours ("  # the timed part of benchlib.child


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--objects", type=int, default=2000)
    p.add_argument("--mix", type=parse_mix, default=dict(DEFAULT_MIX))
    p.add_argument("--delay", type=float, default=0.025, help="server delay per request, s")
    p.add_argument("--backend", choices=("http", "s3"), default="http")
    p.add_argument("--tool", choices=("py-spy", "pyinstrument"), default="py-spy")
    p.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    p.add_argument("--top", type=int, default=25, help="rows in each ranking")
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an option of the scan (JSON value), e.g. concurrency=128",
    )
    p.add_argument("--cache", type=Path, default=benchlib.DEFAULT_CACHE)
    p.add_argument("--out", type=Path, default=benchlib.OUT_DIR / "profile")
    return p.parse_args(argv)


def _short(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3", "astro_cloud_async/"):
        if marker in path:
            tail = path.split(marker, 1)[1]
            if marker == "/lib/python3":
                tail = tail.split("/", 1)[1] if "/" in tail else tail
            return ("astro_cloud_async/" + tail) if marker == "astro_cloud_async/" else tail
    return path


def _package(path: str) -> str:
    """``astro_cloud_async/fits``, ``aiohttp``, ``asyncio``...: where a frame's code lives."""
    short = _short(path)
    parts = short.split("/")
    if parts[0] == "astro_cloud_async" and len(parts) > 2:
        return "/".join(parts[:2])
    if len(parts) > 1:
        return parts[0]
    return short.removesuffix(".py")


def summarise_raw(lines: Iterable[str], top: int) -> dict[str, Any]:
    """Rank the functions of py-spy raw stacks (``f1 (file:line);f2 (...) count``)."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count_text = line.rstrip("\n").rpartition(" ")
        if not stack or _MARKER not in stack:
            continue
        count = int(count_text)
        frames = []
        for frame in stack.split(";"):
            m = _FRAME.match(frame)
            func, path = (m["func"], m["file"]) if m else (frame, "?")
            frames.append((f"{func} ({_short(path)})", _package(path)))
        total += count
        self_time[frames[-1][0]] += count
        packages[frames[-1][1]] += count
        for name, package in set(frames):
            inclusive[name] += count
            if package.startswith("astro_cloud_async"):
                ours[name] += count

    def ranked(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, n / total) for name, n in counter.most_common(top)] if total else []

    return {
        "samples": total,
        "self": ranked(self_time),
        "inclusive": ranked(inclusive),
        "ours": ranked(ours),
        "packages": ranked(packages),
    }


def _table(title: str, rows: list[tuple[str, float]]) -> str:
    out = [f"#### {title}\n", "| share of CPU samples | function (file) |", "|---|---|"]
    out += [f"| {share:.1%} | `{name}` |" for name, share in rows]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine()
    print(f"machine: {machine_line(info)}", flush=True)
    options = {}
    for item in args.option:
        name, _, value = item.partition("=")
        options[name] = json.loads(value)
    objects = ensure_survey(args.cache, plan_survey(args.objects, args.mix))
    objects_file = write_objects(benchlib.OUT_DIR / f"objects-{args.objects}.json", objects)
    args.out.mkdir(parents=True, exist_ok=True)
    mix = "-".join(f"{kind}{round(100 * weight)}" for kind, weight in args.mix.items())
    stem = args.out / f"{args.backend}-{args.objects}-{mix}-{args.tool}"
    if args.backend == "http":
        server = start_http(args.cache / "files", args.delay)
        base_url, log_server, pids, stop = server.base_url, server, [server.pid], server.stop
    else:
        s3 = start_s3(args.cache, objects, args.delay)
        base_url, log_server, pids, stop = s3.endpoint, s3.proxy, list(s3.pids), s3.stop
    spec: dict[str, Any] = {
        "peer": "ours",
        "backend": args.backend,
        "base_url": base_url,
        "objects_file": str(objects_file),
        "options": options,
    }
    wrapper: list[str] = []
    raw = stem.with_suffix(".raw.txt")
    if args.tool == "pyinstrument":
        spec.update(profile="pyinstrument", profile_out=str(stem))
    else:
        py_spy = shutil.which("py-spy")
        if py_spy is None:
            raise SystemExit("py-spy is not installed: pip install py-spy")
        wrapper = [py_spy, "record", "--format", "raw", "--rate", str(args.rate)]
        wrapper += ["--output", str(raw), "--"]
    try:
        result = run_peer(
            "ours", spec, objects=objects, log_server=log_server, server_pids=pids, wrapper=wrapper
        )
    finally:
        stop()
    print(
        f"{result.objects} objects at {result.rate:,.1f} objects/s; client CPU "
        f"{result.cpu_s:.2f} s ({1e3 * result.cpu_s / result.objects:.2f} ms/object), "
        f"{result.server.total_requests} requests (profiler overhead included)"
    )
    if args.tool == "pyinstrument":
        print(f"call tree: {stem.with_suffix('.txt')} and {stem.with_suffix('.html')}")
        return 0
    with open(raw) as f:
        summary = summarise_raw(f, args.top)
    text = "\n\n".join(
        [
            f"### profile: {args.backend}, {args.objects} objects, delay {args.delay * 1e3:g} ms "
            f"({summary['samples']} CPU samples under the scan)",
            _table("self time by package", summary["packages"]),
            _table("self time by function", summary["self"]),
            _table("inclusive time by function", summary["inclusive"]),
            _table("inclusive time of this project's functions", summary["ours"]),
        ]
    )
    print(text)
    stem.with_suffix(".md").write_text(f"machine: {machine_line(info)}\n\n{text}\n")
    print(f"saved {stem.with_suffix('.md')} and the raw stacks in {raw}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
