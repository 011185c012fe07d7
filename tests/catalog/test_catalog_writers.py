"""Catalog writers: each format written, read back and compared with astropy; crash safety."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from astropy.io import fits

from astro_cloud_async.catalog import (
    FailureLog,
    completed_urls,
    failures_path,
    open_catalog,
    read_catalog,
    to_arrow,
    to_astropy,
    write_catalog,
)
from astro_cloud_async.catalog.resume import repair_lines
from astro_cloud_async.demo.survey import astropy_layout
from astro_cloud_async.errors import NotFITSError
from astro_cloud_async.records import HDURecord, ObjectFailed

FORMATS = ("catalog.parquet", "catalog.jsonl", "catalog.csv")
KEYWORDS = ("NAXIS", "NAXIS1", "NAXIS2", "BITPIX", "DATE-OBS", "EXPTIME", "SIMPLE")


def _all_records(corpus_records: dict[str, list[HDURecord]]) -> list[HDURecord]:
    return [r for name in sorted(corpus_records) for r in corpus_records[name]]


def _check_against_astropy(table: pa.Table, good_files: dict[str, Path]) -> None:
    """Every file's rows: astropy's layout, and astropy's values for the keyword columns."""
    rows = table.to_pylist()
    by_url: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        by_url.setdefault(str(row["url"]), []).append(row)
    assert set(by_url) == {str(p) for p in good_files.values()}
    for path in good_files.values():
        mine = sorted(by_url[str(path)], key=lambda r: int(r["hdu"]))  # type: ignore[arg-type]
        layout = astropy_layout(path)
        assert [r["header_offset"] for r in mine] == [x.header_offset for x in layout]
        assert [r["data_offset"] for r in mine] == [x.data_offset for x in layout]
        # Keyword columns show the headers astropy shows (a compressed image's own); the
        # header column holds the stored one.
        with fits.open(path, disable_image_compression=True) as hdul, fits.open(path) as shown:
            assert len(hdul) == len(mine)
            for row, hdu, seen in zip(mine, hdul, shown, strict=True):
                for key in KEYWORDS:
                    assert row[key] == seen.header.get(key), (path.name, key)
                assert row["tile_compressed"] is isinstance(seen, fits.CompImageHDU)
                assert fits.Header.fromstring(str(row["header"])) == hdu.header


@pytest.mark.parametrize("name", FORMATS)
def test_write_and_read_back(
    tmp_path: Path,
    name: str,
    good_files: dict[str, Path],
    corpus_records: dict[str, list[HDURecord]],
) -> None:
    path = tmp_path / name
    failed = ObjectFailed("/nowhere/bad.fits", NotFITSError("not FITS", offset=0))
    failures = write_catalog(
        [*_all_records(corpus_records), failed], path, keywords=KEYWORDS, batch_objects=3
    )
    assert [f.url for f in failures] == ["/nowhere/bad.fits"]
    assert FailureLog(failures_path(path)).load().keys() == {"/nowhere/bad.fits"}
    table = read_catalog(path)
    assert table.num_rows == sum(len(v) for v in corpus_records.values())
    assert table.schema.field("NAXIS1").type == pa.int64()
    assert table.schema.field("EXPTIME").type == pa.float64()
    assert table.schema.field("SIMPLE").type == pa.bool_()
    assert table.schema.field("DATE-OBS").type == pa.string()
    _check_against_astropy(table, good_files)
    assert completed_urls(path) == {str(p) for p in good_files.values()}


def test_parquet_catalog_is_a_plain_dataset(
    tmp_path: Path, corpus_records: dict[str, list[HDURecord]]
) -> None:
    path = tmp_path / "catalog.parquet"
    write_catalog(_all_records(corpus_records), path, keywords="all", batch_objects=2)
    parts = sorted(p.name for p in path.iterdir() if p.suffix == ".parquet")
    assert len(parts) == (len(corpus_records) + 1) // 2
    # Once closed, every part has the same schema, so any reader sees one table.
    schemas = {pq.read_schema(path / p).remove_metadata() for p in parts}
    assert len(schemas) == 1
    plain = pq.read_table(path)
    assert plain.num_rows == read_catalog(path).num_rows
    assert "HISTORY" not in plain.column_names and "CRVAL1" in plain.column_names


def test_parts_disagreeing_on_a_type_are_unified(tmp_path: Path) -> None:
    records = _fake_records(tmp_path, [("A", "1"), ("A", "2.5"), ("B", "T"), ("B", "'text'")])
    path = tmp_path / "types.parquet"
    with open_catalog(path, keywords="all") as writer:
        for record in records:
            writer.add([record])
            writer.flush()
        # Before close the parts hold their own types; reading them unifies already.
        assert read_catalog(path).schema.field("A").type == pa.float64()
    table = pq.read_table(path)
    assert table.schema.field("A").type == pa.float64()
    assert table.schema.field("B").type == pa.string()
    assert table.column("A").to_pylist() == [1.0, 2.5, None, None]
    assert table.column("B").to_pylist() == [None, None, "True", "text"]


def _fake_records(tmp_path: Path, cards: list[tuple[str, str]]) -> list[HDURecord]:
    from astro_cloud_async.sync import read_headers

    records = []
    for i, (key, value) in enumerate(cards):
        header = (
            "SIMPLE  =                    T".ljust(80)
            + "BITPIX  =                    8".ljust(80)
            + "NAXIS   =                    0".ljust(80)
            + f"{key:<8}= {value:>20}".ljust(80)
            + "END".ljust(80)
        )
        path = tmp_path / f"f{i}.fits"
        path.write_bytes(header.encode().ljust(2880))
        records.extend(read_headers(path))
    return records


