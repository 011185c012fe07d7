"""The index job's enrichment: footprints in batches, off the event loop, with bounded pending
objects; interrupted runs leave out what is still waiting.

Batches run in a thread pool here (the index job's process pool is exercised by every catalog
these tests build); a held pool keeps them in flight until a test lets them go.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest
from sky_survey import SkySurvey
from test_footprints import sip_header

from astro_cloud_async import Client, read_headers
from astro_cloud_async.errors import ObjectNotFoundError
from astro_cloud_async.indexing.enrich import Enrichment, may_have_wcs
from astro_cloud_async.records import HDURecord, ObjectFailed
from astro_cloud_async.sky.footprints import footprint_columns

Outcome = tuple[HDURecord, ...] | ObjectFailed


class HeldPool(ThreadPoolExecutor):
    """One thread; every call waits for ``release`` (or fails with ``error``), and the number of
    jobs of each call is kept."""

    def __init__(self, error: Exception | None = None) -> None:
        super().__init__(1)
        self.release = threading.Event()
        self.error = error
        self.calls: list[int] = []

    def submit(  # type: ignore[override]
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> Future[Any]:
        self.calls.append(len(args[0]))

        def held() -> Any:
            self.release.wait()
            if self.error is not None:
                raise self.error
            return fn(*args, **kwargs)

        return super().submit(held)


@pytest.fixture
def held() -> Iterator[HeldPool]:
    pool = HeldPool()
    yield pool
    pool.release.set()
    pool.shutdown(wait=True)


class Sink:
    def __init__(self) -> None:
        self.got: list[tuple[Outcome, Sequence[Mapping[str, Any]] | None]] = []

    def __call__(self, item: Outcome, extra: Sequence[Mapping[str, Any]] | None) -> None:
        self.got.append((item, extra))

    @property
    def names(self) -> list[str]:
        return [Path(item.url if isinstance(item, ObjectFailed) else item[0].url).name
                for item, _ in self.got]  # fmt: skip


def objects(paths: Sequence[Path]) -> list[tuple[HDURecord, ...]]:
    return [tuple(read_headers(str(p))) for p in paths]


def _with_this_package() -> dict[str, str]:
    """This environment, with the package these tests import first on a child's path
    (installed or not)."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


async def test_objects_reach_the_sink_with_the_one_header_columns(sky: SkySurvey) -> None:
    sink = Sink()
    pool = HeldPool()
    pool.release.set()
    every = objects(sky.all_files)
    async with Client() as client:
        enrichment = Enrichment(
            client, sink, footprints=True, verify_data=False, executor=pool, batch_hdus=3
        )
        async with enrichment:
            for item in every:
                await enrichment.submit(item)
    pool.shutdown()
    assert sorted(sink.names) == sorted(p.name for p in sky.all_files)
    wcs_headers = [r for records in every for r in records if may_have_wcs(r)]
    assert sum(pool.calls) == len(wcs_headers) == 8 + 3 + 4 + 4  # each header sent once
    assert enrichment.batches == len(pool.calls) > 1 and enrichment.inline_batches == 0
    for item, extra in sink.got:
        assert not isinstance(item, ObjectFailed) and extra is not None
        for record, columns in zip(item, extra, strict=True):
            assert columns == (footprint_columns(record.header) if may_have_wcs(record) else {})


async def test_pending_objects_are_bounded(sky: SkySurvey, held: HeldPool) -> None:
    sink = Sink()
    first, second, third = objects([sky.fields[n] for n in ("equator", "rotated", "pole")])
    primary_only = objects([sky.fields["tpv"]])[0][:1]  # no celestial WCS: nothing to wait for
    failed = ObjectFailed("https://x/missing.fits", ObjectNotFoundError("gone"))
    async with Client() as client:
        enrichment = Enrichment(
            client, sink, footprints=True, verify_data=False, executor=held,
            max_pending=2, batch_objects=1,
        )  # fmt: skip
        async with enrichment:
            await enrichment.submit(first)
            await enrichment.submit(second)
            waiting = asyncio.create_task(enrichment.submit(third))
            for _ in range(50):
                await asyncio.sleep(0)
            # Two objects are pending in the workers: the third waits, and the scan with it.
            assert not waiting.done() and sink.got == []
            assert held.calls == [1, 1]
            held.release.set()
            await waiting
            await enrichment.submit(primary_only)
            await enrichment.submit(failed)
    # Batches complete in the order they were sent; what needs nothing goes through at once.
    assert sink.names[:2] == ["field-equator.fits", "field-rotated.fits"]
    assert set(sink.names[2:]) == {"field-pole.fits", "field-tpv.fits", "missing.fits"}
    assert held.calls == [1, 1, 1]


