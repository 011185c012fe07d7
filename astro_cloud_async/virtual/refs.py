"""kerchunk references for the image HDUs of a catalog: virtual zarr arrays over the originals.

Strategy: everything a reference needs is in the catalog (where each HDU's data start, its
header's BITPIX, NAXISn, BSCALE/BZERO/BLANK), so references are written without reading a byte
of the objects, and no byte is copied: each chunk is a ``[url, offset, length]`` range of an
original object. An image is chunked by whole rows (rows are contiguous in FITS), so reading a
few rows through the references fetches only their chunks. The rows per chunk are the largest
divisor of the row count that keeps a chunk under ``chunk_bytes``: zarr v2 chunks all have one
shape, and a last partial chunk would reach past the image's bytes.

Values: an image stored without scaling is a plain zarr array of its stored big-endian type;
one with BSCALE/BZERO/BLANK (or the unsigned convention) gets the :class:`~.codec.FITSScale`
filter, which decodes chunks exactly as astropy does (see :mod:`.codec`).

Stacking: with ``stack=True`` HDUs of one shape, type and scaling (a sector's frames) become one
array with a new first axis, one HDU per plane, in catalog order; other images stay arrays of
their own. The output is kerchunk's version-1 JSON (``{"version": 1, "refs": {...}}``) describing
a zarr v2 group; open it with fsspec's ``reference://`` filesystem and zarr or xarray
(:func:`open_references`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..catalog.tables import read_catalog
from ..errors import AstroCloudError, ConfigurationError
from ..fits.header import parse_header
from ..sections.decode import Scaling
from ..sections.errors import NotAnImageError
from ..sections.plan import ImageLayout

if TYPE_CHECKING:
    import pyarrow

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "ImageRef",
    "image_refs",
    "open_references",
    "references",
    "rows_per_chunk",
    "write_references",
]

DEFAULT_CHUNK_BYTES = 1 << 20
"""Target bytes per chunk: a chunk holds as many whole rows as fit (see :func:`rows_per_chunk`)."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One uncompressed image HDU as a reference needs it."""

    url: str
    hdu: int
    layout: ImageLayout
    scaling: Scaling

    @property
    def kind(self) -> tuple[Any, ...]:
        """What HDUs must share to be stacked: shape, BITPIX and scaling."""
        return (self.layout.shape, self.layout.bitpix, self.scaling)


