"""A logging nginx in front of an emulator, with locations of the tests' own before it.

Emulators log nothing the tests can count, and fake-gcs-server checks no credentials. So the
GCS and Azure fixtures put nginx in front: every request is logged (request line, status,
body bytes, Range) like the static servers' are, and the GCS gateway adds what the emulator
lacks (a token endpoint for google-auth, bearer-token checks on private buckets) as plain
nginx locations. Requests pass through unchanged, Host included, so signatures still match.
"""

from __future__ import annotations

from pathlib import Path

from .accesslog import AccessLog, parse_tab_line
from .handle import HTTPServer
from .nginx import _LOG_FORMAT, _user_line, nginx_binary
from .process import ServerProcess, free_ports, make_workdir, retry_on_port_clash

__all__ = ["PROXY", "start_gateway"]

PROXY = """
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 300s;
            client_max_body_size 0;"""
"""The directives of a location that passes requests on to the emulator."""


def _config(workdir: Path, port: int, upstream: str, locations: str) -> str:
    temp = "\n".join(
        f"    {kind}_temp_path {workdir / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
{_user_line()}
daemon off;
master_process on;
worker_processes 1;
pid {workdir / "nginx.pid"};
error_log {workdir / "error.log"} warn;
events {{ worker_connections 4096; }}
http {{
    {_LOG_FORMAT}
    access_log {workdir / "access.log"} counted;
{temp}
    keepalive_timeout 60s;
    keepalive_requests 100000;
    server_tokens off;
    upstream backend {{ server {upstream}; keepalive 256; }}
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        server_name localhost;
        {locations}
        location / {{ {PROXY} }}
    }}
}}
"""


def start_gateway(kind: str, upstream: str, locations: str = "") -> HTTPServer:
    """nginx on a free port passing every request to ``upstream`` (``host:port``), logged;
    ``locations`` (nginx ``location`` blocks) are matched before the catch-all."""
    binary = nginx_binary()
    workdir = make_workdir(kind)

    def attempt() -> HTTPServer:
        (port,) = free_ports(1)
        conf = workdir / "nginx.conf"
        conf.write_text(_config(workdir, port, upstream, locations))
        error_log = workdir / "error.log"
        argv = [binary, "-p", str(workdir), "-c", str(conf), "-e", str(error_log)]
        process = ServerProcess(kind, argv, workdir=workdir, logs=[error_log])
        process.wait_listening(port)
        return HTTPServer(
            kind=kind,
            base_url=f"http://127.0.0.1:{port}",
            port=port,
            root=Path("/"),
            workdir=workdir,
            log=AccessLog(workdir / "access.log", parse_tab_line),
            error_log=error_log,
            process=process,
            cleanup=(workdir,),
        )

    return retry_on_port_clash(attempt, cleanup=workdir)
