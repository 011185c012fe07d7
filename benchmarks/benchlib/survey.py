"""The benchmark survey: sparse synthetic files in a cache folder, written once and reused.

Strategy: each kind of object (TESS-like frame, mosaic-camera exposure, small catalogue) is one
deterministic sequence, and a survey of N objects interleaves the first objects of each kind in
the requested proportions, so any prefix of it has the same mix and a larger survey reuses every
file of a smaller one. The HDU layout of each file, read by astropy (not by the code under
test) when the file is written, goes into a manifest next to the files: it is the answer every
peer is checked against, and the list of header ranges the known-ranges ceiling fetches.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from astro_cloud_async.demo import survey as samples

__all__ = [
    "DEFAULT_MIX",
    "KINDS",
    "SurveyObject",
    "ensure_survey",
    "parse_mix",
    "plan_survey",
]

KINDS = ("tess", "mosaic", "table")
DEFAULT_MIX: Mapping[str, float] = {"tess": 0.88, "mosaic": 0.02, "table": 0.10}
_MANIFEST = "manifest.json"


@dataclass(frozen=True, slots=True)
class SurveyObject:
    """One file of the survey and its HDUs as ``(header_offset, data_offset, data_size)``."""

    name: str
    kind: str
    size: int
    hdus: tuple[tuple[int, int, int], ...]

    def header_ranges(self) -> list[tuple[int, int]]:
        """The header byte ranges, adjacent ones joined (what a reader must fetch at least)."""
        ranges: list[list[int]] = []
        for start, end, _ in self.hdus:
            if ranges and ranges[-1][1] == start:
                ranges[-1][1] = end
            else:
                ranges.append([start, end])
        return [(a, b) for a, b in ranges]

    def header_bytes(self) -> int:
        return sum(end - start for start, end, _ in self.hdus)


def parse_mix(text: str) -> dict[str, float]:
    """``"tess=0.88,mosaic=0.02,table=0.1"`` -> weights (normalised to sum to 1)."""
    mix: dict[str, float] = {}
    for part in text.split(","):
        kind, _, weight = part.partition("=")
        kind = kind.strip()
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r} in mix (known: {', '.join(KINDS)})")
        mix[kind] = float(weight)
    total = sum(mix.values())
    if total <= 0:
        raise ValueError("the mix needs a positive weight")
    return {k: w / total for k, w in mix.items() if w > 0}


def plan_survey(n_objects: int, mix: Mapping[str, float]) -> list[tuple[str, int]]:
    """``(kind, index)`` of each object: the kind furthest behind its share comes next."""
    counts = dict.fromkeys(mix, 0)
    plan = []
    for i in range(1, n_objects + 1):
        kind = max(mix, key=lambda k: (mix[k] * i - counts[k], mix[k]))
        plan.append((kind, counts[kind]))
        counts[kind] += 1
    return plan


def _tess_args(index: int) -> dict[str, int]:
    # As samples.write_survey numbers its frames: 16 camera/CCD pairs per sector.
    return {
        "seed": index // 16,
        "sector": 1 + index // 16,
        "camera": 1 + (index // 4) % 4,
        "ccd": 1 + index % 4,
    }


def object_name(kind: str, index: int) -> str:
    if kind == "tess":
        return samples.tess_ffi_name(**_tess_args(index))
    if kind == "mosaic":
        return samples.mosaic_name(seed=index)
    if kind == "table":
        return f"catalog_{index:06d}.fits"
    raise ValueError(f"unknown kind {kind!r}")


def _write(kind: str, index: int, folder: str) -> tuple[str, dict[str, Any]]:
    """Write one object (in a worker process); return its manifest key and entry."""
    path = Path(folder) / object_name(kind, index)
    if kind == "tess":
        samples.write_tess_ffi_like(path, **_tess_args(index))
    elif kind == "mosaic":
        samples.write_mosaic_like(path, seed=index)
    else:
        samples.write_table_like(path, seed=index)
    hdus = [[h.header_offset, h.data_offset, h.data_size] for h in samples.astropy_layout(path)]
    entry = {"name": path.name, "size": path.stat().st_size, "hdus": hdus}
    return f"{kind}:{index}", entry


def _load_manifest(cache: Path) -> dict[str, dict[str, Any]]:
    try:
        with open(cache / _MANIFEST) as f:
            data: dict[str, dict[str, Any]] = json.load(f)
            return data
    except FileNotFoundError:
        return {}


def _save_manifest(cache: Path, manifest: dict[str, Any]) -> None:
    """Merge ``manifest`` into the one on disk (another run may be writing files too)."""
    with open(cache / (_MANIFEST + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged = _load_manifest(cache)
        merged.update(manifest)
        manifest.update(merged)
        tmp = cache / f"{_MANIFEST}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(merged, f)
        os.replace(tmp, cache / _MANIFEST)


def ensure_survey(
    cache: Path, plan: Sequence[tuple[str, int]], *, jobs: int | None = None
) -> list[SurveyObject]:
    """The objects of ``plan``, writing into ``cache/files`` those not there yet."""
    files = cache / "files"
    files.mkdir(parents=True, exist_ok=True)
    manifest = _load_manifest(cache)
    missing = [
        (kind, index)
        for kind, index in plan
        if f"{kind}:{index}" not in manifest
        or not (files / manifest[f"{kind}:{index}"]["name"]).exists()
    ]
    if missing:
        jobs = jobs or max(1, min(len(missing) // 50 + 1, os.cpu_count() or 1))
        print(f"writing {len(missing)} survey files into {files} ({jobs} processes)", flush=True)
        began = time.monotonic()
        with ProcessPoolExecutor(jobs) as pool:
            futures = [pool.submit(_write, kind, index, str(files)) for kind, index in missing]
            for done, future in enumerate(futures, start=1):
                key, entry = future.result()
                manifest[key] = entry
                if done % 1000 == 0:
                    _save_manifest(cache, manifest)
                    rate = done / (time.monotonic() - began)
                    print(f"  {done}/{len(missing)} ({rate:.0f}/s)", file=sys.stderr, flush=True)
        _save_manifest(cache, manifest)
    objects = []
    for kind, index in plan:
        entry = manifest[f"{kind}:{index}"]
        hdus = tuple((int(a), int(b), int(c)) for a, b, c in entry["hdus"])
        objects.append(SurveyObject(entry["name"], kind, int(entry["size"]), hdus))
    return objects
