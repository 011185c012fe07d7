"""The failure report: last line wins, successes drop out, partial lines are ignored."""

from __future__ import annotations

from pathlib import Path

from astro_cloud_async.catalog.failures import FailureEntry, FailureLog, failures_path
from astro_cloud_async.errors import ObjectNotFoundError, TruncatedHeaderError
from astro_cloud_async.records import ObjectFailed


def test_path_sits_next_to_the_catalog(tmp_path: Path) -> None:
    assert failures_path(tmp_path / "a.parquet") == tmp_path / "a.parquet.failures.jsonl"
    assert failures_path(tmp_path / "b.csv") == tmp_path / "b.csv.failures.jsonl"


def test_entry_from_a_failure_carries_type_offset_status() -> None:
    err = ObjectNotFoundError("no such key", url="s3://b/k.fits", status=404)
    entry = FailureEntry.from_failure(ObjectFailed("s3://b/k.fits", err))
    assert (entry.error, entry.status, entry.offset) == ("ObjectNotFoundError", 404, None)
    assert entry.message == "no such key"
    entry = FailureEntry.from_failure(
        ObjectFailed("f.fits", TruncatedHeaderError("ends", offset=5760))
    )
    assert entry.offset == 5760 and "at byte 5760" in entry.describe()


def test_presigned_secrets_never_reach_the_report(tmp_path: Path) -> None:
    url = "https://h/k.fits?X-Amz-Signature=abc123&X-Amz-Credential=AKIAXYZ&x=1"
    entry = FailureEntry.from_failure(ObjectFailed(url, ObjectNotFoundError("gone", url=url)))
    log = FailureLog(tmp_path / "r.jsonl")
    log.append([entry])
    text = log.path.read_text()
    assert "abc123" not in text and "AKIAXYZ" not in text and "x=1" in text


def test_last_entry_wins_and_successes_drop_out(tmp_path: Path) -> None:
    log = FailureLog(tmp_path / "r.jsonl")
    log.append([FailureEntry("/a.fits", "E1", "first"), FailureEntry("/b.fits", "E", "b")])
    log.append([FailureEntry("/a.fits", "E2", "second")])
    current = log.load()
    assert [(e.url, e.error) for e in current.values()] == [("/b.fits", "E"), ("/a.fits", "E2")]
    assert list(log.load(succeeded={"/b.fits"})) == ["/a.fits"]
    log.compact(succeeded={"/a.fits"})
    assert log.path.read_text().count("\n") == 1
    log.compact(succeeded={"/a.fits", "/b.fits"})
    assert not log.path.exists()


def test_partial_last_line_is_ignored_then_cut(tmp_path: Path) -> None:
    log = FailureLog(tmp_path / "r.jsonl")
    log.append([FailureEntry("/a.fits", "E", "m")])
    with open(log.path, "a") as f:
        f.write('{"url": "/half')
    assert list(log.load()) == ["/a.fits"]
    log.append([FailureEntry("/c.fits", "E", "m")])
    assert list(log.load()) == ["/a.fits", "/c.fits"]
    assert "/half" not in log.path.read_text()
