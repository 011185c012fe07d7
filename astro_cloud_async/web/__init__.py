"""A local web app over the library: drop a file, watch a scan, browse a catalog on the sky.

``astro-cloud-async serve [CATALOG ...]`` runs it (see :mod:`astro_cloud_async.cli.serve`)::

    from astro_cloud_async.web import WebServer, WebSettings, new_token

    async with WebServer(WebSettings(token=new_token(), catalogs=[path])) as server:
        print(server.url)          # http://127.0.0.1:PORT/?token=...
        await asyncio.Event().wait()

:mod:`.app` holds the routes, :mod:`.guard` the token check and the error boundary,
:mod:`.drop` the walk of a file the page holds, :mod:`.scans` scans, :mod:`.tables` and
:mod:`.query` catalogs, :mod:`.preview` cutouts; ``static/`` is the page (no build step, no
file from the internet).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .app import WebSettings as WebSettings
    from .app import create_app as create_app
    from .server import WebServer as WebServer
    from .server import is_loopback as is_loopback
    from .server import new_token as new_token

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "WebServer": ".server",
        "WebSettings": ".app",
        "create_app": ".app",
        "is_loopback": ".server",
        "new_token": ".server",
    },
)
