"""Fixtures of the Dask tests: one small process-based cluster, and a survey folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from astro_cloud_async.demo.survey import write_survey

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def dask_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[distributed.Client]:
    """Two worker processes of one thread each, on 127.0.0.1, closed after the module."""
    scratch = tmp_path_factory.mktemp("dask-scratch")
    cluster = distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=":0",
        local_directory=str(scratch),
    )
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="session")
def survey_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eleven survey-like objects (sparse TESS frames, a mosaic, tables)."""
    folder = tmp_path_factory.mktemp("survey")
    write_survey(folder, n_tess=8, n_mosaic=1, n_table=2, seed=3)
    return folder
