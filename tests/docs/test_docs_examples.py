"""Every example of the documentation pages runs, against real servers (see ``doc_examples``).

One test per code block, in page order. Blocks that fetch bytes read from nginx (for the
pages' HTTP placeholders) and SeaweedFS (for their S3 buckets), started by the fixtures of
``tests/conftest.py`` and here; a block marked ``<!-- skip: REASON -->`` is not run and not
collected (under ``CI=true`` a test of the servers may not skip), and its reason must say which
outside service it needs. A missing server program fails the tests under ``CI=true``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from doc_examples import (
    Example,
    PageRun,
    command_shims,
    examples,
    fresh_folder,
    pages,
    subprocess_env,
)
from servers import HTTPServer, S3Server, start_nginx, upload_folder
from servers.availability import start_or_skip

from astro_cloud_async.demo.survey import write_survey, write_tess_ffi_like

EXAMPLES = [example for page in pages() for example in examples(page)]

BUCKETS = ("my-bucket", "bucket", "ARCHIVE-BUCKET")
"""The S3 buckets the pages name; each is a prefix of the scratch bucket of the S3 server."""
S3_PREFIX = "docs/"
SCHEDULER = "tcp://scheduler:8786"
"""The Dask scheduler the pages name; a local cluster's scheduler stands in for it."""
PROFILE = "survey-account"
"""The credentials profile the pages name; it holds the S3 server's keys."""


def write_sci_image(path: Path, seed: int = 0) -> Path:
    """A primary header and one 64 x 64 ``SCI`` image, as many archives serve."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).normal(size=(64, 64)).astype(np.float32)
    primary = fits.PrimaryHDU()
    primary.header["OBJECT"] = "M31"
    fits.HDUList([primary, fits.ImageHDU(pixels, name="SCI")]).writeto(path, overwrite=True)
    return path


def write_objects(folder: Path) -> None:
    """The objects the pages read by URL: a survey's frames and single images."""
    survey = write_survey(folder / "_survey", n_tess=3, n_table=1)
    for prefix in ("tess/sector-01", "survey", "a", "prefix", "raw/2023"):
        for path in survey:
            target = folder / prefix / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.hardlink_to(path)
    for name in (
        "extra.fits",
        "frame.fits",
        "image.fits",
        "file.fits",
        "key.fits",
        "b/object.fits",
        "data/image.fits",
        "tess/a.fits",
    ):
        write_sci_image(folder / name)
    write_tess_ffi_like(folder / "tess2018206045859-s0001-1-1-0120-s_ffic.fits")


