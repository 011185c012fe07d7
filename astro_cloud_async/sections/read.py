"""The async readers: a section of one image, the same section of many, a whole image.

Strategy: everything that decides *which* bytes is pure (:mod:`.plan`), everything that turns
bytes into values is pure (:mod:`.decode`); this module only fetches. A plan's ranges are cut
into requests of at most ``max_request`` bytes, fetched concurrently through the client's
range pool (so its concurrency bound, retries and statistics cover section reads too), copied
into one buffer at their place, then assembled and decoded. Each request carries the record's
ETag as ``If-Match``: pixels are never mixed from two versions of an object.

:func:`read_sections` runs one such read per record, at most ``max_in_flight`` at once, pulling
records lazily and yielding each result as it completes, with a failure value in place of an
exception, so one bad file among thousands costs only its own cutout.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Mapping,
)
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np

from ..client import Client
from ..errors import AstroCloudError, CompressedObjectError, ConfigurationError
from ..fits.header import parse_header
from ..options import Options
from ..records import Compression, HDURecord
from ..stores.base import RangeResult
from ..tasks import bounded, gather_all
from .decode import Scaling, decode
from .errors import TruncatedDataError
from .plan import (
    DEFAULT_GAP,
    DEFAULT_MAX_REQUEST,
    ImageLayout,
    SectionPlan,
    plan_section,
    split_ranges,
)

__all__ = [
    "RangeFetcher",
    "SectionFailed",
    "SectionFetcher",
    "SectionResult",
    "image_layout",
    "plan_for",
    "read_data",
    "read_section",
    "read_sections",
    "record_from_row",
    "refuse_compressed",
]

T = TypeVar("T")
Array = np.ndarray[Any, Any]


class RangeFetcher(Protocol):
    """Fetches the byte range ``[start, end)`` of the object at ``url``."""

    async def fetch_range(
        self, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult: ...


@dataclass(frozen=True, slots=True)
class SectionFailed:
    """The outcome of a record whose section could not be read."""

    record: HDURecord
    error: AstroCloudError

    @property
    def url(self) -> str:
        return self.record.url

    def __repr__(self) -> str:
        return f"<SectionFailed {self.record.url} [{self.record.index}] {self.error!s}>"


SectionResult = tuple[HDURecord, Array] | SectionFailed
"""What :func:`read_sections` yields per record."""


# --- where the bytes come from ------------------------------------------------------------


def SectionFetcher(options: Options) -> Client:
    """Deprecated: open a :class:`~astro_cloud_async.Client` and pass it as ``client=``."""
    warnings.warn(
        "SectionFetcher is deprecated and will be removed: use astro_cloud_async.Client",
        DeprecationWarning,
        stacklevel=2,
    )
    return Client(options)


@contextlib.asynccontextmanager
async def _fetcher(
    client: Client | RangeFetcher | None, options: Mapping[str, Any]
) -> AsyncIterator[RangeFetcher]:
    """The client's own range fetching, or stores and a pool opened for this call."""
    if client is not None:
        if options:
            raise ConfigurationError(
                f"options {sorted(options)} go to the Client when a client is given"
            )
        yield client
        return
    async with Client(Options.from_kwargs(**options)) as own:
        yield own


# --- one record ---------------------------------------------------------------------------


def image_layout(record: HDURecord) -> ImageLayout:
    """Where ``record``'s pixels lie; raises :class:`NotAnImageError` for non-images and
    :class:`CompressedObjectError` for an HDU of an object compressed whole."""
    refuse_compressed(record)
    return ImageLayout.from_header(record.header, url=record.url, data_offset=record.data_offset)


def refuse_compressed(record: HDURecord) -> None:
    """Raise :class:`CompressedObjectError` when ``record`` is an HDU of a gzip or bzip2
    object: its data lie in the decompressed stream, which no range of the object reaches."""
    if record.compression is not None:
        raise CompressedObjectError(
            f"the object is {record.compression}-compressed: its data cannot be read by range; "
            "sections need an uncompressed (or tile-compressed) copy of it",
            url=record.url,
            offset=record.data_offset,
        )


