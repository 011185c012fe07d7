"""The pure half of section reading: keys to byte ranges, bytes back to arrays, scaling.

No I/O: a plan's ranges are cut out of the file's bytes in memory, assembled and decoded, and
compared with numpy indexing of the stored array and with astropy reading the same bytes.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import given, settings
from hypothesis import strategies as st
from section_files import (
    ImageCase,
    image_cases,
    image_hdu_bytes,
    keys_for,
    mixed_file_bytes,
)

from astro_cloud_async.errors import ConfigurationError, FITSError, InvalidHeaderError
from astro_cloud_async.fits import walk_bytes
from astro_cloud_async.sections import (
    ImageLayout,
    NotAnImageError,
    Scaling,
    SectionIndexError,
    decode,
    normalize_key,
    plan_section,
    split_ranges,
)

CASES = image_cases()


def layout_of(data: bytes, index: int = 0, uint: bool = True) -> tuple[ImageLayout, Scaling]:
    hdu = walk_bytes(data)[index]
    layout = ImageLayout.from_header(hdu.header, url="mem://x", data_offset=hdu.data_offset)
    return layout, Scaling.from_header(hdu.header, uint=uint)


def section_from_bytes(data: bytes, key: Any, index: int = 0, **kw: Any) -> np.ndarray[Any, Any]:
    layout, scaling = layout_of(data, index, uint=kw.pop("uint", True))
    plan = plan_section(layout, key, gap=kw.pop("gap", 0))
    fetched = b"".join(data[start:end] for start, end in plan.ranges)
    return decode(plan.assemble(fetched), scaling, **kw)


def astropy_reference(data: bytes, index: int, key: Any, **open_kw: Any) -> np.ndarray[Any, Any]:
    with warnings.catch_warnings(), fits.open(io.BytesIO(data), **open_kw) as hdul:
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        return np.asarray(hdul[index].data[key])


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_assembled_sections_equal_astropy(case: ImageCase) -> None:
    data = case.file_bytes()
    for key in keys_for(case):
        got = section_from_bytes(data, key, case.hdu_index)
        want = astropy_reference(data, case.hdu_index, key)
        assert got.shape == want.shape, key
        assert got.dtype == want.dtype.newbyteorder("="), key
        np.testing.assert_array_equal(got, want, err_msg=f"{case.name} {key!r}")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_do_not_scale_gives_stored_values(case: ImageCase) -> None:
    data = case.file_bytes()
    key = keys_for(case)[0]
    got = section_from_bytes(data, key, case.hdu_index, do_not_scale=True)
    want = astropy_reference(data, case.hdu_index, key, do_not_scale_image_data=True)
    assert got.dtype == case.raw.dtype.newbyteorder("=")
    assert got.dtype.isnative
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, case.raw[key])


def test_uint_false_scales_the_unsigned_convention_to_floats() -> None:
    case = next(c for c in CASES if c.name == "uint16")
    data = case.file_bytes()
    got = section_from_bytes(data, Ellipsis, uint=False)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, astropy_reference(data, 0, Ellipsis, uint=False))


def test_gap_merges_rows_into_fewer_ranges() -> None:
    raw = np.arange(100 * 200, dtype=">i4").reshape(100, 200)
    data = image_hdu_bytes(raw, primary=True)
    layout, _ = layout_of(data)
    key = (slice(10, 20), slice(50, 60))
    apart = plan_section(layout, key, gap=0)
    assert len(apart.ranges) == 10
    assert apart.nbytes == 10 * 10 * 4
    # Rows are 760 bytes apart: a gap of 760 merges them all into one range.
    merged = plan_section(layout, key, gap=760)
    assert len(merged.ranges) == 1
    assert merged.ranges[0] == (
        layout.data_offset + (10 * 200 + 50) * 4,
        layout.data_offset + (19 * 200 + 60) * 4,
    )
    assert len(plan_section(layout, key, gap=759).ranges) == 10
    for plan in (apart, merged):
        fetched = b"".join(data[s:e] for s, e in plan.ranges)
        np.testing.assert_array_equal(plan.assemble(fetched), raw[key])


def test_full_width_rows_are_one_contiguous_range() -> None:
    raw = np.arange(50 * 40, dtype=">f8").reshape(50, 40)
    layout, _ = layout_of(image_hdu_bytes(raw, primary=True))
    plan = plan_section(layout, (slice(5, 25), slice(None)), gap=0)
    assert plan.contiguous
    assert plan.ranges == ((layout.data_offset + 5 * 40 * 8, layout.data_offset + 25 * 40 * 8),)
    whole = plan_section(layout, Ellipsis)
    assert whole.contiguous and whole.nbytes == layout.nbytes == 50 * 40 * 8


def test_steps_inside_a_row_merge_into_one_run() -> None:
    raw = np.arange(10 * 1000, dtype=">i2").reshape(10, 1000)
    layout, _ = layout_of(image_hdu_bytes(raw, primary=True))
    plan = plan_section(layout, (3, slice(0, 1000, 10)), gap=64)
    assert len(plan.ranges) == 1
    assert not plan.contiguous
    sparse = plan_section(layout, (3, slice(0, 1000, 100)), gap=64)
    assert len(sparse.ranges) == 10
    assert sparse.nbytes == 20


def test_split_ranges_cuts_long_ranges_in_order() -> None:
    pieces = list(split_ranges(((0, 10), (20, 45)), 10))
    assert pieces == [(0, 10), (20, 30), (30, 40), (40, 45)]
    with pytest.raises(ConfigurationError):
        list(split_ranges(((0, 1),), 0))


def test_empty_selection_fetches_nothing() -> None:
    raw = np.zeros((8, 8), dtype=">i2")
    layout, scaling = layout_of(image_hdu_bytes(raw, primary=True))
    plan = plan_section(layout, (slice(3, 3), slice(None)))
    assert plan.ranges == () and plan.shape == (0, 8)
    assert decode(plan.assemble(b""), scaling).shape == (0, 8)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_random_keys_match_numpy(data: st.DataObject) -> None:
    shape = tuple(data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=3)))
    raw = np.arange(int(np.prod(shape)), dtype=">i4").reshape(shape)
    file_bytes = image_hdu_bytes(raw, primary=True)
    layout, scaling = layout_of(file_bytes)
    key = tuple(data.draw(st.one_of(st.slices(n + 3), st.integers(-n, n - 1))) for n in shape)
    gap = data.draw(st.sampled_from([0, 4, 100, 10_000]))
    try:
        plan = plan_section(layout, key, gap=gap)
    except SectionIndexError:
        # Only a slice wholly outside its axis is refused where numpy gives an empty axis.
        assert raw[key].size == 0
        return
    fetched = b"".join(file_bytes[s:e] for s, e in plan.ranges)
    got = decode(plan.assemble(fetched), scaling)
    np.testing.assert_array_equal(got, raw[key])
    assert got.shape == raw[key].shape
    assert plan.nbytes <= layout.nbytes


# --- key errors ---------------------------------------------------------------------------

SHAPE = (10, 20)


@pytest.mark.parametrize(
    "key",
    [
        (10, 0),
        (0, -21),
        (slice(None), slice(20, 30)),  # wholly outside
        (slice(-40, -30), 0),  # wholly outside, on the left
        (slice(5, None, -1), slice(25, 21, -1)),
        (0, 0, 0),
        (Ellipsis, 0, Ellipsis),
        (None, 0),
        (1.5, 0),
        (True, 0),
        ([0, 10], 0),
        (np.ones(3, dtype=bool), 0),
        ([[0, 1]], 0),
        (slice(0.5, 3), 0),
        ("a", 0),
    ],
)
def test_bad_keys_raise_section_index_error(key: Any) -> None:
    with pytest.raises(SectionIndexError) as info:
        normalize_key(key, SHAPE, url="mem://x")
    assert isinstance(info.value, IndexError)
    assert isinstance(info.value, ConfigurationError)
    assert info.value.url == "mem://x"


def test_clip_false_refuses_slices_past_an_edge() -> None:
    normalize_key((slice(5, 30), 0), SHAPE)  # clipped by default
    with pytest.raises(SectionIndexError, match="reaches outside"):
        normalize_key((slice(5, 30), 0), SHAPE, clip=False)
    with pytest.raises(SectionIndexError):
        normalize_key((slice(-11, None), 0), SHAPE, clip=False)
    axes, kept = normalize_key((slice(-10, None), slice(None, None, -1)), SHAPE, clip=False)
    assert axes == (range(0, 10), range(19, -1, -1)) and kept == (True, True)


def test_normalize_key_forms() -> None:
    axes, kept = normalize_key((Ellipsis, 3), (4, 5, 6))
    assert axes == (range(4), range(5), (3,)) and kept == (True, True, False)
    axes, kept = normalize_key(np.int64(-1), (4, 5))
    assert axes == ((3,), range(5)) and kept == (False, True)
    bools = np.zeros(5, dtype=bool)
    bools[[1, 4]] = True
    axes, _ = normalize_key((0, bools), (4, 5))
    assert axes[1] == (1, 4)


# --- HDUs that are not images -------------------------------------------------------------


def test_tables_random_groups_and_empty_hdus_are_not_images() -> None:
    data = mixed_file_bytes()
    hdus = walk_bytes(data)
    assert [h.header.get("XTENSION") for h in hdus] == [None, "BINTABLE", "IMAGE"]
    with pytest.raises(NotAnImageError, match="BINTABLE") as info:
        ImageLayout.from_header(hdus[1].header, url="mem://m", data_offset=hdus[1].data_offset)
    assert info.value.offset == hdus[1].data_offset
    assert isinstance(info.value, FITSError)
    empty = walk_bytes(fits.PrimaryHDU().header.tostring().encode())[0]
    with pytest.raises(NotAnImageError, match="NAXIS = 0"):
        ImageLayout.from_header(empty.header, url="mem://e", data_offset=empty.data_offset)
    groups = fits.GroupsHDU(
        fits.GroupData(np.zeros((3, 2, 2), dtype=np.float32), parnames=["a"],
                       pardata=[np.zeros(3, dtype=np.float32)], bitpix=-32)
    )  # fmt: skip
    hdu = walk_bytes(groups.header.tostring().encode() + b"\0" * 2880)[0]
    with pytest.raises(NotAnImageError, match="random groups"):
        ImageLayout.from_header(hdu.header, url="mem://g", data_offset=hdu.data_offset)
    compressed = fits.CompImageHDU(np.zeros((4, 4), dtype=np.float32))
    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), compressed]).writeto(buffer)
    tiled = walk_bytes(buffer.getvalue())[1]
    with pytest.raises(NotAnImageError, match="tile-compressed"):
        ImageLayout.from_header(tiled.header, url="mem://c", data_offset=tiled.data_offset)


def test_unusable_scaling_keywords_raise_invalid_header() -> None:
    header = {"BITPIX": 16, "NAXIS": 1, "NAXIS1": 3, "BSCALE": "two"}
    with pytest.raises(InvalidHeaderError):
        Scaling.from_header(header, url="mem://s")
    with pytest.raises(InvalidHeaderError):
        ImageLayout.from_header({**header, "BITPIX": 12}, url="mem://s", data_offset=0)
