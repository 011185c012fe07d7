"""One layout predictor per kind of object in a scan: per folder and file-name pattern.

The objects of one folder (an S3 prefix, a directory on a server) whose names differ only in
their digits (``tess2018206192942-s0001-1-1-0120-s_ffic.fits``: dates, sectors, cameras) usually
come from one instrument and share a layout; a folder that mixes products (frames and catalogs)
keeps a predictor for each name pattern, so one product's layout is never forced on another.
The most recently used ``max_folders`` predictors are kept, so the memory of a scan over
millions of keys stays bounded.

A scan starts many objects of a kind at once, before any has taught the predictor anything;
walked without a prediction, each would cost a request per jump. So while a kind is new,
:class:`Kind` sends a couple of *scouts* (walks without a prediction) and holds the other
objects of that kind until a scout finishes: most often the layout is then known and each of
them takes one request. Waiting ends as soon as a layout is predicted, or once the first
objects learnt from show no common layout (then everyone walks).
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Sequence

from ..fits.predict import Layout, LayoutPredictor
from ..fits.walker import HDU

__all__ = ["SCOUTS", "FolderPredictors", "Kind", "kind_of"]

_DIGITS = re.compile(r"[0-9]+")

SCOUTS = 2
"""Objects of a new kind walked without a prediction at once, while the others wait."""


def kind_of(url: str) -> str:
    """The folder of ``url`` and its file name with every run of digits replaced by ``#``."""
    folder, _, name = url.rpartition("/")
    return f"{folder}/{_DIGITS.sub('#', name)}"


class Kind:
    """The layout predictor of one kind of object, and its scouts."""

    __slots__ = ("_changed", "_scouts", "predictor")

    def __init__(self, predictor: LayoutPredictor | None = None) -> None:
        self.predictor = predictor if predictor is not None else LayoutPredictor()
        self._scouts = 0  # sent and not failed: in flight, or learnt from
        self._changed: asyncio.Event | None = None

    async def layout(self) -> tuple[Layout | None, bool]:
        """The layout to prefetch for the next object of this kind (None: walk it), and
        whether that object is a scout, which must be reported to :meth:`finished`."""
        predictor = self.predictor
        while True:
            layout = predictor.predict()
            if layout is not None:
                return layout, False
            if not predictor.learning:
                return None, False
            # Scouts go in rounds: the next round once the last one has been learnt from
            # and showed no common layout (a failed scout is replaced at once).
            if self._scouts < SCOUTS * (1 + predictor.seen // SCOUTS):
                self._scouts += 1
                return None, True
            if self._changed is None:
                self._changed = asyncio.Event()
            await self._changed.wait()

    def finished(
        self,
        hdus: Sequence[HDU] | None,
        *,
        predicted: Layout | None,
        scout: bool,
        reachable: bool = True,
    ) -> None:
        """An object of this kind is done: learn its layout (``hdus``, None if it failed;
        ``reachable=False`` for a compressed object, failed or not: there is nothing to
        prefetch) and let waiting objects look again."""
        if hdus or not reachable:
            self.predictor.learn(hdus or (), predicted=predicted, reachable=reachable)
        elif scout:
            self._scouts -= 1  # it taught nothing: another goes
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    def __repr__(self) -> str:
        return f"<Kind scouts sent={self._scouts} {self.predictor!r}>"


class FolderPredictors:
    """Kinds keyed by :func:`kind_of` object URLs (least recently used out)."""

    def __init__(self, *, max_folders: int = 1024) -> None:
        self._by_folder: OrderedDict[str, Kind] = OrderedDict()
        self._max = max_folders

    def for_url(self, url: str) -> Kind:
        folder = kind_of(url)
        kind = self._by_folder.get(folder)
        if kind is None:
            kind = self._by_folder[folder] = Kind()
            if len(self._by_folder) > self._max:
                self._by_folder.popitem(last=False)
        else:
            self._by_folder.move_to_end(folder)
        return kind

    @property
    def hits(self) -> int:
        return sum(k.predictor.hits for k in self._by_folder.values())

    @property
    def misses(self) -> int:
        return sum(k.predictor.misses for k in self._by_folder.values())

    def __len__(self) -> int:
        return len(self._by_folder)
