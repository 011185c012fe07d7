"""The test servers themselves: each answers Range requests as the real program does.

These pin down the behaviour the fetching code is tested against (status codes, Content-Range,
what a past-the-end range gets) and that the access logs count what was sent.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import botocore.session
import pytest
from aiobotocore.session import get_session
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from servers import HTTPServer, ServerBinaryMissing, ServerStartError, start_nginx
from servers.availability import start_or_skip
from servers.process import find_binary
from servers.s3data import ManyKeys
from servers.seaweedfs import S3Server

HTTP_SERVERS = ["nginx_server", "apache_server", "caddy_server"]


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Reply:
    """One request on a fresh connection; header names lower-cased."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), None,
                     headers or {})  # fmt: skip
        response = conn.getresponse()
        body = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        conn.close()


@pytest.fixture(params=HTTP_SERVERS)
def http_server(request: pytest.FixtureRequest) -> HTTPServer:
    server: HTTPServer = request.getfixturevalue(request.param)
    return server


def test_range_get(http_server: HTTPServer, sample_corpus: dict[str, Path]) -> None:
    path = sample_corpus["tess_1"]
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(2880)
        expected = f.read(6 * 2880)
    mark = http_server.log_mark()
    reply = get(http_server.url(path.name), {"Range": f"bytes=2880-{7 * 2880 - 1}"})
    assert reply.status == 206
    assert reply.headers["content-range"] == f"bytes 2880-{7 * 2880 - 1}/{size}"
    assert reply.body == expected
    assert reply.body.startswith(b"XTENSION= 'IMAGE   '")
    (entry,) = http_server.access_log_entries(mark, at_least=1)
    assert (entry.method, entry.status, entry.bytes_sent) == ("GET", 206, 6 * 2880)
    assert entry.range == f"bytes=2880-{7 * 2880 - 1}"
    assert entry.path == "/" + path.name


