"""Fixtures of the section tests: a folder of real-data FITS files and servers serving it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from section_files import SectionFiles, write_section_folder
from servers import HTTPServer, start_apache, start_caddy, start_nginx
from servers.availability import start_or_skip

STARTERS = {"nginx": start_nginx, "apache": start_apache, "caddy": start_caddy}


@pytest.fixture(scope="session")
def section_files(tmp_path_factory: pytest.TempPathFactory) -> SectionFiles:
    return write_section_folder(tmp_path_factory.mktemp("sections"))


@pytest.fixture(scope="session")
def section_server(section_files: SectionFiles) -> Iterator[HTTPServer]:
    """nginx serving the section files (Range enabled), with its access log."""
    server = start_or_skip(lambda: start_nginx(section_files.root))
    yield server
    server.stop()


@pytest.fixture(scope="module", params=sorted(STARTERS))
def any_http_server(
    request: pytest.FixtureRequest, section_files: SectionFiles
) -> Iterator[HTTPServer]:
    """Each of nginx, Apache and Caddy in turn, serving the section files."""
    start = STARTERS[request.param]
    server = start_or_skip(lambda: start(section_files.root))
    yield server
    server.stop()
