"""Footprints, find and cutouts: what they cost, each against a peer measured in the same run.

Run by hand: ``python benchmarks/bench_answers.py [footprints] [find] [cutout]`` (all three by
default). Options: ``--objects`` (TESS-like frames indexed for the rate test, default 1,200),
``--delay`` (seconds nginx waits before each answer, default 0.025), ``--repeat`` (rate runs
of each kind, default 5), ``--inline`` (also index with the footprint batches computed on the
event loop), ``--rows`` (rows of the find catalog, default 1,000,000).

* **footprints.** The CPU cost of one footprint, per image HDU, for a TESS-like header (TAN-SIP,
  about 200 cards) and a mosaic CCD header (TAN), one header at a time, against building the WCS
  from the whole header (the peer: ``WCS(header)`` then ``calc_footprint``). Then where the CPU
  of a batched footprint goes, per image HDU of the frames indexed next: the loop's share
  (taking the WCS cards, pickling a batch, unpickling its columns) against computing a batch
  (in the worker, or on the loop). Then the request rate of index runs over nginx (with
  ``--delay`` per request): footprints off (the peer), on, and with ``--inline`` on with the
  batches computed on the loop. Each run is a fresh interpreter (``benchlib/index_run.py``),
  as a command-line run is, so the worker's start is part of its cost; the kinds take turns,
  the order rotating every round; rates are compared by their medians, and the CPU of the
  run's process and of its worker are reported with them.
* **find.** A synthetic Parquet catalog of ``--rows`` image HDUs (random TAN fields of 0.2 deg
  all over the sky, a one-block header text each, parts of 2,000 rows as ``index`` writes them);
  ``find`` for 20 positions against the peer: one pyarrow dataset scan of every column but the
  header with the declination filter, then the same polygon test.
* **cutout.** 64 x 64 cutouts from a TESS-like frame (2136 x 2078 float32) served by nginx:
  bytes sent per cutout (nginx's access log) against the image's bytes, with the default gap
  (rows closer than 64 KiB fetched as one range) and with ``gap=0`` (one range per row).

Figures go to stdout as Markdown and to ``benchmarks/out/bench_answers.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from servers import start_nginx  # noqa: E402

from astro_cloud_async import Client, read_headers  # noqa: E402
from astro_cloud_async.demo.survey import (  # noqa: E402
    tess_ffi_name,
    write_mosaic_like,
    write_tess_ffi_like,
)
from astro_cloud_async.indexing.enrich import BATCH_HDUS  # noqa: E402

OUT = HERE / "out"


def _best(times: list[float]) -> float:
    return min(times)


# --- footprints ------------------------------------------------------------------------------


def footprint_cost(folder: Path, n: int = 300) -> dict[str, Any]:
    from astropy.wcs import WCS

    from astro_cloud_async.sky.footprints import footprint_columns

    tess = write_tess_ffi_like(folder / "cost-tess.fits")
    mosaic = write_mosaic_like(folder / "cost-mosaic.fits", n_ccds=2)
    out: dict[str, Any] = {}
    for label, path in (("tess (TAN-SIP)", tess), ("mosaic CCD (TAN)", mosaic)):
        record = read_headers(str(path))[1]
        ours, peer = [], []
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(n):
                footprint_columns(record.header)
            ours.append((time.perf_counter() - t) / n)
            text = record.header.raw.decode("latin-1")
            t = time.perf_counter()
            for _ in range(n):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    WCS(text).calc_footprint(center=False)
            peer.append((time.perf_counter() - t) / n)
        out[label] = {
            "cards": len(record.header.cards),
            "ours_ms": _best(ours) * 1e3,
            "whole_header_ms": _best(peer) * 1e3,
        }
    return out


def batch_cost(frames: Path, names: list[str], batch: int = BATCH_HDUS) -> dict[str, Any]:
    """Where a batched footprint's CPU goes, per image HDU of the TESS-like frames: the loop's
    share (taking each header's WCS cards, pickling a batch, unpickling its columns) against
    computing a batch (reading the values, projecting, the JSON corners), which runs in the
    worker, or on the loop if that were cheaper; and the one-header path for comparison."""
    import pickle

    from astro_cloud_async.sky.footprints import (
        footprint_columns,
        footprint_columns_of_jobs,
        footprint_job,
    )

    headers = [r.header for n in names for r in read_headers(str(frames / n))[1:]]

    def per_hdu(step: Any) -> float:
        t = time.process_time()
        step()
        return (time.process_time() - t) / len(headers) * 1e6

    groups = [headers[i : i + batch] for i in range(0, len(headers), batch)]
    cards = per_hdu(lambda: [footprint_job(h) for h in headers])
    jobs = [[footprint_job(h) for h in group] for group in groups]
    computed = per_hdu(lambda: [footprint_columns_of_jobs(j) for j in jobs])
    sent = [pickle.dumps(j) for j in jobs]
    back = [pickle.dumps(footprint_columns_of_jobs(j)) for j in jobs]
    ipc = per_hdu(lambda: ([pickle.dumps(j) for j in jobs], [pickle.loads(b) for b in back]))
    one = per_hdu(lambda: [footprint_columns(h) for h in headers])
    return {
        "hdus": len(headers),
        "batch": batch,
        "loop_cards_us": cards,
        "loop_pickle_us": ipc,
        "batch_compute_us": computed,
        "one_header_us": one,
        "bytes_sent_per_hdu": sum(map(len, sent)) / len(headers),
    }


KINDS = {"off": {"footprints": False}, "on": {"footprints": True}}
INLINE = {"inline": {"footprints": True, "inline": True}}
"""Index runs compared: without footprints (the peer), with them (batches in the worker
process), and with ``--inline`` the batches computed on the event loop instead."""


def _index_once(urls_file: Path, output: Path, settings: dict[str, Any]) -> dict[str, Any]:
    """One index run in a fresh interpreter (``benchlib.index_run``), as the command line
    runs: its footprint worker starts with it."""
    spec = output.with_suffix(".spec.json")
    spec.write_text(json.dumps({"urls_file": str(urls_file), "output": str(output), **settings}))
    done = subprocess.run(
        [sys.executable, "-m", "benchlib.index_run", str(spec)],
        cwd=HERE,
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    run: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert run["failed"] == 0, run
    return run


def _frames(folder: Path, objects: int) -> list[str]:
    folder.mkdir(exist_ok=True)
    names = []
    for i in range(objects):
        seed, sector, camera, ccd = i // 16, 1 + i // 16, 1 + (i // 4) % 4, 1 + i % 4
        name = tess_ffi_name(seed=seed, sector=sector, camera=camera, ccd=ccd)
        if not (folder / name).exists():
            write_tess_ffi_like(folder / name, seed=seed, sector=sector, camera=camera, ccd=ccd)
        names.append(name)
    return names


def request_rate(
    folder: Path, objects: int, delay: float, repeat: int, inline: bool = False
) -> dict[str, Any]:
    """Index runs of each kind in turn, the order rotated every round so that no kind always
    runs first; rates compared by their medians."""
    frames = folder / "frames"
    names = _frames(frames, objects)
    kinds = {**KINDS, **(INLINE if inline else {})}
    server = start_nginx(frames, delay=delay or None)
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
    try:
        urls_file = folder / f"rate-urls-{objects}.txt"
        urls_file.write_text("".join(server.url(n) + "\n" for n in names))
        order = list(kinds)
        for r in range(repeat):
            for kind in order[r % len(order) :] + order[: r % len(order)]:
                out = folder / f"rate-{kind}.jsonl"
                runs[kind].append(_index_once(urls_file, out, {**kinds[kind], "concurrency": 64}))
    finally:
        server.stop()
    median = {k: statistics.median(r["rate"] for r in v) for k, v in runs.items()}
    return {
        "objects": objects,
        "load_average": os.getloadavg(),
        "runs": runs,
        "median_rate": median,
        "over_off": {k: median[k] / median["off"] for k in kinds if k != "off"},
        "cpu_s": {k: statistics.median(r["cpu_s"] for r in v) for k, v in runs.items()},
        "worker_cpu_s": {
            k: statistics.median(r["worker_cpu_s"] for r in v) for k, v in runs.items()
        },
    }


# --- find ------------------------------------------------------------------------------------


def _corners(ra: Any, dec: Any, rotation: Any, half: float) -> Any:
    """Corners of square TAN fields (half-width ``half`` degrees), vectorised: (n, 4, 2)."""
    offsets = np.array([[-1, -1], [-1, 1], [1, 1], [1, -1]], dtype=float) * np.radians(half)
    c, s = np.cos(rotation)[:, None], np.sin(rotation)[:, None]
    xi = offsets[None, :, 0] * c - offsets[None, :, 1] * s
    eta = offsets[None, :, 0] * s + offsets[None, :, 1] * c
    a0, d0 = np.radians(ra)[:, None], np.radians(dec)[:, None]
    denominator = np.cos(d0) - eta * np.sin(d0)
    alpha = a0 + np.arctan2(xi, denominator)
    delta = np.arctan2(np.sin(d0) + eta * np.cos(d0), np.hypot(xi, denominator))
    return np.stack([np.degrees(alpha) % 360, np.degrees(delta)], axis=-1)


def write_find_catalog(path: Path, rows: int, part_rows: int = 2000) -> float:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from astro_cloud_async.catalog.files import part_name
    from astro_cloud_async.catalog.tables import arrow_schema

    schema = arrow_schema({}, final=True)
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    half = 0.1
    radius = float(np.degrees(np.arctan(np.sqrt(2) * np.tan(np.radians(half)))))
    start = time.perf_counter()
    for part, first in enumerate(range(0, rows, part_rows)):
        n = min(part_rows, rows - first)
        ra = rng.uniform(0, 360, n)
        dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
        corners = _corners(ra, dec, rng.uniform(0, np.pi, n), half)
        headers = [
            (
                "XTENSION= 'IMAGE   '".ljust(80)
                + f"CRVAL1  = {r:20.10f}".ljust(80)
                + f"CRVAL2  = {d:20.10f}".ljust(80)
                + "COMMENT filler".ljust(80) * 32
                + "END".ljust(80)
            )
            for r, d in zip(ra, dec, strict=True)
        ]
        columns: dict[str, Any] = {
            "url": [f"s3://survey/frames/{first + i:08d}.fits" for i in range(n)],
            "hdu": np.ones(n, dtype=np.int64),
            "n_hdus": np.full(n, 2, dtype=np.int64),
            "extname": ["SCI"] * n,
            "xtension": ["IMAGE"] * n,
            "header_offset": np.full(n, 2880, dtype=np.int64),
            "data_offset": np.full(n, 5760, dtype=np.int64),
            "data_size": np.full(n, 2048 * 2048 * 4, dtype=np.int64),
            "truncated": np.zeros(n, dtype=bool),
            "object_size": np.full(n, 5760 + 2048 * 2048 * 4, dtype=np.int64),
            "footprint_ra": ra,
            "footprint_dec": dec,
            "footprint_radius": np.full(n, radius),
            "footprint": [json.dumps(c.tolist()) for c in corners],
            "checksum": ["ok"] * n,
            "header": headers,
        }
        arrays = [
            pa.array(columns[f.name], type=f.type)
            if f.name in columns
            else pa.nulls(n, type=f.type)
            for f in schema
        ]
        pq.write_table(
            pa.Table.from_arrays(arrays, schema=schema),
            path / part_name(1, part),
            compression="zstd",
        )
    return time.perf_counter() - start


def _peer_find(path: Path, ra: float, dec: float) -> int:
    """One pass: every column but the header through a pyarrow dataset filter, then the same
    polygon test (what a user would write with pyarrow alone)."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from astro_cloud_async.sky.sphere import contains, separation, unit_vectors

    dataset = ds.dataset(str(path), format="parquet")
    names = [n for n in dataset.schema.names if n != "header"]
    band = pc.abs(pc.subtract(ds.field("footprint_dec"), dec)) <= ds.field("footprint_radius")
    table = dataset.to_table(columns=names, filter=band)
    if len(table) == 0:
        return 0
    fra = table.column("footprint_ra").to_numpy()
    fdec = table.column("footprint_dec").to_numpy()
    near = separation(ra, dec, fra, fdec) <= table.column("footprint_radius").to_numpy()
    table = table.filter(near)
    if len(table) == 0:
        return 0
    corners = np.array([json.loads(t) for t in table.column("footprint").to_pylist()])
    inside = contains(
        unit_vectors(corners[..., 0], corners[..., 1]),
        unit_vectors(
            table.column("footprint_ra").to_numpy(), table.column("footprint_dec").to_numpy()
        ),
        unit_vectors(ra, dec),
    )
    return int(inside.sum())


def find_speed(folder: Path, rows: int) -> dict[str, Any]:
    from astro_cloud_async.sky import find

    path = folder / f"find-{rows}.parquet"
    written = None
    if not path.exists():
        written = write_find_catalog(path, rows)
    size = sum(p.stat().st_size for p in path.glob("*.parquet"))
    rng = np.random.default_rng(7)
    positions = [
        (float(rng.uniform(0, 360)), float(np.degrees(np.arcsin(rng.uniform(-1, 1)))))
        for _ in range(20)
    ]
    ours, peer, hits = [], [], []
    for ra, dec in positions:
        t = time.perf_counter()
        found = find(path, ra, dec)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        peer_hits = _peer_find(path, ra, dec)
        peer.append(time.perf_counter() - t)
        assert peer_hits == len(found), (ra, dec)
        hits.append(len(found))
    return {
        "rows": rows,
        "catalog_bytes": size,
        "write_seconds": written,
        "find_median_s": statistics.median(ours),
        "find_max_s": max(ours),
        "find_first_s": ours[0],
        "peer_median_s": statistics.median(peer),
        "peer_over_ours": statistics.median(peer) / statistics.median(ours),
        "hits_per_query": statistics.mean(hits),
    }


# --- cutouts ---------------------------------------------------------------------------------


def cutout_bytes(folder: Path, n: int = 20) -> dict[str, Any]:
    from astro_cloud_async.cutouts import cutouts

    frames = folder / "cutout"
    frames.mkdir(exist_ok=True)
    path = write_tess_ffi_like(frames / "frame.fits")
    server = start_nginx(frames)
    try:
        url = server.url(path.name)
        record = read_headers(url)[1]
        wcs = record.fits
        from astropy.wcs import WCS

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w = WCS(wcs)
        rng = np.random.default_rng(3)
        xs, ys = rng.uniform(40, 2096, n), rng.uniform(40, 2038, n)
        world = w.all_pix2world(np.column_stack([xs, ys]), 0)
        out: dict[str, Any] = {"image_bytes": record.data_size}
        for gap in (None, 0):
            sent, requests = [], []
            for ra, dec in world:

                async def one(ra: float = ra, dec: float = dec, gap: int | None = gap) -> None:
                    async with Client() as client:
                        async for _ in cutouts([record], ra, dec, 64, client=client, gap=gap):
                            pass

                mark = server.log_mark()
                asyncio.run(one())
                entries = server.access_log_entries(mark, at_least=1)
                sent.append(sum(e.bytes_sent for e in entries))
                requests.append(len(entries))
            label = "default gap (64 KiB)" if gap is None else "gap=0"
            out[label] = {
                "bytes_per_cutout": statistics.mean(sent),
                "requests_per_cutout": statistics.mean(requests),
                "fraction_of_image": statistics.mean(sent) / record.data_size,
            }
    finally:
        server.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("parts", nargs="*", default=["footprints", "find", "cutout"])
    parser.add_argument("--objects", type=int, default=1200)
    parser.add_argument("--delay", type=float, default=0.025)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--inline", action="store_true", help="also footprints on the loop")
    args = parser.parse_args(argv)
    cache = OUT / "cache" / "answers"
    cache.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        if "footprints" in args.parts:
            report["footprint_cost"] = footprint_cost(Path(tmp))
            print(
                "## Footprint cost per image HDU, one header at a time\n\n| header | cards | "
                "ours | astropy on the whole header |\n|---|---|---|---|"
            )
            for label, r in report["footprint_cost"].items():
                print(
                    f"| {label} | {r['cards']} | {r['ours_ms']:.2f} ms | "
                    f"{r['whole_header_ms']:.2f} ms |"
                )
            names = _frames(cache / "frames", args.objects)
            cost = report["batch_cost"] = batch_cost(cache / "frames", names)
            print(
                f"\n## A batched footprint, per image HDU ({cost['hdus']} TESS-like HDUs, "
                f"batches of {cost['batch']})\n\n| where | what | CPU per HDU |\n|---|---|---|\n"
                f"| loop | take the WCS cards | {cost['loop_cards_us']:.1f} us |\n"
                f"| loop | pickle the jobs ({cost['bytes_sent_per_hdu']:.0f} bytes), unpickle "
                f"the columns | {cost['loop_pickle_us']:.1f} us |\n"
                f"| worker (or loop) | compute a batch | {cost['batch_compute_us']:.1f} us |\n"
                f"| (one header at a time, in one process) | | {cost['one_header_us']:.1f} us |"
            )
            rate = request_rate(cache, args.objects, args.delay, args.repeat, args.inline)
            report["request_rate"] = rate
            print(
                f"\n## Index request rate, {args.objects} TESS-like frames, {args.delay}s "
                f"per request, {args.repeat} runs of each (load average at the end "
                f"{rate['load_average'][0]:.2f})\n\n| run | median req/s | / off | CPU of the "
                "run's process | CPU of its workers |\n|---|---|---|---|---|"
            )
            for kind, value in rate["median_rate"].items():
                ratio = rate["over_off"].get(kind, 1.0)
                print(
                    f"| {kind} | {value:.0f} | {ratio:.3f} | {rate['cpu_s'][kind]:.2f} s | "
                    f"{rate['worker_cpu_s'][kind]:.2f} s |"
                )
        if "find" in args.parts:
            found = find_speed(cache, args.rows)
            report["find"] = found
            print(
                f"\n## find on {found['rows']:,} rows ({found['catalog_bytes'] / 1e6:.0f} MB)"
                f"\n\nmedian {found['find_median_s'] * 1e3:.0f} ms, max "
                f"{found['find_max_s'] * 1e3:.0f} ms (first {found['find_first_s'] * 1e3:.0f}"
                f" ms); peer median {found['peer_median_s'] * 1e3:.0f} ms; peer/ours = "
                f"{found['peer_over_ours']:.1f}; {found['hits_per_query']:.1f} HDUs per "
                f"position"
            )
        if "cutout" in args.parts:
            cut = cutout_bytes(Path(tmp))
            report["cutout"] = cut
            print(
                f"\n## 64 x 64 cutouts of a {cut['image_bytes']:,}-byte image\n\n"
                "| ranges | bytes per cutout | requests | fraction of the image |\n"
                "|---|---|---|---|"
            )
            for label in ("default gap (64 KiB)", "gap=0"):
                r = cut[label]
                print(
                    f"| {label} | {r['bytes_per_cutout']:,.0f} | "
                    f"{r['requests_per_cutout']:.0f} | {r['fraction_of_image']:.4f} |"
                )
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_answers.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
