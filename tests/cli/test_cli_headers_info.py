"""``headers`` prints what astropy's fitsheader prints; ``info`` what ``fits.info`` reports."""

from __future__ import annotations

import bz2
import gzip
import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from astropy.io import fits
from astropy.io.fits.scripts.fitsheader import HeaderFormatter
from astropy.utils.exceptions import AstropyWarning
from cli_helpers import Run
from servers import HTTPServer

from astro_cloud_async.cli import build_parser
from astro_cloud_async.cli.options import FLAGS, options_from_args
from astro_cloud_async.options import Options

# Files astropy opens without complaint (the others are deliberately damaged).
CLEAN = ("tess_1", "mosaic", "table", "random_groups", "ascii_table", "unpadded")


@pytest.fixture(autouse=True)
def _quiet_astropy() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        yield


def fitsheader(
    path: Path, extensions: list[str] | None = None, keywords: list[str] | None = None
) -> str:
    formatter = HeaderFormatter(str(path))
    try:
        return str(formatter.parse(extensions, keywords, compressed=True))
    finally:
        formatter.close()


@pytest.mark.parametrize("key", [*CLEAN, "compressed"])
def test_headers_match_fitsheader(cli: Run, sample_corpus: dict[str, Path], key: str) -> None:
    path = sample_corpus[key]
    done = cli("headers", path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == fitsheader(path)


def test_headers_selection_matches_fitsheader(cli: Run, sample_corpus: dict[str, Path]) -> None:
    path = sample_corpus["mosaic"]
    done = cli(
        "headers", path, "-e", "2", "-e", "CCD01", "-k", "NAXIS*", "-k", "extname", "-k", "DATE-OBS"
    )
    assert done.returncode == 0, done.stderr
    expected = fitsheader(path, ["2", "CCD01"], ["NAXIS*", "extname", "DATE-OBS"])
    assert done.stdout == expected
    assert "# HDU CCD01 in" in done.stdout


def test_headers_over_http(
    cli: Run, sample_corpus: dict[str, Path], nginx_server: HTTPServer
) -> None:
    path = sample_corpus["tess_1"]
    url = nginx_server.url(path)
    mark = nginx_server.log_mark()
    done = cli("headers", url)
    assert done.returncode == 0, done.stderr
    assert done.stdout == fitsheader(path).replace(str(path), url)
    # Only header blocks were read: far less than the 35 MB file.
    sent = sum(e.bytes_sent for e in nginx_server.access_log_entries(mark, at_least=1))
    assert 0 < sent < 100_000


def test_headers_json(cli: Run, sample_corpus: dict[str, Path]) -> None:
    path = sample_corpus["table"]
    done = cli("headers", path, "--json", "-e", "1", "-k", "TFORM*")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    with fits.open(path) as hdul:
        header = hdul[1].header
        expected = {k: header[k] for k in header if k.startswith("TFORM")}
    assert doc["url"] == str(path)
    assert doc["hdus"][0]["header"] == expected
    assert doc["hdus"][0]["data_offset"] == hdul.fileinfo(1)["datLoc"]


def test_headers_of_a_bad_object(cli: Run, sample_corpus: dict[str, Path]) -> None:
    done = cli("headers", sample_corpus["not_fits"], sample_corpus["ascii_table"])
    assert done.returncode == 1
    assert "NotFITSError" in done.stderr
    # The good one is still printed (after a blank line, as fitsheader separates files).
    assert done.stdout.startswith(f"\n# HDU 0 in {sample_corpus['ascii_table']}:")
    missing = cli("headers", sample_corpus["ascii_table"], "-e", "7")
    assert missing.returncode == 1 and "extension 7 not found" in missing.stderr


def _info_matches_astropy(cli: Run, path: Path) -> dict[str, object]:
    done = cli("info", path, "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["hdus"]
    expected = fits.info(str(path), output=False)
    assert len(rows) == len(expected)
    with fits.open(path) as hdul:
        for row, summary, i in zip(rows, expected, range(len(rows)), strict=True):
            dims = row["dimensions"]
            mine = (
                row["no"],
                row["name"],
                row["ver"],
                row["type"],
                row["cards"],
                tuple(dims) if isinstance(dims, list) else dims,
                row["format"],
            )
            assert mine == tuple(summary[:7])
            assert row["header_offset"] == hdul.fileinfo(i)["hdrLoc"]
            assert row["data_offset"] == hdul.fileinfo(i)["datLoc"]
    document: dict[str, object] = json.loads(done.stdout)
    return document


@pytest.mark.parametrize("key", CLEAN)
def test_info_matches_astropy(cli: Run, sample_corpus: dict[str, Path], key: str) -> None:
    assert "compression" not in _info_matches_astropy(cli, sample_corpus[key])


@pytest.mark.parametrize("suffix", [".gz", ".bz2"])
def test_info_of_a_compressed_object_matches_astropy(
    cli: Run, sample_corpus: dict[str, Path], tmp_path: Path, suffix: str
) -> None:
    raw = sample_corpus["tess_1"].read_bytes()
    path = tmp_path / f"frame.fits{suffix}"
    path.write_bytes(gzip.compress(raw, mtime=0) if suffix == ".gz" else bz2.compress(raw))
    compression = "gzip" if suffix == ".gz" else "bzip2"
    assert _info_matches_astropy(cli, path)["compression"] == compression
    done = cli("info", path)
    assert done.stdout.splitlines()[0] == (
        f"Filename: {path} ({compression}: offsets in the decompressed stream)"
    )


def test_info_table(cli: Run, sample_corpus: dict[str, Path]) -> None:
    path = sample_corpus["tess_1"]
    done = cli("info", path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"Filename: {path}"
    assert lines[1].split()[:7] == ["No.", "Name", "Ver", "Type", "Cards", "Dimensions", "Format"]
    assert "(2136, 2078)" in lines[3] and "float32" in lines[3] and "17754432" in lines[3]
    assert len(lines) == 2 + 3


def test_every_option_has_a_flag() -> None:
    import dataclasses

    fields = {f.name for f in dataclasses.fields(Options)} - {"auth"}
    assert {flag.field for flag in FLAGS} == fields
    args = build_parser().parse_args(
        [
            "index",
            "s3://b/p/",
            "-o",
            "c.parquet",
            "--anon",
            "--concurrency",
            "8",
            "--first-read",
            "4blocks",
            "--suffix",
            ".fits",
            "--suffix",
            ".fz",
            "--header",
            "X-Token: abc",
            "--endpoint-url",
            "http://127.0.0.1:9000",
            "--timeout",
            "2.5",
            "--no-predict-layout",
        ]
    )
    options = options_from_args(args)
    assert options == Options(
        predict_layout=False,
        anon=True,
        concurrency=8,
        first_read=4 * 2880,
        suffixes=(".fits", ".fz"),
        headers={"X-Token": "abc"},
        endpoint_url="http://127.0.0.1:9000",
        timeout=2.5,
    )
    # Flags not given keep the library's defaults.
    plain = options_from_args(build_parser().parse_args(["info", "x.fits"]))
    assert plain == Options()
