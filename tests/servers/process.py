"""Start, watch and stop one server process.

A server is started in its own session (its PID is also its process-group id), with its console
output captured to a file. Start-up waits until the server itself listens on its port (checked in
/proc, so another program that grabbed the port in the meantime is not mistaken for it), and fails
fast with the server's own error log when the process exits first. Stopping signals that one PID
(then its group, for workers it forked), never processes found by name. Everything started here is
stopped at interpreter exit too, and gets SIGTERM if the Python process dies, so a crashed or
killed test run leaves no server behind.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

__all__ = [
    "ServerBinaryMissing",
    "ServerProcess",
    "ServerStartError",
    "find_binary",
    "free_ports",
    "make_workdir",
    "retry_on_port_clash",
]

T = TypeVar("T")

_LIVE: dict[int, ServerProcess] = {}


# Every server's private folder lives here, marked with the PID of the Python process that made
# it; folders whose maker is gone (a run killed before its teardown) are swept on the next start.
WORK_ROOT = Path(tempfile.gettempdir()) / "astro-cloud-async-servers"


def make_workdir(kind: str) -> Path:
    """A new private folder for one server, readable by other users (Apache's workers)."""
    WORK_ROOT.mkdir(exist_ok=True)
    os.chmod(WORK_ROOT, 0o755)
    _sweep_orphans()
    workdir = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=WORK_ROOT))
    (workdir / "owner.pid").write_text(str(os.getpid()))
    return workdir


def _sweep_orphans() -> None:
    for folder in WORK_ROOT.iterdir():
        try:
            owner = int((folder / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass


class ServerStartError(RuntimeError):
    """A server did not come up; the message holds its error output."""


class ServerBinaryMissing(ServerStartError):
    """The server program is not installed."""


def find_binary(name: str, *candidates: str) -> str:
    """Path of ``name`` on PATH or at one of ``candidates``; raises ServerBinaryMissing."""
    found = shutil.which(name)
    if found:
        return found
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return candidate
    raise ServerBinaryMissing(f"{name} is not installed (looked on PATH and in {candidates})")


def free_ports(n: int = 1) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1 (all held open until all are chosen)."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def retry_on_port_clash(
    start: Callable[[], T], attempts: int = 4, *, cleanup: Path | None = None
) -> T:
    """Call ``start`` again (it picks new ports) when a port was taken in the meantime.

    On final failure ``cleanup`` (the server's own folder, if it made one) is removed; the
    error message already holds the server's logs.
    """
    for attempt in range(attempts):
        try:
            return start()
        except ServerStartError as exc:
            text = str(exc).lower()
            clash = "address already in use" in text or ("bind" in text and "in use" in text)
            if not clash or attempt == attempts - 1:
                if cleanup is not None:
                    shutil.rmtree(cleanup, ignore_errors=True)
                raise
    raise AssertionError("unreachable")


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the process that started it dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _listening_inodes(port: int) -> set[str] | None:
    """Inodes of the sockets listening on 127.0.0.1:``port`` (None if /proc is unreadable)."""
    wanted = f"0100007F:{port:04X}"
    try:
        with open("/proc/net/tcp") as table:
            rows = [line.split() for line in table.readlines()[1:]]
    except OSError:
        return None
    return {row[9] for row in rows if row[1] == wanted and row[3] == "0A"}


def _holds_socket(pid: int, inodes: set[str]) -> bool:
    wanted = {f"socket:[{inode}]" for inode in inodes}
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                return True
    return False


class ServerProcess:
    """One running server program."""

    __slots__ = ("argv", "console", "logs", "name", "popen")

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        workdir: Path,
        logs: Sequence[Path] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.logs = list(logs)
        self.console = workdir / f"{name}.console.log"
        # The parent-death signal is tied to the starting thread: set it only from the main one.
        main = threading.current_thread() is threading.main_thread()
        with open(self.console, "wb") as out:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=workdir,
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if main else None,
            )
        _LIVE[self.popen.pid] = self

    @property
    def pid(self) -> int:
        return self.popen.pid

    def diagnostics(self, limit: int = 4000) -> str:
        """The tail of the console output and of every error log, for failure messages."""
        parts = [f"command: {' '.join(self.argv)}", f"exit status: {self.popen.poll()}"]
        for path in [self.console, *self.logs]:
            with contextlib.suppress(OSError):
                text = path.read_text(errors="replace")
                parts.append(f"--- {path.name} ---\n{text[-limit:]}")
        return "\n".join(parts)

    def wait_listening(self, port: int, *, timeout: float = 15.0) -> None:
        """Wait until this server listens on 127.0.0.1:``port``; raise if it dies first."""
        deadline = time.monotonic() + timeout
        while True:
            if self.popen.poll() is not None:
                _LIVE.pop(self.popen.pid, None)
                self._kill_group()
                raise ServerStartError(f"{self.name} exited during start-up\n{self.diagnostics()}")
            if self._listens(port):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise ServerStartError(
                    f"{self.name} did not listen on port {port} within {timeout} s\n"
                    + self.diagnostics()
                )
            time.sleep(0.02)

    def _listens(self, port: int) -> bool:
        inodes = _listening_inodes(port)
        if inodes is None:  # no /proc: fall back to "something answers"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                return True
            return False
        return bool(inodes) and _holds_socket(self.popen.pid, inodes)

    def stop(self, *, timeout: float = 10.0, sig: signal.Signals = signal.SIGTERM) -> None:
        """Signal the server, wait for it, then kill whatever is left of its process group."""
        if _LIVE.pop(self.popen.pid, None) is None:
            return  # stopped already
        if self.popen.returncode is not None:
            return  # reaped long ago: its group id may belong to someone else by now
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    self.popen.kill()
                self.popen.wait(timeout)
        self._kill_group()

    def _kill_group(self) -> None:
        # Called right after the leader is reaped: its PID stays reserved as the group id while
        # any worker it forked lives, so this reaches those workers and nothing else.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)


@atexit.register
def _stop_all() -> None:
    for process in list(_LIVE.values()):
        process.stop(timeout=5.0)
