"""What each host does with Range: the transition table and the record kept per host."""

from __future__ import annotations

import pytest

from astro_cloud_async.stores.capabilities import (
    TRANSITIONS,
    Answer,
    HostRanges,
    RangeSupport,
    is_object_store_host,
    origin,
)

S, A = RangeSupport, Answer


def test_every_state_has_a_move_for_every_answer() -> None:
    assert set(TRANSITIONS) == {(s, a) for s in RangeSupport for a in Answer}


@pytest.mark.parametrize(
    ("answers", "state"),
    [
        ([], S.UNKNOWN),
        ([A.PARTIAL], S.RANGES),
        ([A.PARTIAL, A.MULTIPART, A.PARTIAL], S.MULTI),
        ([A.PARTIAL, A.REFUSED, A.PARTIAL], S.SINGLE),
        ([A.FULL], S.NONE),
        ([A.PARTIAL, A.MULTIPART, A.FULL], S.NONE),  # a server that stopped honouring Range
        ([A.FULL, A.REFUSED, A.FULL], S.NONE),
        ([A.FULL, A.PARTIAL], S.RANGES),  # and one that started again
        ([A.PARTIAL, A.OBJECT_STORE, A.MULTIPART, A.FULL, A.PARTIAL], S.OBJECT_STORE),
    ],
)
def test_answers_move_a_host(answers: list[Answer], state: RangeSupport) -> None:
    hosts = HostRanges()
    url = "http://archive.test/data/x.fits"
    for answer in answers:
        hosts.record(url, answer)
    assert hosts.support(url) is state
    assert hosts.support("http://other.test/x.fits") is S.UNKNOWN


def test_multi_range_requests_only_where_allowed() -> None:
    assert {s for s in RangeSupport if s.multi_allowed} == {S.RANGES, S.MULTI}


def test_object_store_headers_are_seen_until_several_ranges_were_answered() -> None:
    hosts = HostRanges()
    url = "https://data.test/x.fits"
    assert hosts.record(url, A.PARTIAL, {"x-amz-request-id": "1"}) is S.OBJECT_STORE
    other = "https://plain.test/x.fits"
    hosts.record(other, A.PARTIAL, {"ETag": '"x"'})
    hosts.record(other, A.MULTIPART, {})
    # Once a host answered several ranges it is no object store, whatever a proxy adds.
    assert hosts.record(other, A.PARTIAL, {"x-amz-request-id": "1"}) is S.MULTI


def test_hosts_are_keyed_by_origin_and_bounded() -> None:
    hosts = HostRanges(max_hosts=2)
    hosts.record("http://a.test/1.fits", A.FULL)
    assert hosts.support("HTTP://user:pw@A.test/2.fits?x=1") is S.NONE
    hosts.record("http://b.test/1.fits", A.PARTIAL)
    hosts.record("http://c.test/1.fits", A.PARTIAL)
    assert hosts.support("http://a.test/1.fits") is S.UNKNOWN  # the oldest went out
    assert "a.test" not in repr(hosts) and "pw" not in repr(hosts)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Example.org:8443/a/b.fits", "https://example.org:8443"),
        ("http://user:pw@host.test/x", "http://host.test"),
        ("http://host.test?x=/y", "http://host.test"),
        ("http://host.test#frag/z", "http://host.test"),
        ("http://[::1]:8080/x", "http://[::1]:8080"),
        ("http://host.test", "http://host.test"),
        ("/local/path.fits", ""),
    ],
)
def test_origin(url: str, expected: str) -> None:
    assert origin(url) == expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("https://bucket.s3.amazonaws.com", True),
        ("https://s3.eu-west-1.amazonaws.com:443", True),
        ("https://storage.googleapis.com", True),
        ("https://x.storage.googleapis.com", True),
        ("https://acct.blob.core.windows.net", True),
        ("https://archive.stsci.edu", False),
        ("https://notamazonaws.com", False),
        ("http://[::1]:9000", False),
    ],
)
def test_object_store_hosts(host: str, expected: bool) -> None:
    assert is_object_store_host(host) is expected
    assert is_object_store_host("http://minio.local:9000", ("http://minio.local:9000",))
