"""Fixtures of the section tests: a folder of real-data FITS files and nginx serving it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from section_files import SectionFiles, write_section_folder
from servers import HTTPServer, ServerBinaryMissing, start_nginx


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def section_files(tmp_path_factory: pytest.TempPathFactory) -> SectionFiles:
    return write_section_folder(tmp_path_factory.mktemp("sections"))


@pytest.fixture(scope="session")
def section_server(section_files: SectionFiles) -> Iterator[HTTPServer]:
    """nginx serving the section files (Range enabled), with its access log."""
    try:
        server = start_nginx(section_files.root)
    except ServerBinaryMissing as exc:
        if _in_ci():
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))
    yield server
    server.stop()
