"""``astro-cloud-async demo``: a survey served over HTTP on this machine and indexed."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest
from cli_helpers import Run

from astro_cloud_async.catalog import read_catalog
from astro_cloud_async.demo.server import check_range_support, serve_directory
from astro_cloud_async.demo.survey import astropy_layout
from astro_cloud_async.errors import ConfigurationError


def test_demo(cli: Run, tmp_path: Path) -> None:
    done = cli("demo", "--dir", tmp_path, "--n-tess", "4", "--n-mosaic", "1", "--n-table", "1")
    assert done.returncode == 0, done.stderr + done.stdout
    files = sorted((tmp_path / "survey").iterdir())
    assert len(files) == 6
    hdus = sum(len(astropy_layout(f)) for f in files)
    out = done.stdout
    assert "Range answered 206" in out
    m = re.search(r"indexed 6 objects, (\d+) HDUs .*fetched ([\d.]+ \w+) of ([\d.]+ GB)", out)
    assert m is not None, out
    assert int(m.group(1)) == hdus
    table = read_catalog(tmp_path / "catalog.parquet")
    assert table.num_rows == hdus
    assert "CCD60" in table.column("extname").to_pylist()
    # What was fetched is a tiny share of what the files hold.
    assert re.search(r"\((0\.\d\d)%\)", out)
    assert "first 6 of" in out


async def test_server_answers_ranges_and_counts(tmp_path: Path) -> None:
    (tmp_path / "a.fits").write_bytes(bytes(range(256)) * 20)
    async with serve_directory(tmp_path) as server:
        await check_range_support(server.url("a.fits"))
        async with aiohttp.ClientSession() as session:
            headers = {"Range": "bytes=100-199"}
            async with session.get(server.url("a.fits"), headers=headers) as response:
                assert response.status == 206
                assert await response.read() == (bytes(range(256)) * 20)[100:200]
        assert server.count() == 2 and server.paths["/a.fits"] == 2
        assert server.base_url.startswith("http://127.0.0.1:")


async def test_range_check_rejects_a_server_without_range(tmp_path: Path) -> None:
    from aiohttp import web

    async def whole(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 500)

    app = web.Application()
    app.router.add_get("/f", whole)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        with pytest.raises(ConfigurationError, match="status 200"):
            await check_range_support(f"http://127.0.0.1:{port}/f")
    finally:
        await runner.cleanup()
