"""Index a synthetic survey over HTTP and S3 with cloud-like latency: ours against the peers.

Strategy: write (once, into a cache folder) a survey of sparse files shaped like TESS full-frame
images, mosaic-camera exposures and small catalogues; serve it with nginx sleeping ``--delay``
seconds before every answer, and through SeaweedFS's S3 gateway behind the same kind of nginx
proxy; then, in one run and on the same files, read every header with

* this project's scan (default options, and with each of its switches ``predict_layout`` and
  ``multi_range`` flipped, when it has them),
* astropy + fsspec, ``fits.open(url, use_fsspec=True, lazy_load_hdus=True)``, sequentially and
  in thread pools (fsspec defaults, and a read size tuned to headers),
* a known-ranges ceiling: obstore fetching exactly the header ranges, known in advance, with
  as many requests in flight as our scan allows per host, and twice that.

Every peer runs in its own process (clean peak RSS and CPU time); requests and bytes are counted
by the server from its access log, per kind of object and per object (how many objects took one
request). The slow astropy runs read a prefix of the survey (``--astropy-limit``), which has the
same mix of kinds; rates are per object. The targets checked are issue #11's: ours at least
0.9x the ceiling and 20x astropy + fsspec at its best thread count, TESS-like objects in one
request of under 64 KiB once their layout is known, mosaics in 2.5 requests at most on average.

    python benchmarks/bench_scan.py --objects 2000 --delay 0.025
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import benchlib
from benchlib.backends import start_http, start_s3
from benchlib.measure import PeerResult, run_peer, write_objects
from benchlib.report import machine, machine_line, peer_table, save_json
from benchlib.survey import DEFAULT_MIX, KINDS, SurveyObject, ensure_survey, parse_mix, plan_survey

TESS_MAX_BYTES = 64 * 1024
MOSAIC_MAX_REQUESTS = 2.5
ASTROPY_TARGET = 20.0
CEILING_TARGET = 0.90
OURS = "ours (default options)"
PREFIX = "ours, first"
SWITCHES = ("predict_layout", "multi_range")
"""Switches of the scan run flipped too (those the scan has), to show what each one brings."""


def switch_options() -> list[tuple[str, object]]:
    """The names and defaults of the scan's switches in :data:`SWITCHES` that it has."""
    from astro_cloud_async import Options

    fields = {f.name: f.default for f in dataclasses.fields(Options)}
    return [(name, fields[name]) for name in SWITCHES if name in fields]


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--objects", type=int, default=2000, help="objects in the survey")
    p.add_argument("--delay", type=float, default=0.025, help="server delay per request, s")
    p.add_argument(
        "--mix",
        type=parse_mix,
        default=dict(DEFAULT_MIX),
        help="kinds and weights, e.g. tess=0.88,mosaic=0.02,table=0.1",
    )
    p.add_argument("--backends", default="http,s3", help="http, s3 or both")
    p.add_argument("--cache", type=Path, default=benchlib.DEFAULT_CACHE)
    p.add_argument("--threads", type=_ints, default=[1, 8, 32], help="astropy thread counts")
    p.add_argument(
        "--astropy-limit",
        type=int,
        default=400,
        help="objects per threaded astropy run (a prefix of the survey)",
    )
    p.add_argument(
        "--astropy-seq-limit", type=int, default=60, help="objects for the sequential astropy run"
    )
    p.add_argument(
        "--tuned-block",
        type=int,
        default=10 * 2880,
        help="fsspec block_size of the tuned astropy runs (0: skip them)",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="requests in flight for ours (and its per-host bound) and the ceiling; "
        "default: our defaults, the ceiling at our per-host bound",
    )
    p.add_argument(
        "--ceiling-concurrency",
        type=_ints,
        default=None,
        help="requests in flight of the known-ranges ceiling, one run each (e.g. 64,128); "
        "default: --concurrency, else where our per-host limit starts, twice that, and the "
        "most it may grow to",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of ours and of the ceiling; the fastest of each is reported",
    )
    p.add_argument("--skip", default="", help="peers to leave out: ours,astropy,tuned,ceiling")
    p.add_argument("--jobs", type=int, default=None, help="processes writing the survey")
    p.add_argument("--out", type=Path, default=benchlib.OUT_DIR / "bench_scan.json")
    return p.parse_args(argv)


def _ours_options(args: argparse.Namespace) -> dict[str, Any]:
    if args.concurrency is None:
        return {}
    return {"concurrency": args.concurrency, "connections_per_host": args.concurrency}


