"""Layout prediction: where the headers of the next object of a survey probably lie.

A survey's files usually share one layout (a TESS FFI is always a 1-block primary and two
image HDUs with 6- and 4-block headers at fixed offsets). Once a few objects have been walked,
the header ranges of the next one can be fetched all at once instead of one jump at a time.

A prediction is only ever a prefetch: the bytes are fed to the :class:`Walker`, which still
walks the object itself, so a wrong prediction costs bytes, never a wrong record. Where the
prediction falls short (a longer header, an extra HDU) the walker simply asks for what it lacks.

The predictor keeps the layouts of the last ``window`` objects and predicts the most common
one when at least ``min_agree`` of them, and at least half, share it; a survey of mixed
layouts therefore gets no predictions rather than bad ones.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence

from .layout import BLOCK
from .walker import HDU

__all__ = ["UNREACHABLE", "Layout", "LayoutPredictor", "layout_of"]

Layout = tuple[tuple[int, int], ...]
"""The header ranges ``(header_offset, data_offset)`` of an object's HDUs, in order."""

UNREACHABLE: Layout = ()
"""The layout of an object whose headers cannot be fetched by offset (one compressed whole):
predicted, it means "walk it, nothing to prefetch"."""


def layout_of(hdus: Sequence[HDU]) -> Layout:
    """The layout of a walked object."""
    return tuple((h.header_offset, h.data_offset) for h in hdus)


def coalesce(layout: Layout, gap: int) -> tuple[tuple[int, int], ...]:
    """Header ranges with those less than ``gap`` bytes apart merged into one."""
    merged: list[list[int]] = []
    for start, end in layout:
        if merged and start - merged[-1][1] <= gap:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((a, b) for a, b in merged)


def _second(item: tuple[Layout, int]) -> int:
    return item[1]


class LayoutPredictor:
    """Learns the layouts of walked objects and predicts the next one's header ranges."""

    def __init__(self, *, window: int = 32, min_agree: int = 2, merge_gap: int = 4 * BLOCK):
        self._recent: deque[Layout] = deque(maxlen=window)
        self._counts: Counter[Layout] = Counter()
        self._min_agree = min_agree
        self._merge_gap = merge_gap
        self.hits = 0
        self.misses = 0
        self.seen = 0
        """Objects learnt from, in all."""
        self._prediction: Layout | None = None
        self._unanimous = False
        self._stale = False

    def learn(
        self, hdus: Sequence[HDU], *, predicted: Layout | None = None, reachable: bool = True
    ) -> None:
        """Record the layout of a walked object (and whether ``predicted`` matched it);
        ``reachable=False``: its headers cannot be fetched by offset (:data:`UNREACHABLE`),
        which is known even of such an object that failed (``hdus`` may then be empty)."""
        if reachable and not hdus:
            return
        layout = layout_of(hdus) if reachable else UNREACHABLE
        self.seen += 1
        if predicted is not None:
            if predicted == layout:
                self.hits += 1
            else:
                self.misses += 1
        if len(self._recent) == self._recent.maxlen:
            old = self._recent[0]
            self._counts[old] -= 1
            if not self._counts[old]:
                del self._counts[old]
        self._recent.append(layout)
        self._counts[layout] += 1
        self._stale = True

    def predict(self) -> Layout | None:
        """The most likely layout of the next object, or None when there is no clear one."""
        if self._stale:
            self._stale = False
            self._prediction = None
            if self._counts:
                layout, count = max(self._counts.items(), key=_second)
                if count >= self._min_agree and 2 * count >= len(self._recent):
                    self._prediction = layout
                    self._unanimous = count == len(self._recent)
        return self._prediction

    @property
    def learning(self) -> bool:
        """Whether the first objects are still being learnt from (fewer than twice the
        agreement needed): a prediction may come soon."""
        return self.seen < 2 * self._min_agree

    def ranges(self, layout: Layout, *, head: int = 0) -> tuple[tuple[int, int], ...]:
        """The byte ranges to fetch for ``layout``: its header ranges, nearby ones merged.

        While the recent objects do not all share the layout, the first range covers at least
        ``[0, head)`` (a cold walk's first read): in the same request that costs a few blocks
        more, and an object whose headers all lie there is read whole when the prediction is
        wrong, so a folder mixing small files of several layouts costs one request an object.
        Where every recent object had the layout, exactly its header bytes are asked for."""
        extend = head > 0 and not self._unanimous
        return coalesce(((0, head), *layout) if extend else layout, self._merge_gap)

    def __repr__(self) -> str:
        return (
            f"<LayoutPredictor layouts={len(self._counts)} seen={len(self._recent)} "
            f"hits={self.hits} misses={self.misses}>"
        )
