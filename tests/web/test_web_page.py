"""The page in a real headless Chromium, against ``serve`` on a free port.

Each view is used as a person would: a file chosen with the file input (what a drop does, for
keyboards and for tests), a scan typed and started, a catalog filtered, sorted and clicked on
the sky. Screenshots of each view are saved (see ``conftest.screenshots``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import requests
from astropy.io import fits
from astropy.io.fits.card import Undefined
from servers import HTTPServer
from web_data import Served, Survey

from astro_cloud_async.fits import walk_file

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

READ_CARDS = """
return [...document.querySelectorAll('#drop-headers details.hdu')].map((d) => ({
  hdu: Number(d.dataset.hdu),
  cards: [...d.querySelectorAll('table.cards tbody tr')].map((tr) =>
    [tr.dataset.keyword, tr.dataset.type, tr.dataset.value, tr.dataset.comment]),
  images: [...d.querySelectorAll('.card-image')].map((s) => s.textContent),
}));
"""


def wait(browser: Any, condition: Any, timeout: float = 60, message: Any = "") -> Any:
    """Poll ``condition(browser)`` until true; ``message`` may be a function (called on failure)."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(browser, timeout, poll_frequency=0.05).until(condition)
    except TimeoutException:
        raise AssertionError(message() if callable(message) else message) from None


def js(browser: Any, code: str, *args: Any) -> Any:
    return browser.execute_script(code, *args)


def open_page(browser: Any, served: Served, view: str) -> None:
    browser.get("about:blank")  # a new page, not only a new #view of the last one
    browser.get(f"{served.url}#{view}")
    wait(browser, lambda d: js(d, "return document.body.dataset.ready === 'true'"))
    wait(browser, lambda d: js(d, "return document.body.dataset.view") == view)


def page_value(kind: str, text: str) -> object:
    """A card value as the page typed it, back to Python."""
    return {
        "int": int,
        "float": float,
        "complex": complex,
        "bool": lambda t: t == "T",
        "undefined": lambda t: None,
    }.get(kind, str)(text)


def astropy_cards(path: Path) -> list[list[tuple[str, object, str]]]:
    """Every HDU's cards as astropy reads them: keyword, value (None if undefined), comment."""
    out = []
    with fits.open(path, disable_image_compression=True) as hdul:
        for hdu in hdul:
            cards = []
            for card in hdu.header.cards:
                value = None if isinstance(card.value, Undefined) else card.value
                cards.append((card.keyword, value, card.comment))
            out.append(cards)
    return out


def same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


def choose_file(browser: Any, path: Path) -> dict[str, str]:
    from selenium.webdriver.common.by import By

    browser.find_element(By.ID, "file-input").send_keys(str(path))
    wait(
        browser,
        lambda d: js(
            d,
            "const r = document.getElementById('drop-result');"
            "return document.getElementById('drop-name').textContent === arguments[0]"
            " && ['done', 'failed'].includes(r.dataset.state)",
            path.name,
        ),
        message=f"{path.name} was not shown",
    )
    data: dict[str, str] = js(browser, "return {...document.getElementById('drop-result').dataset}")
    return data


# --- 1. drop a file ----------------------------------------------------------------------------


def test_choosing_each_file_shows_every_header_as_astropy_reads_it(
    browser: Any, served: Served, web_files: dict[str, Path], screenshots: Path
) -> None:
    open_page(browser, served, "drop")
    for name in ("pointing", "mosaic", "table", "compressed", "special"):
        path = web_files[name]
        state = choose_file(browser, path)
        assert state["state"] == "done", name
        shown = js(browser, READ_CARDS)
        reference = astropy_cards(path)
        assert len(shown) == len(reference) == int(state["hdus"]), name
        raw = path.read_bytes()
        for hdu, ours, theirs, walked in zip(shown, shown, reference, walk_file(path), strict=True):
            assert len(ours["cards"]) == len(theirs), (name, hdu["hdu"])
            for (keyword, kind, text, comment), (a_keyword, a_value, a_comment) in zip(
                ours["cards"], theirs, strict=True
            ):
                assert keyword == a_keyword, (name, hdu["hdu"], keyword)
                assert same(page_value(kind, text), a_value), (name, keyword, kind, text, a_value)
                assert comment == a_comment, (name, keyword)
            # The cards as written: the header's own bytes, card for card, up to END.
            written = "".join(image.replace("\n", "") for image in ours["images"])
            header = raw[walked.header_offset : walked.data_offset].decode("latin-1")
            assert written == header[: len(written)]
            assert header[len(written) : len(written) + 3] == "END"
    # A file that is not FITS: the typed error, as a message.
    state = choose_file(browser, web_files["not_fits"])
    assert state["state"] == "failed"
    message = js(browser, "return document.getElementById('drop-error').textContent")
    assert "NotFITSError" in message and "Traceback" not in message
    # The header view switches to the cards as written.
    choose_file(browser, web_files["special"])
    browser.save_screenshot(str(screenshots / "web-drop.png"))
    js(
        browser,
        "document.querySelector('#drop-headers details.hdu .segmented button + button').click()",
    )
    visible = js(
        browser,
        "const d = document.querySelector('#drop-headers details.hdu');"
        "return [d.querySelector('table.cards').hidden,"
        " d.querySelector('pre.cards-written').hidden]",
    )
    assert visible == [True, False]