@pytest.fixture(scope="module")
def docs_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HTTPServer]:
    """nginx serving the objects the pages name on their HTTP placeholders."""
    folder = tmp_path_factory.mktemp("docs-http")
    write_objects(folder)
    server = start_or_skip(lambda: start_nginx(folder))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def docs_s3(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> S3Server:
    """The pages' buckets as prefixes ``docs/BUCKET/`` of the S3 server's scratch bucket."""
    folder = tmp_path_factory.mktemp("docs-s3")
    for bucket in BUCKETS:
        write_objects(folder / bucket)
    upload_folder(s3_server, folder, s3_server.scratch_bucket, prefix=S3_PREFIX)
    return s3_server


def places(http: HTTPServer, s3: S3Server, workspace: Path) -> list[tuple[str, str]]:
    """Placeholder -> real place, applied to a block's text before it runs."""
    found = [
        ("https://archive.example.org/", f"{http.base_url}/"),
        ("https://archive.example/", f"{http.base_url}/"),
        ("https://www.example.org/", f"{http.base_url}/"),
        ("file:///data/", f"{workspace.as_uri()}/data/"),
        ("/shared/", f"{workspace}/shared/"),
    ]
    found += [
        (f"s3://{bucket}/", f"s3://{s3.scratch_bucket}/{S3_PREFIX}{bucket}/") for bucket in BUCKETS
    ]
    return found


def write_workspace(folder: Path, s3: S3Server) -> None:
    """The working folder of a page: local files it names, and an AWS profile."""
    write_survey(folder, n_tess=1)
    write_sci_image(folder / "data" / "frame.fits")
    write_sci_image(folder / "image.fits")
    (folder / "shared").mkdir()
    aws = folder / ".aws"
    aws.mkdir()
    (aws / "credentials").write_text(
        f"[{PROFILE}]\naws_access_key_id = {s3.access_key}\n"
        f"aws_secret_access_key = {s3.secret_key}\n"
    )
    (aws / "config").write_text(f"[profile {PROFILE}]\nregion = {s3.region}\n")


@pytest.fixture(scope="module")
def page_runs(
    docs_http: HTTPServer,
    docs_s3: S3Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[Path, PageRun]]:
    """One :class:`PageRun` per page, made when its first example runs; closed at the end."""
    runs: dict[Path, PageRun] = {}
    yield runs
    for run in runs.values():
        run.close()


@pytest.fixture
def page_run(
    example: Example,
    page_runs: dict[Path, PageRun],
    docs_http: HTTPServer,
    docs_s3: S3Server,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> PageRun:
    run = page_runs.get(example.page)
    workspace = (
        run.workspace
        if run is not None
        else fresh_folder(tmp_path_factory.mktemp("docs-page") / example.page.stem)
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in aws_env(docs_s3, workspace).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(workspace)
    if run is None:
        write_workspace(workspace, docs_s3)
        run = PageRun(
            page=example.page,
            workspace=workspace,
            places=places(docs_http, docs_s3, workspace),
            env=subprocess_env(command_shims(workspace / ".bin")),
        )
        page_runs[example.page] = run
        if SCHEDULER in example.page.read_text(encoding="utf-8"):
            # Started with the AWS variables set, which its worker processes inherit.
            run.places.append((SCHEDULER, start_cluster(run, workspace)))
    return run


def start_cluster(run: PageRun, workspace: Path) -> str:
    """A two-process Dask cluster on 127.0.0.1 for the page's scheduler; its address."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=":0",
        local_directory=str(workspace / ".dask"),
    )
    run.closers.append(cluster.close)
    address: str = cluster.scheduler_address
    return address


def aws_env(s3: S3Server, workspace: Path) -> dict[str, str]:
    return {
        **s3.env(),
        "AWS_SHARED_CREDENTIALS_FILE": str(workspace / ".aws" / "credentials"),
        "AWS_CONFIG_FILE": str(workspace / ".aws" / "config"),
    }


RUNNABLE = [example for example in EXAMPLES if not example.skip]
"""The blocks that run: a block marked ``<!-- skip: ... -->`` needs a service no test machine
reaches (it is counted below, not collected, since under ``CI=true`` no server test skips)."""


@pytest.mark.servers
@pytest.mark.parametrize("example", RUNNABLE, ids=[example.name for example in RUNNABLE])
def test_example_runs(example: Example, page_run: PageRun) -> None:
    page_run.run(example)


def test_the_pages_have_examples_to_run() -> None:
    """The runner finds the pages' blocks: a change in the parser cannot silently run none."""
    by_page = {page.name: examples(page) for page in pages()}
    assert {"api.md", "cli.md", "sections.md", "stores.md", "dask.md"} <= set(by_page)
    assert sum(len(found) for found in by_page.values()) >= 20
    assert any(example.language == "console" for example in by_page["cli.md"])
    skipped = [example for found in by_page.values() for example in found if example.skip]
    assert all(len(example.skip or "") > 10 for example in skipped), "say why it cannot run"
    # Only blocks that need an outside service, or that serve until stopped, may stay unrun.
    assert all(
        (example.skip or "").startswith(("needs ", "serves until")) for example in skipped
    ), [example.skip for example in skipped]
    assert len(skipped) <= len(RUNNABLE) // 4
