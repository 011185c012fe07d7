"""Pure helpers shared by the stores: ranges, Content-Range, ETags, suffixes, status table."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from astro_cloud_async.errors import (
    AccessDeniedError,
    ConfigurationError,
    FetchTimeoutError,
    ObjectChangedError,
    ObjectNotFoundError,
    RangeNotSatisfiableError,
    ResponseError,
    ServerError,
    ThrottledError,
)
from astro_cloud_async.pool.retry import is_retryable
from astro_cloud_async.stores.answers import (
    ContentRange,
    check_partial,
    error_for_status,
    etags_match,
    parse_content_range,
)
from astro_cloud_async.stores.base import RangeResult, check_range, matches_suffix, range_header


@given(st.integers(0, 2**50), st.integers(1, 2**30))
def test_range_header_is_inclusive_end(start: int, length: int) -> None:
    header = range_header(start, start + length)
    first, last = header.removeprefix("bytes=").split("-")
    assert (int(first), int(last)) == (start, start + length - 1)


def test_range_header_example() -> None:
    assert range_header(0, 2880) == "bytes=0-2879"
    assert range_header(2880, 5760) == "bytes=2880-5759"


@pytest.mark.parametrize(("start", "end"), [(-1, 10), (10, 10), (10, 5)])
def test_check_range_rejects_empty_or_negative(start: int, end: int) -> None:
    with pytest.raises(ConfigurationError) as info:
        check_range("s3://b/k", start, end)
    assert info.value.url == "s3://b/k"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("bytes 0-2879/100000", ContentRange(0, 2879, 100000)),
        ("bytes 5-9/*", ContentRange(5, 9, None)),
        ("bytes */4321", ContentRange(None, None, 4321)),
        ("BYTES  0-0 / 1", ContentRange(0, 0, 1)),
        ("bytes 9-5/10", None),
        ("bytes */*", None),
        ("items 0-1/2", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_content_range(value: str | None, expected: ContentRange | None) -> None:
    assert parse_content_range(value) == expected


def test_etags_match_weakly() -> None:
    assert etags_match('"abc"', '"abc"')
    assert etags_match('W/"abc"', '"abc"')
    assert etags_match('"abc"', None)
    assert not etags_match('"abc"', '"abd"')


def test_matches_suffix_case_insensitive() -> None:
    assert matches_suffix("a/b.FITS", (".fits",))
    assert matches_suffix("a/b.fits.fz", (".fits", ".fits.fz"))
    assert not matches_suffix("a/b.fits.gz", (".fits",))
    assert matches_suffix("anything", None)


def test_range_result_end_and_eof() -> None:
    r = RangeResult(b"x" * 10, 100, 110, None)
    assert (r.end, r.at_eof) == (110, True)
    assert not RangeResult(b"x", 0, None, None).at_eof


@pytest.mark.parametrize(
    ("status", "cls", "retry"),
    [
        (404, ObjectNotFoundError, False),
        (410, ObjectNotFoundError, False),
        (401, AccessDeniedError, False),
        (403, AccessDeniedError, False),
        (412, ObjectChangedError, False),
        (416, RangeNotSatisfiableError, False),
        (400, ResponseError, False),
        (408, FetchTimeoutError, True),
        (429, ThrottledError, True),
        (500, ServerError, True),
        (502, ServerError, True),
        (503, ThrottledError, True),  # Service Unavailable: the server asks us to slow down
        (504, ServerError, True),
        (501, ServerError, True),
    ],
)
def test_status_table(status: int, cls: type[Exception], retry: bool) -> None:
    error = error_for_status(status, "http://h/x", 2880)
    assert type(error) is cls
    assert (error.status, error.url, error.offset) == (status, "http://h/x", 2880)
    assert is_retryable(error) is retry


def test_check_partial_takes_what_was_asked() -> None:
    part = check_partial("bytes 2880-5759/100000", "http://h/x", 2880, 5760)
    assert (part.first, part.last, part.total, part.take, part.sent) == (
        2880,
        5759,
        100000,
        2880,
        2880,
    )
    short = check_partial("bytes 2880-3999/4000", "http://h/x", 2880, 5760)
    assert short.take == 1120  # the object ends inside the range asked for


@pytest.mark.parametrize(
    "value", ["bytes 0-99/4000", "bytes 2880-3000/100000", None, "bytes */4000", "items 1-2/3"]
)
def test_check_partial_refuses_a_part_that_is_not_the_range(value: str | None) -> None:
    with pytest.raises(ResponseError) as info:
        check_partial(value, "http://h/x", 2880, 5760)
    assert info.value.offset == 2880 and info.value.status == 206


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    import time
    from email.utils import formatdate

    from astro_cloud_async.stores.answers import retry_after

    assert retry_after({}) is None
    assert retry_after({"Retry-After": "120"}) == 120.0
    assert retry_after({"Retry-After": " 0 "}) == 0.0
    for unreadable in ("soon", "-1", "1.5", ""):
        assert retry_after({"Retry-After": unreadable}) is None
    later = retry_after({"Retry-After": formatdate(time.time() + 30, usegmt=True)})
    assert later is not None and 28 <= later <= 30
    assert retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # past
    assert retry_after({"Retry-After": "Sun Nov  6 08:49:37 1994"}) == 0.0  # asctime form
    error = error_for_status(503, "u", 0, retry_after=2.0)
    assert isinstance(error, ThrottledError) and error.retry_after == 2.0