def test_sparse_4gb_file_shows_its_headers_at_once(
    browser: Any, served: Served, giant_file: Path, screenshots: Path
) -> None:
    open_page(browser, served, "drop")
    state = choose_file(browser, giant_file)
    assert state["state"] == "done"
    assert int(state["hdus"]) == 3
    # What was read: the header blocks (two reads), not the 4 GiB of data between them.
    assert int(state["bytesRead"]) <= 20 * 2880
    assert giant_file.stat().st_size > 4 * 1024**3
    # From the file chosen to its headers on screen, timed in the page (typically tens of ms).
    assert int(state["elapsedMs"]) < 1000
    names = js(
        browser,
        "return [...document.querySelectorAll('.info-table tbody td.strong')]"
        ".map(t => t.textContent)",
    )
    assert names == ["PRIMARY", "HUGE", "TAIL"]
    browser.save_screenshot(str(screenshots / "web-drop-4gb.png"))


# --- 2. scan -----------------------------------------------------------------------------------


def start_scan(browser: Any, sources: list[str]) -> None:
    js(
        browser,
        "const box = document.getElementById('scan-source'); box.value = arguments[0];"
        "box.dispatchEvent(new Event('input'));",
        "\n".join(sources),
    )
    js(browser, "document.getElementById('scan-start').click()")


def scan_table_rows(browser: Any) -> str:
    rows: str = js(browser, "return document.getElementById('scan-table').dataset.matched")
    return rows


def scan_state(browser: Any) -> dict[str, str]:
    state: dict[str, str] = js(
        browser, "return {...document.getElementById('scan-status').dataset}"
    )
    return state


def test_scan_of_a_survey_served_by_nginx_fills_the_table(
    browser: Any,
    served: Served,
    archive: HTTPServer,
    survey: Survey,
    sample_corpus: dict[str, Path],
    screenshots: Path,
) -> None:
    open_page(browser, served, "scan")
    files = [*survey.files, *sample_corpus.values()]
    bad = {"empty", "not_fits"}
    expected_hdus = len(survey.files) * 20 + sum(
        len(walk_file(p)) for n, p in sample_corpus.items() if n not in bad
    )
    start_scan(browser, [archive.url(p.name) for p in files])
    wait(browser, lambda d: scan_state(d).get("state") == "finished", 120, "the scan did not end")
    state = scan_state(browser)
    assert int(state["hdus"]) == expected_hdus
    assert int(state["objects"]) == len(files) and int(state["failed"]) == 2
    wait(
        browser,
        lambda d: (
            js(d, "return document.getElementById('scan-table').dataset.matched")
            == str(expected_hdus)
        ),
        30,
        lambda: f"the table holds {scan_table_rows(browser)} rows, not {expected_hdus}",
    )
    failures = js(
        browser,
        "return [...document.querySelectorAll('#scan-failure-list li')]"
        ".map(li => [li.dataset.url, li.dataset.error, li.textContent])",
    )
    assert sorted(Path(url).name for url, _, _ in failures) == ["empty.fits", "error_page.fits"]
    assert {error for _, error, _ in failures} == {"NotFITSError"}
    assert all("NotFITSError" in text for _, _, text in failures)
    # The downloads are the scan's catalog.
    link = js(browser, "return document.getElementById('scan-parquet').href")
    download = requests.get(link, timeout=60)
    assert download.status_code == 200
    import io

    assert pq.read_table(io.BytesIO(download.content)).num_rows == expected_hdus
    # Rows page through; a filter applies to the scan's table too.
    filter_box = browser.find_element(
        "css selector", "#scan-table input.filter-input[data-column='extname']"
    )
    filter_box.send_keys("=CCD07")
    wait(
        browser,
        lambda d: (
            js(d, "return document.getElementById('scan-table').dataset.matched")
            == str(len(survey.files))
        ),
    )
    filter_box.clear()
    filter_box.send_keys(" ")
    wait(
        browser,
        lambda d: (
            js(d, "return document.getElementById('scan-table').dataset.matched")
            == str(expected_hdus)
        ),
    )
    js(browser, "window.scrollTo(0, 0); document.activeElement.blur()")
    browser.save_screenshot(str(screenshots / "web-scan.png"))


