"""The I/O-free FITS core: cards, headers, HDU layout and a sans-I/O walker.

Nothing here reads, awaits or seeks; it imports only the standard library (astropy is imported
lazily, only by :meth:`Header.to_astropy`). The I/O side feeds the walker the bytes it asks for.
"""

from .cards import Card, parse_card
from .header import Header, parse_header
from .layout import BLOCK, CARD, data_size, padded
from .walker import HDU, EndOfObject, Event, NeedData, Walker, walk_bytes, walk_file

__all__ = [
    "BLOCK",
    "CARD",
    "HDU",
    "Card",
    "EndOfObject",
    "Event",
    "Header",
    "NeedData",
    "Walker",
    "data_size",
    "padded",
    "parse_card",
    "parse_header",
    "walk_bytes",
    "walk_file",
]
