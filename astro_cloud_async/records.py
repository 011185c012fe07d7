"""What a scan yields: one :class:`HDURecord` per HDU, or one :class:`ObjectFailed` per object.

Both are frozen values. An object ends in exactly one way: all its HDU records (yielded
together, in order, once the object is fully walked), or a single ``ObjectFailed`` that also
keeps whatever records were read before the failure, so nothing already fetched is lost.
Every record of a whole object carries the object's HDU count (``n_hdus``), so whoever reads
a stream of records knows the object is complete at its last record, without waiting for the
next one (an interrupted index run writes it instead of fetching it again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .errors import AstroCloudError, redact_url
from .fits.cards import Card
from .fits.checksum import Verdict, checksum_verdict
from .fits.compressed import image_header, is_tile_compressed
from .fits.header import Header
from .fits.walker import HDU

if TYPE_CHECKING:
    import astropy.io.fits

__all__ = ["Compression", "HDURecord", "ObjectFailed", "ScanResult"]

Compression = Literal["gzip", "bzip2"]
"""How a whole object was compressed, when it was (``.fits.gz``, ``.fits.bz2``)."""


@dataclass(frozen=True, slots=True)
class HDURecord:
    """One HDU of one object: where its header and data lie, and the parsed header.

    ``truncated`` is true when the object ends before the end of this HDU's data;
    ``trailing_bytes`` (last record only) counts bytes after the last HDU that do not start
    a valid header. ``object_size`` and ``etag`` describe the object as it was read (as
    stored: for a compressed object, ``object_size`` is its compressed size).
    ``n_hdus`` is the object's HDU count on the records of an object walked to its end, and
    ``None`` on the records an :class:`ObjectFailed` keeps (the object's end was not seen).

    ``compression`` is ``"gzip"`` or ``"bzip2"`` for an object compressed whole (told by its
    content, whatever its name): its offsets and sizes are then those of the decompressed
    stream, which is what astropy reads, and its data cannot be read by range (image
    sections refuse such records). ``None`` for an object stored as FITS, tile-compressed
    images included.
    """

    url: str
    index: int
    header_offset: int
    data_offset: int
    data_size: int
    header: Header
    truncated: bool = False
    trailing_bytes: int = 0
    object_size: int | None = None
    etag: str | None = None
    n_hdus: int | None = None
    compression: Compression | None = None

    @classmethod
    def from_hdu(
        cls,
        url: str,
        hdu: HDU,
        *,
        object_size: int | None = None,
        etag: str | None = None,
        n_hdus: int | None = None,
        compression: Compression | None = None,
    ) -> HDURecord:
        return cls(
            url=url,
            index=hdu.index,
            header_offset=hdu.header_offset,
            data_offset=hdu.data_offset,
            data_size=hdu.data_size,
            header=hdu.header,
            truncated=hdu.truncated,
            trailing_bytes=hdu.trailing_bytes,
            object_size=object_size,
            etag=etag,
            n_hdus=n_hdus,
            compression=compression,
        )

    @property
    def closes_object(self) -> bool:
        """Whether this is the last record of a whole object (its ``n_hdus`` is known)."""
        return self.n_hdus is not None and self.index == self.n_hdus - 1

    @property
    def cards(self) -> tuple[Card, ...]:
        return self.header.cards

    @property
    def fits(self) -> astropy.io.fits.Header:
        """The header as an ``astropy.io.fits.Header`` (built on first access, then cached)."""
        return self.header.to_astropy()

    @property
    def tile_compressed(self) -> bool:
        """True for a tile-compressed image: a binary table with ``ZIMAGE = T``."""
        return is_tile_compressed(self.header)

    @property
    def image_header(self) -> Header | None:
        """A tile-compressed image's own header, as astropy shows that HDU
        (``CompImageHDU.header``: ``BITPIX``, ``NAXISn`` of the image); ``None`` for any other
        HDU. ``header`` stays the table header stored in the object. Made on each access."""
        return image_header(self.header)

    @property
    def header_size(self) -> int:
        """Bytes of header, END card and padding included."""
        return self.data_offset - self.header_offset

    @property
    def checksum(self) -> Verdict:
        """Whether the header's CHECKSUM holds, from the header alone (the stored DATASUM
        stands for the data): ``ok``, ``bad`` or ``absent``. Data are checked by
        :func:`astro_cloud_async.audit.verify_data`."""
        return checksum_verdict(self.header)

    @property
    def extname(self) -> str | None:
        value = self.header.get("EXTNAME")
        return value if isinstance(value, str) else None

    @property
    def xtension(self) -> str | None:
        value = self.header.get("XTENSION")
        return value if isinstance(value, str) else None

    # astro-cloud compatibility: FITSHeader(offset, length, fits)
    @property
    def offset(self) -> int:
        return self.header_offset

    @property
    def length(self) -> int:
        return self.header_size

    def __repr__(self) -> str:
        kind = "PRIMARY" if self.index == 0 else (self.xtension or "?")
        name = f" {self.extname!r}" if self.extname else ""
        through = f" ({self.compression})" if self.compression else ""
        return (
            f"<HDURecord {redact_url(self.url)}{through} [{self.index}] {kind}{name} "
            f"header@{self.header_offset} "
            f"data@{self.data_offset}+{self.data_size}{' truncated' if self.truncated else ''}>"
        )


@dataclass(frozen=True, slots=True)
class ObjectFailed:
    """The single outcome of an object that could not be walked to its end."""

    url: str
    error: AstroCloudError
    records: tuple[HDURecord, ...] = ()

    @property
    def offset(self) -> int | None:
        return self.error.offset

    def __repr__(self) -> str:
        return (
            f"<ObjectFailed {redact_url(self.url)} {type(self.error).__name__}: "
            f"{self.error.message}>"
        )


ScanResult = HDURecord | ObjectFailed