def test_stop_button_ends_a_running_scan(
    browser: Any, served: Served, slow_archive: HTTPServer, survey: Survey
) -> None:
    open_page(browser, served, "scan")
    start_scan(browser, [slow_archive.url(p.name) for p in survey.files])
    wait(browser, lambda d: int(scan_state(d).get("objects") or 0) >= 1, 60, "no object arrived")
    js(browser, "document.getElementById('scan-stop').click()")
    wait(browser, lambda d: scan_state(d).get("state") == "stopped", 60, "the scan did not stop")
    state = scan_state(browser)
    assert 1 <= int(state["objects"]) < len(survey.files)
    label = js(browser, "return document.getElementById('scan-state').textContent")
    assert label == "Stopped"
    wait(
        browser,
        lambda d: (
            js(d, "return document.getElementById('scan-table').dataset.matched") == state["hdus"]
        ),
    )


# --- 3. catalog --------------------------------------------------------------------------------


def open_catalog(browser: Any, served: Served, table: str) -> None:
    open_page(browser, served, "catalog")
    wait(browser, lambda d: table_state(d).get("state") == "ready", 60, "no table shown")
    if js(browser, "return document.getElementById('catalog-select').value") != table:
        js(
            browser,
            "const s = document.getElementById('catalog-select'); s.value = arguments[0];"
            "s.dispatchEvent(new Event('change'));",
            table,
        )
    wait(
        browser,
        lambda d: table_state(d).get("table") == table and table_state(d).get("state") == "ready",
        60,
        f"table {table} not shown",
    )


def table_state(browser: Any) -> dict[str, str]:
    state: dict[str, str] = js(
        browser, "return {...document.getElementById('catalog-table').dataset}"
    )
    return state


def sky_drawn(browser: Any) -> int:
    return int(js(browser, "return document.getElementById('sky').dataset.drawn || -1"))


def test_catalog_of_1000_hdus_renders_its_table_and_footprints(
    browser: Any, served: Served, survey: Survey, screenshots: Path
) -> None:
    open_catalog(browser, served, "c0")
    wait(browser, lambda d: table_state(d).get("matched") == "1000", 60, "no table")
    wait(browser, lambda d: sky_drawn(d) == 950, 60, "footprints not drawn")
    table = pq.read_table(survey.catalog)
    assert len(browser.find_elements("css selector", "#sky path.fp")) == 950
    assert js(browser, "return document.querySelectorAll('#catalog-table tbody tr').length") == 50
    counts = js(browser, "return document.getElementById('sky-count').textContent")
    assert "950 footprints" in counts and "50 HDUs without celestial WCS" in counts
    # Coloured by band, with a legend that counts them.
    legend = js(
        browser,
        "return [...document.querySelectorAll('#sky .legend-item')].map(i => i.textContent)",
    )
    counts_by_band = {band: 0 for band in "gri"}
    for band, footprint in zip(
        table.column("FILTER").to_pylist(), table.column("footprint").to_pylist(), strict=True
    ):
        counts_by_band[band] += footprint is not None
    assert legend == [f"{band}{counts_by_band[band]}" for band in "gri"]
    # Every footprint is drawn where its corners are: inside the map, none cut by its edge.
    assert js(browser, "return document.getElementById('sky').dataset.cut") == "0"
    # Click one: its header and a preview cutout appear.
    target = browser.find_element("css selector", "#sky path.fp[data-row='145']")
    target.click()
    wait(browser, lambda d: js(d, "return document.getElementById('detail').dataset.row") == "145")
    wait(
        browser,
        lambda d: (
            js(
                d,
                "const p = document.querySelector('#detail .preview'); return p && p.dataset.state",
            )
            == "ready"
        ),
        60,
        "no preview",
    )
    size = js(
        browser,
        "const i = document.querySelector('#detail img.preview-image');"
        "return [i.naturalWidth, i.naturalHeight]",
    )
    assert size == [128, 128]
    cards = js(browser, "return document.querySelectorAll('#detail table.cards tbody tr').length")
    header = fits.Header.fromstring(table.column("header")[145].as_py())
    assert cards == len(header.cards)
    title = js(browser, "return document.querySelector('#detail .detail-title').textContent")
    assert Path(table.column("url")[145].as_py()).name in title
    assert (
        js(browser, "return document.querySelector('#sky path.fp.selected').dataset.row") == "145"
    )
    js(browser, "window.scrollTo(0, 0)")
    browser.save_screenshot(str(screenshots / "web-catalog.png"))


