"""SeaweedFS as the S3-compatible test server (``weed mini``: master, volume, filer, S3 in one).

Every port it opens is chosen free and passed explicitly, gRPC ports included, so parallel runs
do not collide; ``TMPDIR`` points into the private folder, which keeps its Unix sockets and logs
out of the shared ``/tmp``. The identities file gives one admin key pair (signed requests, full
access) and an anonymous identity that may read and list only the public buckets, so unsigned
GETs work there and are refused (403) elsewhere. SeaweedFS checks SigV4 signatures.

A logging nginx proxy sits in front by default (``endpoint_url``) so tests can count requests
and bytes on the server side as for the HTTP servers; ``direct_endpoint_url`` skips it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .accesslog import AccessLogEntry
from .handle import HTTPServer
from .nginx import start_nginx_proxy
from .process import (
    ServerProcess,
    ServerStartError,
    find_binary,
    free_ports,
    make_workdir,
    retry_on_port_clash,
)

__all__ = ["S3Server", "start_seaweedfs", "weed_binary"]

ACCESS_KEY = "AKIDASTROCLOUDTEST01"
SECRET_KEY = "astro-cloud-test-secret-key-0000000000001"
REGION = "us-east-1"

PUBLIC_BUCKETS = ("public", "listing", "scratch")
SIGNED_BUCKETS = ("private", "requester-pays", "scratch-private")


def weed_binary() -> str:
    return find_binary("weed")


@dataclass(frozen=True, slots=True)
class S3Server:
    """A running SeaweedFS S3 endpoint on 127.0.0.1.

    ``endpoint_url`` goes through the logging proxy, ``direct_endpoint_url`` to SeaweedFS;
    ``filer_address`` (``host:port.grpcport``) is for ``weed filer.copy`` bulk loads.

    Buckets: ``public`` (anonymous read), ``private`` (signed only), ``requester-pays`` (signed
    only; SeaweedFS accepts ``x-amz-request-payer: requester`` and bills nobody) and ``listing``
    (anonymous read, kept for listing tests). Tests that add objects of their own put them in
    ``scratch`` (anonymous read) and ``scratch-private`` (signed only), so the corpus buckets
    hold the corpus alone whatever order tests run in. Created by :meth:`create_buckets`.
    """

    endpoint_url: str
    direct_endpoint_url: str
    filer_address: str
    access_key: str
    secret_key: str
    region: str
    workdir: Path
    process: ServerProcess
    proxy: HTTPServer | None
    cleanup: tuple[Path, ...] = ()
    public_bucket: str = "public"
    private_bucket: str = "private"
    requester_pays_bucket: str = "requester-pays"
    listing_bucket: str = "listing"
    scratch_bucket: str = "scratch"
    scratch_private_bucket: str = "scratch-private"
    buckets: tuple[str, ...] = field(default=(*PUBLIC_BUCKETS, *SIGNED_BUCKETS))

    def url(self, bucket: str, key: str) -> str:
        """``s3://bucket/key``."""
        return f"s3://{bucket}/{key}"

    def http_url(self, bucket: str, key: str) -> str:
        """Path-style HTTP URL of an object (through the logging proxy)."""
        return f"{self.endpoint_url}/{bucket}/{key}"

    def env(self) -> dict[str, str]:
        """Environment variables that point AWS SDKs (botocore, aiobotocore) at this server."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,
        }

    def client_kwargs(self, *, direct: bool = False) -> dict[str, Any]:
        """Keyword arguments for ``session.create_client("s3", **kwargs)`` (signed, path style)."""
        from botocore.config import Config

        return {
            "endpoint_url": self.direct_endpoint_url if direct else self.endpoint_url,
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
            "region_name": self.region,
            "config": Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 5, "mode": "standard"},
                max_pool_connections=64,
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        }

    def client(self, *, direct: bool = False) -> Any:
        """A synchronous botocore S3 client (for set-up code; close it when done)."""
        import botocore.session

        session = botocore.session.get_session()
        return session.create_client("s3", **self.client_kwargs(direct=direct))

    def log_mark(self) -> int:
        return self._proxy().log_mark()

    def access_log_entries(
        self, since: int = 0, *, at_least: int = 0, timeout: float = 5.0
    ) -> list[AccessLogEntry]:
        """Requests seen by the logging proxy (paths are ``/bucket/key?query``)."""
        return self._proxy().access_log_entries(since, at_least=at_least, timeout=timeout)

    def _proxy(self) -> HTTPServer:
        if self.proxy is None:
            raise RuntimeError("this S3 server was started without its logging proxy")
        return self.proxy

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        # SeaweedFS stops in about a second on SIGTERM; its data folder is thrown away anyway.
        self.process.stop(timeout=5.0)
        for folder in self.cleanup:
            shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> S3Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def identities(access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> dict[str, Any]:
    """The ``-s3.config`` document: an admin key pair and anonymous read on public buckets."""
    anonymous = [f"{action}:{bucket}" for bucket in PUBLIC_BUCKETS for action in ("Read", "List")]
    return {
        "identities": [
            {
                "name": "admin",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            },
            {"name": "anonymous", "actions": anonymous},
        ]
    }


def _admin_ports() -> tuple[int, int]:
    # The mini set-up's maintenance worker dials the admin gRPC port at admin port + 10000
    # whatever -admin.port.grpc says, so pick a pair where both are free and give it that.
    for _ in range(200):
        (port,) = free_ports(1)
        if port + 10000 > 65535:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port, port + 10000
    raise ServerStartError("no free pair of ports for the SeaweedFS admin server")


def start_seaweedfs(
    *, workdir: Path | None = None, logging_proxy: bool = True, delay: float | None = None
) -> S3Server:
    """Start SeaweedFS with S3 on free loopback ports and create its buckets.

    ``delay`` (seconds) is added to every request by the logging proxy (needs the proxy).
    """
    binary = weed_binary()
    owned = workdir is None
    workdir = make_workdir("seaweedfs") if workdir is None else workdir
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "identities.json"
    config.write_text(json.dumps(identities(), indent=2))

    def attempt() -> tuple[ServerProcess, list[int]]:
        data = workdir / "data"
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir()
        names = ("master", "volume", "filer", "s3")
        ports = free_ports(2 * len(names))
        admin, admin_grpc = _admin_ports()
        argv = [
            binary, "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-admin.port={admin}", f"-admin.port.grpc={admin_grpc}", "-admin.ui=false",
            "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.telemetry=false", "-volume.preStopSeconds=0",
            f"-s3.config={config}",
            f"-filer.localSocket={workdir / 'filer.sock'}",
            f"-s3.localSocket={workdir / 's3.sock'}",
        ]  # fmt: skip
        for i, name in enumerate(names):
            argv += [f"-{name}.port={ports[2 * i]}", f"-{name}.port.grpc={ports[2 * i + 1]}"]
        env = {**os.environ, "TMPDIR": str(workdir), "HOME": str(workdir)}
        process = ServerProcess("seaweedfs", argv, workdir=workdir, env=env)
        process.wait_listening(ports[6], timeout=60.0)
        return process, ports

    process, ports = retry_on_port_clash(attempt, cleanup=workdir if owned else None)
    direct = f"http://127.0.0.1:{ports[6]}"
    proxy = None
    try:
        if logging_proxy:
            proxy = start_nginx_proxy(direct, delay=delay, workdir=workdir / "proxy")
    except BaseException:
        process.stop()
        raise
    server = S3Server(
        endpoint_url=proxy.base_url if proxy is not None else direct,
        direct_endpoint_url=direct,
        filer_address=f"127.0.0.1:{ports[4]}.{ports[5]}",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region=REGION,
        workdir=workdir,
        process=process,
        proxy=proxy,
        cleanup=(workdir,) if owned else (),
    )
    try:
        create_buckets(server)
    except Exception as exc:
        diagnostics = process.diagnostics()
        server.stop()
        raise ServerStartError(f"SeaweedFS did not accept requests: {exc}\n{diagnostics}") from exc
    return server


def create_buckets(server: S3Server, names: tuple[str, ...] | None = None) -> None:
    """Create the server's buckets (idempotent), retrying while SeaweedFS finishes starting."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = server.client(direct=True)
    try:
        deadline = time.monotonic() + 30.0
        for bucket in names or server.buckets:
            while True:
                try:
                    client.create_bucket(Bucket=bucket)
                    break
                except ClientError as exc:
                    code = exc.response.get("Error", {}).get("Code")
                    if code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        break
                    if time.monotonic() > deadline:
                        raise
                except BotoCoreError:
                    if time.monotonic() > deadline:
                        raise
                time.sleep(0.1)
    finally:
        client.close()
