"""Which bytes of an image hold a section: pure computation from the header, no I/O.

Strategy: a key is first normalised per axis, in numpy axis order (``NAXISn`` first, ``NAXIS1``
last), into the indices it selects along that axis (a ``range`` for a slice, a tuple for an
index array) and whether that axis is kept in the result, following numpy and astropy's
``ImageHDU.section`` (index arrays select along their own axis only, as astropy does).

The bytes to fetch are then built row by row, a *row* being one run along the last axis: the
last axis's chosen pixels become runs of consecutive pixels, which are merged first within a
row (their gaps are the same in every row), then offset by the start of every chosen row and
merged again across rows wherever the gap between two ranges is at most ``gap`` bytes. So a
box of a wide image costs one range per row when rows are far apart, and one range in all when
they are close (fetching the gaps is cheaper than another request). Everything is computed
with numpy on arrays of rows, never pixel by pixel.

:meth:`SectionPlan.assemble` turns the fetched bytes (the ranges, concatenated in order) back
into the section: directly when the section is the fetched bytes themselves, otherwise by one
gather through each pixel's position in the concatenation. The result is still big-endian and
unscaled; :mod:`.decode` does the rest.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigurationError, InvalidHeaderError
from .errors import NotAnImageError, SectionIndexError

__all__ = [
    "BITPIX_DTYPES",
    "DEFAULT_GAP",
    "DEFAULT_MAX_REQUEST",
    "AxisSelection",
    "ImageLayout",
    "SectionPlan",
    "normalize_key",
    "plan_section",
    "split_ranges",
]

BITPIX_DTYPES: Mapping[int, str] = {
    8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"
}  # fmt: skip
"""How each BITPIX is stored: big-endian, as the FITS standard requires."""

DEFAULT_GAP = 64 * 1024
"""Two ranges closer than this many bytes are fetched as one (the gap costs less than a
request)."""

DEFAULT_MAX_REQUEST = 8 * 1024 * 1024
"""Ranges longer than this are fetched as several requests, concurrently."""

_IMAGE_XTENSIONS = frozenset({"IMAGE", "IUEIMAGE"})

AxisSelection = range | tuple[int, ...]
"""The pixels chosen along one axis, in the order they appear in the result."""


def _header_int(header: Mapping[str, Any], key: str, url: str) -> int:
    value = header.get(key)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidHeaderError(f"{key} = {value!r} is not an integer", url=url)
    return value


@dataclass(frozen=True, slots=True)
class ImageLayout:
    """Where an image HDU's pixels lie in its object and how they are stored.

    ``shape`` is in numpy order, ``(NAXISn, ..., NAXIS1)``; ``data_offset`` is the byte of the
    object where the first pixel starts.
    """

    url: str
    data_offset: int
    bitpix: int
    shape: tuple[int, ...]

    @classmethod
    def from_header(cls, header: Mapping[str, Any], *, url: str, data_offset: int) -> ImageLayout:
        """The layout of the image an HDU header describes.

        Raises :class:`NotAnImageError` for tables (tile-compressed images included), random
        groups and HDUs with no data, :class:`InvalidHeaderError` for unusable keywords.
        """
        xtension = header.get("XTENSION")
        if isinstance(xtension, str) and xtension.strip().upper() not in _IMAGE_XTENSIONS:
            kind = xtension.strip()
            if header.get("ZIMAGE") is True:
                kind = "tile-compressed image (BINTABLE)"
            raise NotAnImageError(f"HDU is a {kind}, not an image", url=url, offset=data_offset)
        naxis = _header_int(header, "NAXIS", url)
        if naxis == 0:
            raise NotAnImageError("HDU has no data (NAXIS = 0)", url=url, offset=data_offset)
        if naxis < 0 or naxis > 999:
            raise InvalidHeaderError(f"NAXIS = {naxis} is outside 0..999", url=url)
        bitpix = _header_int(header, "BITPIX", url)
        if bitpix not in BITPIX_DTYPES:
            raise InvalidHeaderError(f"BITPIX = {bitpix} is not a FITS data type", url=url)
        axes = [_header_int(header, f"NAXIS{i}", url) for i in range(1, naxis + 1)]
        if any(n < 0 for n in axes):
            raise InvalidHeaderError(f"negative axis length in {axes}", url=url)
        if xtension is None and header.get("GROUPS") is True and axes[0] == 0:
            raise NotAnImageError("HDU holds random groups, not an image", url=url)
        return cls(url=url, data_offset=data_offset, bitpix=bitpix, shape=tuple(reversed(axes)))

    @property
    def dtype(self) -> np.dtype[Any]:
        """The stored (big-endian) element type."""
        return np.dtype(BITPIX_DTYPES[self.bitpix])

    @property
    def itemsize(self) -> int:
        return abs(self.bitpix) // 8

    @property
    def size(self) -> int:
        """Number of pixels."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        """Bytes of pixels, padding excluded."""
        return self.size * self.itemsize

    @property
    def strides(self) -> tuple[int, ...]:
        """Elements between neighbours along each axis (C order)."""
        strides = []
        step = 1
        for n in reversed(self.shape):
            strides.append(step)
            step *= n
        return tuple(reversed(strides))


# --- keys ---------------------------------------------------------------------------------


def _index(value: Any, n: int, axis: int, url: str) -> int:
    i = operator.index(value)
    if not -n <= i < n:
        raise SectionIndexError(
            f"index {i} is out of bounds for axis {axis} with size {n}", url=url
        )
    return i + n if i < 0 else i


def _slice(s: slice, n: int, axis: int, url: str, clip: bool) -> range:
    try:
        selected = range(*s.indices(n))
        step = 1 if s.step is None else operator.index(s.step)
        start = None if s.start is None else operator.index(s.start)
        stop = None if s.stop is None else operator.index(s.stop)
    except TypeError as err:
        raise SectionIndexError(f"slice {s!r} has a non-integer part", url=url) from err
    # The slice in absolute pixel coordinates before numpy clips it to [0, n).
    if step > 0:
        first = 0 if start is None else (start + n if start < 0 else start)
        last = n if stop is None else (stop + n if stop < 0 else stop)
        wanted, outside = first < last, first < 0 or last > n
        wholly_outside = last <= 0 or first >= n
    else:
        first = n - 1 if start is None else (start + n if start < 0 else start)
        last = -1 if stop is None else (stop + n if stop < 0 else stop)
        wanted, outside = first > last, first > n - 1 or last < -1
        wholly_outside = first < 0 or last >= n - 1
    if wanted and (wholly_outside or (outside and not clip)):
        how = "lies outside" if wholly_outside else "reaches outside"
        raise SectionIndexError(f"slice {s!r} {how} axis {axis} of size {n}", url=url)
    return selected


def _array(value: Any, n: int, axis: int, url: str) -> tuple[int, ...]:
    array = np.asarray(value)
    if array.ndim != 1:
        raise SectionIndexError(f"index arrays must be 1-d (axis {axis})", url=url)
    if array.dtype == np.bool_:
        if len(array) != n:
            raise SectionIndexError(
                f"boolean index of length {len(array)} for axis {axis} of size {n}", url=url
            )
        return tuple(int(i) for i in np.flatnonzero(array))
    if array.size and array.dtype.kind not in "iu":
        raise SectionIndexError(f"index array of {array.dtype} on axis {axis}", url=url)
    return tuple(_index(int(i), n, axis, url) for i in array)


def normalize_key(
    key: Any, shape: tuple[int, ...], *, url: str = "", clip: bool = True
) -> tuple[tuple[AxisSelection, ...], tuple[bool, ...]]:
    """Per axis, the indices ``key`` selects and whether the axis is kept in the result.

    ``key`` is what follows ``.section``: integers, slices (any step), one ``...``, 1-d integer
    or boolean index arrays. Slices are clipped to the image as numpy clips them, but a slice
    wholly outside its axis raises :class:`SectionIndexError`, as does any slice reaching past
    an edge when ``clip`` is false.
    """
    items = key if isinstance(key, tuple) else (key,)
    ellipses = sum(1 for k in items if k is Ellipsis)
    if ellipses > 1:
        raise SectionIndexError("an index can only have a single ellipsis ('...')", url=url)
    if len(items) - ellipses > len(shape):
        raise SectionIndexError(
            f"too many indices: {len(items) - ellipses} for an image of {len(shape)} axes",
            url=url,
        )
    if ellipses:
        at = next(i for i, k in enumerate(items) if k is Ellipsis)
        fill = (slice(None),) * (len(shape) - len(items) + 1)
        items = items[:at] + fill + items[at + 1 :]
    else:
        items = items + (slice(None),) * (len(shape) - len(items))
    selections: list[AxisSelection] = []
    kept: list[bool] = []
    for axis, (k, n) in enumerate(zip(items, shape, strict=True)):
        if isinstance(k, slice):
            selections.append(_slice(k, n, axis, url, clip))
            kept.append(True)
        elif k is None:
            raise SectionIndexError("new axes (None) are not supported in a section", url=url)
        elif isinstance(k, (bool, np.bool_)):
            raise SectionIndexError(f"a boolean scalar is not an index (axis {axis})", url=url)
        elif isinstance(k, (int, np.integer)):
            selections.append((_index(k, n, axis, url),))
            kept.append(False)
        elif isinstance(k, (list, tuple, np.ndarray, range)):
            selections.append(_array(k, n, axis, url))
            kept.append(True)
        else:
            raise SectionIndexError(
                f"unsupported index {k!r} of type {type(k).__name__} on axis {axis}", url=url
            )
    return tuple(selections), tuple(kept)


# --- ranges -------------------------------------------------------------------------------


def _as_array(selection: AxisSelection) -> np.ndarray[Any, np.dtype[np.int64]]:
    if isinstance(selection, range):
        return np.arange(selection.start, selection.stop, selection.step, dtype=np.int64)
    return np.asarray(selection, dtype=np.int64).reshape(-1)


def _ascending(selection: AxisSelection) -> bool:
    if isinstance(selection, range):
        return selection.step > 0 or len(selection) <= 1
    return all(a < b for a, b in itertools.pairwise(selection))


def _merge(
    starts: np.ndarray[Any, np.dtype[np.int64]],
    ends: np.ndarray[Any, np.dtype[np.int64]],
    gap: int,
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.int64]]]:
    """Merge sorted, disjoint ranges whose gap is at most ``gap`` (same units)."""
    if len(starts) <= 1:
        return starts, ends
    split = np.flatnonzero(starts[1:] - ends[:-1] > gap) + 1
    first = np.concatenate(([0], split))
    last = np.concatenate((split - 1, [len(starts) - 1]))
    return starts[first], ends[last]


def _element_ranges(
    layout: ImageLayout, axes: tuple[AxisSelection, ...], gap_elements: int
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.int64]]]:
    """The sorted, merged element ranges ``[start, end)`` holding every selected pixel."""
    inner = np.unique(_as_array(axes[-1]))
    if len(inner) == 0 or any(len(a) == 0 for a in axes):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    breaks = np.flatnonzero(np.diff(inner) != 1) + 1
    run_starts = inner[np.concatenate(([0], breaks))]
    run_ends = inner[np.concatenate((breaks - 1, [len(inner) - 1]))] + 1
    run_starts, run_ends = _merge(run_starts, run_ends, gap_elements)
    rows = np.zeros(1, dtype=np.int64)
    for selection, stride in zip(axes[:-1], layout.strides[:-1], strict=True):
        rows = np.add.outer(rows, np.unique(_as_array(selection)) * stride).reshape(-1)
    # Rows of distinct outer indices never overlap, so sorted rows give sorted ranges.
    starts = np.add.outer(rows, run_starts).reshape(-1)
    ends = np.add.outer(rows, run_ends).reshape(-1)
    return _merge(starts, ends, gap_elements)


@dataclass(frozen=True, slots=True)
class SectionPlan:
    """The byte ranges that hold a section and how to rebuild it from them.

    ``ranges`` are absolute, half-open, sorted and disjoint; the bytes to hand to
    :meth:`assemble` are theirs, concatenated in this order.
    """

    layout: ImageLayout
    axes: tuple[AxisSelection, ...]
    kept: tuple[bool, ...]
    ranges: tuple[tuple[int, int], ...]

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the section (axes indexed by an integer dropped)."""
        return tuple(len(a) for a, keep in zip(self.axes, self.kept, strict=True) if keep)

    @property
    def size(self) -> int:
        return int(np.prod([len(a) for a in self.axes], dtype=np.int64))

    @property
    def nbytes(self) -> int:
        """Bytes to fetch (gaps merged into ranges included)."""
        return sum(end - start for start, end in self.ranges)

    @property
    def contiguous(self) -> bool:
        """True when the fetched bytes are the section itself, in order."""
        return (
            len(self.ranges) == 1
            and self.nbytes == self.size * self.layout.itemsize
            and all(_ascending(a) for a in self.axes)
        )

    def assemble(self, data: bytes | bytearray | memoryview) -> np.ndarray[Any, Any]:
        """The section (stored type, big-endian) from the ranges' bytes, concatenated."""
        layout = self.layout
        if len(data) != self.nbytes:
            raise ValueError(f"expected {self.nbytes} bytes, got {len(data)}")
        stored = np.frombuffer(data, dtype=layout.dtype)
        if self.size == 0:
            return np.zeros(self.shape, dtype=layout.dtype)
        if self.contiguous:
            return stored.reshape(self.shape)
        # Each pixel's element offset in the image, broadcast over the selected axes ...
        offsets = np.zeros((1,) * len(self.axes), dtype=np.int64)
        for axis, (selection, stride) in enumerate(zip(self.axes, layout.strides, strict=True)):
            along = [1] * len(self.axes)
            along[axis] = len(selection)
            offsets = offsets + _as_array(selection).reshape(along) * stride
        # ... then its position in the concatenated ranges.
        itemsize = layout.itemsize
        starts = np.array([(s - layout.data_offset) // itemsize for s, _ in self.ranges])
        lengths = np.array([(e - s) // itemsize for s, e in self.ranges])
        before = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        which = np.searchsorted(starts, offsets, side="right") - 1
        positions = before[which] + offsets - starts[which]
        gathered: np.ndarray[Any, Any] = stored[positions]
        return gathered.reshape(self.shape)

    def __repr__(self) -> str:
        return (
            f"<SectionPlan {self.layout.url} shape={self.shape} ranges={len(self.ranges)} "
            f"bytes={self.nbytes} of {self.layout.nbytes}>"
        )


def plan_section(
    layout: ImageLayout, key: Any = Ellipsis, *, gap: int = DEFAULT_GAP, clip: bool = True
) -> SectionPlan:
    """The plan for ``layout``'s section ``key`` (default: the whole image).

    Ranges whose gap is at most ``gap`` bytes are merged (``gap=0`` merges only touching
    ranges). Raises :class:`SectionIndexError` for a key that does not fit the image.
    """
    if gap < 0:
        raise ConfigurationError(f"gap must be >= 0, got {gap}")
    axes, kept = normalize_key(key, layout.shape, url=layout.url, clip=clip)
    itemsize = layout.itemsize
    starts, ends = _element_ranges(layout, axes, gap // itemsize)
    base = layout.data_offset
    ranges = tuple(
        (base + int(s) * itemsize, base + int(e) * itemsize)
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
    )
    return SectionPlan(layout=layout, axes=axes, kept=kept, ranges=ranges)


def split_ranges(
    ranges: tuple[tuple[int, int], ...], max_request: int = DEFAULT_MAX_REQUEST
) -> Iterator[tuple[int, int]]:
    """``ranges`` cut into pieces of at most ``max_request`` bytes, in order."""
    if max_request < 1:
        raise ConfigurationError(f"max_request must be >= 1, got {max_request}")
    for start, end in ranges:
        for piece in range(start, end, max_request):
            yield piece, min(piece + max_request, end)
