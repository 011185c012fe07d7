"""``astro-cloud-async serve``: the web page, on this machine.

It binds 127.0.0.1 unless another host is asked for (then it warns: anyone who can reach that
address and has the token can read the catalogs and start scans with this process's
credentials), prints the page's URL with a fresh random token, and serves until interrupted.
The fetch flags are the defaults of scans started from the page and what previews read with.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from .options import add_option_flags, options_from_args

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``serve`` to its parser."""
    p.description = (
        "A local web page: drop a FITS file to see its headers, scan a bucket, a server or a "
        "folder and watch the records arrive, browse catalogs as tables and on the sky."
    )
    p.add_argument(
        "catalogs", nargs="*", type=Path, metavar="CATALOG", help="catalogs to browse (Parquet)"
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    p.add_argument("--open", action="store_true", help="open the page in a browser")
    add_option_flags(p)
    p.set_defaults(run=run)


async def _serve(args: argparse.Namespace) -> None:
    from ..web import WebServer, WebSettings, is_loopback, new_token

    settings = WebSettings(
        token=new_token(), catalogs=list(args.catalogs), options=options_from_args(args)
    )
    if not is_loopback(args.host):
        print(
            f"warning: serving on {args.host}, not only on this machine: anyone who can reach "
            "it and has the token can read these catalogs and start scans with your credentials",
            file=sys.stderr,
        )
    async with WebServer(settings, host=args.host, port=args.port) as server:
        print(f"astro-cloud-async serve: open {server.url}", flush=True)
        print("press Ctrl-C to stop", file=sys.stderr, flush=True)
        if args.open:
            import webbrowser

            webbrowser.open(server.url)
        await asyncio.Event().wait()


def run(args: argparse.Namespace) -> int:
    try:
        asyncio.run(_serve(args))
    except OSError as err:  # the address cannot be listened on (in use, not this machine's)
        print(
            f"astro-cloud-async serve: error: cannot listen on {args.host}:{args.port}: "
            f"{err.strerror or err}",
            file=sys.stderr,
        )
        return 1
    return 0
