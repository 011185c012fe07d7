"""The command line of find, cutout, refs and index's --footprints / --verify-data, run as
a user runs them, on the survey served over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from servers import HTTPServer
from sky_survey import SkySurvey

from astro_cloud_async.catalog import read_catalog


def cli(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "astro_cloud_async.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def cli_catalog(
    sky: SkySurvey, sky_http: HTTPServer, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("cli") / "sky.parquet"
    urls = [sky_http.url(p) for p in sky.all_files]
    done = cli("index", *urls, "-o", out, "--footprints", "--no-progress")
    assert done.returncode == 0, done.stderr
    return out


def test_index_with_footprints(cli_catalog: Path) -> None:
    rows = read_catalog(cli_catalog).to_pylist()
    assert sum(r["footprint"] is not None for r in rows) == 19
    assert {r["datasum"] for r in rows} == {None, "absent"}


def test_index_flags(sky: SkySurvey, sky_http: HTTPServer, tmp_path: Path) -> None:
    urls = [sky_http.url(p) for p in sky.checksums.values()]
    out = tmp_path / "c.jsonl"
    done = cli("index", *urls, "-o", out, "--verify-data", "--no-progress")
    assert done.returncode == 0, done.stderr
    rows = read_catalog(out).to_pylist()
    assert all(r["footprint"] is None for r in rows)
    verdicts = {(r["url"].rsplit("/", 1)[1], r["hdu"]): (r["checksum"], r["datasum"]) for r in rows}
    assert verdicts[("sum-data-flipped.fits", 1)] == ("bad", "bad")
    assert verdicts[("sum-good.fits", 1)] == ("ok", "ok")
    refused = cli("find", out, "150.0", "2.0")
    assert refused.returncode == 2 and "--footprints" in refused.stderr
    help_text = cli("index", "--help").stdout
    assert "--verify-data" in help_text and "ALL the data" in " ".join(help_text.split())


def test_find_prints_and_writes(cli_catalog: Path, tmp_path: Path) -> None:
    done = cli("find", cli_catalog, "0.0", "-5.0")
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    assert line.split("\t")[0].endswith("field-ra0_tan.fits") and line.split("\t")[1] == "1"
    as_json = cli("find", cli_catalog, "150.0", "2.0", "--json")
    rows = [json.loads(x) for x in as_json.stdout.splitlines()]
    assert len(rows) == 5 and all(r["distance_arcsec"] < 60 for r in rows)
    out = tmp_path / "hits.parquet"
    assert cli("find", cli_catalog, "150.0", "2.0", "-o", out).returncode == 0
    assert len(read_catalog(out)) == 5
    assert cli("find", cli_catalog, "150.0", "95.0").returncode == 2


def test_cutout_writes_files(cli_catalog: Path, tmp_path: Path, sky: SkySurvey) -> None:
    out = tmp_path / "cuts"
    done = cli("cutout", cli_catalog, "150.0", "2.0", "--size", "24,32", "-o", out, "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "5 cutouts from 5 HDUs" in done.stderr
    files = sorted(out.glob("*.fits"))
    assert len(files) == 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(out / "field-equator-hdu1.fits") as hdul:
            assert hdul[0].data.shape == (24, 32)
            assert np.isfinite(hdul[0].data).all()


def test_refs_writes_references(cli_catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "refs.json"
    done = cli("refs", cli_catalog, "-o", out, "--stack", "--chunk-size", "8k")
    assert done.returncode == 0, done.stderr
    refs = json.loads(out.read_text())["refs"]
    assert "stack1/.zarray" in refs
    assert "left out" in done.stderr and "camera.fits[4]" in done.stderr


def test_help_of_the_new_commands_is_light() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from astro_cloud_async.cli import main\n"
        "for name in ('find', 'cutout', 'refs'):\n"
        "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "        main([name, '--help'])\n"
        "heavy = {'astropy', 'pyarrow', 'numpy', 'aiohttp', 'zarr', 'fsspec'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