def test_catalog_filters_and_sorting(browser: Any, served: Served, survey: Survey) -> None:
    from selenium.webdriver.common.by import By

    open_catalog(browser, served, "c0")
    wait(browser, lambda d: table_state(d).get("matched") == "1000")
    table = pq.read_table(survey.catalog)
    bands = table.column("FILTER").to_pylist()
    has_footprint = [fp is not None for fp in table.column("footprint").to_pylist()]
    in_r = sum(band == "r" for band in bands)
    in_r_drawn = sum(band == "r" and fp for band, fp in zip(bands, has_footprint, strict=True))

    band = browser.find_element(
        By.CSS_SELECTOR, "#catalog-table input.filter-input[data-column='FILTER']"
    )
    band.send_keys("=r")
    wait(browser, lambda d: table_state(d).get("matched") == str(in_r), 30, "filter not applied")
    wait(browser, lambda d: sky_drawn(d) == in_r_drawn, 30, "the map does not follow the filter")
    shown = js(
        browser,
        "return [...document.querySelectorAll('#catalog-table tbody tr')]"
        ".map(tr => tr.dataset.row)",
    )
    assert all(bands[int(row)] == "r" for row in shown)

    # Sort by AIRMASS, descending (two clicks on its name).
    for _ in range(2):
        js(browser, "document.querySelector(\"#catalog-table th[data-column='AIRMASS']\").click()")
    wait(
        browser,
        lambda d: js(
            d, "return document.querySelector('#catalog-table th.sorted')?.textContent || ''"
        ).startswith("AIRMASS"),
    )

    def airmass_column() -> list[float]:
        index = js(
            browser,
            "return [...document.querySelectorAll('#catalog-table thead tr:first-child th')]"
            ".findIndex(th => th.dataset.column === 'AIRMASS')",
        )
        cells = js(
            browser,
            "return [...document.querySelectorAll('#catalog-table tbody tr')]"
            ".map(tr => tr.children[arguments[0]].textContent)",
            index,
        )
        return [float(c) for c in cells]

    top = max(
        a
        for a, b in zip(table.column("AIRMASS").to_pylist(), bands, strict=True)
        if b == "r" and a is not None
    )
    wait(browser, lambda d: airmass_column()[0] == top, 30, "not sorted")
    values = airmass_column()
    assert values == sorted(values, reverse=True)

    # A filter that means nothing for its column: a message naming it, the box marked.
    exptime = browser.find_element(
        By.CSS_SELECTOR, "#catalog-table input.filter-input[data-column='EXPTIME']"
    )
    exptime.send_keys(">abc")
    wait(
        browser,
        lambda d: js(d, "return !document.querySelector('#catalog-table .filter-error').hidden"),
        30,
    )
    message = js(
        browser, "return document.querySelector('#catalog-table .filter-error').textContent"
    )
    assert message.startswith("BadRequestError: EXPTIME:")
    assert "invalid" in exptime.get_attribute("class")
    js(
        browser,
        "for (const box of document.querySelectorAll('#catalog-table input.filter-input')) {"
        "  box.value = ''; box.dispatchEvent(new Event('input')); }",
    )
    wait(browser, lambda d: table_state(d).get("matched") == "1000", 30)
    wait(browser, lambda d: sky_drawn(d) == 950, 30)


def test_catalog_without_footprints_shows_its_table(browser: Any, served: Served) -> None:
    open_catalog(browser, served, "c1")
    wait(browser, lambda d: int(table_state(d).get("matched") or 0) > 0, 30)
    wait(browser, lambda d: sky_drawn(d) == 0, 30)
    counts = js(browser, "return document.getElementById('sky-count').textContent")
    assert "no footprints in this catalog" in counts


def test_page_without_its_token_is_refused(browser: Any, served: Served) -> None:
    browser.get(served.base + "/")
    body = js(browser, "return document.body.innerText")
    assert "TokenError" in body and "token" in body
    assert "Traceback" not in body