async def test_the_loop_computes_a_waiting_batch_rather_than_wait(
    sky: SkySurvey, held: HeldPool
) -> None:
    # One batch at a time goes to the (held) worker; when the pending objects reach the
    # bound, the next batch still waiting for the worker is computed on the loop instead.
    sink = Sink()
    first, second, third = objects([sky.fields[n] for n in ("equator", "rotated", "pole")])
    async with Client() as client:
        enrichment = Enrichment(
            client, sink, footprints=True, verify_data=False, executor=held,
            max_pending=2, batch_objects=1, in_flight=1,
        )  # fmt: skip
        async with enrichment:
            for item in (first, second, third):
                await enrichment.submit(item)
            assert held.calls == [1] and enrichment.inline_batches == 1
            assert sink.names == ["field-rotated.fits"]
            ((records, extra),) = sink.got
            assert extra == [footprint_columns(r.header) if may_have_wcs(r) else {}
                             for r in records]  # fmt: skip
            held.release.set()
    assert sink.names == ["field-rotated.fits", "field-equator.fits", "field-pole.fits"]
    assert held.calls == [1, 1] and enrichment.batches == 3


async def test_an_interrupted_run_leaves_out_what_is_still_pending(
    sky: SkySurvey, held: HeldPool
) -> None:
    sink = Sink()
    waiting = objects([sky.fields["equator"], sky.camera])
    primary_only = objects([sky.fields["tpv"]])[0][:1]

    class Interrupted(Exception):
        pass

    async with Client() as client:
        enrichment = Enrichment(
            client, sink, footprints=True, verify_data=False, executor=held, drain_seconds=0
        )
        with pytest.raises(Interrupted):
            async with enrichment:
                for item in [*waiting, primary_only]:
                    await enrichment.submit(item)
                raise Interrupted
    # The batch was sent at the interruption and not waited for: its objects are left out
    # (a resumed run reads them again); the one that needed nothing was written.
    assert held.calls == [1 + 3]
    assert sink.names == ["field-tpv.fits"]


async def test_a_header_the_cards_do_not_decide_takes_a_second_batch(tmp_path: Path) -> None:
    import numpy as np
    from astropy.io import fits

    made = sip_header((2, 2), 7)
    made["CRVAL2"] = 90.0  # the pole: the numpy path leaves it to astropy
    path = tmp_path / "pole.fits"
    pixels = np.zeros((made["NAXIS2"], made["NAXIS1"]), dtype=np.float32)
    fits.PrimaryHDU(pixels, header=made).writeto(path)
    sink = Sink()
    pool = HeldPool()
    pool.release.set()
    async with Client() as client:
        enrichment = Enrichment(client, sink, footprints=True, verify_data=False, executor=pool)
        async with enrichment:
            await enrichment.submit(objects([path])[0])
    pool.shutdown()
    assert enrichment.batches == 2 and pool.calls == [1, 1]
    ((records, extra),) = sink.got
    assert extra is not None and extra[0] == footprint_columns(records[0].header)
    assert extra[0]["footprint"] is not None


async def test_a_broken_worker_pool_loses_nothing(sky: SkySurvey) -> None:
    # Every call fails as a pool whose worker died does: the loop computes each batch itself,
    # the objects reach the sink with the one-header columns, and the run says what happened.
    pool = HeldPool(error=BrokenProcessPool("a worker died"))
    pool.release.set()
    sink = Sink()
    every = objects(sky.all_files)
    async with Client() as client:
        enrichment = Enrichment(
            client, sink, footprints=True, verify_data=False, executor=pool, batch_hdus=3
        )
        with pytest.warns(RuntimeWarning, match="process computed them itself"):
            async with enrichment:
                for item in every:
                    await enrichment.submit(item)
    pool.shutdown()
    assert sorted(sink.names) == sorted(p.name for p in sky.all_files)
    assert enrichment.inline_batches >= 1 and len(pool.calls) >= 1
    for item, extra in sink.got:
        assert not isinstance(item, ObjectFailed) and extra is not None
        for record, columns in zip(item, extra, strict=True):
            assert columns == (footprint_columns(record.header) if may_have_wcs(record) else {})


