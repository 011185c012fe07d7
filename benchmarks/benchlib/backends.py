"""The servers a benchmark reads from: nginx with a delay, and SeaweedFS S3 behind nginx.

Strategy: every request of every peer goes through an nginx that sleeps ``delay`` seconds
before answering (``ngx.sleep``, so the wait costs no server CPU) and logs the request line,
status, body bytes and Range header. Cloud-like latency and the server-side request and byte
counts therefore come from the same place for both back ends: nginx serves the files itself for
plain HTTP, and proxies to a SeaweedFS S3 gateway (Host header kept, so SigV4 signatures hold)
for S3. SeaweedFS keeps its data in the cache folder; uploads happen once (it stores the long
runs of zeros of the sparse files compressed) and later runs only start it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from servers import HTTPServer, start_nginx, start_nginx_proxy
from servers.process import (
    ServerProcess,
    ServerStartError,
    find_binary,
    free_ports,
    retry_on_port_clash,
)

from .survey import SurveyObject

__all__ = [
    "BUCKET",
    "S3_KEY",
    "S3_REGION",
    "S3_SECRET",
    "S3Service",
    "process_tree_cpu",
    "start_http",
    "start_s3",
]

BUCKET = "survey"
S3_KEY = "BENCHACCESSKEY"
S3_SECRET = "bench-secret-key"
S3_REGION = "us-east-1"


WEED_OPTIONS = ("-filer.maxMB=1",)
"""1 MB chunks: a ranged GET then inflates at most about 1 MB of a compressed chunk (about
2 ms of server CPU per request here, against 4 to 11 ms with the default 4 MB chunks). The
chunk size is fixed when an object is uploaded: delete ``cache/seaweedfs`` after changing it."""


def start_http(root: Path, delay: float | None) -> HTTPServer:
    """nginx serving ``root``, sleeping ``delay`` seconds before each answer."""
    return start_nginx(root, delay=delay if delay else None)


@dataclass(frozen=True, slots=True)
class S3Service:
    """A SeaweedFS S3 gateway and the delaying, logging nginx proxy in front of it."""

    endpoint: str
    """The proxy's URL: what the peers use."""
    direct: str
    """SeaweedFS's own S3 URL (uploads go there, unlogged and undelayed)."""
    proxy: HTTPServer
    process: ServerProcess
    workdir: Path

    @property
    def pids(self) -> tuple[int, ...]:
        return (self.process.pid, self.proxy.pid)

    def stop(self) -> None:
        try:
            self.proxy.stop()
        finally:
            self.process.stop(timeout=20.0)
            shutil.rmtree(self.workdir, ignore_errors=True)


def _s3_config(workdir: Path) -> Path:
    path = workdir / "s3.json"
    identity = {
        "name": "bench",
        "credentials": [{"accessKey": S3_KEY, "secretKey": S3_SECRET}],
        "actions": ["Admin", "Read", "Write", "List"],
    }
    path.write_text(json.dumps({"identities": [identity]}))
    return path


def _start_weed(data: Path, workdir: Path, extra: Sequence[str] = ()) -> tuple[ServerProcess, int]:
    binary = find_binary("weed")
    config = _s3_config(workdir)

    def attempt() -> tuple[ServerProcess, int]:
        m, mg, v, vg, f, fg, s, sg = free_ports(8)
        argv = [
            binary,
            "server",
            "-filer",
            "-s3",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={m}",
            f"-master.port.grpc={mg}",
            f"-volume.port={v}",
            f"-volume.port.grpc={vg}",
            f"-filer.port={f}",
            f"-filer.port.grpc={fg}",
            f"-s3.port={s}",
            f"-s3.port.grpc={sg}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            f"-s3.config={config}",
            f"-filer.localSocket={workdir / 'filer.sock'}",
            f"-s3.localSocket={workdir / 's3.sock'}",
            "-volume.preStopSeconds=0",
            *extra,
        ]
        process = ServerProcess("seaweedfs", argv, workdir=workdir)
        process.wait_listening(s, timeout=60.0)
        return process, s

    return retry_on_port_clash(attempt)


