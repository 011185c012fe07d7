"""Real servers on 127.0.0.1 for the integration tests and benchmarks.

Each ``start_*`` function launches one server program on free ports from its own configuration
in a private folder, waits until it answers, and returns a frozen handle with its URL, its
parsed access log and ``stop()``. A server that does not come up raises
:class:`ServerStartError` with its own error output; a missing program raises
:class:`ServerBinaryMissing`.

Modules: ``process`` (start/stop by PID, free ports), ``accesslog`` (parsed server-side request
records), ``handle`` (the HTTP server handle), one module per server (``nginx``, ``apache``,
``caddy``, ``seaweedfs``), ``s3data`` (filling the S3 server) and ``traced`` (a caller's aiohttp
session that records what it sends).
"""

from .accesslog import AccessLog, AccessLogEntry
from .apache import start_apache
from .caddy import start_caddy
from .handle import HTTPServer
from .nginx import start_nginx, start_nginx_proxy
from .process import ServerBinaryMissing, ServerProcess, ServerStartError, free_ports
from .s3data import ManyKeys, copy_objects, load_many_keys, put_objects, tiny_fits, upload_folder
from .seaweedfs import S3Server, start_seaweedfs

__all__ = [
    "AccessLog",
    "AccessLogEntry",
    "HTTPServer",
    "ManyKeys",
    "S3Server",
    "ServerBinaryMissing",
    "ServerProcess",
    "ServerStartError",
    "copy_objects",
    "free_ports",
    "load_many_keys",
    "put_objects",
    "start_apache",
    "start_caddy",
    "start_nginx",
    "start_nginx_proxy",
    "start_seaweedfs",
    "tiny_fits",
    "upload_folder",
]