def plan_for(
    record: HDURecord, key: Any = Ellipsis, *, gap: int = DEFAULT_GAP, clip: bool = True
) -> SectionPlan:
    """The byte ranges :func:`read_section` would fetch for ``record`` and ``key``."""
    return plan_section(image_layout(record), key, gap=gap, clip=clip)


async def _fetch(
    fetcher: RangeFetcher,
    plan: SectionPlan,
    *,
    max_request: int,
    if_match: str | None,
) -> bytearray:
    """The bytes of ``plan.ranges``, concatenated in order."""
    url = plan.layout.url
    buffer = bytearray(plan.nbytes)
    view = memoryview(buffer)

    async def one(position: int, start: int, end: int) -> None:
        result = await fetcher.fetch_range(url, start, end, if_match=if_match)
        size = end - start
        if len(result.data) < size:
            missing = start + len(result.data)
            if result.object_size is not None:
                missing = min(missing, result.object_size)
            raise TruncatedDataError(
                f"the object ends before the image data it should hold (needed bytes up to {end})",
                url=url,
                offset=missing,
            )
        view[position : position + size] = result.data[:size]

    jobs = []
    position = 0
    for start, end in split_ranges(plan.ranges, max_request):
        jobs.append(one(position, start, end))
        position += end - start
    await gather_all(jobs)
    return buffer


async def _read_with(
    fetcher: RangeFetcher,
    record: HDURecord,
    key: Any,
    *,
    gap: int,
    max_request: int,
    do_not_scale: bool,
    uint: bool,
    clip: bool,
    check_etag: bool,
) -> Array:
    layout = image_layout(record)
    scaling = Scaling.from_header(record.header, uint=uint, url=record.url)
    plan = plan_section(layout, key, gap=gap, clip=clip)
    data = await _fetch(
        fetcher, plan, max_request=max_request, if_match=record.etag if check_etag else None
    )
    return decode(plan.assemble(data), scaling, do_not_scale=do_not_scale)


async def read_section(
    record: HDURecord,
    key: Any,
    *,
    client: Client | RangeFetcher | None = None,
    gap: int = DEFAULT_GAP,
    max_request: int = DEFAULT_MAX_REQUEST,
    do_not_scale: bool = False,
    uint: bool = True,
    clip: bool = True,
    check_etag: bool = True,
    **options: Any,
) -> Array:
    """The section ``key`` of the image HDU ``record`` as a numpy array.

    ``key`` is what ``hdul[i].section[key]`` takes, in numpy axis order: integers, slices with
    any step, ``...`` and 1-d index arrays; the values are scaled as astropy scales them
    (``do_not_scale=True``: stored values, native byte order; ``uint=False``: no unsigned
    convention). An all-integer key gives a 0-d array.

    Only the rows the section covers are fetched; ranges closer than ``gap`` bytes are merged,
    ranges longer than ``max_request`` split into concurrent requests. With ``client`` its pool
    and statistics are used; otherwise ``options`` (:class:`~astro_cloud_async.Options` names)
    open stores for this call.

    Raises :class:`SectionIndexError` for a key outside the image, :class:`NotAnImageError`
    for tables and empty HDUs, :class:`TruncatedDataError` when the object ends before the
    rows, :class:`ObjectChangedError` when the object no longer has the record's ETag (unless
    ``check_etag=False``), and the fetch errors of the stores.
    """
    async with _fetcher(client, options) as fetcher:
        return await _read_with(
            fetcher,
            record,
            key,
            gap=gap,
            max_request=max_request,
            do_not_scale=do_not_scale,
            uint=uint,
            clip=clip,
            check_etag=check_etag,
        )


