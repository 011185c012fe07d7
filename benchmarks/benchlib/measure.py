"""Run a peer in a child process and account for it on both sides of the wire.

Strategy: the child measures itself (wall, CPU, peak RSS; see :mod:`.child`); the parent adds
what the child cannot see: the requests and body bytes the server logged while the child ran
(read from nginx's access log between two marks, waiting until the log stops growing, since
nginx writes a line just after the last byte), split by kind of object, and the CPU the server
processes spent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from servers import AccessLogEntry, HTTPServer

from . import BENCH_DIR, REPO
from .backends import S3_KEY, S3_SECRET, process_tree_cpu
from .survey import SurveyObject

__all__ = ["PeerResult", "ServerCounts", "count_requests", "run_peer", "write_objects"]


@dataclass(slots=True)
class ServerCounts:
    """Requests and body bytes the server logged, per kind of object (``other``: listings),
    and per object (by file name)."""

    requests: dict[str, int] = field(default_factory=dict)
    bytes: dict[str, int] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    per_object: dict[str, list[int]] = field(default_factory=dict)
    """File name -> [requests, body bytes]."""

    def objects_taking(self, names: Sequence[str], requests: int) -> tuple[int, float]:
        """How many of ``names`` took exactly ``requests`` requests, and their mean bytes."""
        hits = [self.per_object[n][1] for n in names if self.per_object.get(n, [0])[0] == requests]
        return len(hits), (sum(hits) / len(hits) if hits else 0.0)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes.values())


@dataclass(slots=True)
class PeerResult:
    """One peer's run: the child's own figures, the server's and the check against the survey."""

    label: str
    backend: str
    objects: int
    wall_s: float
    cpu_s: float
    rss_start: int
    rss_peak: int
    failed: int
    wrong_hdus: int
    errors: list[str]
    server: ServerCounts
    server_cpu_s: float
    kinds: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)
    """Kind -> the file names of the objects of that kind read, in order."""

    @property
    def rate(self) -> float:
        return self.objects / self.wall_s if self.wall_s > 0 else 0.0

    def per_object(self, kind: str) -> tuple[float, float]:
        """(requests, bytes) per object of ``kind`` as the server counted them."""
        n = self.kinds.get(kind, 0)
        if not n:
            return 0.0, 0.0
        return self.server.requests.get(kind, 0) / n, self.server.bytes.get(kind, 0) / n

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "backend": self.backend,
            "objects": self.objects,
            "wall_s": self.wall_s,
            "objects_per_s": self.rate,
            "cpu_s": self.cpu_s,
            "rss_start": self.rss_start,
            "rss_peak": self.rss_peak,
            "failed": self.failed,
            "wrong_hdus": self.wrong_hdus,
            "errors": self.errors,
            "server_requests": self.server.requests,
            "server_bytes": self.server.bytes,
            "server_statuses": {str(k): v for k, v in self.server.statuses.items()},
            "server_cpu_s": self.server_cpu_s,
            "kinds": self.kinds,
            **self.extra,
        }


def write_objects(path: Path, objects: Sequence[SurveyObject]) -> Path:
    """The object list a child reads: names, header ranges and HDU counts."""
    rows = [
        {"name": o.name, "kind": o.kind, "ranges": o.header_ranges(), "hdus": len(o.hdus)}
        for o in objects
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows))
    return path


def _name_of(entry: AccessLogEntry) -> str:
    path = urlsplit(entry.path).path
    return unquote(path.rsplit("/", 1)[-1])


def count_requests(entries: Sequence[AccessLogEntry], kind_of: Mapping[str, str]) -> ServerCounts:
    counts = ServerCounts()
    for e in entries:
        name = _name_of(e)
        kind = kind_of.get(name, "other")
        counts.requests[kind] = counts.requests.get(kind, 0) + 1
        counts.bytes[kind] = counts.bytes.get(kind, 0) + e.bytes_sent
        counts.statuses[e.status] = counts.statuses.get(e.status, 0) + 1
        if kind != "other":
            seen = counts.per_object.setdefault(name, [0, 0])
            seen[0] += 1
            seen[1] += e.bytes_sent
    return counts


def _settled_entries(server: HTTPServer, mark: int) -> list[AccessLogEntry]:
    """Log entries after ``mark``, once the log has stopped growing for a moment."""
    size = -1
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        now = server.log_mark()
        if now == size:
            break
        size = now
        time.sleep(0.3)
    return server.access_log_entries(mark)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(BENCH_DIR), str(REPO), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env["AWS_ACCESS_KEY_ID"] = S3_KEY
    env["AWS_SECRET_ACCESS_KEY"] = S3_SECRET
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_ENDPOINT_URL", None)
    return env


def run_peer(
    label: str,
    spec: dict[str, Any],
    *,
    objects: Sequence[SurveyObject],
    log_server: HTTPServer | None,
    server_pids: Sequence[int],
    timeout: float = 3600.0,
    wrapper: Sequence[str] = (),
) -> PeerResult:
    """Run one peer (``spec`` as :mod:`.child` reads it) and gather both sides' figures.

    ``objects`` are the objects the child reads (after any ``limit``), in order. Without a
    ``log_server`` (local files) there are no server-side counts. ``wrapper`` prefixes the
    command (a profiler).
    """
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
        spec_path = f.name
    try:
        for attempt in (1, 2):
            mark = log_server.log_mark() if log_server is not None else 0
            cpu0 = process_tree_cpu(server_pids)
            proc = subprocess.run(
                [*wrapper, sys.executable, "-m", "benchlib.child", spec_path],
                env=child_env(),
                cwd=BENCH_DIR,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            entries = _settled_entries(log_server, mark) if log_server is not None else []
            server_cpu = process_tree_cpu(server_pids) - cpu0
            lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
            if proc.returncode < 0 and not lines and attempt == 1:
                # Killed by a signal before reporting (obstore's runtime has been seen to abort
                # now and then on this machine): run it once more.
                print(f"  {label}: killed by signal {-proc.returncode}; running it again")
                continue
            break
    finally:
        os.unlink(spec_path)
    if proc.returncode < 0 and lines:
        print(f"  {label}: killed by signal {-proc.returncode} after reporting (kept)")
    elif proc.returncode != 0 or not lines:
        raise RuntimeError(f"{label} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    out = json.loads(lines[-1])
    kind_of = {o.name: o.kind for o in objects}
    kinds: dict[str, int] = {}
    names: dict[str, list[str]] = {}
    for o in objects:
        kinds[o.kind] = kinds.get(o.kind, 0) + 1
        names.setdefault(o.kind, []).append(o.name)
    found = out.pop("hdus", None)
    if found is not None:
        wrong = sum(1 for o, n in zip(objects, found, strict=False) if n != len(o.hdus))
        wrong += abs(len(objects) - len(found))
    else:  # a streaming peer only counts: compare the totals
        wrong = abs(sum(len(o.hdus) for o in objects) - int(out.pop("hdus_total", 0)))
    core = ("objects", "wall_s", "cpu_s", "rss_start", "rss_peak", "failed", "errors")
    return PeerResult(
        label=label,
        backend=spec["backend"],
        objects=out["objects"],
        wall_s=out["wall_s"],
        cpu_s=out["cpu_s"],
        rss_start=out["rss_start"],
        rss_peak=out["rss_peak"],
        failed=out["failed"],
        wrong_hdus=wrong,
        errors=out["errors"],
        server=count_requests(entries, kind_of),
        server_cpu_s=server_cpu,
        kinds=kinds,
        extra={k: v for k, v in out.items() if k not in core},
        names=names,
    )
