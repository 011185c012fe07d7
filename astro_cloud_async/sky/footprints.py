"""Where an image lies on the sky, from its header alone: centre, four corners, bounding radius.

Strategy: a footprint here is what ``astropy.wcs`` would say, SIP and TPV distortions included.
What costs is not the projection but building a ``WCS``, which goes through an
``astropy.io.fits.Header`` of every card (about 1 ms for a plain TAN header, 10 ms for a TESS
header with its SIP cards). So there are two paths:

* the common RA---TAN and RA---TAN-SIP images are projected in numpy (:mod:`.tan`, which
  reproduces astropy's numbers to about 1e-12 degrees), some 40 microseconds a header;
* every other header goes to astropy, handed only the cards a celestial WCS can use
  (:func:`wcs_cards`, chosen by one regular expression on the keywords), which is several times
  cheaper than the whole header. The index job runs this path in a process pool
  (:func:`footprint_columns_of_raw`), off the event loop.

The corners are the outer edges of the corner pixels (astropy's ``calc_footprint(center=False)``)
in pixel order: (first column, first row), (first column, last row), (last, last), (last,
first); the centre is the image's middle pixel position; the radius is the largest angular
distance from the centre to a corner or to the middle of an edge (distortion can bow an edge
outwards). Tile-compressed images are read through their ``ZNAXISn``.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..fits.cards import CARD_LENGTH
from ..fits.header import Header, parse_header
from .sphere import separation
from .tan import tan_sip_world

__all__ = [
    "FOOTPRINT_NAMES",
    "Footprint",
    "footprint",
    "footprint_columns",
    "footprint_columns_of",
    "footprint_columns_of_raw",
    "footprint_from_cards",
    "quick_footprint",
    "wcs_cards",
]

FOOTPRINT_NAMES = ("footprint_ra", "footprint_dec", "footprint_radius", "footprint")
"""The catalog columns a footprint fills."""

_WCS_KEYWORD = re.compile(
    r"(?:WCSAXES|CRPIX\d+|CRVAL\d+|CDELT\d+|CTYPE\d+|CUNIT\d+|CD\d+_\d+|PC\d+_\d+|PV\d+_\d+"
    r"|PS\d+_\d+|LONPOLE|LATPOLE|EQUINOX|RADESYS|WCSNAME)[A-Z]?"
    r"|CROTA\d+|EPOCH|RADECSYS|MJD-OBS|MJD-AVG|DATE-OBS|DATE-AVG|MJDREF|DATEREF"
    r"|[AB]P?_\d+_\d+|[AB]P?_ORDER|[AB]P?_DMAX|DP\d+|DQ\d+|CPDIS\d+|CQDIS\d+|CPERR\d+|CQERR\d+"
)
"""Keywords a celestial WCS (wcslib's header parser and astropy's SIP reader) can use."""

_CELESTIAL = re.compile(r"RA--|DEC-|[A-Z]{2}LN|[A-Z]{2}LT|GLON|GLAT|ELON|ELAT|SLON|SLAT")


@dataclass(frozen=True, slots=True)
class Footprint:
    """An image's place on the sky, in degrees (RA in [0, 360))."""

    ra: float
    dec: float
    radius: float
    corners: tuple[tuple[float, float], ...]

    def columns(self) -> dict[str, Any]:
        """The catalog columns of this footprint."""
        return {
            "footprint_ra": self.ra,
            "footprint_dec": self.dec,
            "footprint_radius": self.radius,
            "footprint": json.dumps([[ra, dec] for ra, dec in self.corners]),
        }


_NO_FOOTPRINT: dict[str, Any] = dict.fromkeys(FOOTPRINT_NAMES)


