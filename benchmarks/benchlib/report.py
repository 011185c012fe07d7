"""Markdown tables of peer results, the machine they came from, and the saved JSON.

Every report starts with the machine line (cores, CPU model, Python, date, load average),
since on a shared machine a figure means little without the load it was measured under.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .measure import PeerResult

__all__ = ["machine", "peer_table", "save_json"]

MiB = 1024 * 1024


def machine() -> dict[str, Any]:
    """Cores, CPU model, Python, date and load: the header of every report."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def machine_line(info: dict[str, Any]) -> str:
    return (
        f"{info['cores']} cores, {info['cpu']}, Python {info['python']}, {info['date']}, "
        f"load average {' / '.join(str(x) for x in info['load_average'])}"
    )


def _kinds_cell(r: PeerResult, kinds: Sequence[str], which: int, scale: float, fmt: str) -> str:
    cells = []
    for kind in kinds:
        if r.kinds.get(kind):
            cells.append(format(r.per_object(kind)[which] / scale, fmt))
        else:
            cells.append("-")
    return " / ".join(cells)


def peer_table(results: Sequence[PeerResult], kinds: Sequence[str]) -> str:
    """One Markdown row per peer; per-kind columns follow the order of ``kinds``."""
    present = [k for k in kinds if any(r.kinds.get(k) for r in results)]
    head = (
        "| peer | objects | objects/s | client CPU s | CPU ms/object | peak RSS MiB "
        f"| server req/object ({' / '.join(present)}) | server KiB/object ({' / '.join(present)}) "
        "| own count: req, MiB | server CPU s | failed |"
    )
    rows = [head, "|" + "---|" * 11]
    for r in results:
        own = ""
        if "client_requests" in r.extra:
            own = f"{r.extra['client_requests']}, {r.extra['client_bytes'] / MiB:.1f}"
        bad = r.failed + r.wrong_hdus
        rows.append(
            f"| {r.label} | {r.objects} | {r.rate:,.1f} | {r.cpu_s:.1f} "
            f"| {1e3 * r.cpu_s / max(r.objects, 1):.2f} | {r.rss_peak / MiB:.0f} "
            f"| {_kinds_cell(r, present, 0, 1, '.2f')} "
            f"| {_kinds_cell(r, present, 1, 1024, ',.1f')} "
            f"| {own} | {r.server_cpu_s:.1f} | {bad} |"
        )
    return "\n".join(rows)


def save_json(path: Path, payload: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, default=str))
    return path
