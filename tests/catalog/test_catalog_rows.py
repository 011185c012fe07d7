"""Records to rows: the fixed columns match astropy's layout, keywords astropy's values."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from astropy.io import fits

from astro_cloud_async.catalog.rows import (
    ALL,
    DEFAULT_KEYWORDS,
    KeywordColumns,
    agroup_objects,
    group_objects,
    header_text,
    normalize_keywords,
    object_rows,
)
from astro_cloud_async.demo.survey import astropy_layout
from astro_cloud_async.errors import NotFITSError
from astro_cloud_async.records import HDURecord, ObjectFailed


def test_normalize_keywords() -> None:
    assert normalize_keywords(None) == DEFAULT_KEYWORDS
    assert normalize_keywords("all") == ALL
    assert normalize_keywords(" ALL ") == ALL
    assert normalize_keywords("none") == ()
    assert normalize_keywords("naxis1, date-obs,NAXIS1,,HISTORY") == ("NAXIS1", "DATE-OBS")
    assert normalize_keywords(["HIERARCH ESO DET DIT"]) == ("ESO DET DIT",)
    # Keywords that are fixed columns (whatever their case) are left to those columns.
    assert normalize_keywords(["extname", "XTENSION", "url", "EXPTIME"]) == ("EXPTIME",)


def test_rows_match_astropy(
    good_files: dict[str, Path], corpus_records: dict[str, list[HDURecord]]
) -> None:
    keywords = ("BITPIX", "NAXIS1", "NAXIS2", "EXTVER", "DATE-OBS", "BSCALE", "ZIMAGE")
    for name, path in good_files.items():
        records = corpus_records[name]
        rows = object_rows(records, keywords)
        layout = astropy_layout(path)
        assert len(rows) == len(layout), name
        # Stored headers for the layout and the header text; the headers astropy shows (a
        # compressed image's own, decompressed) for the keyword columns.
        with (
            fits.open(path, disable_image_compression=True) as hdul,
            fits.open(path) as shown,
        ):
            for row, hdu, seen, place in zip(rows, hdul, shown, layout, strict=True):
                assert row["n_hdus"] == len(layout)
                assert (row["header_offset"], row["data_offset"]) == (
                    place.header_offset,
                    place.data_offset,
                ), name
                h = hdu.header
                stored = (
                    h["BITPIX"]
                    // 8
                    * h.get("GCOUNT", 1)
                    * (h.get("PCOUNT", 0) + (h["NAXIS1"] * h["NAXIS2"] if h["NAXIS"] == 2 else 0))
                )
                expected = stored if h.get("ZIMAGE") else place.data_size
                assert row["data_size"] == expected, name
                assert row["tile_compressed"] is isinstance(seen, fits.CompImageHDU)
                assert row["tile_compressed"] is bool(h.get("ZIMAGE"))
                assert row["extname"] == seen.header.get("EXTNAME")
                for key in keywords:
                    assert row[key] == seen.header.get(key), (name, key)
                if row["hdu"] > 0:
                    assert row["xtension"] == seen.header["XTENSION"]
                # The header text reads back as the same header.
                again = fits.Header.fromstring(row["header"])
                assert list(again.keys()) == list(hdu.header.keys())
                assert row["header"].endswith("END" + " " * 77)


def test_all_keywords_are_valued_cards_only(corpus_records: dict[str, list[HDURecord]]) -> None:
    record = corpus_records["tess_1"][1]
    row = object_rows([record], ALL)[0]
    astropy_header = record.header.to_astropy()
    # Valued cards, less those held by fixed columns.
    valued = {
        k for k in astropy_header if k not in ("HISTORY", "COMMENT", "", "XTENSION", "EXTNAME")
    }
    keyword_columns = set(row) - {
        "url",
        "hdu",
        "n_hdus",
        "extname",
        "xtension",
        "header_offset",
        "data_offset",
        "data_size",
        "truncated",
        "object_size",
        "etag",
        "tile_compressed",
        "compression",
        "footprint_ra",
        "footprint_dec",
        "footprint_radius",
        "footprint",
        "checksum",
        "datasum",
        "header",
    }
    assert keyword_columns == valued
    assert row["NAXIS1"] == astropy_header["NAXIS1"]
    assert "HISTORY" not in row


def test_truncated_object_is_flagged(corpus_records: dict[str, list[HDURecord]]) -> None:
    rows = object_rows(corpus_records["truncated"], ())
    assert [r["truncated"] for r in rows] == [False, False, True]


def test_header_text_replaces_unprintable_bytes() -> None:
    from astro_cloud_async.fits.header import parse_header

    card = b"OBJECT  = 'caf\xe9'".ljust(80) + b"END".ljust(80)
    text = header_text(parse_header(card))
    assert text.startswith("OBJECT  = 'caf?'")
    assert len(text) == 160


def test_group_objects(corpus_records: dict[str, list[HDURecord]]) -> None:
    a = corpus_records["tess_1"]
    b = corpus_records["table"]
    failed = ObjectFailed("x.fits", NotFITSError("no", url="x.fits", offset=0))
    groups = list(group_objects([*a, failed, *b, *a]))
    assert groups == [tuple(a), failed, tuple(b), tuple(a)]


async def test_group_objects_of_an_async_scan(corpus_records: dict[str, list[HDURecord]]) -> None:
    a = corpus_records["tess_1"]
    failed = ObjectFailed("x.fits", NotFITSError("no", url="x.fits", offset=0))

    async def scan() -> AsyncIterator[HDURecord | ObjectFailed]:
        for item in [*a, failed, *a]:
            yield item

    assert [g async for g in agroup_objects(scan())] == [tuple(a), failed, tuple(a)]


async def test_an_object_is_complete_at_its_last_record_not_at_the_next_item(
    corpus_records: dict[str, list[HDURecord]],
) -> None:
    # An interrupted index run must write the last object it received: the grouper may not
    # wait for the next item (which never comes) to know the object is whole.
    a = corpus_records["mosaic"]
    assert [r.n_hdus for r in a] == [len(a)] * len(a) and a[-1].closes_object
    assert not any(r.closes_object for r in a[:-1])
    pulled_after_a = False

    async def scan() -> AsyncIterator[HDURecord | ObjectFailed]:
        nonlocal pulled_after_a
        for item in a:
            yield item
        pulled_after_a = True
        raise AssertionError("the grouper asked for the item after a whole object")

    groups = agroup_objects(scan())
    assert await anext(groups) == tuple(a)
    assert not pulled_after_a
    await groups.aclose()
    assert next(iter(group_objects(iter(a)))) == tuple(a)


def test_records_without_a_count_are_grouped_by_what_follows(
    corpus_records: dict[str, list[HDURecord]],
) -> None:
    import dataclasses

    a = [dataclasses.replace(r, n_hdus=None) for r in corpus_records["mosaic"]]
    b = [dataclasses.replace(r, n_hdus=None) for r in corpus_records["tess_1"]]
    assert list(group_objects([*a, *b])) == [tuple(a), tuple(b)]


def test_keyword_columns_promote_across_batches() -> None:
    columns = KeywordColumns(ALL)
    assert columns.observe([{"A": 1, "url": "u"}]) == ["A"]
    assert columns.observe([{"A": 2.5, "B": None}]) == ["B"]
    assert columns.observe([{"B": True}]) == []
    assert [(n, t.value) for n, t in columns.types.items()] == [("A", "float64"), ("B", "bool")]


@pytest.mark.parametrize("keywords", [("NAXIS1",), ALL])
def test_rows_of_an_empty_object_list(keywords: tuple[str, ...]) -> None:
    assert object_rows([], keywords) == []
