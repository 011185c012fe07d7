"""Where an image lies on the sky, from its header alone: centre, four corners, bounding radius.

Strategy: a footprint here is what ``astropy.wcs`` would say, SIP and TPV distortions included.
What costs is not the projection but building a ``WCS``, which goes through an
``astropy.io.fits.Header`` of every card (about 1 ms for a plain TAN header, 10 ms for a TESS
header with its SIP cards). So there are two paths:

* the common RA---TAN and RA---TAN-SIP images are projected in numpy (:mod:`.tan`, which
  reproduces astropy's numbers to about 1e-12 degrees), many at once. Per header, only its few
  WCS cards are taken, unread (:func:`tan_cards`: which cards those are depends only on the
  header's keywords, so it is found once per layout of headers); reading their values and
  projecting the corners, edge middles and centre of a whole batch together comes after
  (:func:`footprint_columns_of_jobs`), where it can run in another process;
* every other header goes to astropy, handed only the cards a celestial WCS can use
  (:func:`wcs_cards`, chosen by one regular expression on the keywords), which is several times
  cheaper than the whole header.

Both give one image the same numbers whatever else is in its batch, and :func:`footprint` (one
header) is a batch of one.

The corners are the outer edges of the corner pixels (astropy's ``calc_footprint(center=False)``)
in pixel order: (first column, first row), (first column, last row), (last, last), (last,
first); the centre is the image's middle pixel position; the radius is the largest angular
distance from the centre to a corner or to the middle of an edge (distortion can bow an edge
outwards). Tile-compressed images are read through their ``ZNAXISn``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..fits.cards import CARD_LENGTH, card_value
from ..fits.header import Header, parse_header
from .sphere import separation
from .tan import CTYPES, KEYWORDS, SipTerms, TanSip, keyword_facts, project, tan_parameters

__all__ = [
    "FOOTPRINT_NAMES",
    "Footprint",
    "FootprintJob",
    "TanCards",
    "footprint",
    "footprint_columns",
    "footprint_columns_of",
    "footprint_columns_of_jobs",
    "footprint_columns_of_raw",
    "footprint_from_cards",
    "footprint_job",
    "footprints",
    "quick_footprint",
    "tan_cards",
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
        """The catalog columns of this footprint (``footprint``: the corners as JSON, as
        ``json.dumps`` writes them)."""
        corners = ", ".join(f"[{ra!r}, {dec!r}]" for ra, dec in self.corners)
        return {
            "footprint_ra": self.ra,
            "footprint_dec": self.dec,
            "footprint_radius": self.radius,
            "footprint": f"[{corners}]",
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


def _from_points(ras: Any, decs: Any) -> list[Footprint | None]:
    """The footprints of images whose :func:`_pixels` positions are at ``ras[n]``,
    ``decs[n]`` (degrees, arrays of shape ``(n, 9)``); ``None`` where one is not finite."""
    import numpy as np

    ras = np.mod(np.asarray(ras, dtype=float), 360.0)
    decs = np.asarray(decs, dtype=float)
    finite = np.isfinite(ras).all(axis=1) & np.isfinite(decs).all(axis=1)
    radii = separation(ras[:, -1:], decs[:, -1:], ras[:, :-1], decs[:, :-1]).max(axis=1)
    found: list[Footprint | None] = []
    for ok, ra_row, dec_row, radius in zip(
        finite.tolist(), ras.tolist(), decs.tolist(), radii.tolist(), strict=True
    ):
        if not ok:
            found.append(None)
            continue
        corners = tuple(zip(ra_row[:4], dec_row[:4], strict=True))
        found.append(Footprint(ra=ra_row[-1], dec=dec_row[-1], radius=radius, corners=corners))
    return found


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
    return _from_points(world[None, :, lon], world[None, :, lat])[0]


# --- the numpy path ------------------------------------------------------------------------


class TanCards(NamedTuple):
    """What the numpy path needs of one header: the cards of the keywords it reads, unread."""

    keywords: tuple[str, ...]
    """The keywords (upper case); this and the next two are the same objects for every
    header of one layout."""
    sip: SipTerms
    """The SIP coefficient keywords among them."""
    offsets: tuple[int, ...]
    """Where each keyword's first card starts in ``images``."""
    images: str
    """The header's cards from the first of those to the last, as they are in it."""


FootprintJob = TanCards | bytes
"""One header's footprint work: its WCS cards for the numpy path, or its raw bytes (for
astropy, or when the cards alone do not say)."""

