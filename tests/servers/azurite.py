"""Azurite, Microsoft's Azure Storage emulator, as the Azure Blob test server.

``azurite-blob`` (npm package ``azurite``, installed by ``.ci/run``) runs in memory on a free
port with its well-known development account, and checks Shared Key and SAS signatures as
Azure does. Containers: ``public`` (anonymous read and list, ``container`` access level) and
``private`` (signed requests only). A logging nginx gateway in front (``endpoint_url``) lets
tests count requests and bytes; requests pass through unchanged. Set-up (containers,
uploads, SAS tokens) uses Microsoft's ``azure-storage-blob`` SDK, so the store under test is
checked against an implementation it shares no code with.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .accesslog import AccessLogEntry
from .gateway import start_gateway
from .handle import HTTPServer
from .process import (
    ServerProcess,
    ServerStartError,
    find_binary,
    free_ports,
    make_workdir,
    retry_on_port_clash,
)

__all__ = ["AzureServer", "azurite_binary", "start_azurite"]

ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite_binary() -> str:
    return find_binary("azurite-blob", "/usr/local/bin/azurite-blob", "/usr/bin/azurite-blob")


@dataclass(frozen=True, slots=True)
class AzureServer:
    """A running Azurite blob service on 127.0.0.1 and its logging gateway.

    ``endpoint_url`` (through the gateway) and ``direct_endpoint_url`` are blob service URLs,
    ``http://127.0.0.1:PORT/devstoreaccount1``.
    """

    endpoint_url: str
    direct_endpoint_url: str
    account: str
    key: str
    workdir: Path
    process: ServerProcess
    gateway: HTTPServer
    public_container: str = "public"
    private_container: str = "private"

    def url(self, container: str, blob: str) -> str:
        return f"az://{container}/{blob}"

    def connection_string(self, *, direct: bool = False, key: bool = True) -> str:
        endpoint = self.direct_endpoint_url if direct else self.endpoint_url
        parts = [f"AccountName={self.account}", f"BlobEndpoint={endpoint}"]
        if key:
            parts.insert(1, f"AccountKey={self.key}")
        return ";".join(["DefaultEndpointsProtocol=http", *parts]) + ";"

    def service(self) -> Any:
        """A ``BlobServiceClient`` of the SDK, straight to Azurite (for set-up)."""
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string(direct=True))

    def container_sas(self, container: str, permission: str = "rl", hours: float = 1.0) -> str:
        """A SAS token for ``container`` made by the SDK with the account key."""
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        return str(
            generate_container_sas(
                self.account,
                container,
                account_key=self.key,
                permission=ContainerSasPermissions.from_string(permission),
                expiry=datetime.now(timezone.utc) + timedelta(hours=hours),
            )
        )

    def upload(self, container: str, files: Mapping[str, Path]) -> None:
        """Upload ``files`` (blob name -> file) into ``container``, a few at a time."""
        with self.service() as service:
            client = service.get_container_client(container)

            def put(item: tuple[str, Path]) -> None:
                name, path = item
                with open(path, "rb") as data:
                    client.upload_blob(name, data, overwrite=True)

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(put, files.items()))

    def log_mark(self) -> int:
        return self.gateway.log_mark()

    def access_log_entries(
        self, since: int = 0, *, at_least: int = 0, timeout: float = 5.0
    ) -> list[AccessLogEntry]:
        """Requests the gateway saw (paths are ``/devstoreaccount1/container/blob?query``)."""
        return self.gateway.access_log_entries(since, at_least=at_least, timeout=timeout)

    def stop(self) -> None:
        self.gateway.stop()
        self.process.stop(timeout=5.0)
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_azurite() -> AzureServer:
    """Start Azurite's blob service and its gateway; create the two containers."""
    binary = azurite_binary()
    workdir = make_workdir("azurite")

    def attempt() -> tuple[ServerProcess, int]:
        (port,) = free_ports(1)
        argv = [
            binary, "--blobHost", "127.0.0.1", "--blobPort", str(port),
            "--inMemoryPersistence", "--silent",
            "--disableProductStyleUrl", "--disableTelemetry", "--skipApiVersionCheck",
        ]  # fmt: skip
        process = ServerProcess("azurite", argv, workdir=workdir)
        process.wait_listening(port, timeout=60.0)
        return process, port

    process, port = retry_on_port_clash(attempt, cleanup=workdir)
    try:
        gateway = start_gateway("azurite-gateway", f"127.0.0.1:{port}")
    except BaseException:
        process.stop()
        raise
    server = AzureServer(
        endpoint_url=f"{gateway.base_url}/{ACCOUNT}",
        direct_endpoint_url=f"http://127.0.0.1:{port}/{ACCOUNT}",
        account=ACCOUNT,
        key=KEY,
        workdir=workdir,
        process=process,
        gateway=gateway,
    )
    try:
        _create_containers(server)
    except Exception as exc:
        diagnostics = process.diagnostics()
        server.stop()
        raise ServerStartError(f"Azurite did not accept requests: {exc}\n{diagnostics}") from exc
    return server


def _create_containers(server: AzureServer) -> None:
    from azure.core.exceptions import ResourceExistsError, ServiceRequestError

    deadline = time.monotonic() + 30.0
    with server.service() as service:
        for name, access in (
            (server.public_container, "container"),
            (server.private_container, None),
        ):
            while True:
                try:
                    service.create_container(name, public_access=access)
                    break
                except ResourceExistsError:
                    break
                except ServiceRequestError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
