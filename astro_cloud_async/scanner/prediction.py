"""One layout predictor per kind of object in a scan: per folder and file-name pattern.

The objects of one folder (an S3 prefix, a directory on a server) whose names differ only in
their digits (``tess2018206192942-s0001-1-1-0120-s_ffic.fits``: dates, sectors, cameras) usually
come from one instrument and share a layout; a folder that mixes products (frames and catalogs)
keeps a predictor for each name pattern, so one product's layout is never forced on another.
The most recently used ``max_folders`` predictors are kept, so the memory of a scan over
millions of keys stays bounded.
"""

from __future__ import annotations

import re
from collections import OrderedDict

from ..fits.predict import LayoutPredictor

__all__ = ["FolderPredictors", "kind_of"]

_DIGITS = re.compile(r"[0-9]+")


def kind_of(url: str) -> str:
    """The folder of ``url`` and its file name with every run of digits replaced by ``#``."""
    folder, _, name = url.rpartition("/")
    return f"{folder}/{_DIGITS.sub('#', name)}"


class FolderPredictors:
    """Layout predictors keyed by :func:`kind_of` object URLs (least recently used out)."""

    def __init__(self, *, max_folders: int = 1024) -> None:
        self._by_folder: OrderedDict[str, LayoutPredictor] = OrderedDict()
        self._max = max_folders

    def for_url(self, url: str) -> LayoutPredictor:
        folder = kind_of(url)
        predictor = self._by_folder.get(folder)
        if predictor is None:
            predictor = self._by_folder[folder] = LayoutPredictor()
            if len(self._by_folder) > self._max:
                self._by_folder.popitem(last=False)
        else:
            self._by_folder.move_to_end(folder)
        return predictor

    @property
    def hits(self) -> int:
        return sum(p.hits for p in self._by_folder.values())

    @property
    def misses(self) -> int:
        return sum(p.misses for p in self._by_folder.values())

    def __len__(self) -> int:
        return len(self._by_folder)
