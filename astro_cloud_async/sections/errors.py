"""The errors particular to reading image data: a key outside the image, an HDU that is not an
image, and an object that ends before the data a section needs.

They derive from the package's base classes (:mod:`astro_cloud_async.errors`), so a caller
catching ``ConfigurationError`` or ``FITSError`` catches them too, and they pickle the same way.
"""

from __future__ import annotations

from ..errors import ConfigurationError, FITSError

__all__ = ["NotAnImageError", "SectionIndexError", "TruncatedDataError"]


class SectionIndexError(ConfigurationError, IndexError):
    """A section key that does not fit the image: an index out of range, a slice wholly
    outside an axis, too many indices, or an index of an unsupported type."""


class NotAnImageError(FITSError):
    """The HDU holds no image array: a table, random groups, or no data at all (NAXIS = 0)."""


class TruncatedDataError(FITSError):
    """The object ends before the data bytes a read needs; ``offset`` is the first missing
    byte."""