_PLAN_KEYWORDS = ("ZIMAGE", "NAXIS1", "NAXIS2", *KEYWORDS)
_NEEDED = ("CTYPE1", "CTYPE2", "NAXIS1", "NAXIS2")


_GAP = 8
"""Cards between two wanted ones up to which both are taken in one slice."""


class _Plan:
    """What a header's keywords alone decide for the numpy path: whether it may apply, and
    which cards it reads (the first of each keyword, as a lookup gives it), taken as a few
    runs of neighbouring cards (a slice each)."""

    __slots__ = ("cards", "ctypes", "keywords", "offsets", "packed", "runs", "sip", "size")

    def __init__(self, keywords: tuple[str, ...]) -> None:
        first: dict[str, int] = {}
        names = []
        for j, keyword in enumerate(keywords):
            upper = keyword.upper()
            if upper not in first:
                first[upper] = j
                names.append(keyword)  # as the header lists its keywords
        refused, sip = keyword_facts("\n".join(names))
        self.keywords: tuple[str, ...] | None = None
        self.sip = sip
        self.cards: tuple[int, ...] = ()
        self.runs: tuple[tuple[int, int], ...] = ()
        """(start, stop) of each run of cards taken, in order."""
        self.size = 0
        """Characters of the runs when all their cards are 80 long."""
        self.offsets: tuple[int, ...] = ()
        """Where each card starts in the runs, one after the other."""
        self.packed: tuple[int, ...] = ()
        """Where each card starts when they are taken one by one."""
        self.ctypes = (0, 0)
        if refused or any(k not in first for k in _NEEDED):
            return
        wanted = [k for k in _PLAN_KEYWORDS if k in first] + [term[3] for term in sip]
        self.keywords = tuple(wanted)
        self.cards = tuple(first[k] for k in wanted)
        runs: list[list[int]] = []
        for j in sorted(self.cards):
            if runs and j - runs[-1][1] < _GAP:
                runs[-1][1] = j + 1
            else:
                runs.append([j, j + 1])
        where: dict[int, int] = {}
        for start, stop in runs:
            for j in range(start, stop):
                where[j] = self.size + CARD_LENGTH * (j - start)
            self.size += CARD_LENGTH * (stop - start)
        self.runs = tuple((start, stop) for start, stop in runs)
        self.offsets = tuple(where[j] for j in self.cards)
        self.packed = tuple(range(0, CARD_LENGTH * len(wanted), CARD_LENGTH))
        self.ctypes = (wanted.index("CTYPE1"), wanted.index("CTYPE2"))


_PLANS: dict[tuple[str, ...], _Plan] = {}
_TAN_CTYPES: dict[tuple[str, str], bool] = {}
_CACHE_LIMIT = 256


def _is_tan(ctype1: str, ctype2: str) -> bool:
    """Whether two CTYPE cards name RA---TAN(-SIP) (cached: a survey repeats them)."""
    key = (ctype1, ctype2)
    found = _TAN_CTYPES.get(key)
    if found is None:
        if len(_TAN_CTYPES) >= _CACHE_LIMIT:
            _TAN_CTYPES.clear()
        values = tuple(str(card_value(image)).strip().upper() for image in key)
        found = _TAN_CTYPES[key] = values in CTYPES
    return found


def tan_cards(header: Header) -> TanCards | None:
    """The cards the numpy path reads from ``header``; ``None`` when its keywords or CTYPEs
    already say it cannot apply. Cheap: no value is read but the CTYPEs, once per survey."""
    keywords = header.keywords
    plan = _PLANS.get(keywords)
    if plan is None:
        if len(_PLANS) >= _CACHE_LIMIT:
            _PLANS.clear()
        plan = _PLANS[keywords] = _Plan(keywords)
    if plan.keywords is None:
        return None
    images = "".join([header.card_images(start, stop) for start, stop in plan.runs])
    offsets = plan.offsets
    if len(images) != plan.size:
        # A long string (a card and its CONTINUEs) among them: take the cards one by one.
        images = "".join([header.card_images(j, j + 1) for j in plan.cards])
        if len(images) != CARD_LENGTH * len(plan.cards):
            return None  # one of them is a long string itself: the whole header decides
        offsets = plan.packed
    c1, c2 = (offsets[k] for k in plan.ctypes)
    if not _is_tan(images[c1 : c1 + CARD_LENGTH], images[c2 : c2 + CARD_LENGTH]):
        return None
    return TanCards(plan.keywords, plan.sip, offsets, images)


def footprint_job(header: Header) -> FootprintJob:
    """The footprint work of ``header``: its WCS cards when the numpy path may apply, else
    its raw bytes."""
    cards = tan_cards(header)
    return header.raw if cards is None else cards


