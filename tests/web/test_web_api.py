"""The web app's API against ``serve`` running as a real process: the token, the walk of a
file the page holds, catalog queries, footprints, previews, scans, and errors as messages."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import requests
from servers import HTTPServer
from web_data import ROOT, Served, Survey

from astro_cloud_async.fits import walk_file
from astro_cloud_async.web import is_loopback
from astro_cloud_async.web.drop import WINDOW

pytestmark = pytest.mark.timeout(240)


def get(served: Served, path: str, **params: Any) -> requests.Response:
    return requests.get(
        served.api(path), params=params, headers={"X-Token": served.token}, timeout=60
    )


def rows(served: Served, table: str, **params: Any) -> dict[str, Any]:
    answer = get(served, f"/api/tables/{table}/rows", **params)
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


def walk_through_api(served: Served, path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Drive a file session as the page does: slice what the walker asks for, send it."""
    data = path.read_bytes() if path.stat().st_size < 1 << 30 else None
    headers = {"X-Token": served.token}
    answer = requests.post(
        served.api("/api/files"),
        json={"name": path.name, "size": path.stat().st_size},
        headers=headers,
        timeout=30,
    ).json()
    hdus = list(answer["hdus"])
    with open(path, "rb") as f:
        while answer["need"]:
            start, end = answer["need"]
            if data is not None:
                chunk = data[start:end]
            else:
                f.seek(start)
                chunk = f.read(end - start)
            answer = requests.post(
                served.api(f"/api/files/{answer['id']}"),
                params={"start": start},
                data=chunk,
                headers=headers,
                timeout=30,
            ).json()
            hdus.extend(answer["hdus"])
    return hdus, answer


# --- the token ---------------------------------------------------------------------------------


def test_api_refuses_a_request_without_the_token(served: Served) -> None:
    for path in ("/api/info", "/api/tables", "/api/tables/c0/rows", "/"):
        bare = requests.get(served.api(path), timeout=30)
        assert bare.status_code == 403, path
        wrong = requests.get(served.api(path), params={"token": "not-the-token"}, timeout=30)
        assert wrong.status_code == 403, path
    refused = requests.get(served.api("/api/info"), timeout=30).json()
    assert refused["error"]["type"] == "TokenError"
    posted = requests.post(served.api("/api/files"), json={"name": "x", "size": 1}, timeout=30)
    assert posted.status_code == 403
    assert get(served, "/api/info").status_code == 200
    page = requests.get(served.url, timeout=30)
    assert page.status_code == 200 and "<title>astro-cloud-async</title>" in page.text
    assert "no-referrer" in page.headers["Referrer-Policy"]
    # The page's own scripts and styles need no token (they hold no data).
    assert requests.get(served.api("/static/js/main.js"), timeout=30).status_code == 200