def _ceiling_concurrency(args: argparse.Namespace) -> list[int]:
    if args.ceiling_concurrency:
        return list(args.ceiling_concurrency)
    if args.concurrency is not None:
        return [int(args.concurrency)]
    from astro_cloud_async import Options

    start, ceiling = Options().host_limits
    return sorted({start, 2 * start, ceiling})


def _best(results: list[PeerResult]) -> PeerResult:
    return max(results, key=lambda r: r.rate)


def run_backend(
    backend: str,
    args: argparse.Namespace,
    objects: list[SurveyObject],
    objects_file: Path,
) -> list[PeerResult]:
    """Start the servers of ``backend``, run every peer against them, stop the servers."""
    skip = set(args.skip.split(","))
    if backend == "http":
        server = start_http(args.cache / "files", args.delay)
        base_url, log_server, pids, stop = server.base_url, server, [server.pid], server.stop
    else:
        s3 = start_s3(args.cache, objects, args.delay)
        base_url, log_server, pids, stop = s3.endpoint, s3.proxy, list(s3.pids), s3.stop
    results: list[PeerResult] = []

    def run(label: str, peer: str, limit: int | None = None, **spec: Any) -> PeerResult:
        subset = objects[:limit] if limit else objects
        spec.update(
            peer=peer,
            backend=backend,
            base_url=base_url,
            objects_file=str(objects_file),
            limit=limit,
        )
        began = time.monotonic()
        result = run_peer(label, spec, objects=subset, log_server=log_server, server_pids=pids)
        note = f"  {label}: {result.rate:,.1f} objects/s, {result.objects} objects"
        note += f" in {time.monotonic() - began:.1f} s"
        if result.extra.get("highest_limit"):
            note += f"; per-host limit grew to {result.extra['highest_limit']}"
        if result.failed or result.wrong_hdus:
            note += f"  FAILED {result.failed}, wrong HDU counts {result.wrong_hdus}"
            note += "".join(f"\n    {e}" for e in result.errors[:3])
        print(note, flush=True)
        return result

    try:
        ceilings = _ceiling_concurrency(args)
        ours = _ours_options(args)
        # Warm the server's caches (page cache, SeaweedFS metadata) before anything is timed.
        run("warm-up (not reported)", "ceiling", concurrency=ceilings[0])
        variants: list[tuple[str, dict[str, Any]]] = [(OURS, ours)]
        for name, default in switch_options():
            variants.append((f"ours ({name}={not default})", {**ours, name: not default}))
        # Ours also on the objects the threaded astropy runs read, for a like-for-like ratio.
        prefix = min(args.astropy_limit, len(objects))
        with_astropy = not {"astropy", "tuned"} <= skip and prefix < len(objects)
        rounds: dict[str, list[PeerResult]] = {}
        for _ in range(max(1, args.repeat)):
            if "ours" not in skip:
                for label, options in variants:
                    rounds.setdefault(label, []).append(run(label, "ours", options=options))
                if with_astropy:
                    label = f"{PREFIX} {prefix} objects (default options)"
                    rounds.setdefault(label, []).append(run(label, "ours", prefix, options=ours))
            if "ceiling" not in skip:
                for concurrency in ceilings:
                    label = f"known-ranges ceiling (obstore, {concurrency} in flight)"
                    result = run(label, "ceiling", concurrency=concurrency)
                    rounds.setdefault(label, []).append(result)
        results.extend(_best(rs) for rs in rounds.values())
        astropy_runs: list[tuple[str, dict[str, Any]]] = []
        if "astropy" not in skip:
            astropy_runs.append(("astropy+fsspec", {}))
        if "tuned" not in skip and args.tuned_block > 0:
            astropy_runs.append(
                (f"astropy+fsspec block_size={args.tuned_block}", {"block_size": args.tuned_block})
            )
        for name, fsspec in astropy_runs:
            for threads in args.threads:
                limit = args.astropy_seq_limit if threads <= 1 else args.astropy_limit
                limit = min(limit, len(objects))
                label = f"{name}, {threads} thread{'s' if threads > 1 else ''}"
                results.append(run(label, "astropy", limit, threads=threads, fsspec=fsspec))
    finally:
        stop()
    return results


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def summary(results: list[PeerResult]) -> tuple[list[str], dict[str, Any]]:
    """Ratios against the peers and the targets, as text lines and as numbers."""
    lines: list[str] = []
    figures: dict[str, Any] = {}
    ours = next((r for r in results if r.label == OURS), None)
    if ours is None:
        return lines, figures
    ceilings = [r for r in results if r.label.startswith("known-ranges")]
    plain = [r for r in results if r.label.startswith("astropy+fsspec,")]
    tuned = [r for r in results if r.label.startswith("astropy+fsspec block_size")]
    same = next((r for r in results if r.label.startswith(PREFIX)), None)
    for key, peers, target in (("astropy", plain, ASTROPY_TARGET), ("astropy_tuned", tuned, None)):
        if not peers:
            continue
        best = _best(peers)
        x = _ratio(ours.rate, best.rate)
        figures[f"ours_over_{key}_best"] = x
        text = f"ours / {best.label} (the best thread count): {x:,.1f}x"
        if same is not None and same.objects == best.objects:
            y = _ratio(same.rate, best.rate)
            figures[f"ours_over_{key}_best_same_objects"] = y
            text += f" (full survey); {y:,.1f}x on the same {same.objects} objects"
        if target is not None:
            worst = min(x, figures.get(f"ours_over_{key}_best_same_objects", x))
            text += f" ({'meets' if worst >= target else 'misses'} the {target:g}x target)"
        lines.append(text)
    for ceiling in ceilings:
        x = _ratio(ours.rate, ceiling.rate)
        figures[f"ours_over_{ceiling.label}"] = x
        verdict = "meets" if x >= CEILING_TARGET else "misses"
        lines.append(
            f"ours / {ceiling.label}: {x:.2f}x ({verdict} the {CEILING_TARGET:.2f}x target); "
            f"client CPU per object {1e3 * ours.cpu_s / ours.objects:.2f} ms against "
            f"{1e3 * ceiling.cpu_s / ceiling.objects:.2f} ms"
        )
    for r in results:
        if not r.label.startswith("ours"):
            continue
        tess = r.names.get("tess", [])
        if tess:
            req, size = r.per_object("tess")
            one, one_bytes = r.server.objects_taking(tess, 1)
            ok = one_bytes < TESS_MAX_BYTES and one > 0
            lines.append(
                f"{r.label}: TESS-like {req:.2f} requests and {size / 1024:.1f} KiB per object "
                f"on average; {one} of {len(tess)} took one request, {one_bytes / 1024:.1f} KiB "
                f"each (target 1 and < 64 KiB once predicted: {'met' if ok else 'missed'})"
            )
            figures[f"{r.label} tess_requests"] = req
            figures[f"{r.label} tess_bytes"] = size
            figures[f"{r.label} tess_one_request_objects"] = one
        if r.kinds.get("mosaic"):
            req, size = r.per_object("mosaic")
            ok = req <= MOSAIC_MAX_REQUESTS
            lines.append(
                f"{r.label}: mosaic {req:.2f} requests and {size / 1024:,.1f} KiB per object "
                f"over {r.kinds['mosaic']} (target <= {MOSAIC_MAX_REQUESTS}: "
                f"{'met' if ok else 'missed'})"
            )
            figures[f"{r.label} mosaic_requests"] = req
    return lines, figures


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine()
    print(f"machine: {machine_line(info)}", flush=True)
    plan = plan_survey(args.objects, args.mix)
    objects = ensure_survey(args.cache, plan, jobs=args.jobs)
    kinds = {k: sum(1 for o in objects if o.kind == k) for k in KINDS}
    apparent = sum(o.size for o in objects)
    print(
        f"survey: {args.objects} objects {kinds}, {apparent / 1e9:.1f} GB apparent, "
        f"{sum(len(o.hdus) for o in objects)} HDUs; delay {args.delay * 1e3:g} ms",
        flush=True,
    )
    objects_file = write_objects(benchlib.OUT_DIR / f"objects-{args.objects}.json", objects)
    payload: dict[str, Any] = {
        "machine": info,
        "objects": args.objects,
        "delay": args.delay,
        "mix": args.mix,
        "kinds": kinds,
        "backends": {},
    }
    report: list[str] = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        print(f"[{backend}]", flush=True)
        results = run_backend(backend, args, objects, objects_file)
        lines, figures = summary(results)
        table = peer_table(results, KINDS)
        report += [
            f"\n### {backend} ({args.objects} objects, delay {args.delay * 1e3:g} ms)\n",
            table,
            "",
            *[f"- {line}" for line in lines],
        ]
        payload["backends"][backend] = {
            "results": [r.as_dict() for r in results],
            "figures": figures,
        }
    info_end = machine()
    payload["load_average_end"] = info_end["load_average"]
    print("\n".join(report))
    print(
        f"\nmachine: {machine_line(info)}; load average at the end "
        f"{' / '.join(str(x) for x in info_end['load_average'])}"
    )
    save_json(args.out, payload)
    md = args.out.with_suffix(".md")
    md.write_text(f"machine: {machine_line(info)}\n" + "\n".join(report) + "\n")
    print(f"saved {args.out} and {md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
