"""Interrupted index runs resume exactly: after SIGINT, ``--resume`` fetches nothing the catalog
already holds, and the final catalog holds every object once.

Requests are counted where they are paid, in nginx's access log. nginx serves 2,000 objects
(symbolic links to three small FITS files of one, two and three HDUs, so every object's rows can
be checked against astropy) and holds each answer back a few milliseconds, so that a run can be
interrupted midway. The command runs in a subprocess, as a user runs it, and gets a real SIGINT.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from servers import HTTPServer, start_nginx
from servers.availability import start_or_skip

from astro_cloud_async.catalog import completed_urls, read_catalog

OBJECTS = 2000
HDUS = (1, 2, 3)
"""HDUs of the three files the objects link to (object ``i`` links to file ``i % 3``)."""


def _command(*args: str | os.PathLike[str]) -> list[str]:
    return [sys.executable, "-m", "astro_cloud_async.cli", *map(str, args)]


@pytest.fixture(scope="module")
def linked_objects(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("resume")
    for n in HDUS:
        images = [fits.ImageHDU(np.full((4, 6), j, dtype=np.int16)) for j in range(n - 1)]
        fits.HDUList([fits.PrimaryHDU(), *images]).writeto(root / f"target{n}.fits")
    for i in range(OBJECTS):
        os.symlink(f"target{HDUS[i % 3]}.fits", root / f"obj{i:04d}.fits")
    return root


@pytest.fixture(scope="module")
def slow_nginx(linked_objects: Path) -> Iterator[HTTPServer]:
    server = start_or_skip(lambda: start_nginx(linked_objects, delay=0.004))
    yield server
    server.stop()


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _object_paths(server: HTTPServer, since: int) -> Counter[str]:
    return Counter(e.path for e in server.access_log_entries(since) if e.path.startswith("/obj"))


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def _check_catalog(out: Path, urls: list[str]) -> None:
    """Every object once, each with exactly its HDUs."""
    rows: dict[str, list[int]] = {}
    for row in read_catalog(out).to_pylist():
        rows.setdefault(str(row["url"]), []).append(int(row["hdu"]))
    assert set(rows) == set(urls)
    for i, url in enumerate(urls):
        assert sorted(rows[url]) == list(range(HDUS[i % 3])), url


def _interrupt(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted after" in stderr
    return stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", ["catalog.parquet", "catalog.jsonl", "catalog.csv"])
def test_sigint_then_resume_fetches_nothing_already_in_the_catalog(
    slow_nginx: HTTPServer, tmp_path: Path, name: str
) -> None:
    urls = [slow_nginx.url(f"obj{i:04d}.fits") for i in range(OBJECTS)]
    url_file = tmp_path / "urls.txt"
    url_file.write_text("".join(u + "\n" for u in urls))
    out = tmp_path / name
    args = ["index", "--from-file", url_file, "-o", out, "--keywords", "OBJECT"]
    args += ["--concurrency", "8", "--batch-size", "50", "--flush-interval", "0.1"]
    # Three layouts under one name pattern: a predicted layout would be wrong for two objects
    # in three and cost them a second request; walked, each object is one read.
    args += ["--no-predict-layout"]
    start = slow_nginx.log_mark()
    process = subprocess.Popen(
        _command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_for(lambda: len(completed_urls(out)) >= 300, 120, "300 objects in the catalog")
    finally:
        stderr = _interrupt(process)
    done_at_sigint = completed_urls(out)
    fetched_before = _object_paths(slow_nginx, start)
    assert 300 <= len(done_at_sigint) < OBJECTS, stderr
    # Each object of the catalog was fetched in one request (the files fit the first read).
    assert all(fetched_before[_path(u)] == 1 for u in done_at_sigint)

    mark = slow_nginx.log_mark()
    resumed = subprocess.run(
        _command(*args, "--resume"), capture_output=True, text=True, timeout=300, check=False
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(done_at_sigint)} skipped" in resumed.stderr
    fetched_after = _object_paths(slow_nginx, mark)
    # The access log: no object of the catalog asked for again; every other object once.
    assert not {_path(u) for u in done_at_sigint} & set(fetched_after)
    assert set(fetched_after) == {_path(u) for u in urls} - {_path(u) for u in done_at_sigint}
    assert set(fetched_after.values()) == {1}
    _check_catalog(out, urls)


def test_every_object_received_before_sigint_is_in_the_catalog(
    slow_nginx: HTTPServer, tmp_path: Path
) -> None:
    # The URLs come through a pipe that stays open: once the first 40 are fetched the run has
    # nothing left to do but wait, so all 40 must reach the catalog (the last one too, whose
    # object used to be written only when a next object arrived), and none is fetched again.
    first = [slow_nginx.url(f"obj{i:04d}.fits") for i in range(40)]
    rest = [slow_nginx.url(f"obj{i:04d}.fits") for i in range(40, 60)]
    out = tmp_path / "catalog.jsonl"
    args = ["index", "--from-file", "-", "-o", out, "--flush-interval", "0.1"]
    start = slow_nginx.log_mark()
    process = subprocess.Popen(
        _command(*args),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdin is not None
        process.stdin.write("".join(u + "\n" for u in first))
        process.stdin.flush()
        slow_nginx.access_log_entries(start, at_least=len(first), timeout=60)
        _wait_for(lambda: len(completed_urls(out)) == len(first), 60, "the 40 objects written")
    finally:
        _interrupt(process)
    assert completed_urls(out) == set(first)

    mark = slow_nginx.log_mark()
    resumed = subprocess.run(
        _command("index", *first, *rest, "-o", out, "--resume"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert set(_object_paths(slow_nginx, mark)) == {_path(u) for u in rest}
    _check_catalog(out, first + rest)