async def read_data(
    record: HDURecord,
    *,
    client: Client | RangeFetcher | None = None,
    max_request: int = DEFAULT_MAX_REQUEST,
    do_not_scale: bool = False,
    uint: bool = True,
    check_etag: bool = True,
    **options: Any,
) -> Array:
    """The whole image of ``record``, as ``hdul[i].data`` gives it (images only)."""
    return await read_section(
        record,
        Ellipsis,
        client=client,
        max_request=max_request,
        do_not_scale=do_not_scale,
        uint=uint,
        check_etag=check_etag,
        **options,
    )


# --- many records -------------------------------------------------------------------------


async def read_sections(
    records: Iterable[HDURecord] | AsyncIterable[HDURecord],
    key: Any | Callable[[HDURecord], Any],
    *,
    client: Client | RangeFetcher | None = None,
    max_in_flight: int | None = None,
    gap: int = DEFAULT_GAP,
    max_request: int = DEFAULT_MAX_REQUEST,
    do_not_scale: bool = False,
    uint: bool = True,
    clip: bool = True,
    check_etag: bool = True,
    **options: Any,
) -> AsyncGenerator[SectionResult, None]:
    """The section ``key`` of every record, as ``(record, array)`` or :class:`SectionFailed`.

    Results come in completion order. ``key`` may be a function of the record (a box placed
    per image). At most ``max_in_flight`` records are read at once (default: the client's
    ``max_objects_in_flight``, else its ``concurrency``); requests are further bounded by the
    client's pool. Records are pulled lazily. Leaving the loop early and closing the generator
    cancels the reads in flight.
    """
    if max_in_flight is not None and max_in_flight < 1:
        raise ConfigurationError(f"max_in_flight must be at least 1, got {max_in_flight}")
    async with _fetcher(client, options) as fetcher:
        settings: Options | None = getattr(fetcher, "options", None)
        if max_in_flight is None:
            settings = settings or Options()
            max_in_flight = settings.max_objects_in_flight or settings.concurrency

        async def one(record: HDURecord) -> SectionResult:
            try:
                chosen = key(record) if callable(key) else key
                data = await _read_with(
                    fetcher,
                    record,
                    chosen,
                    gap=gap,
                    max_request=max_request,
                    do_not_scale=do_not_scale,
                    uint=uint,
                    clip=clip,
                    check_etag=check_etag,
                )
            except AstroCloudError as err:
                return SectionFailed(record, err.with_url(record.url))
            return record, data

        async with contextlib.aclosing(bounded(records, one, max_in_flight)) as results:
            async for result in results:
                yield result


# --- records from a catalog ---------------------------------------------------------------


def record_from_row(row: Mapping[str, Any]) -> HDURecord:
    """An :class:`HDURecord` from a catalog row (``url``, ``hdu``, ``header_offset``,
    ``data_offset``, ``data_size``, ``header``, and ``etag``/``object_size``/``truncated``/
    ``compression`` when present), so sections can be read from a catalog without reading
    headers again."""
    text = row["header"]
    if not isinstance(text, str):
        raise ConfigurationError("the row has no header text", url=str(row.get("url")))
    header = parse_header(text.encode("ascii", errors="replace"))

    def integer(name: str) -> int:
        value = row[name]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ConfigurationError(f"row column {name} = {value!r} is not an integer")
        return int(value)

    size = row.get("object_size")
    etag = row.get("etag")
    compression = row.get("compression")
    return HDURecord(
        url=str(row["url"]),
        index=integer("hdu"),
        header_offset=integer("header_offset"),
        data_offset=integer("data_offset"),
        data_size=integer("data_size"),
        header=header,
        truncated=bool(row.get("truncated") or False),
        object_size=int(size) if isinstance(size, (int, np.integer)) else None,
        etag=etag if isinstance(etag, str) else None,
        compression=_compression(compression),
    )


def _compression(value: Any) -> Compression | None:
    if not isinstance(value, str):
        return None  # null (None, or a data frame's missing value)
    if value == "gzip":
        return "gzip"
    if value == "bzip2":
        return "bzip2"
    raise ConfigurationError(f"row column compression = {value!r} is neither gzip nor bzip2")
