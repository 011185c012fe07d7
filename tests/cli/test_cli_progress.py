"""The progress line of ``index``: what it says, including the limit throttling imposes."""

from __future__ import annotations

import io

from astro_cloud_async.cli.progress import Progress, status_text
from astro_cloud_async.indexing.job import RunCounts


def test_the_line_shows_the_lowered_limit_only_while_there_is_one() -> None:
    counts = RunCounts(objects=5, hdus=9, requests=12, bytes=34_000, retries=3, throttled=3)
    assert status_text(counts) == "9 HDUs, 34.0 kB in 12 req, 3 retries, 0 failed"
    counts.limit = 4
    assert status_text(counts).endswith(", 0 failed, throttled: 4 per host")


def test_the_bar_draws_the_status_text() -> None:
    stream = io.StringIO()
    counts = RunCounts(objects=2, hdus=2, requests=2, throttled=1, limit=8, listed=10)
    counts.listing_done = True
    with Progress(enabled=True, stream=stream) as progress:
        progress(counts)
        drawn = stream.getvalue()
    assert "2/10" in drawn and "throttled: 8 per host" in drawn
