"""Throttling: ``Retry-After`` is waited for, and a storm of 503 SlowDown answers lowers the
concurrency that caused it, which grows back once the storm is over.

All of it against the fault-injecting server, through the public API (HTTP and the S3 store).
The server notes when each request arrives and how many it was answering at that moment, so
what the client did is seen from the server's side.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from email.utils import formatdate
from pathlib import Path

import pytest
from rel_faults import Fault, FaultServer, Storm
from rel_helpers import FAST, SMALL_READS, Sample, scan_all, serve

from astro_cloud_async import Client, ObjectFailed
from astro_cloud_async.errors import ThrottledError
from astro_cloud_async.indexing import IndexJob, RunCounts, index
from astro_cloud_async.options import Options

S3 = {"region": "us-east-1", "anon": True}


@pytest.mark.parametrize("via", ["http", "s3"])
async def test_retry_after_seconds_is_waited_for_before_the_next_attempt(
    fault_server: FaultServer, good_samples: dict[str, Sample], via: str
) -> None:
    sample = good_samples["table"]
    name = "bucket/t.fits"
    url = serve(fault_server, name, sample, schedule={1: Fault.SLOWDOWN}, retry_after="1")
    options = dict(FAST, max_backoff=5.0)  # the back-off alone would wait 5 ms at most
    if via == "s3":
        url, options = "s3://bucket/t.fits", dict(options, endpoint_url=fault_server.base_url, **S3)
    out = await scan_all([url], expand=False, **options)
    assert out.layout(url) == sample.layout_tuples
    arrived = fault_server.obj(name).arrived
    assert len(arrived) == 2
    assert arrived[1] - arrived[0] >= 1.0
    assert out.stats.retries == 1 and out.stats.throttled == 1


async def test_retry_after_as_an_http_date_is_waited_for(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    sample = good_samples["table"]
    when = formatdate(time.time() + 3, usegmt=True)  # whole seconds: 2 to 3 s from now
    url = serve(fault_server, "t.fits", sample, schedule={1: Fault.SLOWDOWN}, retry_after=when)
    out = await scan_all([url], **dict(FAST, max_backoff=10.0))
    assert out.layout(url) == sample.layout_tuples
    arrived = fault_server.obj("t.fits").arrived
    assert arrived[1] - arrived[0] >= 1.5


async def test_retry_after_is_capped_by_max_backoff(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    sample = good_samples["table"]
    schedule = {1: Fault.SLOWDOWN, 2: Fault.SLOWDOWN}
    url = serve(fault_server, "t.fits", sample, schedule=schedule, retry_after="3600")
    out = await scan_all([url], **dict(FAST, max_backoff=0.3))
    assert out.layout(url) == sample.layout_tuples
    arrived = fault_server.obj("t.fits").arrived
    gaps = [b - a for a, b in itertools.pairwise(arrived)]
    assert len(gaps) == 2 and all(gap >= 0.3 for gap in gaps)


async def test_a_persistent_throttle_keeps_its_retry_after_on_the_error(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    url = serve(
        fault_server, "t.fits", good_samples["table"], always=Fault.SLOWDOWN, retry_after="0"
    )
    out = await scan_all([url], **dict(FAST, retries=2))
    failed = out.only_failure(url)
    assert isinstance(failed.error, ThrottledError)
    assert failed.error.retry_after == 0.0 and failed.error.code == "SlowDown"
    assert fault_server.obj("t.fits").requests == 3


async def test_throttling_halves_the_host_limit_and_success_grows_it_back(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    sample = good_samples["table"]
    # The first 8 requests answer SlowDown together (each is held 50 ms, so all 8 are in flight
    # at once): one burst, one cut, from 8 to 4.
    urls = [
        serve(fault_server, f"o{i}.fits", sample, schedule={1: Fault.SLOWDOWN}, delay=0.05)
        for i in range(8)
    ]
    urls += [serve(fault_server, f"p{i}.fits", sample) for i in range(40)]
    # No layout prediction: its scouts would hold back objects of a new kind, and this test
    # needs the first 8 requests in flight together.
    options = dict(FAST, retries=3, connections_per_host=8, predict_layout=False)
    async with Client(**options) as client:
        results = [item async for item in client.scan(urls)]
        stats = client.stats
    assert len({r.url for r in results}) == 48
    assert stats.throttled == 8
    assert stats.limit_cuts == 1 and stats.lowest_limit == 4
    assert stats.host_limits == {} and stats.limit is None  # back at 8 after the successes
    assert stats.snapshot().lowest_limit == 4
    # After the burst, the server saw the first requests come 4 at a time at most.
    assert [a.active for a in fault_server.arrivals[:8]] == list(range(1, 9))
    assert max(a.active for a in fault_server.arrivals[8:12]) <= 4


@pytest.mark.slow
async def test_a_slowdown_storm_over_a_thousand_objects(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    sample = good_samples["table"]  # one read walks it
    objects = 1000
    urls = [serve(fault_server, f"s{i:04d}.fits", sample, delay=0.002) for i in range(objects)]
    # 20 % of the answers are SlowDown for the first 700 requests, then the storm is over.
    fault_server.storm = Storm(rate=0.2, until=700, seed=12)
    retries, per_host = 5, 16
    options = dict(FAST, retries=retries, connections_per_host=per_host, concurrency=64)
    outcomes: Counter[str] = Counter()
    async with Client(**options) as client:
        async for item in client.scan(urls):
            if isinstance(item, ObjectFailed) or item.closes_object:
                outcomes[item.url] += 1
        stats = client.stats
    # Every object ends in exactly one outcome (records, or one ObjectFailed).
    assert set(outcomes) == set(urls) and set(outcomes.values()) == {1}
    # No request was attempted more than retries + 1 times (the server's own count).
    attempts = Counter(
        (name, rng) for name, obj in fault_server.objects.items() for rng in obj.ranges
    )
    assert max(attempts.values()) <= retries + 1
    assert stats.requests == fault_server.requests
    assert stats.throttled == fault_server.served[Fault.SLOWDOWN]
    assert 100 <= fault_server.served[Fault.SLOWDOWN] <= 190
    # Lowered under the storm, recovered after it.
    assert stats.lowest_limit is not None and stats.lowest_limit <= 2
    assert stats.limit_cuts >= 10
    assert stats.host_limits == {}
    storm = [a.active for a in fault_server.arrivals if a.storm][200:]
    calm = [a.active for a in fault_server.arrivals if not a.storm]
    assert max(storm) < per_host
    assert max(calm) == per_host
    print(
        f"\nstorm: {fault_server.served[Fault.SLOWDOWN]} SlowDown of {fault_server.requests} "
        f"requests; {stats.limit_cuts} cuts, lowest limit {stats.lowest_limit}; "
        f"server-side concurrency in the storm's tail {sum(storm) / len(storm):.1f} on average "
        f"(max {max(storm)}), after it max {max(calm)}; "
        f"failures {stats.failures}"
    )


async def test_small_reads_under_a_storm_still_end_each_object_once(
    fault_server: FaultServer, good_samples: dict[str, Sample]
) -> None:
    # Several ranges per object, each of them exposed to the storm.
    sample = good_samples["images"]
    urls = [serve(fault_server, f"m{i:03d}.fits", sample) for i in range(60)]
    fault_server.storm = Storm(rate=0.2, until=10_000, seed=3)
    out = await scan_all(urls, **dict(FAST, retries=4), **SMALL_READS)
    for url in urls:
        if url in out.records:
            assert out.layout(url) == sample.layout_tuples
        else:
            assert isinstance(out.only_failure(url).error, ThrottledError)
    assert out.stats.lowest_limit is not None


async def test_an_index_run_reports_the_lowered_limit_and_the_throttled_answers(
    fault_server: FaultServer, good_samples: dict[str, Sample], tmp_path: Path
) -> None:
    sample = good_samples["table"]
    urls = [serve(fault_server, f"x{i:03d}.fits", sample, delay=0.002) for i in range(150)]
    fault_server.storm = Storm(rate=0.3, until=10_000, seed=5)
    seen: list[int | None] = []

    def reporter(counts: RunCounts) -> None:
        seen.append(counts.limit)

    job = IndexJob(
        output=tmp_path / "c.jsonl",
        sources=urls,
        options=Options(**dict(FAST, retries=8, connections_per_host=16)),
    )
    result = await index(job, reporter=reporter)
    assert result.counts.objects + result.counts.failed == 150
    assert result.counts.throttled == fault_server.served[Fault.SLOWDOWN] > 0
    assert f"({result.counts.throttled} throttled)" in result.summary()
    assert any(limit is not None and limit < 16 for limit in seen)


async def test_a_dask_partition_reports_what_throttled_it(
    fault_server: FaultServer, good_samples: dict[str, Sample], tmp_path: Path
) -> None:
    import asyncio

    from astro_cloud_async.dask.partitions import Partition
    from astro_cloud_async.indexing.dask import index_partition

    # What a Dask task sends back counts the 503s it met, as a local run's counts do.
    sample = good_samples["table"]
    urls = tuple(
        serve(fault_server, f"p{i}.fits", sample, schedule={1: Fault.SLOWDOWN}) for i in range(3)
    )
    output = tmp_path / "catalog.parquet"
    output.mkdir()
    report = await asyncio.to_thread(
        index_partition,
        Partition(0, urls),
        output=str(output),
        run=1,
        keywords=["NAXIS"],
        options=Options(**FAST),
    )
    assert len(report.objects) == 3 and not report.failures
    assert report.throttled == 3 and report.retries == 3
    assert report.requests == fault_server.requests == 6
