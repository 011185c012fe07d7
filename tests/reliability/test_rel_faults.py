"""Each fault on its own, through the public scan API against the fault-injecting server.

For every fault the test states the one outcome the object must end in (its records, equal to
astropy's layout, or one typed ObjectFailed), the number of attempts the server saw, and what
the client's statistics say about them. Time-outs and back-offs are small (rel_helpers.FAST),
so a stall costs half a second.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from astropy.io import fits
from rel_faults import Fault, FaultServer
from rel_helpers import FAST, SMALL_READS, Sample, scan_all, serve

from astro_cloud_async import Client
from astro_cloud_async.errors import (
    ConnectionFailedError,
    FetchTimeoutError,
    ObjectChangedError,
    ObjectNotFoundError,
    ResponseError,
    ServerError,
    ThrottledError,
)
from astro_cloud_async.stores.answers import INCOMPLETE_BODY

# --- transient faults: retried, then the object's records ---------------------------------


@pytest.mark.parametrize(
    "fault",
    [Fault.SLOWDOWN, Fault.ERROR_500, Fault.RESET, Fault.SHORT, Fault.STALL, Fault.STALL_BODY],
)
async def test_transient_fault_on_a_later_range_is_retried(
    fault_server: FaultServer, good_samples: dict[str, Sample], fault: Fault
) -> None:
    sample = good_samples["images"]
    # Requests 1 and 3 succeed; 2 and 4 fail (the fault hits a range in mid-walk, twice).
    url = serve(fault_server, "o.fits", sample, schedule={2: fault, 4: fault})
    out = await scan_all([url], **FAST, **SMALL_READS)
    assert out.layout(url) == sample.layout_tuples
    assert url not in out.failures
    assert fault_server.served[fault] == 2
    assert out.stats.retries == 2
    assert out.stats.failures == 0
    assert out.stats.requests == fault_server.requests
    stalls = fault in (Fault.STALL, Fault.STALL_BODY)
    assert out.stats.timeouts == (2 if stalls else 0)


async def test_slowdown_burst_up_to_the_retry_bound_succeeds(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    sample = good_samples["table"]
    url = serve(fault_server, "t.fits", sample, schedule=dict.fromkeys(range(1, 4), Fault.SLOWDOWN))
    out = await scan_all([url], **FAST)  # retries=3: a burst of 3 still succeeds
    assert out.layout(url) == sample.layout_tuples
    assert fault_server.served[Fault.SLOWDOWN] == 3
    assert out.stats.retries == 3


@pytest.mark.parametrize(
    ("fault", "error", "retried"),
    [
        (Fault.SLOWDOWN, ServerError, True),
        (Fault.ERROR_500, ServerError, True),
        (Fault.SHORT, ResponseError, True),
        (Fault.STALL, FetchTimeoutError, True),
        (Fault.STALL_BODY, FetchTimeoutError, True),
        (Fault.WRONG_RANGE, ResponseError, False),
        (Fault.NOT_FOUND, ObjectNotFoundError, False),
    ],
)
async def test_persistent_fault_ends_in_one_typed_failure(
    fault_server: FaultServer,
    good_samples: dict[str, Sample],
    fault: Fault,
    error: type[Exception],
    retried: bool,
) -> None:
    sample = good_samples["images"]
    url = serve(fault_server, "o.fits", sample, always=fault)
    began = time.monotonic()
    out = await scan_all([url], **FAST, **SMALL_READS)
    elapsed = time.monotonic() - began
    failed = out.only_failure(url)
    assert isinstance(failed.error, error), repr(failed.error)
    assert failed.error.url == url and failed.error.offset == 0
    assert failed.records == ()  # the very first range failed: nothing was read
    attempts = FAST["retries"] + 1 if retried else 1
    assert fault_server.obj("o.fits").requests == attempts
    assert out.stats.requests == attempts
    assert out.stats.retries == attempts - 1
    assert out.stats.failures == 1
    if fault is Fault.SHORT:
        assert failed.error.code == INCOMPLETE_BODY  # type: ignore[attr-defined]
    if fault in (Fault.SLOWDOWN, Fault.ERROR_500):
        assert failed.error.status == (503 if fault is Fault.SLOWDOWN else 500)  # type: ignore[attr-defined]
    # Nothing hangs: each attempt is bounded by the time-out, back-offs by max_backoff.
    bound = attempts * (FAST["timeout"] + FAST["max_backoff"]) + 1.0
    assert elapsed < bound


async def test_slowdown_over_http_is_throttling_with_its_s3_code(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    url = serve(fault_server, "o.fits", good_samples["table"], always=Fault.SLOWDOWN)
    out = await scan_all([url], **FAST)
    error = out.only_failure(url).error
    assert isinstance(error, ThrottledError), repr(error)
    assert error.code == "SlowDown"


async def test_persistent_reset_is_a_connection_or_body_error(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    url = serve(fault_server, "o.fits", good_samples["table"], always=Fault.RESET)
    out = await scan_all([url], **FAST)
    error = out.only_failure(url).error
    assert isinstance(error, (ConnectionFailedError, ResponseError)), repr(error)
    if isinstance(error, ResponseError):
        assert error.code == INCOMPLETE_BODY
    assert fault_server.obj("o.fits").requests == FAST["retries"] + 1


async def test_failure_in_mid_walk_keeps_the_hdus_read_before_it(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    sample = good_samples["images"]
    schedule = dict.fromkeys(range(4, 40), Fault.NOT_FOUND)  # gone after three ranges
    url = serve(fault_server, "o.fits", sample, schedule=schedule)
    out = await scan_all([url], **FAST, **SMALL_READS)
    failed = out.only_failure(url)
    assert isinstance(failed.error, ObjectNotFoundError)
    kept = [(r.header_offset, r.data_offset, r.data_size) for r in failed.records]
    assert kept and kept == sample.layout_tuples[: len(kept)]
    assert failed.error.offset is not None and failed.error.offset >= kept[-1][1]


# --- answers for another range than asked ----------------------------------------------------


async def test_wrong_content_range_never_feeds_wrong_bytes(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    sample = good_samples["images"]
    url = serve(fault_server, "o.fits", sample, schedule={3: Fault.WRONG_RANGE})
    out = await scan_all([url], **FAST, **SMALL_READS)
    failed = out.only_failure(url)
    assert isinstance(failed.error, ResponseError)
    assert failed.error.status == 206
    asked = fault_server.obj("o.fits").ranges[2][0]
    assert failed.error.offset == asked
    kept = [(r.header_offset, r.data_offset, r.data_size) for r in failed.records]
    assert kept == sample.layout_tuples[: len(kept)]


# --- a server that ignores Range ------------------------------------------------------------


def _huge_object(size: int) -> bytes:
    """The primary header of a ``size``-byte object whose data fill the rest."""
    header = fits.Header([("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 1), ("NAXIS1", size - 2880)])
    return header.tostring().encode()


def _kernel_buffering() -> int:
    """The most bytes loopback TCP can hold between a writer and a reader that stopped."""
    total = 0
    for name in ("ipv4/tcp_rmem", "ipv4/tcp_wmem"):
        try:
            with open(f"/proc/sys/net/{name}") as f:
                total += int(f.read().split()[2])
        except (OSError, ValueError, IndexError):
            total += 64 << 20
    return total


async def test_ignored_range_on_a_1gb_object_reads_only_what_it_needs(
    fault_server: FaultServer,
) -> None:
    size = 1 << 30
    url = fault_server.add(
        "huge.fits", _huge_object(size), size_override=size, always=Fault.IGNORE_RANGE
    )
    began = time.monotonic()
    out = await scan_all([url], **FAST)
    elapsed = time.monotonic() - began
    (record,) = out.records[url]
    assert (record.data_offset, record.data_size) == (2880, size - 2880)
    assert not record.truncated
    read_size = 10 * 2880
    assert out.stats.requests == 1
    assert out.stats.bytes == read_size and out.stats.discarded_bytes == 0
    await fault_server.idle()
    obj = fault_server.obj("huge.fits")
    assert obj.statuses == [200]
    # The server wrote what the client read plus what the kernel buffers on its own.
    assert obj.bytes_written <= read_size + _kernel_buffering() + (1 << 20)
    assert obj.bytes_written < size // 16
    assert elapsed < 5


async def test_ignored_range_on_a_slow_link_stops_within_a_few_reads(
    fault_server: FaultServer,
) -> None:
    # Written in 16 KiB pieces, 2 ms apart: the kernel never fills, so what the server got to
    # write before the client hung up is what the client wanted plus a few pieces in flight.
    size = 1 << 30
    url = fault_server.add(
        "huge.fits",
        _huge_object(size),
        size_override=size,
        always=Fault.IGNORE_RANGE,
        chunk=16 * 1024,
        pace=0.002,
    )
    out = await scan_all([url], **FAST)
    assert len(out.records[url]) == 1
    read_size = 10 * 2880
    await fault_server.idle()
    written = fault_server.obj("huge.fits").bytes_written
    assert read_size <= written <= 8 * read_size


# --- the object changes between two ranges of one walk ------------------------------------


def _assert_one_version(failed_records: tuple[object, ...]) -> None:
    for record in failed_records:
        card = record.header.cards[0]  # type: ignore[attr-defined]
        assert "version" not in card.comment, "a record of the new version was kept"


@pytest.mark.parametrize("honour_if_match", [True, False])
@pytest.mark.parametrize("weak", [False, True])
async def test_object_replaced_mid_walk_is_reported_not_mixed(
    fault_server: FaultServer, good_samples: dict[str, Sample], honour_if_match: bool, weak: bool
) -> None:
    sample = good_samples["images"]
    url = fault_server.add(
        "o.fits",
        sample.head,
        schedule={3: Fault.CHANGE},
        honour_if_match=honour_if_match,
        weak_etag=weak,
    )
    obj = fault_server.obj("o.fits")
    first_etag = obj.etag
    out = await scan_all([url], **FAST, **SMALL_READS)
    failed = out.only_failure(url)
    assert isinstance(failed.error, ObjectChangedError), repr(failed.error)
    assert obj.etag != first_etag
    assert all(r.etag == first_etag for r in failed.records)
    _assert_one_version(failed.records)
    assert obj.requests == 3  # no retry: a new version will not go away
    if honour_if_match and not weak:
        assert obj.if_match[1:] == [first_etag, first_etag]
        assert obj.statuses[-1] == 412
    assert out.stats.retries == 0


async def test_object_replaced_before_the_walk_is_read_whole_in_its_new_version(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    sample = good_samples["images"]
    url = serve(fault_server, "o.fits", sample, schedule={1: Fault.CHANGE})
    out = await scan_all([url], **FAST, **SMALL_READS)
    assert out.layout(url) == sample.layout_tuples
    assert all(r.header.cards[0].comment == "version 2" for r in out.records[url])


async def test_change_without_etag_is_seen_by_the_size(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    sample = good_samples["images"]
    url = serve(
        fault_server,
        "o.fits",
        sample,
        schedule={3: Fault.CHANGE},
        send_etag=False,
        grow_on_change=True,
    )
    out = await scan_all([url], **FAST, **SMALL_READS)
    failed = out.only_failure(url)
    assert isinstance(failed.error, ObjectChangedError)
    _assert_one_version(failed.records)


async def test_change_without_etag_same_size_is_seen_by_last_modified(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    sample = good_samples["images"]
    url = serve(fault_server, "o.fits", sample, schedule={3: Fault.CHANGE}, send_etag=False)
    out = await scan_all([url], **FAST, **SMALL_READS)
    failed = out.only_failure(url)
    assert isinstance(failed.error, ObjectChangedError)


# --- a server that never states the object's size -----------------------------------------


@pytest.mark.parametrize("ignore_range", [False, True])
async def test_hidden_size_complete_object(
    fault_server: FaultServer, good_samples: dict[str, Sample], ignore_range: bool
) -> None:
    sample = good_samples["images"]
    always = Fault.IGNORE_RANGE if ignore_range else None
    url = serve(fault_server, "o.fits", sample, hide_size=True, always=always)
    out = await scan_all([url], **FAST, **SMALL_READS)
    assert out.layout(url) == sample.layout_tuples
    assert not any(r.truncated for r in out.records[url])


@pytest.mark.parametrize("ignore_range", [False, True])
async def test_hidden_size_truncated_object_is_reported_truncated(
    fault_server: FaultServer, good_samples: dict[str, Sample], ignore_range: bool
) -> None:
    # 'bytes a-b/*' answers and a 416 without Content-Range are legal (RFC 9110 14.4, 15.5.17).
    # The object ends 1000 bytes into the data of its last HDU.
    sample = good_samples["images"]
    last = sample.layout[-1]
    cut = sample.head[: last.data_offset + 1000]
    always = Fault.IGNORE_RANGE if ignore_range else None
    url = fault_server.add("cut.fits", cut, hide_size=True, always=always)
    out = await scan_all([url], **FAST, **SMALL_READS)
    records = out.records[url]
    assert [(r.header_offset, r.data_offset, r.data_size) for r in records] == (
        sample.layout_tuples
    )
    assert records[-1].truncated, "the last HDU's data are cut short"
    assert records[-1].object_size in (None, len(cut))


# --- leaving a scan early while faults are in flight --------------------------------------


async def test_leaving_a_scan_early_cancels_stalled_requests_and_leaves_nothing_running(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    sample = good_samples["table"]
    fast = [serve(fault_server, f"ok{i}.fits", sample) for i in range(5)]
    stuck = [serve(fault_server, f"stall{i}.fits", sample, always=Fault.STALL) for i in range(20)]
    options = {**FAST, "timeout": 30.0, "concurrency": 16}
    async with Client(**options) as client:
        scan = client.scan(fast + stuck)
        began = time.monotonic()
        seen = 0
        async for _ in scan:
            seen += 1
            if seen == 2 * len(fast):  # every record of the fast objects
                break
        await scan.aclose()
        assert time.monotonic() - began < 5  # did not wait for the 30 s time-out
        assert client.stats.in_flight == 0 and client.stats.queued == 0
        assert client.counts.in_flight == 0
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert not [t for t in others if "scan" in repr(t) or "walk" in repr(t)], others
    await fault_server.idle()  # the server saw every stalled request's connection close
    assert fault_server.served[Fault.STALL] >= 1


# --- the same faults through the S3 store (signed GETs to an S3 endpoint) -----------------


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        (Fault.SLOWDOWN, ThrottledError, "SlowDown"),
        (Fault.ERROR_500, ServerError, "InternalError"),
        (Fault.NOT_FOUND, ObjectNotFoundError, "NoSuchKey"),
    ],
)
async def test_s3_error_codes_are_typed_and_retried(
    fault_server: FaultServer,
    good_samples: dict[str, Sample],
    fault: Fault,
    error: type[Exception],
    code: str,
) -> None:
    sample = good_samples["images"]
    serve(fault_server, "bucket/ok.fits", sample, schedule={2: fault})
    serve(fault_server, "bucket/bad.fits", sample, always=fault)
    s3 = {"endpoint_url": fault_server.base_url, "region": "us-east-1", "anon": True}
    urls = ["s3://bucket/ok.fits", "s3://bucket/bad.fits"]
    out = await scan_all(urls, expand=False, **FAST, **SMALL_READS, **s3)
    retried = fault is not Fault.NOT_FOUND
    if retried:
        assert out.layout("s3://bucket/ok.fits") == sample.layout_tuples
    failed = out.only_failure("s3://bucket/bad.fits")
    assert type(failed.error) is error, repr(failed.error)
    assert failed.error.code == code  # type: ignore[attr-defined]
    attempts = FAST["retries"] + 1 if retried else 1
    assert fault_server.obj("bucket/bad.fits").requests == attempts


async def test_s3_object_replaced_mid_walk_is_a_precondition_failure(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    sample = good_samples["images"]
    serve(fault_server, "bucket/o.fits", sample, schedule={3: Fault.CHANGE})
    s3 = {"endpoint_url": fault_server.base_url, "region": "us-east-1", "anon": True}
    out = await scan_all(["s3://bucket/o.fits"], expand=False, **FAST, **SMALL_READS, **s3)
    failed = out.only_failure("s3://bucket/o.fits")
    assert isinstance(failed.error, ObjectChangedError)
    assert failed.error.status == 412 and failed.error.code == "PreconditionFailed"
    _assert_one_version(failed.records)


async def test_a_stalled_azure_read_times_out_without_a_pool_timer(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    # The Azure store bounds its own requests (its client's time-outs), so the pool adds no timer:
    # a blob endpoint that stops answering still ends in a timeout, attempt by attempt.
    sample = good_samples["images"]
    serve(fault_server, "acct/box/o.fits", sample, always=Fault.STALL)
    endpoint = f"{fault_server.base_url}/acct"
    options = dict(FAST, anon=True, connection_string=f"AccountName=acct;BlobEndpoint={endpoint}")
    began = time.monotonic()
    out = await scan_all(["az://box/o.fits"], **options, **SMALL_READS)
    elapsed = time.monotonic() - began
    failed = out.only_failure("az://box/o.fits")
    assert isinstance(failed.error, FetchTimeoutError), repr(failed.error)
    assert fault_server.obj("acct/box/o.fits").requests == FAST["retries"] + 1
    assert out.stats.timeouts == FAST["retries"] + 1
    assert elapsed < (FAST["retries"] + 1) * FAST["timeout"] + 5
