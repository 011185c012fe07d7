"""Catalogs of the synthetic sky survey for the answers tests (a module of its own, so test
modules never import a ``conftest`` by name: another folder's would shadow it)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from servers.seaweedfs import S3Server

from astro_cloud_async.indexing import IndexJob, index
from astro_cloud_async.options import Options


def s3_options(server: S3Server) -> Options:
    return Options(endpoint_url=server.endpoint_url, anon=True)


def build_catalog(output: Path, sources: list[str], options: Options, **job: object) -> Path:
    job.setdefault("footprints", True)
    result = asyncio.run(index(IndexJob(output=output, sources=sources, options=options, **job)))
    assert result.counts.failed == 0, result.new_failures
    return output
