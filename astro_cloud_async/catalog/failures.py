"""The failure report kept next to a catalog: one JSON line per object that could not be read.

Strategy: the report is an append-only log while a run goes on (whole lines, flushed per batch,
so a killed run keeps what it learnt) and is rewritten atomically (temp file + rename) when a
run ends. Reading it applies two rules that make every state of the file meaningful: the last
line about a URL wins, and a URL that is in the catalog has succeeded since (so it is no longer
a failure). A partial last line (a run killed mid-write) is ignored.

URLs and messages pass through :func:`~astro_cloud_async.errors.redact_url`: a report never
holds a presigned signature or a password.
"""

from __future__ import annotations

import json
import os
from collections.abc import Container, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import redact_url
from ..records import ObjectFailed
from .files import atomic_write, durable_append, truncate_partial_line
from .resume import url_key

__all__ = ["FailureEntry", "FailureLog", "failures_path"]


def failures_path(output: str | os.PathLike[str]) -> Path:
    """Where the failure report of the catalog at ``output`` lives."""
    output = Path(output)
    return output.with_name(output.name.rstrip("/") + ".failures.jsonl")


@dataclass(frozen=True, slots=True)
class FailureEntry:
    """One object that failed: what went wrong and where."""

    url: str
    error: str
    """The exception's class name, e.g. ``ObjectNotFoundError``."""
    message: str
    offset: int | None = None
    status: int | None = None
    hdus_read: int = 0
    """HDUs read before the failure (not written to the catalog)."""
    time: str = ""

    @classmethod
    def from_failure(cls, failed: ObjectFailed) -> FailureEntry:
        err = failed.error
        status = getattr(err, "status", None)
        return cls(
            url=redact_url(failed.url) or failed.url,
            error=type(err).__name__,
            message=str(getattr(err, "message", err)),
            offset=err.offset,
            status=status if isinstance(status, int) else None,
            hdus_read=len(failed.records),
            time=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FailureEntry:
        return cls(
            url=str(data["url"]),
            error=str(data.get("error", "")),
            message=str(data.get("message", "")),
            offset=_int_or_none(data.get("offset")),
            status=_int_or_none(data.get("status")),
            hdus_read=_int_or_none(data.get("hdus_read")) or 0,
            time=str(data.get("time", "")),
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    def describe(self) -> str:
        where = f" at byte {self.offset}" if self.offset is not None else ""
        return f"{self.url}: {self.error}: {self.message}{where}"


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class FailureLog:
    """The failure report at ``path``: read it, append to it, rewrite it."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.exists()

    def load(self, succeeded: Container[str] | None = None) -> dict[str, FailureEntry]:
        """Current failures by URL: the last line about each URL, less those whose key (see
        :func:`~.resume.url_key`) is in ``succeeded``."""
        entries: dict[str, FailureEntry] = {}
        try:
            with open(self.path, "rb") as f:
                for line in f:
                    if not line.endswith(b"\n"):
                        break  # a partial last line
                    try:
                        entry = FailureEntry.from_json(json.loads(line))
                    except (ValueError, KeyError, TypeError):
                        continue
                    entries.pop(entry.url, None)
                    entries[entry.url] = entry
        except FileNotFoundError:
            return {}
        if succeeded is None:
            return entries
        return {url: e for url, e in entries.items() if url_key(url) not in succeeded}

    def append(self, entries: Iterable[FailureEntry]) -> None:
        """Append whole lines and make them durable."""
        text = "".join(e.to_json() + "\n" for e in entries)
        if text:
            truncate_partial_line(self.path)
            durable_append(self.path, text.encode())

    def rewrite(self, entries: Iterable[FailureEntry]) -> None:
        """Replace the report with ``entries``; remove it when there are none."""
        entries = list(entries)
        if not entries:
            self.remove()
            return
        atomic_write(self.path, "".join(e.to_json() + "\n" for e in entries).encode())

    def compact(self, succeeded: Container[str] | None = None) -> dict[str, FailureEntry]:
        """Rewrite the report as its current failures (see :meth:`load`); return them."""
        entries = self.load(succeeded)
        if entries or self.path.exists():
            self.rewrite(entries.values())
        return entries

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
