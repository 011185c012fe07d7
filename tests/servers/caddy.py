"""Caddy (Debian ``caddy``) on a free loopback port: ``file_server`` with admin and HTTPS off.

Caddy keeps state under $HOME and the XDG folders; they are pointed into the private folder.
Its access log is Caddy's own JSON, request headers (Range) included.
"""

from __future__ import annotations

import os
from pathlib import Path

from .accesslog import AccessLog, parse_caddy_line
from .handle import HTTPServer
from .process import ServerProcess, find_binary, free_ports, make_workdir, retry_on_port_clash

__all__ = ["caddy_binary", "start_caddy"]


def caddy_binary() -> str:
    return find_binary("caddy", "/usr/bin/caddy")


def _caddyfile(workdir: Path, root: Path, port: int) -> str:
    caddyfile = f"""{{
    admin off
    auto_https off
    storage file_system {workdir / "data"}
    log {{
        output file {workdir / "error.log"}
        level WARN
    }}
}}

http://127.0.0.1:{port} {{
    bind 127.0.0.1
    root * "{root}"
    file_server
    log {{
        output file {workdir / "access.log"}
        format json
    }}
}}
"""
    # Caddy wants tabs (it warns about anything else).
    return caddyfile.replace("    ", "\t")


def start_caddy(root: str | Path, *, workdir: Path | None = None) -> HTTPServer:
    """Serve ``root`` with Caddy's file_server on 127.0.0.1."""
    binary = caddy_binary()
    root = Path(root).resolve()
    owned = workdir is None
    workdir = make_workdir("caddy") if workdir is None else workdir
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin"),
        "HOME": str(workdir),
        "XDG_DATA_HOME": str(workdir / "data"),
        "XDG_CONFIG_HOME": str(workdir / "config"),
    }

    def attempt() -> HTTPServer:
        (port,) = free_ports(1)
        conf = workdir / "Caddyfile"
        conf.write_text(_caddyfile(workdir, root, port))
        error_log = workdir / "error.log"
        argv = [binary, "run", "--config", str(conf), "--adapter", "caddyfile"]
        process = ServerProcess("caddy", argv, workdir=workdir, logs=[error_log], env=env)
        process.wait_listening(port)
        return HTTPServer(
            kind="caddy",
            base_url=f"http://127.0.0.1:{port}",
            port=port,
            root=root,
            workdir=workdir,
            log=AccessLog(workdir / "access.log", parse_caddy_line),
            error_log=error_log,
            process=process,
            cleanup=(workdir,) if owned else (),
        )

    return retry_on_port_clash(attempt, cleanup=workdir if owned else None)