def test_range_in_a_hole_reads_zeros(
    http_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    path = sample_corpus["tess_2"]
    reply = get(http_server.url(path.name), {"Range": "bytes=1000000-1009999"})
    assert reply.status == 206
    assert reply.body == bytes(10000)


def test_suffix_range(http_server: HTTPServer, sample_corpus: dict[str, Path]) -> None:
    path = sample_corpus["table"]
    data = path.read_bytes()
    reply = get(http_server.url(path.name), {"Range": "bytes=-2880"})
    assert reply.status == 206
    assert reply.headers["content-range"] == f"bytes {len(data) - 2880}-{len(data) - 1}/{len(data)}"
    assert reply.body == data[-2880:]


def test_range_past_end_is_clamped(http_server: HTTPServer, sample_corpus: dict[str, Path]) -> None:
    path = sample_corpus["unpadded"]
    data = path.read_bytes()
    reply = get(http_server.url(path.name), {"Range": f"bytes=14400-{14400 + 8 * 2880 - 1}"})
    assert reply.status == 206
    assert reply.headers["content-range"] == f"bytes 14400-{len(data) - 1}/{len(data)}"
    assert reply.body == data[14400:]


# What each server answers to a range that starts at or past the end of the object. Apache
# sends its 416 without a Content-Range (and closes the connection); on an empty object nginx
# and Apache ignore the range and send an empty 200, Caddy answers 416.
PAST_END_CONTENT_RANGE = {"nginx": True, "caddy": True, "apache": False}
EMPTY_OBJECT_STATUS = {"nginx": 200, "caddy": 416, "apache": 200}


def test_range_starting_past_end(http_server: HTTPServer, sample_corpus: dict[str, Path]) -> None:
    path = sample_corpus["table"]
    size = path.stat().st_size
    mark = http_server.log_mark()
    reply = get(http_server.url(path.name), {"Range": f"bytes={size}-{size + 2879}"})
    assert reply.status == 416
    if PAST_END_CONTENT_RANGE[http_server.kind]:
        assert reply.headers["content-range"] == f"bytes */{size}"
    else:
        assert "content-range" not in reply.headers
    (entry,) = http_server.access_log_entries(mark, at_least=1)
    assert entry.status == 416


def test_empty_object_with_range(http_server: HTTPServer, sample_corpus: dict[str, Path]) -> None:
    reply = get(http_server.url(sample_corpus["empty"].name), {"Range": "bytes=0-28799"})
    assert reply.status == EMPTY_OBJECT_STATUS[http_server.kind]
    if reply.status == 200:
        assert reply.body == b""
        assert reply.headers["content-length"] == "0"
    else:
        assert reply.headers["content-range"] == "bytes */0"


def test_missing_object(http_server: HTTPServer) -> None:
    mark = http_server.log_mark()
    reply = get(http_server.url("no-such-file.fits"), {"Range": "bytes=0-2879"})
    assert reply.status == 404
    (entry,) = http_server.access_log_entries(mark, at_least=1)
    assert entry.status == 404 and entry.path == "/no-such-file.fits"


def test_head_gives_size(http_server: HTTPServer, sample_corpus: dict[str, Path]) -> None:
    path = sample_corpus["mosaic"]
    reply = get(http_server.url(path.name), method="HEAD")
    assert reply.status == 200
    assert int(reply.headers["content-length"]) == path.stat().st_size
    assert reply.headers.get("accept-ranges") == "bytes"
    assert "etag" in reply.headers


def test_norange_nginx_sends_everything(
    nginx_norange: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    path = sample_corpus["table"]
    mark = nginx_norange.log_mark()
    reply = get(nginx_norange.url(path.name), {"Range": "bytes=0-2879"})
    assert reply.status == 200
    assert "content-range" not in reply.headers
    assert reply.body == path.read_bytes()
    (entry,) = nginx_norange.access_log_entries(mark, at_least=1)
    assert (entry.status, entry.bytes_sent, entry.range) == (200, len(reply.body), "bytes=0-2879")


# --- SeaweedFS (S3) -----------------------------------------------------------------------


def _error_code(exc: ClientError) -> tuple[int, str]:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]["Code"]


def test_s3_signed_range_get(s3_server: S3Server, sample_corpus: dict[str, Path]) -> None:
    path = sample_corpus["tess_3"]
    client = s3_server.client()
    try:
        for bucket in (s3_server.public_bucket, s3_server.private_bucket):
            mark = s3_server.log_mark()
            reply = client.get_object(Bucket=bucket, Key=path.name, Range="bytes=0-28799")
            body = reply["Body"].read()
            assert reply["ResponseMetadata"]["HTTPStatusCode"] == 206
            assert reply["ContentRange"] == f"bytes 0-28799/{path.stat().st_size}"
            assert body == path.read_bytes()[:28800]
            (entry,) = s3_server.access_log_entries(mark, at_least=1)
            assert entry.path == f"/{bucket}/{path.name}"
            assert (entry.status, entry.bytes_sent, entry.range) == (206, 28800, "bytes=0-28799")
    finally:
        client.close()


def test_s3_anonymous_access(s3_server: S3Server, sample_corpus: dict[str, Path]) -> None:
    key = sample_corpus["table"].name
    public = get(s3_server.http_url(s3_server.public_bucket, key), {"Range": "bytes=0-2879"})
    assert public.status == 206
    assert public.body == sample_corpus["table"].read_bytes()[:2880]
    for bucket in (s3_server.private_bucket, s3_server.requester_pays_bucket):
        denied = get(s3_server.http_url(bucket, key), {"Range": "bytes=0-2879"})
        assert denied.status == 403
        assert b"<Code>AccessDenied</Code>" in denied.body


def test_s3_bad_signature_refused(s3_server: S3Server, sample_corpus: dict[str, Path]) -> None:
    key = sample_corpus["table"].name
    kwargs = s3_server.client_kwargs()
    wrong_secret = {**kwargs, "aws_secret_access_key": "not-the-secret"}
    wrong_key = {**kwargs, "aws_access_key_id": "AKIDNOSUCHKEY0000000"}
    session = botocore.session.get_session()
    for bad, code in ((wrong_secret, "SignatureDoesNotMatch"), (wrong_key, "InvalidAccessKeyId")):
        client = session.create_client("s3", **bad)
        try:
            with pytest.raises(ClientError) as caught:
                client.get_object(Bucket=s3_server.private_bucket, Key=key)
            assert _error_code(caught.value) == (403, code)
        finally:
            client.close()


def test_s3_requester_pays(s3_server: S3Server, sample_corpus: dict[str, Path]) -> None:
    key = sample_corpus["tess_1"].name
    client = s3_server.client()
    try:
        mark = s3_server.log_mark()
        reply = client.get_object(
            Bucket=s3_server.requester_pays_bucket,
            Key=key,
            Range="bytes=0-2879",
            RequestPayer="requester",
        )
        assert reply["Body"].read().startswith(b"SIMPLE  =")
        assert reply["ResponseMetadata"]["HTTPStatusCode"] == 206
        # SeaweedFS accepts the header and bills nobody: no x-amz-request-charged in the answer.
        assert "RequestCharged" not in reply
        assert len(s3_server.access_log_entries(mark, at_least=1)) == 1
        # SeaweedFS does not implement requester pays: the bucket stays "BucketOwner", and a
        # signed request without the header is served too (AWS would answer 403).
        payment = client.get_bucket_request_payment(Bucket=s3_server.requester_pays_bucket)
        assert payment["Payer"] == "BucketOwner"
        plain = client.get_object(
            Bucket=s3_server.requester_pays_bucket, Key=key, Range="bytes=0-9"
        )
        assert plain["Body"].read() == b"SIMPLE  = "
    finally:
        client.close()


def test_s3_ranges_past_end(s3_server: S3Server, sample_corpus: dict[str, Path]) -> None:
    path = sample_corpus["unpadded"]
    size = path.stat().st_size
    client = s3_server.client()
    try:
        clamped = client.get_object(
            Bucket=s3_server.private_bucket, Key=path.name, Range=f"bytes=14400-{size + 9999}"
        )
        assert clamped["ContentRange"] == f"bytes 14400-{size - 1}/{size}"
        assert clamped["Body"].read() == path.read_bytes()[14400:]
        suffix = client.get_object(
            Bucket=s3_server.private_bucket, Key=path.name, Range="bytes=-100"
        )
        assert suffix["ContentRange"] == f"bytes {size - 100}-{size - 1}/{size}"
        assert suffix["Body"].read() == path.read_bytes()[-100:]
        with pytest.raises(ClientError) as caught:
            client.get_object(
                Bucket=s3_server.private_bucket, Key=path.name, Range=f"bytes={size}-{size + 10}"
            )
        assert _error_code(caught.value) == (416, "InvalidRange")
        headers = caught.value.response["ResponseMetadata"]["HTTPHeaders"]
        assert headers["content-range"] == f"bytes */{size}"
        with pytest.raises(ClientError) as caught:
            client.get_object(Bucket=s3_server.private_bucket, Key="no-such-key.fits")
        assert _error_code(caught.value) == (404, "NoSuchKey")
    finally:
        client.close()


def test_s3_listing_pages(s3_many_keys: ManyKeys) -> None:
    server = s3_many_keys.server
    client = server.client()
    try:
        pages = []
        token = None
        while True:
            extra: dict[str, str] = {"ContinuationToken": token} if token else {}
            page = client.list_objects_v2(
                Bucket=s3_many_keys.bucket, Prefix=s3_many_keys.prefix, MaxKeys=1000, **extra
            )
            pages.append([obj["Key"] for obj in page.get("Contents", [])])
            if not page["IsTruncated"]:
                break
            token = page["NextContinuationToken"]
        assert [len(p) for p in pages] == [1000, 1000, 500]
        assert tuple(k for p in pages for k in p) == s3_many_keys.keys
        assert len(s3_many_keys.keys) == 2500
        body = client.get_object(Bucket=s3_many_keys.bucket, Key=s3_many_keys.keys[1234])["Body"]
        data = body.read()
        assert len(data) == 2880 and b"tiny-001234" in data
    finally:
        client.close()


def test_s3_anonymous_listing(s3_many_keys: ManyKeys) -> None:
    server = s3_many_keys.server
    query = f"list-type=2&prefix={s3_many_keys.prefix}&max-keys=1000"
    reply = get(f"{server.endpoint_url}/{s3_many_keys.bucket}?{query}")
    assert reply.status == 200
    root = ElementTree.fromstring(reply.body)
    ns = {"s3": root.tag.split("}")[0].strip("{")}
    keys = [el.text for el in root.findall("s3:Contents/s3:Key", ns)]
    assert keys == list(s3_many_keys.keys[:1000])
    assert root.findtext("s3:IsTruncated", namespaces=ns) == "true"
    denied = get(f"{server.endpoint_url}/{server.private_bucket}?list-type=2")
    assert denied.status == 403


async def test_s3_with_aiobotocore(s3_server: S3Server, sample_corpus: dict[str, Path]) -> None:
    path = sample_corpus["tess_1"]
    expected = path.read_bytes()[2880 : 10 * 2880]
    session = get_session()
    mark = s3_server.log_mark()
    async with session.create_client("s3", **s3_server.client_kwargs()) as client:
        reply = await client.get_object(
            Bucket=s3_server.private_bucket, Key=path.name, Range=f"bytes=2880-{10 * 2880 - 1}"
        )
        async with reply["Body"] as body:
            assert await body.read() == expected
    anonymous = {
        "endpoint_url": s3_server.endpoint_url,
        "region_name": s3_server.region,
        "config": Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}),
    }
    async with session.create_client("s3", **anonymous) as client:
        reply = await client.get_object(
            Bucket=s3_server.public_bucket, Key=path.name, Range="bytes=0-2879"
        )
        async with reply["Body"] as body:
            assert (await body.read()).startswith(b"SIMPLE  =")
    entries = s3_server.access_log_entries(mark, at_least=2)
    assert [(e.status, e.bytes_sent) for e in entries] == [(206, 9 * 2880), (206, 2880)]