def _axis_lengths(header: Mapping[str, Any]) -> list[int] | None:
    prefix = "ZNAXIS" if header.get("ZIMAGE") is True else "NAXIS"
    naxis = header.get(prefix)
    if isinstance(naxis, bool) or not isinstance(naxis, int) or naxis < 2:
        return None
    lengths = []
    for i in range(1, naxis + 1):
        n = header.get(f"{prefix}{i}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            return None
        lengths.append(n)
    return lengths


def wcs_cards(header: Header) -> str | None:
    """The cards of ``header`` a celestial WCS can use, as one string of 80-character cards
    (with ``NAXISn`` from ``ZNAXISn`` for a tile-compressed image); ``None`` when the header
    has no image of two or more axes or no celestial axis pair."""
    lengths = _axis_lengths(header)
    if lengths is None:
        return None
    ctypes = [header.get(f"CTYPE{i}") for i in range(1, len(lengths) + 1)]
    celestial = [c for c in ctypes if isinstance(c, str) and _CELESTIAL.match(c.upper())]
    if len(celestial) < 2:
        return None
    cards = [f"NAXIS   = {len(lengths):>20d}".ljust(CARD_LENGTH)]
    cards += [f"NAXIS{i:<3d}= {n:>20d}".ljust(CARD_LENGTH) for i, n in enumerate(lengths, 1)]
    for card in header.cards:
        keyword = card.keyword.upper()
        if _WCS_KEYWORD.fullmatch(keyword):
            cards.append(card.image)
    return "".join(cards)


def _pixels(nx: int, ny: int) -> tuple[list[float], list[float]]:
    """0-based pixel positions: the corners at the outer pixel edges, the middles of the
    edges, then the centre."""
    xs = [-0.5, -0.5, nx - 0.5, nx - 0.5, -0.5, (nx - 1) / 2, nx - 0.5, (nx - 1) / 2, (nx - 1) / 2]
    ys = [-0.5, ny - 0.5, ny - 0.5, -0.5, (ny - 1) / 2, ny - 0.5, (ny - 1) / 2, -0.5, (ny - 1) / 2]
    return xs, ys


def _from_points(ras: Any, decs: Any) -> Footprint | None:
    import numpy as np

    ras = np.mod(np.asarray(ras, dtype=float), 360.0)
    decs = np.asarray(decs, dtype=float)
    if not (np.all(np.isfinite(ras)) and np.all(np.isfinite(decs))):
        return None
    points = [(float(r), float(d)) for r, d in zip(ras, decs, strict=True)]
    centre = points[-1]
    radius = float(separation(ras[-1], decs[-1], ras[:-1], decs[:-1]).max())
    return Footprint(ra=centre[0], dec=centre[1], radius=radius, corners=tuple(points[:4]))


def footprint_from_cards(cards: str) -> Footprint | None:
    """The footprint of the image whose WCS cards are ``cards`` (from :func:`wcs_cards`),
    computed by astropy; ``None`` when astropy finds no usable celestial WCS in them."""
    import numpy as np
    from astropy.wcs import WCS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FITSFixedWarning and the like: the header is as is
        try:
            full = WCS(cards)
            if not full.has_celestial:
                return None
            wcs = full.celestial if full.naxis > 2 else full
            lon, lat = wcs.wcs.lng, wcs.wcs.lat
            nx, ny = wcs.pixel_shape or (0, 0)
            xs, ys = _pixels(nx, ny)
            world = wcs.all_pix2world(np.column_stack([xs, ys]), 0)
        except Exception:  # a WCS astropy cannot build or evaluate is no footprint
            return None
    return _from_points(world[:, lon], world[:, lat])


def quick_footprint(header: Header) -> Footprint | None:
    """The footprint of a plain 2-D RA---TAN(-SIP) image, without astropy (see :mod:`.tan`:
    the same numbers); ``None`` for any other header."""
    if header.get("ZIMAGE") is True:
        return None
    nx, ny = header.get("NAXIS1"), header.get("NAXIS2")
    if not (isinstance(nx, int) and isinstance(ny, int)) or nx < 1 or ny < 1:
        return None
    xs, ys = _pixels(nx, ny)
    world = tan_sip_world(header, xs, ys)  # type: ignore[arg-type]
    return None if world is None else _from_points(*world)


def footprint(header: Header) -> Footprint | None:
    """The footprint of the image ``header`` describes; ``None`` without a celestial WCS."""
    found = quick_footprint(header)
    if found is not None:
        return found
    cards = wcs_cards(header)
    return None if cards is None else footprint_from_cards(cards)


def footprint_columns(header: Header) -> dict[str, Any]:
    """The footprint catalog columns of ``header`` (all null without a celestial WCS)."""
    return columns_of(footprint(header))


def columns_of(found: Footprint | None) -> dict[str, Any]:
    """The catalog columns of a footprint, or of none (all null)."""
    return dict(_NO_FOOTPRINT) if found is None else found.columns()


def footprint_columns_of(cards: Iterable[str | None]) -> list[dict[str, Any]]:
    """:func:`footprint_columns` for many headers given as :func:`wcs_cards` strings."""
    return [columns_of(None if text is None else footprint_from_cards(text)) for text in cards]


def footprint_columns_of_raw(raws: Iterable[bytes]) -> list[dict[str, Any]]:
    """:func:`footprint_columns` of headers given as raw bytes (what a worker process is
    sent: parsing the header there keeps that work off the caller's event loop too)."""
    return [columns_of(footprint(parse_header(raw))) for raw in raws]