def test_serve_binds_loopback_and_warns_for_another_host() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: the warning comes, then the bind
    # fails, and nothing is ever listened on.
    done = subprocess.run(
        [sys.executable, "-m", "astro_cloud_async.cli", "serve", "--host", "192.0.2.1"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode != 0
    assert "warning: serving on 192.0.2.1" in done.stderr
    assert "Traceback" not in done.stderr


# --- a file the page holds ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["special", "pointing", "mosaic", "table", "compressed"])
def test_file_session_walks_as_the_local_walker_does(
    served: Served, web_files: dict[str, Path], name: str
) -> None:
    path = web_files[name]
    hdus, end = walk_through_api(served, path)
    expected = walk_file(path)
    assert end["done"] and "error" not in end
    assert [(h["index"], h["header_offset"], h["data_offset"], h["data_size"]) for h in hdus] == [
        (h.index, h.header_offset, h.data_offset, h.data_size) for h in expected
    ]
    assert [len(h["cards"]) for h in hdus] == [len(h.header.cards) for h in expected]
    assert end["bytes_read"] <= path.stat().st_size


def _noise(path: Path) -> Path:
    """Two 512 x 512 float32 images of noise: about 2 MB that compress poorly."""
    import numpy as np
    from astropy.io import fits

    rng = np.random.default_rng(2)
    images = [fits.ImageHDU(rng.normal(size=(512, 512)).astype(np.float32)) for _ in range(2)]
    fits.HDUList([fits.PrimaryHDU(), *images]).writeto(path)
    return path


@pytest.mark.parametrize("kind", ["mosaic", "noise"])
@pytest.mark.parametrize("suffix", [".gz", ".bz2"])
def test_a_compressed_file_is_walked_through_its_decompressed_stream(
    served: Served, web_files: dict[str, Path], tmp_path: Path, suffix: str, kind: str
) -> None:
    # The mosaic: 50 MB, mostly zeros, a few kB compressed. The noise: 2 MB, about as much
    # compressed, asked of the page in 1 MiB windows.
    plain = web_files["mosaic"] if kind == "mosaic" else _noise(tmp_path / "noise.fits")
    raw = plain.read_bytes()
    path = tmp_path / f"{plain.name}{suffix}"
    path.write_bytes(gzip.compress(raw, mtime=0) if suffix == ".gz" else bz2.compress(raw))
    hdus, end = walk_through_api(served, path)
    assert end["done"] and "error" not in end
    assert end["compression"] == ("gzip" if suffix == ".gz" else "bzip2")
    assert [(h["index"], h["header_offset"], h["data_offset"], h["data_size"]) for h in hdus] == [
        (h.index, h.header_offset, h.data_offset, h.data_size) for h in walk_file(plain)
    ]
    assert end["bytes_read"] == path.stat().st_size  # every stored byte once
    if kind == "noise":
        assert end["requests"] == 1 + -(-(path.stat().st_size - 10 * 2880) // WINDOW)


def test_sparse_4gb_file_costs_only_its_header_blocks(served: Served, giant_file: Path) -> None:
    hdus, end = walk_through_api(served, giant_file)
    assert giant_file.stat().st_size > 4 * 1024**3
    assert [h["summary"]["name"] for h in hdus] == ["PRIMARY", "HUGE", "TAIL"]
    assert hdus[1]["summary"]["dimensions"] == [32768, 32768]
    # The first read takes the first two headers, a second read the table's header: the
    # 4 GiB between them are jumped over.
    assert end["bytes_read"] <= 20 * 2880
    assert end["requests"] <= 3


def test_not_fits_file_ends_with_its_typed_error(
    served: Served, web_files: dict[str, Path]
) -> None:
    hdus, end = walk_through_api(served, web_files["not_fits"])
    assert hdus == []
    assert end["error"]["type"] == "NotFITSError"
    assert end["error"]["offset"] == 0


def test_bytes_for_the_wrong_range_are_refused(served: Served) -> None:
    headers = {"X-Token": served.token}
    opened = requests.post(
        served.api("/api/files"), json={"name": "a.fits", "size": 10 * 2880}, headers=headers
    ).json()
    answer = requests.post(
        served.api(f"/api/files/{opened['id']}"),
        params={"start": 2880},
        data=b"x",
        headers=headers,
        timeout=30,
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["type"] == "BadRequestError"
    gone = requests.post(
        served.api("/api/files/no-such-session"), params={"start": 0}, data=b"", headers=headers
    )
    assert gone.status_code == 404


# --- catalogs ----------------------------------------------------------------------------------


def test_catalog_pages_sorts_and_filters(served: Served, survey: Survey) -> None:
    table = pq.read_table(survey.catalog)
    first = rows(served, "c0", limit=10)
    assert first["total"] == 1000 and first["matched"] == 1000 and len(first["rows"]) == 10
    assert "header" not in first["rows"][0]
    later = rows(served, "c0", offset=995, limit=10)
    assert [r["__row"] for r in later["rows"]] == list(range(995, 1000))

    by_airmass = rows(served, "c0", sort="AIRMASS", desc=1, limit=1000)["rows"]
    airmass = [r["AIRMASS"] for r in by_airmass]
    assert airmass == sorted(airmass, reverse=True)
    assert airmass[0] == pc.max(table.column("AIRMASS")).as_py()

    band_r = rows(served, "c0", **{"f.FILTER": "=r", "f.EXPTIME": ">40", "limit": 1000})
    expected = [
        i
        for i, (band, exptime) in enumerate(
            zip(
                table.column("FILTER").to_pylist(), table.column("EXPTIME").to_pylist(), strict=True
            )
        )
        if band == "r" and exptime is not None and exptime > 40
    ]
    assert band_r["total"] == 1000
    assert [r["__row"] for r in band_r["rows"]] == expected
    assert 0 < band_r["matched"] < 1000

    ranged = rows(served, "c0", **{"f.CCDNUM": "3..4", "limit": 1000})
    assert {r["CCDNUM"] for r in ranged["rows"]} == {3, 4}
    assert ranged["matched"] == 100
    primaries = rows(served, "c0", **{"f.extname": "null", "limit": 1000})
    assert primaries["matched"] == 50 and {r["hdu"] for r in primaries["rows"]} == {0}
    searched = rows(served, "c0", search="stripe82-007", limit=100)
    assert searched["matched"] == 20
    assert {Path(r["url"]).name for r in searched["rows"]} == {"skycam-0007.fits"}


def test_a_bad_filter_is_a_message_naming_its_column(served: Served) -> None:
    answer = get(served, "/api/tables/c0/rows", **{"f.EXPTIME": ">abc"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["type"] == "BadRequestError"
    assert error["message"].startswith("EXPTIME:")
    unknown = get(served, "/api/tables/c0/rows", sort="NO_SUCH_COLUMN")
    assert unknown.status_code == 400 and "NO_SUCH_COLUMN" in unknown.json()["error"]["message"]
    missing = get(served, "/api/tables/nope/rows")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "NotFoundError"
    assert "Traceback" not in answer.text + unknown.text + missing.text


def test_footprints_of_the_rows_a_query_keeps(served: Served, survey: Survey) -> None:
    everything = get(served, "/api/tables/c0/footprints").json()
    assert everything["matched"] == 1000
    assert everything["drawn"] == 950 and everything["without"] == 50
    table = pq.read_table(survey.catalog)
    first = everything["footprints"][0]
    assert first["polygon"] == json.loads(table.column("footprint")[first["row"]].as_py())
    some = get(served, "/api/tables/c0/footprints", **{"f.CCDNUM": "=1"}).json()
    assert some["drawn"] == 50 and {f["row"] % 20 for f in some["footprints"]} == {1}
    coloured = get(served, "/api/tables/c0/footprints", by="FILTER").json()["footprints"]
    bands = table.column("FILTER").to_pylist()
    assert all(f["value"] == bands[f["row"]] for f in coloured)
    assert {f["value"] for f in coloured} == {"g", "r", "i"}
    assert get(served, "/api/tables/c0/footprints", by="header").status_code == 400
    none = get(served, "/api/tables/c1/footprints").json()
    assert none["drawn"] == 0 and none["without"] == none["matched"] > 0


def test_a_row_in_full_with_its_parsed_header(served: Served, survey: Survey) -> None:
    detail = get(served, "/api/tables/c0/rows/21").json()
    table = pq.read_table(survey.catalog)
    assert detail["row"]["url"] == table.column("url")[21].as_py()
    hdu = detail["hdu"]
    assert hdu["summary"]["name"] == "CCD01" and hdu["summary"]["type"] == "ImageHDU"
    text = table.column("header")[21].as_py()
    assert "".join(card["image"] for card in hdu["cards"]) + "END" + " " * 77 == text


def test_preview_is_a_zscaled_png_of_a_cutout(served: Served) -> None:
    answer = get(served, "/api/tables/c0/rows/21/preview.png")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/png"
    png = answer.content
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (128, 128)
    import zlib

    import numpy as np

    idat = png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8]
    pixels = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(128, 129)[:, 1:]
    assert pixels.min() == 0 and pixels.max() == 255  # ZScale clips both ends
    assert 20 < np.median(pixels) < 235  # the sky sits in the middle of the range
    not_image = get(served, "/api/tables/c0/rows/20/preview.png")
    assert not_image.status_code == 422
    assert not_image.json()["error"]["type"] == "NotAnImageError"


# --- scans -------------------------------------------------------------------------------------


def test_scan_streams_progress_failures_and_end(
    served: Served, archive: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    urls = [archive.url(p.name) for p in sample_corpus.values()]
    started = requests.post(
        served.api("/api/scans"),
        json={"source": "\n".join(urls), "keywords": "NAXIS1,NAXIS2"},
        headers={"X-Token": served.token},
        timeout=30,
    ).json()
    events: list[tuple[str, Any]] = []
    with requests.get(
        served.api(f"/api/scans/{started['id']}/events"),
        params={"token": served.token},
        stream=True,
        timeout=120,
    ) as stream:
        event = None
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                events.append((event, json.loads(line[6:])))
                if event == "end":
                    break
    expected_failures = {"empty.fits", "error_page.fits"}
    failed = [data for kind, data in events if kind == "failed"]
    assert {Path(f["url"]).name for f in failed} == expected_failures
    assert {f["error"] for f in failed} == {"NotFITSError"}
    last = [data for kind, data in events if kind == "progress"][-1]
    expected_hdus = sum(
        len(walk_file(p)) for n, p in sample_corpus.items() if n not in ("empty", "not_fits")
    )
    assert last["state"] == "finished" and last["hdus"] == expected_hdus
    assert last["objects"] == len(urls) and last["failed"] == 2
    assert events[-1] == ("end", {"state": "finished", "error": None})
    table = rows(served, started["id"], limit=1000)
    assert table["matched"] == expected_hdus
    parquet = get(served, f"/api/scans/{started['id']}/catalog.parquet")
    assert pq.read_table(io.BytesIO(parquet.content)).num_rows == expected_hdus
    csv = get(served, f"/api/scans/{started['id']}/catalog.csv")
    assert "attachment" in csv.headers["Content-Disposition"]
    assert csv.text.splitlines()[0].startswith("url,hdu,n_hdus")
    bad = get(served, f"/api/scans/{started['id']}/catalog.xlsx")
    assert bad.status_code == 400


def test_a_scan_with_nothing_to_scan_is_refused(served: Served) -> None:
    answer = requests.post(
        served.api("/api/scans"), json={"source": "  "}, headers={"X-Token": served.token}
    )
    assert answer.status_code == 400
    assert "scan" in answer.json()["error"]["message"]