def _client(endpoint: str) -> Any:
    """A plain botocore S3 client for set-up (bucket creation)."""
    import botocore.session
    from botocore.config import Config

    return botocore.session.get_session().create_client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
        region_name=S3_REGION,
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )


def _wait_bucket(endpoint: str, process: ServerProcess, timeout: float = 90.0) -> None:
    """Create the bucket (or find it), retrying while SeaweedFS finishes starting."""
    client = _client(endpoint)
    deadline = time.monotonic() + timeout
    while True:
        try:
            names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
            if BUCKET not in names:
                client.create_bucket(Bucket=BUCKET)
            client.list_objects_v2(Bucket=BUCKET, MaxKeys=1)
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise ServerStartError(
                    f"SeaweedFS S3 not ready: {exc}\n{process.diagnostics()}"
                ) from exc
            time.sleep(0.5)


def _obstore(endpoint: str) -> Any:
    """An obstore S3 store on the bucket, for uploads."""
    from obstore.store import S3Store

    return S3Store(
        BUCKET,
        endpoint=endpoint,
        access_key_id=S3_KEY,
        secret_access_key=S3_SECRET,
        region=S3_REGION,
        client_options={"allow_http": True, "timeout": "600s"},
    )


async def _upload(endpoint: str, files: Path, objects: Sequence[SurveyObject], jobs: int) -> None:
    import obstore

    store = _obstore(endpoint)
    present: dict[str, int] = {}
    async for page in obstore.list(store, chunk_size=1000):
        for meta in page:
            present[meta["path"]] = int(meta["size"])
    todo = [o for o in objects if present.get(o.name) != o.size]
    if not todo:
        return
    total = sum(o.size for o in todo)
    print(f"uploading {len(todo)} objects ({total / 1e9:.1f} GB apparent) to SeaweedFS", flush=True)
    began = time.monotonic()
    slots = asyncio.Semaphore(jobs)
    done = 0

    async def put(obj: SurveyObject) -> None:
        nonlocal done
        async with slots:
            await obstore.put_async(store, obj.name, files / obj.name, max_concurrency=4)
        done += 1
        if done % 200 == 0:
            print(f"  {done}/{len(todo)} in {time.monotonic() - began:.0f} s", flush=True)

    await asyncio.gather(*(put(o) for o in todo))
    print(f"  uploaded in {time.monotonic() - began:.0f} s", flush=True)


def start_s3(
    cache: Path,
    objects: Sequence[SurveyObject],
    delay: float | None,
    *,
    jobs: int = 3,
    extra: Sequence[str] = WEED_OPTIONS,
) -> S3Service:
    """SeaweedFS on ``cache/seaweedfs`` holding ``objects``, behind a delaying nginx proxy."""
    data = cache / "seaweedfs"
    data.mkdir(parents=True, exist_ok=True)
    # Unix sockets need a short path: keep the run files in a private temporary folder.
    workdir = Path(tempfile.mkdtemp(prefix="bench-s3-"))
    process, port = _start_weed(data, workdir, extra)
    try:
        direct = f"http://127.0.0.1:{port}"
        _wait_bucket(direct, process)
        asyncio.run(_upload(direct, cache / "files", objects, jobs))
        proxy = start_nginx_proxy(direct, delay=delay if delay else None)
    except BaseException:
        process.stop(timeout=20.0)
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return S3Service(proxy.base_url, direct, proxy, process, workdir)


def _tree(pid: int) -> Iterator[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        yield root
        yield from root.children(recursive=True)


def process_tree_cpu(pids: Sequence[int]) -> float:
    """User + system CPU seconds of the processes ``pids`` and all their children."""
    total = 0.0
    for pid in pids:
        for proc in _tree(pid):
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
    return total
