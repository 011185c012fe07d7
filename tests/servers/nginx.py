"""nginx on a free loopback port, from its own configuration in a private directory.

Used three ways: a plain static server (``max_ranges=None``), one that ignores Range and
answers 200 with the whole body (``max_ranges=0``), and, with ``delay``, one that waits before
every response (through the Lua module's ``ngx.sleep``) to stand in for an object store's time
to first byte. With ``count_in_flight`` each answer carries (and the access log records) how
many requests were being answered when it arrived, and with ``queue_past`` the wait grows in
proportion past that many, as a server that queues work beyond its capacity answers.
``start_nginx_proxy`` puts the same logging in front of another server (the S3 server), so
requests to it can be counted too.
"""

from __future__ import annotations

import getpass
import grp
import os
from pathlib import Path

from .accesslog import AccessLog, parse_tab_line
from .handle import HTTPServer
from .process import (
    ServerProcess,
    ServerStartError,
    find_binary,
    free_ports,
    make_workdir,
    retry_on_port_clash,
)

__all__ = ["LUA_MODULES", "nginx_binary", "start_nginx", "start_nginx_proxy"]

LUA_MODULES = (
    Path("/usr/lib/nginx/modules/ndk_http_module.so"),
    Path("/usr/lib/nginx/modules/ngx_http_lua_module.so"),
)

_LOG_FORMAT = (
    r"log_format counted '$request\t$status\t$body_bytes_sent\t$http_range"
    r"\t$http_x_amz_request_payer\t$http_authorization\t$connection\t$sent_http_x_in_flight';"
)


def nginx_binary() -> str:
    return find_binary("nginx", "/usr/sbin/nginx")


def _user_line() -> str:
    # Run as root only if already root (workers would otherwise become nobody and could not
    # read the private temporary folders).
    if os.geteuid() != 0:
        return ""
    return f"user {getpass.getuser()} {grp.getgrgid(os.getegid()).gr_name};"


def _config(
    workdir: Path,
    port: int,
    *,
    location: str,
    delay: float | None,
    http_extra: str,
    workers: int,
    count_in_flight: bool = False,
    queue_past: int | None = None,
) -> str:
    modules = ""
    if delay is not None:
        missing = [str(p) for p in LUA_MODULES if not p.exists()]
        if missing:
            raise ServerStartError(f"delay needs libnginx-mod-http-lua: missing {missing}")
        modules = "\n".join(f"load_module {p};" for p in LUA_MODULES)
    sleep = f"access_by_lua_block {{ ngx.sleep({delay:.6f}) }}" if delay is not None else ""
    if delay is not None and (count_in_flight or queue_past is not None):
        sleep = _counting_sleep(delay, queue_past)
        http_extra += "\n    lua_shared_dict load 1m;"
    temp = "\n".join(
        f"    {kind}_temp_path {workdir / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
{modules}
{_user_line()}
daemon off;
master_process on;
worker_processes {workers};
pid {workdir / "nginx.pid"};
error_log {workdir / "error.log"} warn;
events {{ worker_connections 4096; }}
http {{
    {_LOG_FORMAT}
    access_log {workdir / "access.log"} counted;
{temp}
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 60s;
    keepalive_requests 100000;
    server_tokens off;
    {http_extra}
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        server_name localhost;
        location / {{
            {sleep}
            {location}
        }}
    }}
}}
"""


def _counting_sleep(delay: float, queue_past: int | None) -> str:
    """Lua that counts requests being answered, tells each answer the count and waits
    ``delay``, or ``delay * count / queue_past`` once the count is past ``queue_past``."""
    wait = f"{delay:.6f}"
    if queue_past is not None:
        wait = f"math.max({delay:.6f}, {delay:.6f} * n / {queue_past})"
    return f"""access_by_lua_block {{
                local n = ngx.shared.load:incr("active", 1, 0)
                ngx.ctx.counted = true
                ngx.header["X-In-Flight"] = n
                ngx.sleep({wait})
            }}
            log_by_lua_block {{
                if ngx.ctx.counted then ngx.shared.load:incr("active", -1, 0) end
            }}"""


def _start(
    kind: str,
    root: Path,
    location: str,
    *,
    delay: float | None,
    workdir: Path | None,
    http_extra: str = "",
    workers: int = 1,
    count_in_flight: bool = False,
    queue_past: int | None = None,
) -> HTTPServer:
    binary = nginx_binary()
    owned = workdir is None
    workdir = make_workdir(kind) if workdir is None else workdir
    workdir.mkdir(parents=True, exist_ok=True)

    def attempt() -> HTTPServer:
        (port,) = free_ports(1)
        conf = workdir / "nginx.conf"
        conf.write_text(
            _config(
                workdir,
                port,
                location=location,
                delay=delay,
                http_extra=http_extra,
                workers=workers,
                count_in_flight=count_in_flight,
                queue_past=queue_past,
            )
        )
        error_log = workdir / "error.log"
        argv = [binary, "-p", str(workdir), "-c", str(conf), "-e", str(error_log)]
        process = ServerProcess(kind, argv, workdir=workdir, logs=[error_log])
        process.wait_listening(port)
        return HTTPServer(
            kind=kind,
            base_url=f"http://127.0.0.1:{port}",
            port=port,
            root=root,
            workdir=workdir,
            log=AccessLog(workdir / "access.log", parse_tab_line),
            error_log=error_log,
            process=process,
            cleanup=(workdir,) if owned else (),
        )

    return retry_on_port_clash(attempt, cleanup=workdir if owned else None)


def start_nginx(
    root: str | Path,
    *,
    max_ranges: int | None = None,
    delay: float | None = None,
    workdir: Path | None = None,
    workers: int = 1,
    count_in_flight: bool = False,
    queue_past: int | None = None,
) -> HTTPServer:
    """Serve ``root`` with nginx on 127.0.0.1.

    ``max_ranges=0`` disables Range (200 with the whole body), ``delay`` (seconds) holds every
    answer back that long, ``workers`` sets nginx's worker processes. With ``delay``:
    ``count_in_flight`` logs how many requests were being answered as each arrived, and
    ``queue_past`` (which implies it) stretches the wait in proportion past that many.
    """
    root = Path(root).resolve()
    location = f"root {root};"
    if max_ranges is not None:
        location += f" max_ranges {max_ranges};"
    return _start(
        "nginx",
        root,
        location,
        delay=delay,
        workdir=workdir,
        workers=workers,
        count_in_flight=count_in_flight,
        queue_past=queue_past,
    )


def start_nginx_proxy(
    upstream: str, *, delay: float | None = None, workdir: Path | None = None
) -> HTTPServer:
    """A logging reverse proxy to ``upstream`` (``http://host:port``), Host header kept.

    The request is passed on unchanged (Host included, so SigV4 signatures still match) and
    without buffering, so Range answers and uploads stream straight through.
    """
    upstream = upstream.rstrip("/").removeprefix("http://")
    http_extra = f"upstream backend {{ server {upstream}; keepalive 256; }}"
    location = """
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 300s;
            client_max_body_size 0;"""
    return _start(
        "nginx-proxy", Path("/"), location, delay=delay, workdir=workdir, http_extra=http_extra
    )
