"""Fixtures of the command-line tests: the command, small FITS files, a counting server."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import Run, command, write_small_files

from astro_cloud_async.demo.server import RangeServer, serve_directory_in_thread


@pytest.fixture
def cli() -> Run:
    """``cli(*args, input=None)``: run the command, return the finished process."""

    def run(
        *args: str | os.PathLike[str], input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command(), *map(str, args)],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


@pytest.fixture(scope="module")
def small_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """30 small FITS files in one folder."""
    return write_small_files(tmp_path_factory.mktemp("small"), 30)


@pytest.fixture
def small_server(small_files: list[Path]) -> Iterator[RangeServer]:
    """The small files over HTTP with Range, counting requests per path."""
    with serve_directory_in_thread(small_files[0].parent) as server:
        yield server
