"""Fixtures of the web tests: the files and catalogs they open, ``serve`` running as a real
process on a free port, and a real headless Chromium driven by Selenium.

``serve`` and the browser start once per session. Without Chromium, its driver or Selenium the
browser tests are skipped, and fail under CI (``CI=true``), where ``.ci/run`` installs them.
Screenshots go to ``$ACA_WEB_SCREENSHOTS`` when set (``docs/images`` keeps the current ones),
else to a temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import HTTPServer, start_nginx
from servers.availability import in_ci, start_or_skip
from web_data import (
    ROOT,
    Served,
    Survey,
    write_pointing,
    write_sparse_4gb,
    write_special_cards,
    write_survey_catalog,
)

from astro_cloud_async import catalog, scan

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
SCAN_CONCURRENCY = 8


def _missing(what: str) -> None:
    if in_ci():
        pytest.fail(f"{what} is missing (CI=true: .ci/run installs it)", pytrace=False)
    pytest.skip(f"{what} is missing")


@pytest.fixture(scope="session")
def web_files(
    tmp_path_factory: pytest.TempPathFactory, sample_corpus: dict[str, Path]
) -> dict[str, Path]:
    """Multi-HDU files to drop on the page, by name."""
    folder = tmp_path_factory.mktemp("web-files")
    return {
        "special": write_special_cards(folder / "special_cards.fits"),
        "pointing": write_pointing(folder / "skycam-pointing.fits", number=7, ra=150.1, dec=2.2),
        "mosaic": sample_corpus["mosaic"],
        "table": sample_corpus["table"],
        "compressed": sample_corpus["compressed"],
        "not_fits": sample_corpus["not_fits"],
    }


@pytest.fixture(scope="session")
def giant_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4 GiB file, sparse on disk: a primary, a 32768 x 32768 float32 image, a table."""
    return write_sparse_4gb(tmp_path_factory.mktemp("giant") / "giant_sparse.fits")


@pytest.fixture(scope="session")
def survey(tmp_path_factory: pytest.TempPathFactory) -> Survey:
    root = tmp_path_factory.mktemp("survey")
    files = write_survey_catalog(root / "files", root / "survey.parquet")
    return Survey(root / "files", files, root / "survey.parquet")


@pytest.fixture(scope="session")
def corpus_catalog(
    tmp_path_factory: pytest.TempPathFactory, sample_corpus: dict[str, Path]
) -> Path:
    """The sample corpus as ``index`` writes a catalog (a Parquet folder, no footprints)."""
    import asyncio

    async def records() -> list[Any]:
        folder = next(iter(sample_corpus.values())).parent
        return [r async for r in scan([str(folder)])]

    path = tmp_path_factory.mktemp("corpus-catalog") / "corpus.parquet"
    catalog.write_catalog(asyncio.run(records()), path)
    return path


def _read_url(process: subprocess.Popen[str], lines: list[str]) -> str | None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        m = re.search(r"(http://\S+/\?token=\S+)", line)
        if m:
            return m.group(1)
    return None


@pytest.fixture(scope="session")
def served(survey: Survey, corpus_catalog: Path) -> Iterator[Served]:
    """``serve`` with the survey catalog and the corpus catalog, in its own process."""
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    argv = [
        sys.executable,
        "-m",
        "astro_cloud_async.cli",
        "serve",
        str(survey.catalog),
        str(corpus_catalog),
        "--port",
        "0",
        "--concurrency",
        str(SCAN_CONCURRENCY),
        "--retries",
        "1",
    ]
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT
    )
    lines: list[str] = []
    found: list[str | None] = []
    reader = threading.Thread(target=lambda: found.append(_read_url(process, lines)), daemon=True)
    reader.start()
    reader.join(60)
    try:
        if not found or found[0] is None:
            raise RuntimeError(f"serve did not print its URL: {''.join(lines)}")
        url = found[0]
        base = url.split("/?", 1)[0]
        token = url.split("token=", 1)[1]
        # Keep draining the output so the server never blocks on a full pipe.
        reader = threading.Thread(target=lambda: _read_url(process, lines), daemon=True)
        reader.start()
        yield Served(url, base, token, process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        reader.join(10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="session")
def archive(
    tmp_path_factory: pytest.TempPathFactory, survey: Survey, sample_corpus: dict[str, Path]
) -> Iterator[HTTPServer]:
    """nginx serving the survey's files and the sample corpus (bad objects included)."""
    root = tmp_path_factory.mktemp("archive")
    for path in [*survey.files, *sample_corpus.values()]:
        (root / path.name).symlink_to(path)
    server = start_or_skip(lambda: start_nginx(root))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def slow_archive(tmp_path_factory: pytest.TempPathFactory, survey: Survey) -> Iterator[HTTPServer]:
    """nginx serving the survey's files, each answer held back 0.4 s."""
    root = tmp_path_factory.mktemp("slow-archive")
    for path in survey.files:
        (root / path.name).symlink_to(path)
    server = start_or_skip(lambda: start_nginx(root, delay=0.4))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("ACA_WEB_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's) through chromedriver, 1440 x 1100."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium")
    binary = next((b for b in CHROMIUM if Path(b).exists()), shutil.which("chromium"))
    driver_path = next((d for d in CHROMEDRIVER if Path(d).exists()), shutil.which("chromedriver"))
    if binary is None:
        _missing("chromium")
    if driver_path is None:
        _missing("chromedriver (chromium-driver)")
    profile = tempfile.mkdtemp(prefix="aca-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--window-size=1440,1100",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        driver.set_window_size(1440, 1100)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