_VALUES: dict[str, object] = {}
"""Card image -> value, for the cards the numpy path reads: images of one survey repeat (NAXISn,
CTYPEs, CRPIX, often the distortion of one detector), and reading a value costs more than
looking it up."""
_VALUES_LIMIT = 1 << 14
_UNKNOWN = object()


def _tan_input(cards: TanCards) -> tuple[int, int, TanSip] | None:
    """The image size and projection numbers, read from the cards; ``None`` when the numpy
    path does not apply after all."""
    text, known = cards.images, _VALUES
    values = {}
    for keyword, at in zip(cards.keywords, cards.offsets, strict=True):
        image = text[at : at + CARD_LENGTH]
        value = known.get(image, _UNKNOWN)
        if value is _UNKNOWN:
            if len(known) >= _VALUES_LIMIT:
                known.clear()
            value = known[image] = card_value(image)
        values[keyword] = value
    if values.get("ZIMAGE") is True:
        return None
    nx, ny = values.get("NAXIS1"), values.get("NAXIS2")
    if not (isinstance(nx, int) and isinstance(ny, int)) or nx < 1 or ny < 1:
        return None
    wcs = tan_parameters(values, (False, cards.sip))
    return None if wcs is None else (nx, ny, wcs)


def _tan_footprints(cards: Sequence[TanCards]) -> list[Footprint | None]:
    """Footprints of many TAN(-SIP) images, projected together; ``None`` where the numpy
    path does not apply (the whole header decides: see :func:`footprint`)."""
    import numpy as np

    inputs = [_tan_input(c) for c in cards]
    chosen = [i for i, one in enumerate(inputs) if one is not None]
    found: list[Footprint | None] = [None] * len(cards)
    if not chosen:
        return found
    grids = [_pixels(nx, ny) for nx, ny, _ in (inputs[i] for i in chosen)]  # type: ignore[misc]
    xs = np.array([g[0] for g in grids], dtype=float)
    ys = np.array([g[1] for g in grids], dtype=float)
    projected = _from_points(*project([inputs[i][2] for i in chosen], xs, ys))  # type: ignore[index]
    for i, one in zip(chosen, projected, strict=True):
        found[i] = one
    return found


def _by_astropy(header: Header) -> Footprint | None:
    cards = wcs_cards(header)
    return None if cards is None else footprint_from_cards(cards)


def quick_footprint(header: Header) -> Footprint | None:
    """The footprint of a plain 2-D RA---TAN(-SIP) image, without astropy (see :mod:`.tan`:
    the same numbers); ``None`` for any other header."""
    cards = tan_cards(header)
    return None if cards is None else _tan_footprints([cards])[0]


def footprints(headers: Sequence[Header]) -> list[Footprint | None]:
    """:func:`footprint` of each header; the TAN(-SIP) ones are projected together."""
    jobs = [tan_cards(header) for header in headers]
    quick = [i for i, job in enumerate(jobs) if job is not None]
    found: list[Footprint | None] = [None] * len(headers)
    for i, one in zip(quick, _tan_footprints([jobs[i] for i in quick]), strict=True):  # type: ignore[misc]
        found[i] = one
    for i, header in enumerate(headers):
        if found[i] is None:  # not TAN(-SIP), or not finite there: astropy decides
            found[i] = _by_astropy(header)
    return found


def footprint(header: Header) -> Footprint | None:
    """The footprint of the image ``header`` describes; ``None`` without a celestial WCS."""
    return footprints([header])[0]


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
    """:func:`footprint_columns` of headers given as raw bytes, computed together."""
    return [columns_of(found) for found in footprints([parse_header(raw) for raw in raws])]


def footprint_columns_of_jobs(jobs: Sequence[FootprintJob]) -> list[dict[str, Any] | None]:
    """The footprint columns of many :func:`footprint_job` results, computed together (what
    a worker process is given). ``None`` for a :class:`TanCards` job the numpy path turns
    down after reading its values (a rare header: not finite, a CD row of zeros, ...): its
    raw bytes decide, as a job of their own."""
    cards = [i for i, job in enumerate(jobs) if isinstance(job, TanCards)]
    found: list[dict[str, Any] | None] = [None] * len(jobs)
    for i, one in zip(cards, _tan_footprints([jobs[i] for i in cards]), strict=True):  # type: ignore[misc]
        if one is not None:
            found[i] = one.columns()
    for i, job in enumerate(jobs):
        if isinstance(job, bytes):
            found[i] = columns_of(footprint(parse_header(job)))
    return found
