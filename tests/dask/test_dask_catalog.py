"""Catalogs made on a Dask cluster equal the single-process catalog, row for row.

A real ``distributed.LocalCluster`` (two worker processes) scans local folders and the nginx
fixture; the reference is the ``index`` command's own single-process run over the same sources.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from servers import HTTPServer

from astro_cloud_async.catalog import FailureLog, failures_path, read_catalog
from astro_cloud_async.catalog.rows import normalize_keywords
from astro_cloud_async.dask import (
    ERROR_COLUMNS,
    HEADERS_ENV,
    catalog_meta,
    list_partitions,
    scan_dataframe,
)
from astro_cloud_async.dask.partitions import worker_options
from astro_cloud_async.errors import ConfigurationError
from astro_cloud_async.indexing import IndexJob, IndexResult, index, index_on_dask
from astro_cloud_async.options import Options

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow

ERROR_NAMES = [name for name, _ in ERROR_COLUMNS]


def single_process(
    output: Path, sources: list[str], keywords: Any = None, *, footprints: bool = False
) -> IndexResult:
    job = IndexJob(
        output=output,
        sources=sources,
        keywords=normalize_keywords(keywords),
        footprints=footprints,
    )
    return asyncio.run(index(job))


def sorted_rows(table: pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.sort_by(
        [("url", "ascending"), ("hdu", "ascending")]
    ).to_pylist()
    return rows


def failures(output: Path) -> set[tuple[str, str]]:
    """The failure report next to the catalog at ``output``."""
    return {(e.url, e.error) for e in FailureLog(failures_path(output)).load().values()}


def failed_in(result: IndexResult) -> set[tuple[str, str]]:
    return {(e.url, e.error) for e in result.new_failures}


def corpus_urls(sample_corpus: dict[str, Path], server: HTTPServer) -> list[str]:
    return sorted(server.url(path) for path in sample_corpus.values())


# --- the index job --------------------------------------------------------------------------


@pytest.mark.parametrize("keywords", [None, "all"])
def test_index_on_dask_equals_single_process_over_a_folder(
    keywords: Any, survey_folder: Path, sample_corpus: dict[str, Path],
    dask_client: Any, tmp_path: Path,
) -> None:  # fmt: skip
    corpus = str(next(iter(sample_corpus.values())).parent)
    sources = [str(survey_folder), corpus]
    reference = single_process(tmp_path / "one", sources, keywords)
    job = IndexJob(output=tmp_path / "many", sources=sources, keywords=normalize_keywords(keywords))
    result = index_on_dask(job, dask_client.scheduler.address, objects_per_partition=4)

    one, many = read_catalog(tmp_path / "one"), read_catalog(tmp_path / "many")
    assert many.num_rows == one.num_rows > 20
    assert set(many.column_names) == set(one.column_names)
    many = many.select(one.column_names)
    assert many.schema.equals(one.schema)
    assert sorted_rows(many) == sorted_rows(one)
    # Several part files, one per partition that produced rows.
    parts = sorted(p.name for p in (tmp_path / "many").glob("part-*.parquet"))
    assert 1 < len(parts) <= math.ceil(result.counts.listed / 4)
    assert failures(tmp_path / "many") == failures(tmp_path / "one") == failed_in(reference)
    assert len(failed_in(reference)) >= 2
    assert result.counts.objects == reference.counts.objects
    assert result.counts.failed == reference.counts.failed
    assert result.rows == reference.rows == one.num_rows
    assert result.exit_status == reference.exit_status == 1
    assert result.counts.bytes > 0 and result.counts.requests > 0


def test_index_on_dask_over_http_and_resume(
    sample_corpus: dict[str, Path], nginx_server: HTTPServer, dask_client: Any, tmp_path: Path
) -> None:
    urls = corpus_urls(sample_corpus, nginx_server)
    reference = single_process(tmp_path / "one", urls)
    job = IndexJob(output=tmp_path / "many", sources=urls[:5], keywords=normalize_keywords(None))
    first = index_on_dask(job, dask_client, objects_per_partition=2)
    assert first.counts.listed == 5
    resumed = IndexJob(
        output=tmp_path / "many", sources=urls, keywords=normalize_keywords(None), resume=True
    )
    second = index_on_dask(resumed, dask_client, objects_per_partition=2)
    assert second.counts.skipped == first.counts.objects + first.counts.failed
    one, many = read_catalog(tmp_path / "one"), read_catalog(tmp_path / "many")
    assert many.schema.equals(one.schema)
    assert sorted_rows(many) == sorted_rows(one)
    assert failures(tmp_path / "many") == failed_in(reference)
    assert second.exit_status == 1 and second.outstanding == len(failed_in(reference))


def test_index_on_dask_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    job = IndexJob(output=tmp_path / "c.jsonl", sources=["x"])
    with pytest.raises(ConfigurationError, match="Parquet"):
        index_on_dask(job, "tcp://127.0.0.1:1")
    secret = IndexJob(
        output=tmp_path / "c", sources=["x"], options=Options(headers={"Authorization": "t"})
    )
    with pytest.raises(ConfigurationError, match=HEADERS_ENV):
        index_on_dask(secret, "tcp://127.0.0.1:1")


# --- the DataFrame --------------------------------------------------------------------------


def test_dataframe_rows_equal_the_catalog_and_failures_are_rows(
    sample_corpus: dict[str, Path], nginx_server: HTTPServer, dask_client: Any, tmp_path: Path
) -> None:
    urls = corpus_urls(sample_corpus, nginx_server)
    result = single_process(tmp_path / "one", urls)
    reference = sorted_rows(read_catalog(tmp_path / "one"))

    mark = nginx_server.log_mark()
    ddf = scan_dataframe(urls, objects_per_partition=3)
    # Declared, not inferred: building the frame sent no request.
    assert nginx_server.access_log_entries(mark) == []
    assert ddf.npartitions == math.ceil(len(urls) / 3)
    assert list(ddf.dtypes.astype(str)) == list(catalog_meta().dtypes.astype(str))

    frame = dask_client.compute(ddf, sync=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    assert list(frame.columns[-3:]) == ERROR_NAMES
    ok = table.filter(pa.compute.is_null(table.column("error")))
    bad = table.filter(pa.compute.is_valid(table.column("error")))
    assert sorted_rows(ok.drop_columns(ERROR_NAMES)) == reference
    assert {(r["url"], r["error"]) for r in bad.to_pylist()} == failed_in(result)
    assert len(failed_in(result)) == 2
    for row in bad.to_pylist():
        assert row["error_message"] and row["hdu"] is None and row["header"] is None

    # Written with to_parquet, the catalog rows read back as the single-process catalog.
    catalog = ddf[ddf["error"].isna()].drop(columns=ERROR_NAMES)
    dask_client.compute(
        catalog.to_parquet(tmp_path / "frame", write_index=False, compute=False), sync=True
    )
    written = read_catalog(tmp_path / "frame")
    assert sorted_rows(written) == reference
    fixed = ["url", "hdu", "n_hdus", "data_offset", "data_size", "truncated", "etag", "header"]
    one = read_catalog(tmp_path / "one")
    assert written.select(fixed).schema.equals(one.select(fixed).schema)


def test_dataframe_runs_without_a_cluster(survey_folder: Path, tmp_path: Path) -> None:
    ddf = scan_dataframe([str(survey_folder)], keywords=["EXPTIME", "NAXIS2", "CAMERA"])
    frame = ddf.compute(scheduler="sync")
    single_process(tmp_path / "one", [str(survey_folder)], ["EXPTIME", "NAXIS2", "CAMERA"])
    one = read_catalog(tmp_path / "one")
    assert len(frame) == one.num_rows
    assert str(frame["NAXIS2"].dtype) == "int64[pyarrow]"
    assert str(frame["EXPTIME"].dtype) == "double[pyarrow]"
    assert str(frame["CAMERA"].dtype) == "string[pyarrow]"
    table = pa.Table.from_pandas(frame, preserve_index=False).drop_columns(ERROR_NAMES)
    got, want = sorted_rows(table), sorted_rows(one)
    for g, w in zip(got, want, strict=True):
        assert g["EXPTIME"] == w["EXPTIME"] and g["NAXIS2"] == w["NAXIS2"]
        assert g["CAMERA"] == (None if w["CAMERA"] is None else str(w["CAMERA"]))
        assert g["header"] == w["header"]


def test_keyword_types_can_be_declared(survey_folder: Path) -> None:
    ddf = scan_dataframe(
        [str(survey_folder)], keywords=["CAMERA", "OBJECT"], keyword_types={"CAMERA": "int64"}
    )
    assert str(ddf.dtypes["CAMERA"]) == "int64[pyarrow]"
    with pytest.raises(ConfigurationError, match="all"):
        scan_dataframe([str(survey_folder)], keywords="all")


# --- listing and secrets --------------------------------------------------------------------


def test_listing_partitions_by_count(survey_folder: Path) -> None:
    listed = list_partitions([str(survey_folder), "ftp://nowhere/x.fits"], objects_per_partition=4)
    sizes = [len(p.urls) for p in listed.partitions]
    assert sizes == [4, 4, 3]
    assert listed.objects == 11
    assert [f.url for f in listed.partitions[0].listing_failures] == ["ftp://nowhere/x.fits"]
    again = list_partitions(
        [str(survey_folder)], objects_per_partition=100, skip={listed.partitions[0].urls[0]}
    )
    assert again.skipped == 1 and again.objects == 10


def test_headers_come_from_the_workers_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match=HEADERS_ENV):
        scan_dataframe(["x.fits"], headers={"Authorization": "Bearer s3cret"})
    monkeypatch.setenv(HEADERS_ENV, '{"Authorization": "Bearer s3cret"}')
    assert worker_options(Options()).headers == {"Authorization": "Bearer s3cret"}
    monkeypatch.setenv(HEADERS_ENV, "[1, 2]")
    with pytest.raises(ConfigurationError):
        worker_options(Options())


def test_cli_runs_the_index_job_on_a_cluster(
    dask_client: Any, survey_folder: Path, tmp_path: Path
) -> None:
    """``astro-cloud-async index --dask-scheduler ADDRESS`` equals the single-process run,
    footprints included."""
    from astro_cloud_async.cli import main

    reference = tmp_path / "local.parquet"
    single_process(reference, [str(survey_folder)], "NAXIS1,DATE-OBS", footprints=True)
    out = tmp_path / "cluster.parquet"
    status = main(
        [
            "index",
            str(survey_folder),
            "-o",
            str(out),
            "--keywords",
            "NAXIS1,DATE-OBS",
            "--footprints",
            "--no-progress",
            "--dask-scheduler",
            dask_client.scheduler.address,
            "--objects-per-task",
            "3",
        ]
    )
    assert status == 0
    rows = sorted_rows(read_catalog(out))
    assert rows == sorted_rows(read_catalog(reference))
    assert any(row["footprint"] is not None for row in rows)
