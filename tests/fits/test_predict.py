"""Layout prediction: predicted ranges are only prefetched, so a wrong one makes no wrong record."""

from __future__ import annotations

import io

import numpy as np
from astropy.io import fits
from test_walker import small_mef, tess_like

from astro_cloud_async.fits.layout import BLOCK
from astro_cloud_async.fits.predict import LayoutPredictor, layout_of
from astro_cloud_async.fits.walker import HDU, EndOfObject, NeedData, Walker, walk_bytes


def walk_with_prefetch(data: bytes, ranges: tuple[tuple[int, int], ...]):
    """Feed the predicted ranges first (as answers carrying the size), then walk."""
    walker = Walker()
    for start, end in ranges:
        walker.feed(start, data[start:end], object_size=len(data))
    needs: list[NeedData] = []
    hdus: list[HDU] = []
    while True:
        event = walker.next_event()
        if isinstance(event, NeedData):
            needs.append(event)
            walker.feed(event.start, data[event.start : event.end], object_size=len(data))
        elif isinstance(event, HDU):
            hdus.append(event)
        else:
            assert isinstance(event, EndOfObject)
            return hdus, needs


def signature(hdus: list[HDU]) -> list[tuple[int, int, int, bool, int, tuple[str, ...]]]:
    return [
        (
            h.header_offset,
            h.data_offset,
            h.data_size,
            h.truncated,
            h.trailing_bytes,
            tuple(c.image for c in h.header.cards),
        )
        for h in hdus
    ]


def test_survey_layout_is_predicted_and_needs_no_further_reads() -> None:
    data, _ = tess_like()
    predictor = LayoutPredictor()
    assert predictor.predict() is None
    predictor.learn(walk_bytes(data))
    assert predictor.predict() is None  # one object is no survey
    predictor.learn(walk_bytes(data))
    layout = predictor.predict()
    assert layout is not None
    ranges = predictor.ranges(layout)
    assert ranges == ((0, 7 * BLOCK), (layout[2][0], layout[2][0] + 4 * BLOCK))
    hdus, needs = walk_with_prefetch(data, ranges)
    assert needs == []
    assert signature(hdus) == signature(walk_bytes(data))
    predictor.learn(hdus, predicted=layout)
    assert predictor.hits == 1 and predictor.misses == 0


def test_wrong_prediction_falls_back_to_walking() -> None:
    tess, _ = tess_like()
    predictor = LayoutPredictor()
    for _ in range(3):
        predictor.learn(walk_bytes(tess))
    layout = predictor.predict()
    assert layout is not None
    for other in (small_mef(4), small_mef(1), tess[: len(tess) // 2]):
        hdus, _ = walk_with_prefetch(other, predictor.ranges(layout))
        assert signature(hdus) == signature(walk_bytes(other))


def test_longer_header_than_predicted() -> None:
    short = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((4, 4), ">f4"))])
    long = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((4, 4), ">f4"))])
    for i in range(200):
        long[1].header[f"EXTRA{i}"] = i
    blobs = []
    for hdul in (short, long):
        out = io.BytesIO()
        hdul.writeto(out)
        blobs.append(out.getvalue())
    predictor = LayoutPredictor(merge_gap=0)
    predictor.learn(walk_bytes(blobs[0]))
    predictor.learn(walk_bytes(blobs[0]))
    layout = predictor.predict()
    assert layout is not None
    hdus, needs = walk_with_prefetch(blobs[1], predictor.ranges(layout))
    assert signature(hdus) == signature(walk_bytes(blobs[1]))
    assert needs  # the walker asked for the part of the header the prediction missed
    fetched = [(n.start, n.end) for n in needs]
    predicted = predictor.ranges(layout)
    # What it asked for overlaps nothing it was already given.
    assert all(e <= ps or s >= pe for s, e in fetched for ps, pe in predicted)


def test_mixed_layouts_give_no_prediction() -> None:
    predictor = LayoutPredictor(window=8)
    for i in range(8):
        predictor.learn(walk_bytes(small_mef(1 + i % 4)))
    assert predictor.predict() is None
    assert layout_of(walk_bytes(small_mef(2))) != layout_of(walk_bytes(small_mef(3)))
