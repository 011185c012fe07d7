"""Shared fixtures: the sample corpus and the real servers that serve it on 127.0.0.1.

Servers are session-scoped (each starts once, in well under a second, except SeaweedFS which
takes a few seconds) and serve the one folder ``sample_corpus`` writes. Tests that use them are
marked ``servers`` automatically. When a server program is missing the test is skipped, or
fails under CI (``CI=true``), where everything must run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from servers import HTTPServer, ServerBinaryMissing, start_nginx

from astro_cloud_async.samples import write_test_corpus

T = TypeVar("T")

SERVER_FIXTURES = frozenset(
    {
        "nginx_server",
        "nginx_norange",
        "apache_server",
        "caddy_server",
        "s3_server",
        "s3_many_keys",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.servers)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def start_or_skip(start: Callable[[], T]) -> T:
    """Run ``start``; a missing server program skips the test (fails it under CI)."""
    try:
        return start()
    except ServerBinaryMissing as exc:
        if _in_ci():
            pytest.fail(f"{exc} (CI=true: .ci/run installs it)", pytrace=False)
        pytest.skip(str(exc))


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
