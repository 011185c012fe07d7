"""CPU of S3 against HTTP for the same objects, call by call and scan by scan: run by hand.

Issue #11 asked that a loop of ``read_headers("s3://...")`` cost at most 3x the CPU of the same
loop over ``http://``, and a ``scan()`` of 50 objects at most 1.5x. This script measures both.
nginx and SeaweedFS (the test-suite launchers, ``tests/servers``; SeaweedFS without its logging
proxy, so both servers are one hop away) serve the same 50 FITS files; each measurement runs in
a fresh Python process that imports the package, makes one untimed call of the same kind (so
imports of aiohttp, aiobotocore and their data files are not counted), then times the loop with
``time.process_time`` (this process's CPU, all threads: the servers run in their own
processes). Modes:

- ``http``: ``http://`` URLs on nginx;
- ``s3``: ``s3://private/...``, signed, credentials from the environment (as a user with
  ``AWS_*`` variables set), ``endpoint_url`` given;
- ``s3-anon``: ``s3://public/...`` with ``anon=True``;
- ``s3-nginx``: signed ``s3://`` URLs with nginx itself as the endpoint (it serves the same
  files at ``/bucket/key`` and ignores signatures): the same server as ``http``, so the
  difference is the client's alone (SeaweedFS and nginx do not cost the client's kernel the
  same on loopback).

The first call of a process (credential and endpoint resolution included) is reported apart.
Example: ``python benchmarks/bench_s3_calls.py --calls 20 --repeat 5``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests"
OBJECTS = 50


def _write_objects(folder: Path) -> list[str]:
    import numpy as np
    from astropy.io import fits

    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(OBJECTS):
        primary = fits.PrimaryHDU()
        primary.header["OBJECT"] = f"field {i:03d}"
        images = [fits.ImageHDU(np.zeros((20, 30 + j), dtype=np.int16)) for j in range(2)]
        name = f"frame{i:03d}.fits"
        fits.HDUList([primary, *images]).writeto(folder / name)
        names.append(name)
    return names


CHILD = r"""
import asyncio, json, sys, time
import astro_cloud_async as aca

spec = json.loads(sys.argv[1])
urls, options, what = spec["urls"], spec["options"], spec["what"]

async def scan_all():
    n = 0
    async for item in aca.scan(urls, **options):
        if isinstance(item, aca.ObjectFailed):
            raise item.error
        n += 1
    return n

def once():
    if what == "loop":
        for url in urls[: spec["calls"]]:
            records = aca.read_headers(url, **options)
            assert len(records) == 3, records
    else:
        assert asyncio.run(scan_all()) == 3 * len(urls)

t = time.process_time()
if what == "loop":
    aca.read_headers(urls[-1], **options)
else:
    once()
first = time.process_time() - t
t = time.process_time()
once()
print(json.dumps({"first": first, "cpu": time.process_time() - t}))
"""


def _child(spec: dict[str, object], env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    result: dict[str, float] = json.loads(done.stdout)
    return result


@contextlib.contextmanager
def servers(folder: Path) -> Iterator[tuple[str, object]]:
    sys.path.insert(0, str(TESTS))
    from servers import start_nginx, upload_folder
    from servers.seaweedfs import start_seaweedfs

    with contextlib.ExitStack() as stack:
        nginx = start_nginx(folder)
        stack.callback(nginx.stop)
        weed = start_seaweedfs(logging_proxy=False)
        stack.callback(weed.stop)
        for bucket in ("public", "private"):
            upload_folder(weed, folder / "data", bucket)
        yield nginx.base_url, weed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=20, help="read_headers calls per loop")
    parser.add_argument("--repeat", type=int, default=5, help="processes per mode and kind")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        names = _write_objects(Path(tmp) / "data")
        http_base, weed = stack.enter_context(servers(Path(tmp)))
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        base_env["PYTHONPATH"] = os.pathsep.join(
            [str(HERE.parent), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        endpoint = weed.direct_endpoint_url  # type: ignore[attr-defined]
        signed_env = {
            **base_env,
            "AWS_ACCESS_KEY_ID": weed.access_key,  # type: ignore[attr-defined]
            "AWS_SECRET_ACCESS_KEY": weed.secret_key,  # type: ignore[attr-defined]
            "AWS_DEFAULT_REGION": weed.region,  # type: ignore[attr-defined]
        }
        modes = {
            "http": ([f"{http_base}/data/{n}" for n in names], {}, base_env),
            "s3": (
                [f"s3://private/{n}" for n in names],
                {"endpoint_url": endpoint},
                signed_env,
            ),
            "s3-anon": (
                [f"s3://public/{n}" for n in names],
                {"endpoint_url": endpoint, "anon": True},
                base_env,
            ),
            "s3-nginx": (
                [f"s3://data/{n}" for n in names],
                {"endpoint_url": http_base},
                signed_env,
            ),
        }
        results: dict[str, dict[str, list[dict[str, float]]]] = {}
        for repeat in range(args.repeat):
            for mode, (urls, options, env) in modes.items():
                for what in ("loop", "scan"):
                    spec = {"urls": urls, "options": options, "what": what, "calls": args.calls}
                    got = _child(spec, env)
                    results.setdefault(mode, {}).setdefault(what, []).append(got)
            print(f"  round {repeat + 1}/{args.repeat} done", file=sys.stderr)

    def median(mode: str, what: str, key: str) -> float:
        return statistics.median(r[key] for r in results[mode][what])

    http_loop, http_scan = median("http", "loop", "cpu"), median("http", "scan", "cpu")
    print(f"median of {args.repeat} processes each; CPU in ms (process_time)\n")
    print(
        f"| mode | loop of {args.calls} read_headers | per call | ratio | first call | "
        f"scan of {OBJECTS} objects | ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for mode in modes:
        loop, scan = median(mode, "loop", "cpu"), median(mode, "scan", "cpu")
        first = median(mode, "loop", "first")
        print(
            f"| {mode} | {loop * 1e3:.1f} | {loop / args.calls * 1e3:.2f} | "
            f"{loop / http_loop:.2f}x | {first * 1e3:.1f} | {scan * 1e3:.1f} | "
            f"{scan / http_scan:.2f}x |"
        )


if __name__ == "__main__":
    main()
