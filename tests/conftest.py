"""Shared fixtures: the sample corpus and the real servers that serve it on 127.0.0.1.

Servers are session-scoped (each starts once, in well under a second, except SeaweedFS which
takes a few seconds) and serve the one folder ``sample_corpus`` writes. Tests that use them are
marked ``servers`` automatically. When a server program is missing the test is skipped, or
fails under CI (``CI=true``), where everything must run: ``servers.ci_rule`` turns any skip of a
real-server test into a failure there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from servers import HTTPServer, start_apache, start_caddy, start_nginx
from servers.availability import start_or_skip
from servers.azurite import AzureServer, start_azurite
from servers.faults import FaultServer
from servers.gcs import GCSServer, start_fake_gcs
from servers.s3data import ManyKeys, copy_objects, load_many_keys, upload_folder
from servers.seaweedfs import S3Server, start_seaweedfs
from servers.survey import write_survey

from astro_cloud_async.demo.survey import write_test_corpus

pytest_plugins = ["servers.ci_rule", "pytester"]

SERVER_FIXTURES = frozenset(
    {
        "nginx_server",
        "nginx_norange",
        "apache_server",
        "caddy_server",
        "s3_server",
        "s3_many_keys",
        "s3_env",
        "gcs_server",
        "gcs_credentials",
        "azure_server",
        "section_server",
        "any_http_server",
        "hostile_nginx",
        "hostile_nginx_norange",
        "farm_nginx",
        "slow_nginx",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.servers)


@pytest.fixture(scope="session")
def sample_corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``write_test_corpus`` in a session folder: name -> path, all in one folder.

    The folder itself is ``next(iter(sample_corpus.values())).parent``.
    """
    return write_test_corpus(tmp_path_factory.mktemp("corpus"))


def _corpus_root(corpus: dict[str, Path]) -> Path:
    return next(iter(corpus.values())).parent


@pytest.fixture(scope="session")
def nginx_server(sample_corpus: dict[str, Path]) -> Iterator[HTTPServer]:
    """nginx serving the sample corpus, Range enabled."""
    server = start_or_skip(lambda: start_nginx(_corpus_root(sample_corpus)))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def nginx_norange(sample_corpus: dict[str, Path]) -> Iterator[HTTPServer]:
    """nginx serving the sample corpus with Range disabled: every GET answers 200, full body."""
    server = start_or_skip(lambda: start_nginx(_corpus_root(sample_corpus), max_ranges=0))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def apache_server(sample_corpus: dict[str, Path]) -> Iterator[HTTPServer]:
    """Apache httpd serving the sample corpus (its own Range handling, 416 without size)."""
    server = start_or_skip(lambda: start_apache(_corpus_root(sample_corpus)))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def caddy_server(sample_corpus: dict[str, Path]) -> Iterator[HTTPServer]:
    """Caddy's file_server serving the sample corpus."""
    server = start_or_skip(lambda: start_caddy(_corpus_root(sample_corpus)))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server(sample_corpus: dict[str, Path]) -> Iterator[S3Server]:
    """SeaweedFS with the sample corpus in each of its buckets, keyed by file name.

    ``sample_corpus["tess_1"].name`` is the key of that object in ``public`` (anonymous
    read), ``private`` and ``requester-pays`` (signed only); ``s3_server.url(bucket, key)``
    gives the ``s3://`` URL, ``s3_server.env()`` the AWS_* variables, and
    ``s3_server.access_log_entries()`` what the logging proxy in front of it saw.
    """
    server = start_or_skip(start_seaweedfs)
    try:
        keys = upload_folder(server, _corpus_root(sample_corpus), server.public_bucket)
        for bucket in (server.private_bucket, server.requester_pays_bucket):
            copy_objects(server, server.public_bucket, keys, bucket)
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_many_keys(s3_server: S3Server) -> ManyKeys:
    """2,500 tiny FITS objects (one block each) under one prefix, for listing tests.

    ``s3_many_keys.bucket`` is ``"listing"`` (anonymous read and list allowed),
    ``s3_many_keys.prefix`` is ``"many/"``, ``s3_many_keys.keys`` the 2,500 keys in listing
    order (``many/tiny-000000.fits`` ...), ``s3_many_keys.url`` is ``s3://listing/many/`` and
    ``s3_many_keys.server`` the :class:`S3Server`. Nothing else is ever stored in that bucket.
    """
    return load_many_keys(s3_server, s3_server.listing_bucket, "many/", 2500)


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """Point AWS SDK environment variables at ``s3_server`` (admin keys) for one test."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    return s3_server


@pytest.fixture
async def faults() -> AsyncIterator[FaultServer]:
    """A small server of the tests' own that answers with faults no real server produces."""
    server = FaultServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


# --- Google Cloud Storage and Azure Blob emulators ---------------------------------------------

_LARGE = frozenset({"tess_2", "tess_3", "mosaic"})
"""Corpus files left out of the emulators, which hold everything in memory."""


@pytest.fixture(scope="session")
def cloud_survey(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """500 small FITS files of six kinds (``survey/obs-0000.fits``...): key -> local path."""
    return write_survey(tmp_path_factory.mktemp("cloud-survey"), 500)


@pytest.fixture(scope="session")
def cloud_objects(sample_corpus: dict[str, Path], cloud_survey: dict[str, Path]) -> dict[str, Path]:
    """What each emulator bucket and container holds: the survey under ``survey/`` and the
    sample corpus (less its three largest files) keyed by file name."""
    corpus = {p.name: p for name, p in sample_corpus.items() if name not in _LARGE}
    return {**corpus, **cloud_survey}


@pytest.fixture(scope="session")
def gcs_server(cloud_objects: dict[str, Path]) -> Iterator[GCSServer]:
    """fake-gcs-server behind its token-checking gateway; ``public``, ``private`` and
    ``requester-pays`` each hold ``cloud_objects``."""
    buckets = dict.fromkeys(("public", "private", "requester-pays"), cloud_objects)
    server = start_or_skip(lambda: start_fake_gcs(buckets))
    yield server
    server.stop()


@pytest.fixture
def gcs_credentials(
    gcs_server: GCSServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> GCSServer:
    """A fresh service-account file in GOOGLE_APPLICATION_CREDENTIALS (tokens from the
    gateway) and no emulator variable: tests pass ``endpoint_url``."""
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(gcs_server.credentials_file(tmp_path)))
    return gcs_server


@pytest.fixture(scope="session")
def azure_server(cloud_objects: dict[str, Path]) -> Iterator[AzureServer]:
    """Azurite behind a logging gateway; ``public`` (anonymous read and list) and
    ``private`` each hold ``cloud_objects``."""
    server = start_or_skip(start_azurite)
    try:
        for container in (server.public_container, server.private_container):
            server.upload(container, cloud_objects)
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()
