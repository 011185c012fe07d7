"""Filling the S3 test server: upload a folder, copy a bucket, bulk-load many small objects.

Set-up code runs in synchronous session fixtures, so this is plain botocore (a thread pool for
concurrency). Objects are PUT through the S3 API once and then copied server-side, which costs
SeaweedFS almost nothing. Thousands of tiny objects are loaded with ``weed filer.copy``, several
times faster than as many signed PUTs; S3 lists and serves them like any other object.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .process import ServerStartError
from .seaweedfs import S3Server, weed_binary

__all__ = [
    "ManyKeys",
    "copy_objects",
    "load_many_keys",
    "put_objects",
    "tiny_fits",
    "upload_folder",
]


def _run_all(items: Iterable[Any], action: Any, workers: int) -> None:
    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(action, items):
            pass


def upload_folder(
    server: S3Server, folder: str | Path, bucket: str, *, prefix: str = "", workers: int = 8
) -> dict[str, Path]:
    """PUT every file under ``folder`` into ``bucket`` as ``prefix + relative path``.

    Returns key -> local path. Uploads go straight to SeaweedFS, not through the logging
    proxy, so they do not appear in the access log.
    """
    folder = Path(folder)
    keys = {
        prefix + path.relative_to(folder).as_posix(): path
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
    client = server.client(direct=True)

    def put(item: tuple[str, Path]) -> None:
        with open(item[1], "rb") as f:
            client.put_object(Bucket=bucket, Key=item[0], Body=f)

    try:
        # Largest first, so the big objects do not all end up last.
        _run_all(sorted(keys.items(), key=lambda kv: -kv[1].stat().st_size), put, workers)
    finally:
        client.close()
    return keys


def copy_objects(
    server: S3Server, source: str, keys: Iterable[str], target: str, *, workers: int = 8
) -> None:
    """Server-side copy of ``keys`` from bucket ``source`` to bucket ``target``."""
    client = server.client(direct=True)

    def copy(key: str) -> None:
        client.copy_object(Bucket=target, Key=key, CopySource={"Bucket": source, "Key": key})

    try:
        _run_all(list(keys), copy, workers)
    finally:
        client.close()


def put_objects(
    server: S3Server, bucket: str, objects: Mapping[str, bytes], *, workers: int = 32
) -> None:
    """PUT ``objects`` (key -> bytes) into ``bucket`` concurrently (direct to SeaweedFS)."""
    client = server.client(direct=True)

    def put(item: tuple[str, bytes]) -> None:
        client.put_object(Bucket=bucket, Key=item[0], Body=item[1])

    try:
        _run_all(objects.items(), put, workers)
    finally:
        client.close()


_TINY_TEMPLATE: bytes | None = None


def tiny_fits(index: int) -> bytes:
    """A one-block FITS object (empty primary) whose OBJECT card names ``index``."""
    global _TINY_TEMPLATE
    if _TINY_TEMPLATE is None:
        from astropy.io import fits

        header = fits.PrimaryHDU().header
        header["OBJECT"] = ("tiny-000000", "index of this object in its listing")
        header["ORIGIN"] = ("astro_cloud_async tests", "")
        _TINY_TEMPLATE = header.tostring().encode("ascii")
    return _TINY_TEMPLATE.replace(b"tiny-000000", f"tiny-{index:06d}".encode())


@dataclass(frozen=True, slots=True)
class ManyKeys:
    """Many tiny FITS objects under one prefix: ``keys`` (sorted) in ``bucket``.

    ``server.url(bucket, key)`` names one; each is :func:`tiny_fits` of its position in ``keys``
    (one 2880-byte block).
    """

    server: S3Server
    bucket: str
    prefix: str
    keys: tuple[str, ...]

    @property
    def url(self) -> str:
        """``s3://bucket/prefix`` (the prefix ends with ``/``)."""
        return f"s3://{self.bucket}/{self.prefix}"


def load_many_keys(
    server: S3Server, bucket: str, prefix: str, count: int, *, concurrency: int = 32
) -> ManyKeys:
    """Store ``count`` tiny FITS objects as ``prefix + 'tiny-NNNNNN.fits'`` in ``bucket``."""
    keys = tuple(f"{prefix}tiny-{i:06d}.fits" for i in range(count))
    with tempfile.TemporaryDirectory(prefix="many-keys-") as tmp:
        files = []
        for i, key in enumerate(keys):
            files.append(Path(tmp) / key.removeprefix(prefix))
            files[-1].write_bytes(tiny_fits(i))
        target = f"http://{server.filer_address}/buckets/{bucket}/{prefix}"
        argv = [weed_binary(), "filer.copy", f"-c={concurrency}", f"-collection={bucket}"]
        done = subprocess.run(
            [*argv, *map(str, files), target],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    if done.returncode != 0:
        raise ServerStartError(
            f"weed filer.copy failed: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return ManyKeys(server=server, bucket=bucket, prefix=prefix, keys=keys)
