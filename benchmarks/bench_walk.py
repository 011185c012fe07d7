"""CPU of the scan's per-object parsing, in one process: the walker over a TESS-like frame's
header bytes, and the reading of a two-part ``multipart/byteranges`` answer.

Strategy: the bytes a scan receives for one TESS-FFI-like object (its first 20,160 bytes and
its third header, as one predicted request fetches them) are fed to a fresh
:class:`~astro_cloud_async.fits.walker.Walker` until it ends, many times; the answer body is
built as nginx writes it and read by :class:`~astro_cloud_async.stores.multipart.ByteRangesParser`
whole (its fast path) and, interleaved, with the fast path off (the general reader). Best of
``--rounds`` rounds, microseconds per object. Compare two checkouts by running this script with
each on ``PYTHONPATH``.

    python benchmarks/bench_walk.py --objects 200 --rounds 15
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from astro_cloud_async.demo.survey import write_tess_ffi_like
from astro_cloud_async.fits.walker import HDU, NeedData, Walker
from astro_cloud_async.stores import multipart

BOUNDARY = b"00000000000000000001"
SECOND = (17_775_360, 17_786_880)  # the third header of a TESS-like frame


def _objects(folder: Path, count: int) -> list[tuple[int, bytes, bytes]]:
    out = []
    for seed in range(count):
        path = write_tess_ffi_like(folder / f"f{seed}.fits", seed=seed)
        with path.open("rb") as f:
            head = f.read(20_160)
            f.seek(SECOND[0])
            second = f.read(SECOND[1] - SECOND[0])
        out.append((path.stat().st_size, head, second))
    return out


def walk(size: int, head: bytes, second: bytes) -> int:
    walker = Walker(first_read=28_800, next_read=23_040)
    walker.feed(0, head, object_size=size)
    walker.feed(SECOND[0], second, object_size=size)
    found = 0
    while True:
        event = walker.next_event()
        if isinstance(event, HDU):
            found += 1
        elif isinstance(event, NeedData):
            raise RuntimeError(f"the walk asked for more: {event}")
        else:
            return found


def body(size: int, head: bytes, second: bytes) -> bytes:
    out = b""
    for first, data in ((0, head), (SECOND[0], second)):
        crange = f"bytes {first}-{first + len(data) - 1}/{size}".encode()
        out += b"\r\n--" + BOUNDARY + b"\r\nContent-Type: application/octet-stream\r\n"
        out += b"Content-Range: " + crange + b"\r\n\r\n" + data
    return out + b"\r\n--" + BOUNDARY + b"--\r\n"


def _best(step: Callable[[], object], n: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        step()
        best = min(best, (time.perf_counter() - t) / n * 1e6)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--objects", type=int, default=200)
    p.add_argument("--rounds", type=int, default=15)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        objects = _objects(Path(tmp), args.objects)
    bodies = [body(*o) for o in objects]
    assert all(walk(*o) == 3 for o in objects)
    n = len(objects)

    def walks() -> None:
        for o in objects:
            walk(*o)

    def reads() -> None:
        for b in bodies:
            multipart.ByteRangesParser(BOUNDARY, max_part=SECOND[1]).feed(b)

    print(f"walker, a TESS-like object (3 headers): {_best(walks, n, args.rounds):.1f} us")
    whole = getattr(multipart.ByteRangesParser, "_whole", None)
    fast: list[float] = []
    general: list[float] = []
    for _ in range(args.rounds):
        fast.append(_best(reads, n, 1))
        if whole is not None:
            multipart.ByteRangesParser._whole = lambda self, data: None  # type: ignore[method-assign]
            general.append(_best(reads, n, 1))
            multipart.ByteRangesParser._whole = whole  # type: ignore[method-assign]
    print(f"multipart answer, two parts, as read in a scan: {min(fast):.1f} us")
    if general:
        print(f"  the same with the general reader only: {min(general):.1f} us")


if __name__ == "__main__":
    main()
