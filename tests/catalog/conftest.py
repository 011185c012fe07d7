"""Records read from the sample corpus, for the catalog tests."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from astropy.utils.exceptions import AstropyWarning

from astro_cloud_async.records import HDURecord
from astro_cloud_async.sync import read_headers

BROKEN = frozenset({"not_fits", "empty"})


@pytest.fixture(scope="session")
def good_files(sample_corpus: dict[str, Path]) -> dict[str, Path]:
    """The corpus files that can be walked to their end."""
    return {name: path for name, path in sample_corpus.items() if name not in BROKEN}


@pytest.fixture(scope="session")
def corpus_records(good_files: dict[str, Path]) -> dict[str, list[HDURecord]]:
    """name -> the records of that file, read from the local disk."""
    return {name: read_headers(path) for name, path in good_files.items()}


@pytest.fixture(autouse=True)
def _quiet_astropy_about_truncation() -> Iterator[None]:
    """astropy warns about the corpus's deliberately truncated and trailing-garbage files."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        yield
