"""The local store: pread ranges, EOF, ETags, errors and sorted recursive listing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from astro_cloud_async.errors import ObjectChangedError, ObjectNotFoundError
from astro_cloud_async.stores.base import ObjectInfo
from astro_cloud_async.stores.local import LocalStore, local_path

DATA = bytes(range(256)) * 40  # 10240 bytes


async def listed(
    store: LocalStore, url: str, suffixes: tuple[str, ...] | None = None
) -> list[ObjectInfo]:
    """Every page of the store's listing of ``url``, one ``list_page`` call per page."""
    found: list[ObjectInfo] = []
    token: str | None = None
    while True:
        page = await store.list_page(url, token, suffixes=suffixes)
        found.extend(page.objects)
        if page.token is None:
            return found
        token = page.token


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "z.fits").write_bytes(DATA)
    (tmp_path / "a" / "y.FITS").write_bytes(b"12")
    (tmp_path / "b" / "c.fits.fz").write_bytes(b"")
    (tmp_path / "b" / "notes.txt").write_text("hi")
    (tmp_path / "top.fits").write_bytes(DATA[:100])
    return tmp_path


@pytest.mark.parametrize("threads", [False, True])
@pytest.mark.parametrize(
    ("start", "end", "expected_len"),
    [(0, 2880, 2880), (100, 5000, 4900), (10000, 12880, 240), (10240, 13120, 0), (50000, 50001, 0)],
)
async def test_ranges(tree: Path, threads: bool, start: int, end: int, expected_len: int) -> None:
    path = tree / "a" / "z.fits"
    async with LocalStore(threads=threads) as store:
        result = await store.get_range(str(path), start, end)
    assert result.data == DATA[start:end]
    assert len(result.data) == expected_len
    assert result.start == start
    assert result.object_size == len(DATA)
    assert result.etag is not None


async def test_file_url_with_escapes(tmp_path: Path) -> None:
    path = tmp_path / "with space é.fits"
    path.write_bytes(DATA)
    async with LocalStore() as store:
        result = await store.get_range(path.as_uri(), 10, 20)
    assert result.data == DATA[10:20]
    assert local_path(path.as_uri()) == str(path)


async def test_missing_file_and_directory(tree: Path) -> None:
    store = LocalStore()
    with pytest.raises(ObjectNotFoundError) as info:
        await store.get_range(str(tree / "nope.fits"), 2880, 5760)
    assert info.value.offset == 2880 and info.value.url == str(tree / "nope.fits")
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(ObjectNotFoundError):
        await store.get_range(str(tree / "a"), 0, 10)


async def test_if_match_detects_change(tree: Path) -> None:
    path = tree / "top.fits"
    store = LocalStore()
    first = await store.get_range(str(path), 0, 10)
    assert first.etag is not None
    again = await store.get_range(str(path), 10, 20, if_match=first.etag)
    assert again.data == DATA[10:20]
    path.write_bytes(DATA[:200])
    os.utime(path, ns=(1, 1))
    with pytest.raises(ObjectChangedError):
        await store.get_range(str(path), 20, 30, if_match=first.etag)


async def test_listing_sorted_recursive(tree: Path) -> None:
    store = LocalStore()
    found = await listed(store, str(tree))
    names = [Path(info.url).relative_to(tree).as_posix() for info in found]
    assert names == ["a/y.FITS", "a/z.fits", "b/c.fits.fz", "b/notes.txt", "top.fits"]
    sizes = {Path(i.url).name: i.size for i in found}
    assert sizes["z.fits"] == len(DATA) and sizes["c.fits.fz"] == 0


async def test_listing_suffix_filter_and_file_urls(tree: Path) -> None:
    store = LocalStore()
    found = [i.url for i in await listed(store, tree.as_uri(), (".fits", ".fits.fz"))]
    assert found == [
        (tree / "a" / "y.FITS").as_uri(),
        (tree / "a" / "z.fits").as_uri(),
        (tree / "b" / "c.fits.fz").as_uri(),
        (tree / "top.fits").as_uri(),
    ]


async def test_listing_a_file_and_a_missing_path(tree: Path) -> None:
    store = LocalStore()
    assert [i.url for i in await listed(store, str(tree / "top.fits"))] == [str(tree / "top.fits")]
    with pytest.raises(ObjectNotFoundError):
        await listed(store, str(tree / "missing"))


async def test_listing_does_not_follow_directory_links(tree: Path) -> None:
    (tree / "a" / "loop").symlink_to(tree, target_is_directory=True)
    (tree / "link.fits").symlink_to(tree / "top.fits")
    names = [Path(i.url).name for i in await listed(LocalStore(), str(tree))]
    assert "link.fits" in names
    assert len(names) == 6


async def test_listing_pages_resume_in_a_new_store(tmp_path: Path) -> None:
    names = [f"d{i // 700}/f{i:05d}.fits" for i in range(2500)]
    for name in names:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    store = LocalStore()
    first = await store.list_page(str(tmp_path))
    assert len(first.objects) == 1000 and first.token is not None
    # A token outlives the store that made it: a new store skips every path up to it.
    page = await LocalStore().list_page(str(tmp_path), first.token)
    rest = list(page.objects)
    while page.token is not None:
        page = await store.list_page(str(tmp_path), page.token)
        rest.extend(page.objects)
    got = [Path(i.url).relative_to(tmp_path).as_posix() for i in (*first.objects, *rest)]
    assert got == sorted(names)
