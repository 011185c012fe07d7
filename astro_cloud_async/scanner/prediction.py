"""One layout predictor per folder of a scan.

The objects of one folder (an S3 prefix, a directory on a server) usually come from one
instrument and share a layout; a scan over several surveys keeps one
:class:`~astro_cloud_async.fits.predict.LayoutPredictor` per folder, the most recently used
``max_folders`` of them, so the memory of a scan over millions of keys stays bounded.
"""

from __future__ import annotations

from collections import OrderedDict

from ..fits.predict import LayoutPredictor

__all__ = ["FolderPredictors"]


class FolderPredictors:
    """Layout predictors keyed by the folder part of object URLs (least recently used out)."""

    def __init__(self, *, max_folders: int = 1024) -> None:
        self._by_folder: OrderedDict[str, LayoutPredictor] = OrderedDict()
        self._max = max_folders

    def for_url(self, url: str) -> LayoutPredictor:
        folder = url.rsplit("/", 1)[0]
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