# --- the harness itself --------------------------------------------------------------------


def test_keepalive_requests_all_logged(
    nginx_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    name = sample_corpus["tess_2"].name
    mark = nginx_server.log_mark()
    conn = http.client.HTTPConnection("127.0.0.1", nginx_server.port, timeout=10)
    try:
        for i in range(5):
            conn.request("GET", f"/{name}", headers={"Range": f"bytes={i * 2880}-{i * 2880 + 99}"})
            response = conn.getresponse()
            assert response.status == 206 and len(response.read()) == 100
    finally:
        conn.close()
    entries = nginx_server.access_log_entries(mark, at_least=5)
    assert len(entries) == 5
    assert sum(e.bytes_sent for e in entries) == 500
    assert [e.range for e in entries] == [f"bytes={i * 2880}-{i * 2880 + 99}" for i in range(5)]


def test_nginx_delay(sample_corpus: dict[str, Path]) -> None:
    root = next(iter(sample_corpus.values())).parent
    name = sample_corpus["table"].name
    with start_nginx(root, delay=0.3) as slow:
        started = time.monotonic()
        reply = get(slow.url(name), {"Range": "bytes=0-9"})
        elapsed = time.monotonic() - started
        assert reply.status == 206 and reply.body == b"SIMPLE  = "
        assert elapsed >= 0.29
        assert "lua" not in slow.error_log_text().lower()


def test_stop_ends_the_server(sample_corpus: dict[str, Path]) -> None:
    root = next(iter(sample_corpus.values())).parent
    server = start_nginx(root)
    assert get(server.url(sample_corpus["table"].name), method="HEAD").status == 200
    pid, port, workdir = server.pid, server.port, server.workdir
    server.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    assert not workdir.exists()


def test_failed_start_shows_the_error_log(tmp_path: Path) -> None:
    with pytest.raises(ServerStartError, match="max_ranges") as caught:
        start_nginx(tmp_path, max_ranges=-1)
    assert "exited during start-up" in str(caught.value)


def _gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie waiting for its new parent counts as exited)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return "\nState:\tZ" in status.read()
    except FileNotFoundError:
        return True


def test_server_dies_with_its_parent(sample_corpus: dict[str, Path]) -> None:
    root = next(iter(sample_corpus.values())).parent
    script = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from servers import start_nginx\n"
        f"server = start_nginx({str(root)!r})\n"
        "print(server.pid, server.workdir, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        pid_text, workdir = parent.stdout.readline().split()
        pid = int(pid_text)
        assert not _gone(pid)
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()
    deadline = time.monotonic() + 10
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    outlived = not _gone(pid)
    if outlived:  # do not leave it behind even when the test fails
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(workdir, ignore_errors=True)
    assert not outlived, "nginx outlived the process that started it"


def test_missing_program_skips_or_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    def start() -> None:
        find_binary("no-such-server-program")

    with pytest.raises(ServerBinaryMissing):
        start()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no-such-server-program"):
        start_or_skip(start)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="no-such-server-program"):
        start_or_skip(start)
