"""Secrets stay secret: no credential in logs, errors, reprs, progress output or catalogs.

Known secrets are planted where a user would put them: a presigned URL's signature and session
token, a password in the URL, a bearer token in the request headers, and (for S3) the secret
access key in the environment. Everything observable is captured with DEBUG logging on for the
package, aiohttp, botocore and aiobotocore: log records, the text of every error and its whole
cause chain, the reprs of every object a user can print, the command line's output streams and
every file it writes. Then the captured text is searched for each secret.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import subprocess
import sys
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from rel_faults import Fault, FaultServer
from rel_helpers import FAST, Sample, serve
from servers import S3Server

from astro_cloud_async import Client, HDURecord, ObjectFailed, Options
from astro_cloud_async.cli.progress import Progress
from astro_cloud_async.errors import AccessDeniedError, AstroCloudError
from astro_cloud_async.indexing import IndexJob, index
from astro_cloud_async.pool import RangePool
from astro_cloud_async.stores import Stores

SIGNATURE = "5ec2e7516a7a7e0000deadbeef0000c0ffee0000f00d0000ba5eba110000face"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENsecret000111"
PASSWORD = "pw-secret-7f3a9c"
BEARER = "bearer-secret-19d2e4b7"
SECRETS = (SIGNATURE, TOKEN, PASSWORD, BEARER)
LOGGERS = ("astro_cloud_async", "aiohttp", "botocore", "aiobotocore", "asyncio", "urllib3")


def presigned(url: str) -> str:
    """``url`` with the query string of an S3 presigned GET."""
    return (
        f"{url}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIDEXAMPLE%2F20240611%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20240611T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
        f"&X-Amz-Security-Token={TOKEN}&X-Amz-Signature={SIGNATURE}"
    )


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Every log record of the libraries concerned, at DEBUG, formatted with its arguments."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    saved = {}
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    try:
        yield stream
    finally:
        for name in LOGGERS:
            logger = logging.getLogger(name)
            logger.removeHandler(handler)
            logger.setLevel(saved[name])


def error_texts(error: BaseException) -> Iterable[str]:
    """What a user may see of an error: message, repr, the formatted chain, a pickled copy."""
    yield str(error)
    yield repr(error)
    yield "".join(traceback.format_exception(error))
    if isinstance(error, AstroCloudError):
        yield repr(pickle.loads(pickle.dumps(error)).__dict__)


def assert_no_secret(texts: Iterable[tuple[str, str]], secrets: Iterable[str]) -> None:
    secrets = tuple(secrets)
    leaks = []
    for where, text in texts:
        for secret in secrets:
            at = text.find(secret)
            if at >= 0:
                leaks.append(f"{where}: ...{text[max(0, at - 80) : at + len(secret)]}")
    assert not leaks, f"{len(leaks)} secrets leaked, e.g.:\n" + "\n".join(sorted(set(leaks))[:8])


async def _scan_http(server: FaultServer, sample: Sample) -> tuple[list[object], Client]:
    urls = [
        presigned(serve(server, "ok.fits", sample)),
        presigned(server.url("missing.fits")),
        presigned(serve(server, "denied.fits", sample, always=Fault.ERROR_500)),
        presigned(serve(server, "stall.fits", sample, always=Fault.STALL)),
        presigned(serve(server, "short.fits", sample, always=Fault.SHORT)),
        presigned(serve(server, "wrong.fits", sample, always=Fault.WRONG_RANGE)),
        presigned(serve(server, "changed.fits", sample, schedule={2: Fault.CHANGE})),
        presigned("http://127.0.0.1:9/nothing-listens-here.fits"),
    ]
    with_password = [
        server.url("ok.fits").replace("http://", f"http://reader:{PASSWORD}@"),
        server.url("missing.fits").replace("http://", f"http://reader:{PASSWORD}@"),
    ]
    options = {**FAST, "retries": 1, "timeout": 0.3, "first_read": 2880, "next_read": 2880}
    async with Client(**options) as plain:
        items = [item async for item in plain.scan(with_password)]
    client = Client(**options, headers={"Authorization": f"Bearer {BEARER}"})
    async with client:
        items += [item async for item in client.scan(urls)]
    return items, client


async def test_http_secrets_stay_out_of_logs_errors_and_reprs(
    fault_server: FaultServer, good_samples: dict[str, Sample], debug_log: io.StringIO
) -> None:
    items, client = await _scan_http(fault_server, good_samples["images"])
    failures = [i for i in items if isinstance(i, ObjectFailed)]
    assert len(failures) == 8 and len(items) - len(failures) == 2 * 7
    # The secrets were in play: they reached the server.
    ok = fault_server.obj("ok.fits")
    assert any(SIGNATURE in q for q in ok.queries)
    assert f"Bearer {BEARER}" in ok.authorization
    assert any(a is not None and a.startswith("Basic ") for a in ok.authorization)
    texts: list[tuple[str, str]] = [("log", debug_log.getvalue())]
    for failed in failures:
        texts += [("error", t) for t in error_texts(failed.error)]
    options = Options(headers={"Authorization": f"Bearer {BEARER}", "X-Password": PASSWORD})
    stores = Stores(options)
    texts += [
        ("client", repr(client)),
        ("options", repr(client.options)),
        ("options", repr(options)),
        ("stores", repr(stores)),
        ("http store", repr(stores.http_store())),
        ("pool", repr(RangePool(options))),
        ("stats", repr(client.stats)),
    ]
    await stores.aclose()
    assert_no_secret(texts, SECRETS)


async def test_record_reprs_hide_secrets(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    # A scan's results are what a user prints first; their url may stay whole (it is the
    # caller's own, needed to fetch the data) but their repr must not show it.
    items, _ = await _scan_http(fault_server, good_samples["images"])
    records = [i for i in items if isinstance(i, HDURecord)]
    failures = [i for i in items if isinstance(i, ObjectFailed)]
    assert records and failures
    texts = [("record", repr(r)) for r in records] + [("failure", repr(f)) for f in failures]
    assert_no_secret(texts, SECRETS)


async def test_url_credentials_and_an_authorization_header_fail_one_object_only(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    # aiohttp refuses a request with both (ValueError): that must end this object, typed,
    # not the scan.
    good = serve(fault_server, "ok.fits", good_samples["table"])
    clash = good.replace("http://", f"http://reader:{PASSWORD}@")
    async with Client(**FAST, headers={"Authorization": f"Bearer {BEARER}"}) as client:
        items = [item async for item in client.scan([clash, good])]
    failed = [i for i in items if isinstance(i, ObjectFailed)]
    assert [f.url for f in failed] == [clash]
    assert isinstance(failed[0].error, AstroCloudError)
    assert PASSWORD not in str(failed[0].error)
    assert {i.url for i in items if isinstance(i, HDURecord)} == {good}


# --- S3 (SeaweedFS) --------------------------------------------------------------------------


async def test_s3_secret_key_stays_out_of_logs_errors_and_reprs(
    s3_env: S3Server, sample_corpus: dict[str, Path], debug_log: io.StringIO
) -> None:
    secret = s3_env.secret_key
    bucket = s3_env.private_bucket
    urls = [
        s3_env.url(bucket, sample_corpus["table"].name),
        s3_env.url(bucket, sample_corpus["not_fits"].name),
        s3_env.url(bucket, "no-such-key.fits"),
        s3_env.url("no-such-bucket", "x.fits"),
        s3_env.url(bucket, "prefix-with-nothing/"),
    ]
    async with Client(**FAST, endpoint_url=s3_env.endpoint_url, region=s3_env.region) as client:
        items = [item async for item in client.scan(urls)]
        stores = client._open_stores()
        texts = [("stores", repr(stores)), ("s3 store", repr(stores.s3_store()))]
        texts.append(("client", repr(client)))
    assert any(isinstance(i, HDURecord) for i in items)  # the signed reads worked
    failures = [i for i in items if isinstance(i, ObjectFailed)]
    assert len(failures) >= 3
    for failed in failures:
        texts += [("error", t) for t in error_texts(failed.error)]
        texts.append(("failure", repr(failed)))
    texts.append(("log", debug_log.getvalue()))
    assert_no_secret(texts, [secret])


async def test_s3_wrong_secret_is_denied_and_not_echoed(
    s3_env: S3Server,
    sample_corpus: dict[str, Path],
    debug_log: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrong = "wrong-secret-key-" + "9" * 23
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong)
    url = s3_env.url(s3_env.private_bucket, sample_corpus["table"].name)
    async with Client(**FAST, endpoint_url=s3_env.endpoint_url, region=s3_env.region) as client:
        (failed,) = [item async for item in client.scan([url])]
    assert isinstance(failed, ObjectFailed)
    assert isinstance(failed.error, AccessDeniedError), repr(failed.error)
    texts = [("error", t) for t in error_texts(failed.error)]
    texts.append(("log", debug_log.getvalue()))
    assert_no_secret(texts, [wrong])


# --- the command line -----------------------------------------------------------------------


def _cli_env(server: S3Server) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(server.env())
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


def _run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "astro_cloud_async.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def _files_text(root: Path) -> Iterator[tuple[str, str]]:
    """Every file under ``root`` as text; Parquet files through their decoded values."""
    import pyarrow.parquet as pq

    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        yield str(path), path.read_bytes().decode("latin-1")
        if path.suffix == ".parquet":
            yield f"{path} (values)", repr(pq.read_table(path).to_pylist())


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_cli_index_writes_no_secret(
    tmp_path: Path, s3_server: S3Server, sample_corpus: dict[str, Path], suffix: str
) -> None:
    bucket = s3_server.private_bucket
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    sources = [
        s3_server.url(bucket, sample_corpus["table"].name),
        s3_server.url(bucket, sample_corpus["not_fits"].name),
        s3_server.url(bucket, "no-such-key.fits"),
        presigned(s3_server.http_url(s3_server.public_bucket, sample_corpus["table"].name)),
        presigned(s3_server.http_url(bucket, "no-such-key.fits")),
    ]
    result = _run_cli(
        "index", *sources, "--endpoint-url", s3_server.endpoint_url, "--region",
        s3_server.region, "--retries", "1", "-k", "all", "-o", str(out_dir / f"cat{suffix}"),
        env=_cli_env(s3_server),
    )  # fmt: skip
    assert result.returncode == 1, result.stderr  # some objects failed, and that was said
    assert "failed" in result.stderr
    texts = [("stdout", result.stdout), ("stderr", result.stderr), *_files_text(out_dir)]
    assert len(texts) >= 4  # a catalog and a failure report were written
    assert_no_secret(texts, [s3_server.secret_key, SIGNATURE, TOKEN])


@pytest.mark.parametrize("command", ["info", "headers"])
def test_cli_info_and_headers_print_no_signature(
    s3_server: S3Server, sample_corpus: dict[str, Path], command: str
) -> None:
    url = presigned(s3_server.http_url(s3_server.private_bucket, "no-such-key.fits"))
    result = _run_cli(command, url, env=_cli_env(s3_server))
    assert result.returncode != 0
    assert "no-such-key.fits" in result.stderr  # the object is named
    assert_no_secret([("stdout", result.stdout), ("stderr", result.stderr)], [SIGNATURE, TOKEN])


async def test_index_progress_output_holds_no_secret(
    tmp_path: Path, fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    sources = [
        presigned(serve(fault_server, f"o{i}.fits", good_samples["table"])) for i in range(20)
    ]
    sources.append(presigned(fault_server.url("missing.fits")))
    job = IndexJob(
        output=tmp_path / "cat.jsonl",
        sources=sources,
        options=Options(**FAST),
        flush_seconds=0.05,
    )
    stream = io.StringIO()
    with Progress(enabled=True, stream=stream) as progress:
        result = await index(job, reporter=progress)
    result.report(stream)
    assert result.counts.objects == 20 and result.counts.failed == 1
    texts = [("progress", stream.getvalue()), *_files_text(tmp_path)]
    assert_no_secret(texts, SECRETS)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@host/a.fits", "https://REDACTED@host/a.fits"),
        (
            "https://b.s3.amazonaws.com/k.fits?X-Amz-Signature=abc&x=1",
            "https://b.s3.amazonaws.com/k.fits?X-Amz-Signature=REDACTED&x=1",
        ),
        ("https://host/a.fits?sig=abc", "https://host/a.fits?sig=REDACTED"),
        ("https://host/a.fits?page=2", "https://host/a.fits?page=2"),
        ("https://host/a.fits", "https://host/a.fits"),
        ("s3://bucket/key.fits", "s3://bucket/key.fits"),
    ],
)
def test_redact_url_hides_user_parts_and_secret_parameters(url: str, shown: str) -> None:
    from astro_cloud_async.errors import redact_url

    assert redact_url(url) == shown
