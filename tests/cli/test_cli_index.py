"""``astro-cloud-async index``: formats, failures, resume, retry, and interrupted runs."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import re
import signal
import subprocess
import time
import warnings
from collections import Counter
from pathlib import Path

import psutil
import pyarrow as pa
import pytest
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning
from cli_helpers import Run, popen, write_small_files
from servers import HTTPServer

from astro_cloud_async.catalog import completed_urls, failures_path, read_catalog
from astro_cloud_async.cli import main
from astro_cloud_async.demo.server import RangeServer
from astro_cloud_async.demo.survey import astropy_layout

FORMATS = ("catalog.parquet", "catalog.jsonl", "catalog.csv")
BROKEN = {"not_fits", "empty"}


def _layouts(paths: dict[str, Path]) -> dict[str, list[tuple[int, int]]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        return {
            name: [(x.header_offset, x.data_offset) for x in astropy_layout(path)]
            for name, path in paths.items()
        }


def _rows_by_url(table: pa.Table) -> dict[str, list[dict[str, object]]]:
    out: dict[str, list[dict[str, object]]] = {}
    for row in table.to_pylist():
        out.setdefault(str(row["url"]), []).append(row)
    return out


@pytest.mark.parametrize("name", FORMATS)
def test_index_a_local_folder(
    cli: Run, tmp_path: Path, sample_corpus: dict[str, Path], name: str
) -> None:
    folder = next(iter(sample_corpus.values())).parent
    out = tmp_path / name
    done = cli("index", folder, "-o", out, "--keywords", "NAXIS1,NAXIS2,BITPIX,DATE-OBS")
    # Two broken objects: a non-zero exit, and both in the failure report.
    assert done.returncode == 1, done.stderr
    assert "indexed 11 objects" in done.stderr and "2 failed" in done.stderr
    report = [json.loads(x) for x in failures_path(out).read_text().splitlines()]
    assert {Path(r["url"]).name for r in report} == {"error_page.fits", "empty.fits"}
    assert {r["error"] for r in report} == {"NotFITSError"}
    assert all(r["offset"] == 0 and r["message"] for r in report)

    good = {k: p for k, p in sample_corpus.items() if k not in BROKEN}
    rows = _rows_by_url(read_catalog(out))
    assert set(rows) == {str(p) for p in good.values()}
    for key, layout in _layouts(good).items():
        mine = sorted(rows[str(good[key])], key=lambda r: int(r["hdu"]))  # type: ignore[arg-type]
        assert [(r["header_offset"], r["data_offset"]) for r in mine] == layout, key
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AstropyWarning)
            # Keyword columns show what astropy shows: a compressed image's own header.
            with fits.open(good[key]) as hdul:
                for row, hdu in zip(mine, hdul, strict=True):
                    assert row["NAXIS1"] == hdu.header.get("NAXIS1")
                    assert row["DATE-OBS"] == hdu.header.get("DATE-OBS")
                    assert row["tile_compressed"] is isinstance(hdu, fits.CompImageHDU)


@pytest.mark.parametrize("name", FORMATS)
def test_index_compressed_objects(
    cli: Run, tmp_path: Path, sample_corpus: dict[str, Path], name: str
) -> None:
    folder = tmp_path / "compressed"
    folder.mkdir()
    plain = sample_corpus["table"]
    raw = plain.read_bytes()
    (folder / "table.fits.gz").write_bytes(gzip.compress(raw, mtime=0))
    (folder / "table.fits.bz2").write_bytes(bz2.compress(raw))
    (folder / "table.fits").write_bytes(raw)
    out = tmp_path / name
    done = cli("index", folder, "-o", out, "--keywords", "NAXIS2")
    assert done.returncode == 0, done.stderr
    rows = _rows_by_url(read_catalog(out))
    layout = _layouts({"table": plain})["table"]
    for file, compression in (("table.fits.gz", "gzip"), ("table.fits.bz2", "bzip2")):
        mine = sorted(rows[str(folder / file)], key=lambda r: int(r["hdu"]))  # type: ignore[arg-type]
        assert [(r["header_offset"], r["data_offset"]) for r in mine] == layout
        assert {r["compression"] for r in mine} == {compression}
        assert {r["object_size"] for r in mine} == {(folder / file).stat().st_size}
        assert mine[1]["NAXIS2"] == 800
    assert {r["compression"] for r in rows[str(folder / "table.fits")]} == {None}


def test_index_over_http_then_resume_fetches_nothing(
    cli: Run, tmp_path: Path, nginx_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    good = {k: p for k, p in sample_corpus.items() if k not in BROKEN}
    urls = tmp_path / "urls.txt"
    urls.write_text(
        "# the corpus over HTTP\n" + "".join(nginx_server.url(p) + "\n" for p in good.values())
    )
    out = tmp_path / "remote.parquet"
    mark = nginx_server.log_mark()
    first = cli("index", "--from-file", urls, "-o", out, "--keywords", "all")
    assert first.returncode == 0, first.stderr
    served = nginx_server.access_log_entries(mark)
    assert served and all(e.status == 206 for e in served)

    table = read_catalog(out)
    rows = _rows_by_url(table)
    assert set(rows) == {nginx_server.url(p) for p in good.values()}
    for key, layout in _layouts(good).items():
        mine = sorted(rows[nginx_server.url(good[key])], key=lambda r: int(r["hdu"]))  # type: ignore[arg-type]
        assert [(r["header_offset"], r["data_offset"]) for r in mine] == layout
    assert table.schema.field("NAXIS1").type == pa.int64()

    # The same command again, resumed: everything is done, so nothing is fetched.
    mark = nginx_server.log_mark()
    again = cli("index", "--from-file", urls, "-o", out, "--keywords", "all", "--resume")
    assert again.returncode == 0, again.stderr
    assert f"{len(good)} skipped" in again.stderr
    time.sleep(0.3)  # let nginx write any line it would log
    assert nginx_server.access_log_entries(mark) == []
    assert read_catalog(out).num_rows == table.num_rows


def test_sources_from_standard_input(cli: Run, tmp_path: Path, small_files: list[Path]) -> None:
    out = tmp_path / "stdin.jsonl"
    listing = "\n".join(str(p) for p in small_files[:5]) + "\n\n" + str(small_files[0]) + "\n"
    done = cli("index", "--from-file", "-", "-o", out, input=listing)
    assert done.returncode == 0, done.stderr
    # Duplicates are read once.
    assert completed_urls(out) == {str(p) for p in small_files[:5]}
    assert "indexed 5 objects" in done.stderr


def test_retry_failed(cli: Run, tmp_path: Path) -> None:
    folder = tmp_path / "survey"
    write_small_files(folder, 3)
    bad = folder / "late.fits"
    bad.write_text("<html>503 Service Unavailable</html>")
    out = tmp_path / "c.parquet"
    first = cli("index", folder, "-o", out)
    assert first.returncode == 1
    assert "late.fits: NotFITSError" in first.stderr
    assert [json.loads(x)["url"] for x in failures_path(out).read_text().splitlines()] == [str(bad)]

    # A resumed run skips the failure too, and still says the catalog is incomplete.
    resumed = cli("index", folder, "-o", out, "--resume")
    assert resumed.returncode == 1 and "4 skipped" in resumed.stderr

    write_small_files(tmp_path / "fixed", 1)
    (tmp_path / "fixed" / "frame_000.fits").replace(bad)
    retried = cli("index", "-o", out, "--retry-failed")
    assert retried.returncode == 0, retried.stderr
    assert "indexed 1 objects" in retried.stderr
    assert not failures_path(out).exists()
    assert completed_urls(out) == {str(p) for p in folder.iterdir()}


def test_existing_catalog_is_not_replaced_by_accident(
    tmp_path: Path, small_files: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "c.csv"
    assert main(["index", *map(str, small_files[:2]), "-o", str(out)]) == 0
    assert main(["index", *map(str, small_files[2:4]), "-o", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert completed_urls(out) == {str(p) for p in small_files[:2]}
    assert main(["index", *map(str, small_files[2:4]), "-o", str(out), "--overwrite"]) == 0
    assert completed_urls(out) == {str(p) for p in small_files[2:4]}


def test_bad_options_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "c.jsonl")
    assert main(["index", "x.fits", "-o", out, "--anon", "--requester-pays"]) == 2
    assert "cannot be combined" in capsys.readouterr().err
    assert main(["index", "-o", out]) == 2
    assert main(["index", "--from-file", str(tmp_path / "missing.txt"), "-o", out]) == 2
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:  # argparse rejects the value itself
        main(["index", "x.fits", "-o", out, "--first-read", "lots"])
    assert exit_info.value.code == 2
    assert "not a size" in capsys.readouterr().err
    assert not Path(out).exists()


def test_no_progress_display_when_stderr_is_not_a_terminal(
    cli: Run, tmp_path: Path, small_files: list[Path]
) -> None:
    done = cli("index", *small_files[:3], "-o", tmp_path / "c.jsonl")
    assert done.returncode == 0
    assert "\r" not in done.stderr and "it/s" not in done.stderr and " obj/s" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("indexed 3 objects")


def _wait_for(predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.parametrize("name", FORMATS)
def test_killed_run_resumes_without_loss_duplicates_or_refetching(
    tmp_path: Path, cli: Run, small_files: list[Path], small_server: RangeServer, name: str
) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(small_server.url(p) + "\n" for p in small_files))
    out = tmp_path / name
    small_server.delay = 0.05  # slow enough to kill midway
    args = ["index", "--from-file", urls, "-o", out, "--keywords", "all", "--concurrency", "2"]
    process = popen(*args, "--batch-size", "2", "--flush-interval", "0.1")
    try:
        _wait_for(lambda: len(completed_urls(out)) >= 6, timeout=60)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    done_at_kill = completed_urls(out)
    requests_at_kill = Counter(small_server.paths)
    assert 6 <= len(done_at_kill) < len(small_files)

    small_server.delay = 0
    resumed = cli(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(done_at_kill)} skipped" in resumed.stderr

    table = read_catalog(out)
    rows = _rows_by_url(table)
    # Nothing lost, nothing twice: every file, each with exactly its HDUs, once.
    assert set(rows) == {small_server.url(p) for p in small_files}
    for path in small_files:
        hdus = [r["hdu"] for r in rows[small_server.url(path)]]
        assert sorted(hdus) == list(range(len(astropy_layout(path)))), path.name
    # Finished objects were not fetched again.
    for url in done_at_kill:
        path = "/" + url.split("/", 3)[3]
        assert small_server.paths[path] == requests_at_kill[path], path
    primaries = [r for r in table.to_pylist() if r["hdu"] == 0]
    assert sorted(r["OBJECT"] for r in primaries) == [f"field {i:03d}" for i in range(30)]


def _slow_run(
    tmp_path: Path,
    files: list[Path],
    server: RangeServer,
    out: Path,
    *flags: str,
    **popen_args: object,
) -> subprocess.Popen[str]:
    """``index`` of ``files`` from ``server``, slowed down (50 ms an answer, two at once), so
    that a signal can arrive in the middle."""
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(server.url(p) + "\n" for p in files))
    server.delay = 0.05
    return popen(
        "index", "--from-file", urls, "-o", out, "--concurrency", "2", *flags, **popen_args
    )


def test_ctrl_c_keeps_finished_objects(
    tmp_path: Path, small_files: list[Path], small_server: RangeServer
) -> None:
    out = tmp_path / "c.parquet"
    process = _slow_run(tmp_path, small_files, small_server, out)
    _wait_for(lambda: small_server.count() >= 8, timeout=60)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted after" in stderr
    done = completed_urls(out)
    assert 0 < len(done) < len(small_files)
    table = read_catalog(out)
    assert table.num_rows == sum(
        len(astropy_layout(Path(small_files[0].parent, u.rsplit("/", 1)[1]))) for u in done
    )


def _ignores_sigint(pid: int) -> bool:
    """Whether process ``pid`` has SIGINT ignored (its signal mask in /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    ignored = next(line for line in status.splitlines() if line.startswith("SigIgn:"))
    return bool(int(ignored.split()[1], 16) & (1 << (signal.SIGINT - 1)))


def _footprint_worker(pid: int) -> psutil.Process | None:
    """The footprint worker of the run ``pid``, once it has started (it ignores SIGINT)."""
    from astro_cloud_async.indexing.workers import WORKER_MODULE

    for child in psutil.Process(pid).children(recursive=True):
        if WORKER_MODULE in child.cmdline() and _ignores_sigint(child.pid):
            return child
    return None


def test_ctrl_c_interrupts_a_run_with_a_footprint_worker(
    tmp_path: Path, small_files: list[Path], small_server: RangeServer
) -> None:
    # A terminal sends Ctrl-C to the run's process group; the footprint worker is not in it
    # (and ignores SIGINT anyway): the run is interrupted as one without footprints is, and
    # its worker ends with it.
    out = tmp_path / "f.parquet"
    process = _slow_run(
        tmp_path, small_files, small_server, out, "--footprints", start_new_session=True
    )
    _wait_for(lambda: _footprint_worker(process.pid) is not None, timeout=60)
    worker = _footprint_worker(process.pid)
    assert worker is not None
    _wait_for(lambda: small_server.count() >= 8, timeout=60)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted after" in stderr and "Traceback" not in stderr
    assert 0 < len(completed_urls(out)) < len(small_files)
    worker.wait(timeout=30)  # psutil.TimeoutExpired if it outlives the run


def test_sigterm_is_an_interruption_too(
    tmp_path: Path, small_files: list[Path], small_server: RangeServer
) -> None:
    out = tmp_path / "c.jsonl"
    process = _slow_run(tmp_path, small_files, small_server, out)
    _wait_for(lambda: small_server.count() >= 8, timeout=60)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert len(completed_urls(out)) > 0


def test_python_module_entry_point(tmp_path: Path, small_files: list[Path]) -> None:
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "astro_cloud_async.cli",
            "index",
            small_files[0],
            "-o",
            tmp_path / "m.csv",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert completed_urls(tmp_path / "m.csv") == {str(small_files[0])}


def test_progress_display_on_a_terminal(
    tmp_path: Path, small_files: list[Path], small_server: RangeServer
) -> None:
    import fcntl
    import os
    import pty
    import struct
    import termios

    from cli_helpers import command

    urls = tmp_path / "urls.txt"
    urls.write_text("".join(small_server.url(p) + "\n" for p in small_files))
    small_server.delay = 0.02
    master, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    args = [*command(), "index", "--from-file", str(urls), "-o", str(tmp_path / "c.jsonl")]
    process = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=terminal
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other end is closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert process.wait(timeout=60) == 0
    text = shown.decode(errors="replace")
    # Objects done of the total (known from the URL file), HDUs, bytes, requests, failures.
    assert "/30 [" in text and "obj/s" in text
    assert re.search(r"\d+ HDUs, [\d.]+ \w?B in \d+ req, 0 retries, 0 failed", text)
    assert "indexed 30 objects" in text


def test_failures_of_named_objects_stay_in_the_report(cli: Run, tmp_path: Path) -> None:
    """Sources given as object URLs (not a folder) that fail are kept in the report."""
    folder = tmp_path / "named"
    good = write_small_files(folder, 2)
    bad = [folder / "bad1.fits", folder / "bad2.fits"]
    for path in bad:
        path.write_text("<html>not a FITS object</html>")
    out = tmp_path / "named.jsonl"
    done = cli("index", *good, *bad, "-o", out)
    assert done.returncode == 1, done.stderr
    report = [json.loads(x) for x in failures_path(out).read_text().splitlines()]
    assert sorted(r["url"] for r in report) == sorted(str(p) for p in bad)