def test_a_script_without_a_main_guard_runs_once(tmp_path: Path, sky: SkySurvey) -> None:
    import json
    import subprocess
    import sys

    # The footprint worker never imports the caller's main module: a script that starts its
    # run at import gets its footprints from the worker, with no second run and no warning.
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{sky.fields['equator']}\n")
    catalog = tmp_path / "out.jsonl"
    runs = tmp_path / "runs.txt"
    script = tmp_path / "noguard.py"
    script.write_text(
        "import asyncio\n"
        "from pathlib import Path\n"
        "from astro_cloud_async.indexing import IndexJob, index\n"
        f"with open({str(runs)!r}, 'a') as f: f.write('run\\n')\n"
        f"job = IndexJob(output=Path({str(catalog)!r}), from_files=[{str(urls)!r}],"
        " footprints=True, overwrite=True)\n"
        "asyncio.run(index(job))\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", str(script)],
        env=_with_this_package(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert runs.read_text() == "run\n"
    rows = [json.loads(line) for line in catalog.read_text().splitlines()]
    expected = {
        r.index: footprint_columns(r.header)
        for r in read_headers(str(sky.fields["equator"]))
        if may_have_wcs(r)
    }
    assert expected and {r["hdu"] for r in rows} >= set(expected)
    for row in rows:
        if row["hdu"] in expected:
            assert row["footprint_ra"] == expected[row["hdu"]]["footprint_ra"]


async def test_workers_run_at_a_lower_priority_and_ignore_ctrl_c(sky: SkySurvey) -> None:
    import signal

    import psutil

    from astro_cloud_async.indexing.workers import NICENESS, start_workers
    from astro_cloud_async.sky.footprints import footprint_job

    header = next(r for r in read_headers(str(sky.fields["equator"])) if may_have_wcs(r)).header
    workers = await start_workers(1)
    try:
        (worker,) = workers.processes
        assert psutil.Process(worker.pid).nice() == min(19, os.nice(0) + NICENESS)
        assert os.getsid(worker.pid) != os.getsid(0)  # a session of its own: no Ctrl-C
        (columns,) = await workers.call([footprint_job(header)])
        assert columns == footprint_columns(header)
        os.kill(worker.pid, signal.SIGINT)  # sent to it alone: ignored
        assert await workers.call([footprint_job(header), header.raw]) == [columns, columns]
        assert worker.ended is None
    finally:
        await workers.close()
    assert worker.process.returncode == 0


async def test_a_worker_killed_mid_run_loses_nothing(sky: SkySurvey) -> None:
    import signal

    # The run's own worker process, killed after the first objects: the batches it held and
    # every later one are computed here, and the run says so.
    sink = Sink()
    every = objects(sky.all_files)
    async with Client() as client:
        enrichment = Enrichment(client, sink, footprints=True, verify_data=False, batch_hdus=3)
        with pytest.warns(RuntimeWarning, match="process computed them itself"):
            async with enrichment:
                workers = enrichment._workers
                assert workers is not None
                for n, item in enumerate(every):
                    await enrichment.submit(item)
                    if n == 1:
                        os.kill(workers.processes[0].pid, signal.SIGKILL)
    assert sorted(sink.names) == sorted(p.name for p in sky.all_files)
    assert enrichment.inline_batches >= 1
    assert workers.processes[0].ended is not None
    for item, extra in sink.got:
        assert not isinstance(item, ObjectFailed) and extra is not None
        for record, columns in zip(item, extra, strict=True):
            assert columns == (footprint_columns(record.header) if may_have_wcs(record) else {})


def test_workers_end_with_a_run_killed_outright(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    import psutil

    # A run's process starts its workers, says the worker's pid, and is killed: no cleanup
    # runs, and the worker ends at the end of its input.
    script = tmp_path / "run.py"
    script.write_text(
        "import asyncio, sys\n"
        "from astro_cloud_async.indexing.workers import start_workers\n"
        "async def main():\n"
        "    workers = await start_workers(1)\n"
        "    print(workers.processes[0].pid, flush=True)\n"
        "    sys.stdin.read()\n"
        "asyncio.run(main())\n"
    )
    run = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_with_this_package(),
    )
    assert run.stdout is not None
    worker = psutil.Process(int(run.stdout.readline()))
    assert worker.is_running()
    os.kill(run.pid, signal.SIGKILL)
    run.wait(timeout=30)
    worker.wait(timeout=30)  # psutil.TimeoutExpired if it outlives the run
    assert not worker.is_running()
    run.stdout.close()
    assert run.stdin is not None
    run.stdin.close()


async def test_a_worker_that_answers_no_frame_fails_its_batches_and_none_hangs() -> None:
    import subprocess
    import sys

    from astro_cloud_async.indexing.workers import WorkerProcess

    # A child that reads the first frame's length, answers a frame that is no pickle, and
    # stays alive until its input closes.
    code = (
        "import sys; sys.stdin.buffer.read(8);"
        " sys.stdout.buffer.write(bytes(7) + bytes([2]) + b'xx'); sys.stdout.buffer.flush();"
        " sys.stdin.buffer.read()"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    worker = WorkerProcess(process)
    with pytest.raises(BrokenProcessPool, match=f"worker process {process.pid}"):
        await asyncio.wait_for(worker.call([b"x"]), 30)
    assert worker.ended is not None
    with pytest.raises(BrokenProcessPool):
        await worker.call([b"y"])  # refused at once: the worker takes no more batches
    await worker.close()
    assert process.returncode == 0


async def test_an_index_run_started_by_a_spawned_workers_import_is_refused(
    tmp_path: Path, sky: SkySurvey, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing

    from astro_cloud_async.errors import ConfigurationError
    from astro_cloud_async.indexing import IndexJob, index

    # As in a spawned multiprocessing worker while it imports the main module (a script
    # without a main guard): the run is refused before it opens, or empties, any catalog.
    catalog = tmp_path / "out.jsonl"
    catalog.write_text('{"kept": true}\n')
    monkeypatch.setattr(multiprocessing.current_process(), "_inheriting", True, raising=False)
    job = IndexJob(output=catalog, sources=[str(sky.fields["equator"])], overwrite=True)
    with pytest.raises(ConfigurationError, match="main module"):
        await index(job)
    assert catalog.read_text() == '{"kept": true}\n'
