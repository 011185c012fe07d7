"""Fixtures of the footprint, find, cutout, checksum and reference tests: the synthetic sky
survey on disk, served over HTTP by nginx and from the S3 server, and catalogs of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from answers_catalogs import build_catalog, s3_options
from servers import HTTPServer, start_nginx
from servers.availability import start_or_skip
from servers.s3data import upload_folder
from servers.seaweedfs import S3Server
from sky_survey import SkySurvey, write_sky_survey

from astro_cloud_async.options import Options

S3_PREFIX = "sky/"


@pytest.fixture(scope="session")
def sky(tmp_path_factory: pytest.TempPathFactory) -> SkySurvey:
    return write_sky_survey(tmp_path_factory.mktemp("sky"))


@pytest.fixture(scope="session")
def sky_http(sky: SkySurvey) -> Iterator[HTTPServer]:
    """nginx serving the survey, with its access log."""
    server = start_or_skip(lambda: start_nginx(sky.root))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sky_s3(s3_server: S3Server, sky: SkySurvey) -> S3Server:
    """The survey in the S3 server's public scratch bucket, under ``sky/``."""
    upload_folder(s3_server, sky.root, s3_server.scratch_bucket, prefix=S3_PREFIX)
    return s3_server


@pytest.fixture(scope="session")
def http_catalog(
    sky: SkySurvey, sky_http: HTTPServer, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A Parquet catalog of the survey indexed over HTTP, with footprints."""
    urls = [sky_http.url(p) for p in sky.all_files]
    return build_catalog(tmp_path_factory.mktemp("cat") / "sky.parquet", urls, Options())


@pytest.fixture(scope="session")
def s3_catalog(sky_s3: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Parquet catalog of the survey indexed from S3 (the prefix listed)."""
    url = sky_s3.url(sky_s3.scratch_bucket, S3_PREFIX)
    return build_catalog(
        tmp_path_factory.mktemp("cat") / "sky-s3.parquet", [url], s3_options(sky_s3)
    )