def test_csv_widens_its_header_for_new_keywords(tmp_path: Path) -> None:
    records = _fake_records(tmp_path, [("A", "1"), ("B", "2")])
    path = tmp_path / "wide.csv"
    with open_catalog(path, keywords="all") as writer:
        writer.add([records[0]])
        writer.flush()
        first = path.read_text().splitlines()[0].split(",")
        writer.add([records[1]])
        writer.flush()
    header = path.read_text().splitlines()[0].split(",")
    assert "A" in first and "B" not in first
    assert header[-1] == "header" and {"A", "B"} <= set(header)
    table = read_catalog(path)
    assert table.column("A").to_pylist() == [1, None]
    assert table.column("B").to_pylist() == [None, 2]


@pytest.mark.parametrize("name", ["catalog.jsonl", "catalog.csv"])
def test_resume_cuts_a_partial_object(
    tmp_path: Path, name: str, corpus_records: dict[str, list[HDURecord]]
) -> None:
    path = tmp_path / name
    mosaic = corpus_records["mosaic"]  # 4 HDUs
    tess = corpus_records["tess_1"]
    with open_catalog(path, keywords=KEYWORDS) as writer:
        writer.add(tess)
        writer.flush()
        writer.add(mosaic)
    whole = path.read_bytes()
    # A kill in the middle of the second object's rows: two whole rows and half of a third.
    lines = whole.splitlines(keepends=True)
    cut = b"".join(lines[: len(lines) - 2]) + lines[-2][:50]
    path.write_bytes(cut)
    assert completed_urls(path) == {tess[0].url}
    with open_catalog(path, keywords=KEYWORDS, resume=True) as writer:
        assert writer.completed == {tess[0].url}
        assert writer.cut_bytes > 0
        writer.add(mosaic)
    table = read_catalog(path)
    assert table.column("url").to_pylist() == [tess[0].url] * 3 + [mosaic[0].url] * 4
    assert table.column("hdu").to_pylist() == [0, 1, 2, 0, 1, 2, 3]
    assert path.read_bytes() == whole


def test_repair_refuses_a_file_that_is_not_a_catalog(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('not json\n{"url": "a", "hdu": 0, "n_hdus": 1}\n')
    with pytest.raises(ValueError, match="line 1"):
        repair_lines(path, "jsonl")
    assert path.read_text().startswith("not json")


def test_parquet_resume_ignores_and_removes_temporary_files(
    tmp_path: Path, corpus_records: dict[str, list[HDURecord]]
) -> None:
    path = tmp_path / "catalog.parquet"
    write_catalog(corpus_records["tess_1"], path, keywords=KEYWORDS)
    # What a kill during a part write leaves: a hidden, unreadable temporary file.
    stale = path / ".part-0000000000000000-000009.parquet.123.tmp"
    stale.write_bytes(b"PAR1 half a file")
    assert read_catalog(path).num_rows == 3
    with open_catalog(path, keywords=KEYWORDS, resume=True) as writer:
        assert writer.completed == {corpus_records["tess_1"][0].url}
        writer.add(corpus_records["table"])
    assert not stale.exists()
    assert read_catalog(path).num_rows == 5


def test_existing_catalog_needs_resume_or_overwrite(
    tmp_path: Path, corpus_records: dict[str, list[HDURecord]]
) -> None:
    for name in FORMATS:
        path = tmp_path / name
        write_catalog(corpus_records["table"], path)
        with pytest.raises(FileExistsError):
            open_catalog(path)
        write_catalog(corpus_records["tess_1"], path, overwrite=True)
        assert read_catalog(path).num_rows == 3


def test_overwrite_refuses_a_folder_of_other_files(tmp_path: Path) -> None:
    folder = tmp_path / "mine.parquet"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not part of a catalog"):
        open_catalog(folder, overwrite=True)
    assert (folder / "notes.txt").exists()


def test_tables_in_memory(corpus_records: dict[str, list[HDURecord]]) -> None:
    records = corpus_records["tess_1"] + corpus_records["table"]
    arrow = to_arrow(records, keywords=["NAXIS1", "OBJECT", "TELESCOP"])
    assert arrow.num_rows == 5
    table = to_astropy(records, keywords=["NAXIS1", "OBJECT", "TELESCOP"])
    assert len(table) == 5
    assert list(table["hdu"]) == [0, 1, 2, 0, 1]
    # NAXIS1 is absent from the primaries: masked there.
    assert list(table["NAXIS1"].mask) == [True, False, False, True, False]
    assert table["NAXIS1"][1] == 2136
    assert table["TELESCOP"][0] == "TESS"
    assert table["header"][0].startswith("SIMPLE  =")


def test_jsonl_rows_keep_json_types(
    tmp_path: Path, corpus_records: dict[str, list[HDURecord]]
) -> None:
    path = tmp_path / "c.jsonl"
    write_catalog(corpus_records["tess_1"], path, keywords=["NAXIS1", "SIMPLE"])
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert list(rows[0])[:3] == ["url", "hdu", "n_hdus"]
    assert rows[0]["SIMPLE"] is True and rows[1]["NAXIS1"] == 2136 and rows[0]["NAXIS1"] is None
    assert os.path.getsize(path) == len(path.read_bytes())
