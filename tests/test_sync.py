"""read_headers: blocking, for local files without a loop, remote ones inside or outside one."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from servers import HTTPServer

import astro_cloud_async as aca
from astro_cloud_async.errors import ConfigurationError, NotFITSError, ObjectNotFoundError
from astro_cloud_async.fits.walker import walk_file
from astro_cloud_async.stores.local import local_path
from astro_cloud_async.stores.registry import url_scheme


def layout(records: list[aca.HDURecord]) -> list[tuple[int, int, int, int, bool, int]]:
    return [
        (r.index, r.header_offset, r.data_offset, r.data_size, r.truncated, r.trailing_bytes)
        for r in records
    ]


def expected(path: Path) -> list[tuple[int, int, int, int, bool, int]]:
    return [
        (h.index, h.header_offset, h.data_offset, h.data_size, h.truncated, h.trailing_bytes)
        for h in walk_file(path)
    ]


@pytest.mark.parametrize("name", ["tess_1", "mosaic", "truncated", "trailing_garbage"])
def test_local_path_str_path_and_file_url(sample_corpus: dict[str, Path], name: str) -> None:
    path = sample_corpus[name]
    for given in (str(path), path, path.as_uri()):
        records = aca.read_headers(given)
        assert layout(records) == expected(path)
        assert records[0].url == str(given)
        assert records[0].object_size == path.stat().st_size
    assert records[-1].fits["NAXIS"] == records[-1].header["NAXIS"]


def test_local_errors_are_typed(sample_corpus: dict[str, Path], tmp_path: Path) -> None:
    missing = tmp_path / "missing.fits"
    with pytest.raises(ObjectNotFoundError) as info:
        aca.read_headers(missing)
    assert isinstance(info.value, FileNotFoundError)
    assert info.value.url == str(missing)
    with pytest.raises(NotFITSError) as not_fits:
        aca.read_headers(sample_corpus["not_fits"].as_uri())
    assert not_fits.value.url == sample_corpus["not_fits"].as_uri()
    assert not_fits.value.offset == 0
    with pytest.raises(ConfigurationError, match="folder"):
        aca.read_headers(tmp_path)


def test_options_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="first_reed"):
        aca.read_headers("x.fits", first_reed=10)
    with pytest.raises(ConfigurationError, match="scheme"):
        aca.read_headers("gopher://host/x.fits")


def test_http_from_plain_sync_code(
    nginx_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    records = aca.read_headers(nginx_server.url(sample_corpus["mosaic"]), retries=0)
    assert layout(records) == expected(sample_corpus["mosaic"])
    with pytest.raises(ObjectNotFoundError):
        aca.read_headers(nginx_server.url("absent.fits"), retries=0)


async def test_http_inside_a_running_loop(
    nginx_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    threads = threading.active_count()
    # As in a notebook cell: a blocking call from code that runs on the event loop.
    records = aca.read_headers(nginx_server.url(sample_corpus["tess_2"]))
    assert layout(records) == expected(sample_corpus["tess_2"])
    assert threading.active_count() == threads  # the worker thread is gone
    assert asyncio.all_tasks() == {asyncio.current_task()}
    with pytest.raises(ObjectNotFoundError):
        aca.read_headers(nginx_server.url("absent.fits"), retries=0)


def test_local_path_forms(tmp_path: Path) -> None:
    assert local_path("relative/x.fits") == "relative/x.fits"
    for name in ("a b.fits", "x%2541.fits"):
        assert local_path((tmp_path / name).as_uri()) == str(tmp_path / name)
    assert local_path("file://localhost/tmp/x.fits") == "/tmp/x.fits"
    assert url_scheme("relative/x.fits") == url_scheme("file:///x.fits") == "file"
    assert url_scheme("s3://bucket/key.fits") == "s3"
    assert url_scheme("https://host/key.fits") == "https"
    with pytest.raises(ConfigurationError):
        local_path("file://otherhost/x.fits")
