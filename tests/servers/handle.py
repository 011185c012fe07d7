"""The handle every HTTP test server returns: where it listens, its log, how to stop it."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from .accesslog import AccessLog, AccessLogEntry
from .process import ServerProcess

__all__ = ["HTTPServer"]


@dataclass(frozen=True, slots=True)
class HTTPServer:
    """A running static-file server on 127.0.0.1 serving ``root``.

    ``url(name)`` gives the URL of a file under ``root``; ``access_log_entries()`` what the
    server logged, ``log_mark()`` a position to count from.
    """

    kind: str
    base_url: str
    port: int
    root: Path
    workdir: Path
    log: AccessLog
    error_log: Path
    process: ServerProcess
    cleanup: tuple[Path, ...] = ()
    """Folders made for this server alone, removed by :meth:`stop`."""

    def url(self, name: str | Path) -> str:
        """URL of ``name``: a path relative to ``root``, or an absolute path inside it."""
        path = Path(name)
        if path.is_absolute():
            path = path.relative_to(self.root)
        return f"{self.base_url}/{quote(path.as_posix())}"

    def log_mark(self) -> int:
        return self.log.mark()

    def access_log_entries(
        self, since: int = 0, *, at_least: int = 0, timeout: float = 5.0
    ) -> list[AccessLogEntry]:
        return self.log.entries(since, at_least=at_least, timeout=timeout)

    def error_log_text(self) -> str:
        try:
            return self.error_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        """Stop the server (by its PID); remove the folders it made."""
        self.process.stop()
        for folder in self.cleanup:
            shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> HTTPServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