def rows_per_chunk(shape: tuple[int, ...], itemsize: int, chunk_bytes: int) -> int:
    """The largest divisor of the row count (``shape[0]``) whose rows fit in ``chunk_bytes``
    (at least one row)."""
    rows = shape[0]
    row_bytes = itemsize
    for n in shape[1:]:
        row_bytes *= n
    fit = max(1, chunk_bytes // max(1, row_bytes))
    best = 1
    divisor = 1
    while divisor * divisor <= rows:
        if rows % divisor == 0:
            for d in (divisor, rows // divisor):
                if best < d <= fit:
                    best = d
        divisor += 1
    return best


def image_refs(table: pyarrow.Table) -> tuple[list[ImageRef], list[tuple[str, int, str]]]:
    """The uncompressed image HDUs of a catalog table, and why the others were left out
    (``(url, hdu, reason)``; HDUs with no data at all are left out silently)."""
    images: list[ImageRef] = []
    skipped: list[tuple[str, int, str]] = []
    columns = ["url", "hdu", "data_offset", "truncated", "header"]
    if "compression" in table.column_names:
        columns.append("compression")
    for row in table.select(columns).to_pylist():
        url, index = str(row["url"]), int(row["hdu"])
        header = parse_header(str(row["header"]).encode("ascii", errors="replace"))
        try:
            layout = ImageLayout.from_header(header, url=url, data_offset=int(row["data_offset"]))
            scaling = Scaling.from_header(header, url=url)
        except NotAnImageError as err:
            if header.get("NAXIS") not in (0, None):
                skipped.append((url, index, err.message))
            continue
        except AstroCloudError as err:
            skipped.append((url, index, err.message))
            continue
        if layout.size == 0:
            continue
        if row.get("compression"):
            reason = (
                f"the object is {row['compression']}-compressed: no byte range reaches its data"
            )
            skipped.append((url, index, reason))
            continue
        if row.get("truncated"):
            skipped.append((url, index, "the object ends before the image's data"))
            continue
        images.append(ImageRef(url=url, hdu=index, layout=layout, scaling=scaling))
    return images, skipped


def _array_name(ref: ImageRef, taken: set[str]) -> str:
    name = ref.url.rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".fits", ".fit", ".fts"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    base = f"{_UNSAFE.sub('_', name) or 'image'}_hdu{ref.hdu}"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate


def _zarray(
    shape: tuple[int, ...], chunks: tuple[int, ...], scaling: Scaling, layout: ImageLayout
) -> dict[str, Any]:
    if scaling.identity:
        dtype, filters = layout.dtype.str, None
    else:
        dtype = scaling.dtype().newbyteorder("<").str
        if scaling.dtype().itemsize == 1:
            dtype = scaling.dtype().str
        filters = [
            {
                "id": "astro_cloud_async.fits_scale",
                "bitpix": scaling.bitpix,
                "bscale": scaling.bscale,
                "bzero": scaling.bzero,
                "blank": scaling.blank,
                "uint": scaling.uint,
            }
        ]
    return {
        "zarr_format": 2,
        "shape": list(shape),
        "chunks": list(chunks),
        "dtype": dtype,
        "compressor": None,
        "filters": filters,
        "fill_value": None,
        "order": "C",
        "dimension_separator": ".",
    }


def _dimensions(shape: tuple[int, ...]) -> list[str]:
    """xarray's dimension names: ``y<NAXIS2>``, ``x<NAXIS1>`` (and ``frame<n>`` first for a
    stack, ``axis<k>_<n>`` beyond two axes), so arrays of one shape share dimensions and arrays
    of other shapes never clash in one dataset."""
    names = [f"axis{len(shape) - i}_{n}" for i, n in enumerate(shape)]
    names[-1] = f"x{shape[-1]}"
    if len(shape) >= 2:
        names[-2] = f"y{shape[-2]}"
    return names


def _chunk_refs(
    refs: dict[str, Any], name: str, image: ImageRef, rows: int, plane: int | None
) -> None:
    layout = image.layout
    row_bytes = layout.nbytes // layout.shape[0]
    trailing = ".0" * (len(layout.shape) - 1)
    lead = "" if plane is None else f"{plane}."
    for i in range(layout.shape[0] // rows):
        offset = layout.data_offset + i * rows * row_bytes
        refs[f"{name}/{lead}{i}{trailing}"] = [image.url, offset, rows * row_bytes]


def references(
    catalog: str | os.PathLike[str] | pyarrow.Table,
    *,
    stack: bool = False,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    format: str | None = None,
) -> dict[str, Any]:
    """kerchunk (version 1) references for the uncompressed image HDUs of ``catalog`` (a path
    or table); see the module docstring. The references' ``.zattrs`` of each array name its
    sources (``url`` and ``hdu``, or ``sources`` for a stack); the group's ``.zattrs`` lists
    the HDUs left out and why under ``skipped``."""
    if chunk_bytes < 1:
        raise ConfigurationError(f"chunk_bytes must be at least 1, got {chunk_bytes}")
    table = catalog if not isinstance(catalog, (str, os.PathLike)) else read_catalog(
        Path(catalog), format=format
    )  # fmt: skip
    images, skipped = image_refs(table)
    refs: dict[str, Any] = {}
    taken: set[str] = set()
    groups: dict[tuple[Any, ...], list[ImageRef]] = {}
    if stack:
        for image in images:
            groups.setdefault(image.kind, []).append(image)
    else:
        groups = {(i,): [image] for i, image in enumerate(images)}
    stacks = 0
    for members in groups.values():
        first = members[0]
        layout = first.layout
        rows = rows_per_chunk(layout.shape, layout.itemsize, chunk_bytes)
        stacked = stack and len(members) > 1
        if stacked:
            stacks += 1
            name = f"stack{stacks}"
            taken.add(name)
            shape = (len(members), *layout.shape)
            chunks = (1, rows, *layout.shape[1:])
            attrs: dict[str, Any] = {
                "sources": [[m.url, m.hdu] for m in members],
                "_ARRAY_DIMENSIONS": [f"frame{len(members)}", *_dimensions(layout.shape)],
            }
        else:
            name = _array_name(first, taken)
            shape, chunks = layout.shape, (rows, *layout.shape[1:])
            attrs = {
                "url": first.url,
                "hdu": first.hdu,
                "_ARRAY_DIMENSIONS": _dimensions(layout.shape),
            }
        refs[f"{name}/.zarray"] = json.dumps(_zarray(shape, chunks, first.scaling, layout))
        refs[f"{name}/.zattrs"] = json.dumps(attrs)
        for plane, member in enumerate(members):
            _chunk_refs(refs, name, member, rows, plane if stacked else None)
    refs[".zgroup"] = json.dumps({"zarr_format": 2})
    refs[".zattrs"] = json.dumps({"skipped": [list(s) for s in skipped]})
    return {"version": 1, "refs": refs}


def write_references(
    catalog: str | os.PathLike[str] | pyarrow.Table,
    output: str | os.PathLike[str],
    *,
    stack: bool = False,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    format: str | None = None,
) -> dict[str, Any]:
    """Write :func:`references` of ``catalog`` to ``output`` as JSON; return them."""
    found = references(catalog, stack=stack, chunk_bytes=chunk_bytes, format=format)
    path = Path(output)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(found, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, path)
    return found


def open_references(
    refs: str | os.PathLike[str] | Mapping[str, Any],
    *,
    remote_protocol: str | None = None,
    remote_options: Mapping[str, Any] | None = None,
) -> Any:
    """The references as a read-only zarr group (through fsspec's reference filesystem).

    ``remote_protocol`` and ``remote_options`` (e.g. ``"s3"`` and ``{"anon": True}``) go to the
    filesystem of the original objects.
    """
    import fsspec
    import zarr
    from zarr.storage import FsspecStore

    from . import codec

    codec.register()
    fo: Any = dict(refs) if isinstance(refs, Mapping) else str(refs)
    # zarr reads through an asynchronous filesystem, and the reference filesystem wants its
    # targets in the same mode.
    fs = fsspec.filesystem(
        "reference",
        fo=fo,
        remote_protocol=remote_protocol,
        remote_options={**(remote_options or {}), "asynchronous": True},
        asynchronous=True,
    )
    store = FsspecStore(fs, read_only=True, path="")
    return zarr.open_group(store, mode="r", zarr_format=2)
