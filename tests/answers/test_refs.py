"""References read through fsspec's reference filesystem with zarr (and xarray) equal astropy:
whole images, row slices, a stacked cube; over HTTP and from S3. No byte of the originals is
in the references, and reading a few rows fetches only their chunks."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from answers_catalogs import build_catalog
from astropy.io import fits
from servers import HTTPServer
from servers.seaweedfs import S3Server
from sky_survey import SkySurvey

from astro_cloud_async.catalog import read_catalog
from astro_cloud_async.options import Options
from astro_cloud_async.virtual import open_references, references, rows_per_chunk, write_references


def astropy_data(path: Path, index: int) -> np.ndarray[Any, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path) as hdul:
            return np.array(hdul[index].data)


def local_path(sky: SkySurvey, url: str) -> Path:
    return sky.root / url.rsplit("/", 1)[1]


def check_group(group: Any, sky: SkySurvey) -> int:
    """Every array of ``group`` against astropy; return how many were checked."""
    checked = 0
    for name in group.array_keys():
        array = group[name]
        attrs = dict(array.attrs)
        if "sources" in attrs:
            want = np.stack([astropy_data(local_path(sky, u), h) for u, h in attrs["sources"]])
        else:
            want = astropy_data(local_path(sky, attrs["url"]), attrs["hdu"])
        whole = array[...]
        assert whole.shape == want.shape, name
        assert whole.dtype.newbyteorder("=") == want.dtype.newbyteorder("="), name
        np.testing.assert_array_equal(whole, want, err_msg=name)
        rows = (slice(None),) * (want.ndim - 2) + (slice(7, 23), slice(None))
        np.testing.assert_array_equal(array[rows], want[rows], err_msg=name)
        np.testing.assert_array_equal(array[..., 3, 5:9], want[..., 3, 5:9], err_msg=name)
        checked += 1
    return checked


def test_rows_per_chunk_divides_the_rows() -> None:
    assert rows_per_chunk((150, 200), 4, 1 << 20) == 150
    assert rows_per_chunk((150, 200), 4, 4000) == 5  # 800-byte rows: 5 fit, 5 divides 150
    assert rows_per_chunk((2078, 2136), 4, 1 << 20) == 2  # 2078 = 2 x 1039
    assert rows_per_chunk((7, 10), 4, 1) == 1
    for rows in range(1, 60):
        n = rows_per_chunk((rows, 3), 2, 30)
        assert rows % n == 0 and (n == 1 or n * 6 <= 30)


def test_references_hold_only_byte_ranges(http_catalog: Path) -> None:
    table = read_catalog(http_catalog)
    refs = references(table, chunk_bytes=8000)["refs"]
    data = {(r["url"], r["hdu"]): r for r in table.to_pylist()}
    chunks = 0
    for key, value in refs.items():
        if key.rsplit("/", 1)[-1].startswith("."):
            json.loads(value)  # metadata only
            continue
        url, offset, length = value
        array = key.split("/")[0]
        attrs = json.loads(refs[f"{array}/.zattrs"])
        row = data[(attrs["url"], attrs["hdu"])]
        assert url == row["url"]
        assert (
            row["data_offset"] <= offset
            and offset + length <= row["data_offset"] + row["data_size"]
        )
        chunks += 1
    assert chunks > 50
    skipped = json.loads(refs[".zattrs"])["skipped"]
    assert [(u.rsplit("/", 1)[1], h) for u, h, _ in skipped] == [("camera.fits", 4)]  # a table


def test_references_over_http_equal_astropy(
    sky: SkySurvey, sky_http: HTTPServer, http_catalog: Path, tmp_path: Path
) -> None:
    path = tmp_path / "refs.json"
    write_references(http_catalog, path, chunk_bytes=4000)
    group = open_references(path)
    assert check_group(group, sky) == 8 + 3 + 4 + 4


def test_a_sector_stacks_into_a_cube(sky: SkySurvey, sky_http: HTTPServer, tmp_path: Path) -> None:
    urls = [sky_http.url(p) for p in sky.sector]
    catalog = build_catalog(tmp_path / "sector.parquet", urls, Options())
    path = tmp_path / "cube.json"
    write_references(catalog, path, stack=True, chunk_bytes=16 * 40 * 4)
    group = open_references(path)
    (name,) = list(group.array_keys())
    cube = group[name]
    assert cube.shape == (4, 48, 40) and cube.chunks == (1, 16, 40)
    assert [s[0] for s in cube.attrs["sources"]] == urls
    assert check_group(group, sky) == 1
    # Two rows of the last frame: one chunk, one request for its bytes.
    mark = sky_http.log_mark()
    np.testing.assert_array_equal(cube[3, 17:19], astropy_data(sky.sector[3], 1)[17:19])
    gets = [e for e in sky_http.access_log_entries(mark, at_least=1) if e.method == "GET"]
    assert [e.bytes_sent for e in gets] == [16 * 40 * 4]


def test_references_from_s3_equal_astropy(
    sky: SkySurvey, sky_s3: S3Server, s3_catalog: Path, tmp_path: Path
) -> None:
    path = tmp_path / "s3.json"
    write_references(s3_catalog, path, stack=True, chunk_bytes=4000)
    group = open_references(
        path,
        remote_protocol="s3",
        remote_options={"anon": True, "client_kwargs": {"endpoint_url": sky_s3.endpoint_url}},
    )
    cubes = [n for n in group.array_keys() if n.startswith("stack")]
    assert len(cubes) == 2  # the 150 x 200 float fields, the 48 x 40 sector frames
    assert check_group(group, sky) == 2 + 4  # the stacks and the camera's and int16 field


def test_xarray_opens_the_references(
    sky: SkySurvey, sky_http: HTTPServer, http_catalog: Path, tmp_path: Path
) -> None:
    xr = pytest.importorskip("xarray")
    import astro_cloud_async.virtual.codec  # noqa: F401 -- the scaled images' filter

    path = tmp_path / "x.json"
    write_references(http_catalog, path)
    dataset = xr.open_dataset(
        "reference://",
        engine="zarr",
        consolidated=False,
        zarr_format=2,
        mask_and_scale=False,
        backend_kwargs={
            "storage_options": {
                "fo": str(path),
                "remote_protocol": "http",
                "remote_options": {"asynchronous": True},
            }
        },
    )
    scaled = dataset["camera_hdu1"]
    assert scaled.dims == ("y60", "x90")
    np.testing.assert_array_equal(scaled.values, astropy_data(sky.camera, 1))
    np.testing.assert_array_equal(
        dataset["camera_hdu2"][10:20].values, astropy_data(sky.camera, 2)[10:20]
    )
