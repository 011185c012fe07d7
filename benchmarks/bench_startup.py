"""Start-up of the command line against a bare interpreter: run by hand.

Issue #10 asked that ``astro-cloud-async --help`` return in under 0.2 s, and that importing the
FITS core load neither aiohttp nor aiobotocore. This script times whole processes, alternating
the commands (so a drift of the machine's speed affects both alike), and reports the median
wall time of each over ``--runs`` runs, the difference from the peer (``python -c pass``, the
interpreter's own start-up on this machine), and which heavy libraries each command loaded.
Example: ``python benchmarks/bench_startup.py --runs 10``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time

HEAVY = ("aiohttp", "aiobotocore", "botocore", "pyarrow", "astropy", "numpy", "asyncio")

COMMANDS = {
    "python -c pass (peer)": [sys.executable, "-c", "pass"],
    "astro-cloud-async --help": [
        shutil.which("astro-cloud-async") or "astro-cloud-async",
        "--help",
    ],
    "astro-cloud-async index --help": [
        shutil.which("astro-cloud-async") or "astro-cloud-async",
        "index",
        "--help",
    ],
    "import astro_cloud_async.fits": [sys.executable, "-c", "import astro_cloud_async.fits"],
}

PROBES = {
    "astro-cloud-async --help": (
        "import contextlib, io\nfrom astro_cloud_async.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
    ),
    "import astro_cloud_async.fits": "import astro_cloud_async.fits\n",
}


def loaded(code: str) -> list[str]:
    probe = code + (
        "import sys, json\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    result: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each command")
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for command in COMMANDS.values():  # one untimed run each: the page cache is warm
        subprocess.run(command, capture_output=True, check=True)
    for _ in range(args.runs):
        for name, command in COMMANDS.items():
            began = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True)
            times[name].append(time.perf_counter() - began)
    peer = statistics.median(times["python -c pass (peer)"])
    print(f"{'command':34} {'median s':>9} {'min s':>7} {'max s':>7} {'- peer s':>9}  loads")
    for name, runs in times.items():
        median = statistics.median(runs)
        heavy = ", ".join(loaded(PROBES[name])) if name in PROBES else ""
        print(
            f"{name:34} {median:9.3f} {min(runs):7.3f} {max(runs):7.3f} "
            f"{median - peer:9.3f}  {heavy or ('-' if name in PROBES else '')}"
        )


if __name__ == "__main__":
    main()
