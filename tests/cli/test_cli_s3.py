"""``index`` over S3 (SeaweedFS on 127.0.0.1): a listed prefix, resumed; requester pays."""

from __future__ import annotations

import os
import subprocess
import time
import warnings
from pathlib import Path

from astropy.utils.exceptions import AstropyWarning
from cli_helpers import command
from servers import S3Server

from astro_cloud_async.catalog import completed_urls, failures_path, read_catalog
from astro_cloud_async.demo.survey import astropy_layout

BROKEN = {"not_fits", "empty"}


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command(), *args], capture_output=True, text=True, timeout=120, check=False, env=env
    )


def _env(**extra: str) -> dict[str, str]:
    """This environment without AWS settings (no real credentials reach the test server)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return {**env, **extra}


def test_index_a_public_prefix_then_resume_reads_no_object(
    tmp_path: Path, s3_server: S3Server, sample_corpus: dict[str, Path]
) -> None:
    bucket = s3_server.public_bucket
    out = tmp_path / "s3.parquet"
    args = [
        "index", f"s3://{bucket}/", "--anon", "--endpoint-url", s3_server.endpoint_url,
        "--region", s3_server.region, "--suffix", ".fits", "-o", str(out),
    ]  # fmt: skip
    first = _run(*args, env=_env())
    # Two objects of the corpus are not FITS: a non-zero exit, and both reported.
    assert first.returncode == 1, first.stderr
    good = {k: p for k, p in sample_corpus.items() if k not in BROKEN and p.name.endswith(".fits")}
    assert completed_urls(out) == {s3_server.url(bucket, p.name) for p in good.values()}
    assert failures_path(out).read_text().count("NotFITSError") == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        hdus = sum(len(astropy_layout(p)) for p in good.values())
    assert read_catalog(out).num_rows == hdus

    seen = len(s3_server.access_log_entries())
    again = _run(*args, "--resume", env=_env())
    assert again.returncode == 1  # the two failures are still outstanding
    assert f"{len(good) + 2} skipped" in again.stderr
    time.sleep(0.3)  # let the proxy write any line it would log
    later = s3_server.access_log_entries()[seen:]
    # The prefix was listed again; no object was read.
    assert later and all("list-type" in e.path for e in later), later
    assert read_catalog(out).num_rows == hdus


def test_requester_pays_bucket(
    tmp_path: Path, s3_server: S3Server, sample_corpus: dict[str, Path]
) -> None:
    url = s3_server.url(s3_server.requester_pays_bucket, sample_corpus["tess_1"].name)
    out = tmp_path / "rp.jsonl"
    done = _run("index", url, "--requester-pays", "-o", str(out), env=_env(**s3_server.env()))
    assert done.returncode == 0, done.stderr
    table = read_catalog(out)
    assert table.column("url").to_pylist() == [url] * 3
    assert table.column("NAXIS1").to_pylist() == [None, 2136, 2136]
