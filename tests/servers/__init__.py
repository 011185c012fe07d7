"""Real servers on 127.0.0.1 for the integration tests and benchmarks.

Each ``start_*`` function launches one server program on free ports from its own configuration
in a private folder, waits until it answers, and returns a frozen handle with its URL, its
parsed access log and ``stop()``. A server that does not come up raises
:class:`ServerStartError` with its own error output; a missing program raises
:class:`ServerBinaryMissing`.
"""

from .accesslog import AccessLog, AccessLogEntry
from .handle import HTTPServer
from .nginx import start_nginx, start_nginx_proxy
from .process import ServerBinaryMissing, ServerProcess, ServerStartError, free_ports

__all__ = [
    "AccessLog",
    "AccessLogEntry",
    "HTTPServer",
    "ServerBinaryMissing",
    "ServerProcess",
    "ServerStartError",
    "free_ports",
    "start_nginx",
    "start_nginx_proxy",
]
