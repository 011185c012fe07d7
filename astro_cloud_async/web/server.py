"""Running the app: bind a socket, serve, stop.

:class:`WebServer` is an async context manager: entering binds ``host:port`` (port 0: a free
one, which :attr:`WebServer.port` then tells) and starts serving; leaving stops the scans and
closes every connection. Any host but a loopback address must be asked for, and
:func:`is_loopback` lets the command line warn about it.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from types import TracebackType
from urllib.parse import quote

from aiohttp import web

from .app import WebSettings, create_app

__all__ = ["WebServer", "is_loopback", "new_token"]


def new_token() -> str:
    """A fresh random token (192 bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebServer:
    """The app of ``settings`` served on ``host:port`` while entered."""

    def __init__(self, settings: WebSettings, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.settings = settings
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> WebServer:
        app = create_app(self.settings)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        self._runner = runner
        await web.SockSite(runner, sock).start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The page's address with its token, as printed at start."""
        return f"{self.base_url}/?token={quote(self.settings.token)}"
