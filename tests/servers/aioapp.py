"""Start a test's own aiohttp application on a free loopback port."""

from __future__ import annotations

from aiohttp import web

__all__ = ["serve_app"]


async def serve_app(app: web.Application, **runner_options: object) -> tuple[web.AppRunner, str]:
    """Run ``app`` on 127.0.0.1 (a port the system picks); return its runner and base URL.

    ``runner_options`` go to ``web.AppRunner``; call ``runner.cleanup()`` to stop it.
    """
    runner = web.AppRunner(app, handle_signals=False, access_log=None, **runner_options)  # type: ignore[arg-type]
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"
