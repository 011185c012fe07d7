"""Sources to object URLs: each store says what a source names; prefixes are listed through
the pool, page by page."""

from __future__ import annotations

from pathlib import Path

from astro_cloud_async import Client


async def test_expand_local(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("sub/b.fits", "a.fits", "c.txt", "sub/d.fits.fz"):
        (tmp_path / name).write_bytes(b"x")
    async with Client(suffixes=(".fits", ".fits.fz")) as client:
        got = [u async for u in client.expand(str(tmp_path))]
        single = [u async for u in client.expand(str(tmp_path / "c.txt"))]
        missing = [u async for u in client.expand(str(tmp_path / "none.fits"))]
        http = [u async for u in client.expand("https://example.org/x.fits")]
        assert client.stats.list_requests == 1  # one page of the folder; nothing else listed
        assert client.stats.requests == 0
    assert got == [str(tmp_path / n) for n in ("a.fits", "sub/b.fits", "sub/d.fits.fz")]
    assert single == [str(tmp_path / "c.txt")]  # an object named explicitly passes through
    assert missing == [str(tmp_path / "none.fits")]
    assert http == ["https://example.org/x.fits"]
