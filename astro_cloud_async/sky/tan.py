"""The gnomonic (TAN) projection with SIP distortion in numpy: astropy's answer, faster.

Strategy: most survey images (TESS, ZTF, DECam, HST drizzled products) use RA---TAN or
RA---TAN-SIP with a CD or PC/CDELT matrix. For those, building an ``astropy.wcs.WCS`` costs a
millisecond or more per header (ten for a TESS header, whose SIP cards astropy reads through
its own header class), while the mathematics is a polynomial, a matrix and a spherical
rotation. It is done in two steps:

* :func:`tan_parameters` reads the few numbers the projection needs (CRPIX, CRVAL, the linear
  matrix, the SIP coefficients) into a :class:`TanSip`, a plain tuple, and refuses every
  header it does not reproduce exactly;
* :func:`project` takes many of those at once and projects pixel positions of all of them
  together, so numpy's cost per call is shared by the whole batch (a header alone costs some
  forty numpy calls on nine points; a batch of hundreds, about as many calls per SIP order).
  Each image's numbers come out the same whatever else is in its batch.

The arithmetic is what astropy does — SIP as astropy reads it (``A_ORDER`` > 1 applies it,
whatever CTYPE's suffix says), wcslib's linear step and TAN deprojection with the default
LONPOLE of 180 degrees — and equals ``WCS.all_pix2world`` to about 1e-12 degrees (the tests
check it on every field). Anything else — another projection, PV cards (TPV), LONPOLE/LATPOLE,
CROTA, units other than degrees, lookup-table distortions, a reference point at a pole, both CD
and PC — gives ``None``, and the caller asks astropy.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "CTYPES",
    "KEYWORDS",
    "SipTerms",
    "TanSip",
    "keyword_facts",
    "project",
    "tan_parameters",
    "tan_sip_world",
]

Array = np.ndarray[Any, Any]

_REFUSED = re.compile(
    r"^(?:(?:PV|PS)\d+_\d+[A-Z]?|LONPOLE|LATPOLE|CROTA\d+|DP\d+|DQ\d+|CPDIS\d+|CQDIS\d+"
    r"|D2IM\w*|CTYPE3)$",
    re.MULTILINE | re.IGNORECASE,
)
"""Keywords this projection does not reproduce (searched in all keywords at once)."""
CTYPES = frozenset({("RA---TAN", "DEC--TAN"), ("RA---TAN-SIP", "DEC--TAN-SIP")})
"""The (CTYPE1, CTYPE2) pairs, stripped and upper-cased, this module projects."""
_CD = ("CD1_1", "CD1_2", "CD2_1", "CD2_2")
_PC = ("PC1_1", "PC1_2", "PC2_1", "PC2_2")
_PC_DEFAULTS = (1.0, 0.0, 0.0, 1.0)

KEYWORDS = (
    *("NAXIS", "WCSAXES", "CTYPE1", "CTYPE2", "CUNIT1", "CUNIT2"),
    *("CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", *_CD, *_PC, "CDELT1", "CDELT2"),
    *("A_ORDER", "B_ORDER"),
)
"""Every keyword :func:`tan_parameters` reads, but the SIP coefficients."""


class TanSip(NamedTuple):
    """The numbers of one RA---TAN(-SIP) WCS (degrees), as :func:`project` uses them."""

    crpix1: float
    crpix2: float
    ra0: float
    cos_dec0: float
    sin_dec0: float
    linear: tuple[float, float, float, float]
    """The CD matrix (or PC scaled by CDELT), row by row."""
    a: tuple[float, ...]
    """SIP's A coefficients, an (A_ORDER + 1)-square matrix row by row; empty without SIP."""
    b: tuple[float, ...]
    """SIP's B coefficients, likewise."""


def _number(header: Mapping[str, Any], key: str, default: float) -> float | None:
    value = header.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


_SIP_KEY = re.compile(r"^([AB])_(\d+)_(\d+)$", re.MULTILINE)


SipTerms = tuple[tuple[str, int, int, str], ...]
"""SIP coefficient keywords present: (letter, i, j, keyword) each."""


@functools.lru_cache(maxsize=256)
def keyword_facts(keys: str) -> tuple[bool, SipTerms]:
    """What the keywords alone (``keys``: every keyword, one per line, as a header lists
    them) decide: whether one is refused, and the SIP coefficient keywords present. Headers
    written by one program share their keywords, so this is cached."""
    refused = _REFUSED.search(keys) is not None
    sip = tuple(
        (m.group(1), int(m.group(2)), int(m.group(3)), m.group(0)) for m in _SIP_KEY.finditer(keys)
    )
    return refused, sip


def _sip(
    header: Mapping[str, Any], terms: SipTerms, orders: dict[str, int]
) -> dict[str, list[float]] | None:
    """The A and B coefficient matrices, row by row, from the SIP keywords present
    (``terms``); absent ones are 0, those beyond the order ignored, as in astropy."""
    matrices = {letter: [0.0] * (n + 1) ** 2 for letter, n in orders.items()}
    for letter, i, j, keyword in terms:
        if i + j > orders[letter]:
            continue
        value = _number(header, keyword, 0.0)
        if value is None:
            return None
        matrices[letter][i * (orders[letter] + 1) + j] = value
    return matrices


def _linear(header: Mapping[str, Any]) -> tuple[float, float, float, float] | None:
    has_cd = any(k in header for k in _CD)
    has_pc = any(k in header for k in _PC)
    if has_cd and has_pc:
        return None
    keys, defaults = (_CD, (0.0,) * 4) if has_cd else (_PC, _PC_DEFAULTS)
    matrix = []
    for key, default in zip(keys, defaults, strict=True):
        value = _number(header, key, default)
        if value is None:
            return None
        matrix.append(value)
    m11, m12, m21, m22 = matrix
    if has_cd:
        if not ((m11 or m12) and (m21 or m22)):
            return None  # a row of zeros: astropy's cdfix changes it
        return m11, m12, m21, m22
    d1, d2 = (_number(header, f"CDELT{i}", 1.0) for i in (1, 2))
    if not d1 or not d2:  # absent, not a number, or 0
        return None
    return m11 * d1, m12 * d1, m21 * d2, m22 * d2


def tan_parameters(
    header: Mapping[str, Any], facts: tuple[bool, SipTerms] | None = None
) -> TanSip | None:
    """The numbers :func:`project` needs for the 2-D RA---TAN(-SIP) image ``header``
    describes; ``None`` when it is not one :func:`project` reproduces exactly. ``facts``:
    :func:`keyword_facts` of the header's keywords, when the caller has them (``header`` may
    then be a plain dict of the keywords :data:`KEYWORDS` lists and the SIP ones)."""
    ctypes = tuple(str(header.get(f"CTYPE{i}", "")).strip().upper() for i in (1, 2))
    if ctypes not in CTYPES or header.get("NAXIS") != 2 or header.get("WCSAXES", 2) != 2:
        return None
    refused, terms = keyword_facts("\n".join(header)) if facts is None else facts
    if refused:
        return None
    for i in (1, 2):
        unit = header.get(f"CUNIT{i}")
        if unit is not None and str(unit).strip().lower() not in ("deg", ""):
            return None
    crpix1, crpix2 = (_number(header, f"CRPIX{i}", 0.0) for i in (1, 2))
    ra0, dec0 = (_number(header, f"CRVAL{i}", 0.0) for i in (1, 2))
    linear = _linear(header)
    if crpix1 is None or crpix2 is None or ra0 is None or dec0 is None or linear is None:
        return None
    if not (-90 < dec0 < 90):
        return None
    a: tuple[float, ...] = ()
    b: tuple[float, ...] = ()
    if "A_ORDER" in header or "B_ORDER" in header:
        a_order, b_order = header.get("A_ORDER"), header.get("B_ORDER")
        if not (isinstance(a_order, int) and isinstance(b_order, int)):
            return None
        if a_order <= 1 or b_order <= 1:
            return None  # astropy's own rules for these are irregular: let it decide
        sip = _sip(header, terms, {"A": a_order, "B": b_order})
        if sip is None:
            return None
        a, b = tuple(sip["A"]), tuple(sip["B"])
    d0 = math.radians(dec0)
    return TanSip(crpix1, crpix2, ra0, math.cos(d0), math.sin(d0), linear, a, b)


def _powers(u: Array, n: int) -> Array:
    """``u ** 0`` to ``u ** (n - 1)`` along a new last axis."""
    powers: Array = u[..., None] ** np.arange(n)
    return powers


def _polynomial(c: Array, pu: Array, pv: Array) -> Array:
    """``sum c[n, i, j] u[n]**i v[n]**j`` for each image ``n``, from the powers of ``u`` and
    ``v`` (:func:`_powers`; the coefficients above the anti-diagonal are zero)."""
    side = c.shape[1]
    if pu.shape[-1] != side:
        pu, pv = np.ascontiguousarray(pu[..., :side]), np.ascontiguousarray(pv[..., :side])
    total: Array = np.einsum("nki,nij,nkj->nk", pu, c, pv)
    return total


def project(wcs: Sequence[TanSip], x: Array, y: Array) -> tuple[Array, Array]:
    """RA and Dec (degrees, RA in [0, 360)) of the 0-based pixel positions ``x[n]``,
    ``y[n]`` (arrays of shape ``(len(wcs), k)``) of image ``n``, as astropy's
    ``all_pix2world(x, y, 0)`` gives them."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    columns = np.array([w[:5] + w.linear for w in wcs], dtype=float).reshape(len(wcs), 9)
    crpix1, crpix2, ra0, cos_d0, sin_d0, m11, m12, m21, m22 = (
        columns[:, i, None] for i in range(9)
    )
    u = x + 1 - crpix1
    v = y + 1 - crpix2
    # SIP, one group of images per pair of orders (each image alone sees what it would alone).
    groups: dict[tuple[int, int], list[int]] = {}
    for n, w in enumerate(wcs):
        if w.a:
            groups.setdefault((len(w.a), len(w.b)), []).append(n)
    if groups:
        u0, v0 = u, v
        u, v = u0.copy(), v0.copy()
        for (size_a, size_b), members in groups.items():
            rows = np.array(members)
            a = np.array([wcs[n].a for n in members], dtype=float)
            b = np.array([wcs[n].b for n in members], dtype=float)
            side_a, side_b = math.isqrt(size_a), math.isqrt(size_b)
            ur, vr = u0[rows], v0[rows]
            side = max(side_a, side_b)
            pu, pv = _powers(ur, side), _powers(vr, side)
            u[rows] = ur + _polynomial(a.reshape(-1, side_a, side_a), pu, pv)
            v[rows] = vr + _polynomial(b.reshape(-1, side_b, side_b), pu, pv)
    xi = np.radians(m11 * u + m12 * v)
    eta = np.radians(m21 * u + m22 * v)
    denominator = cos_d0 - eta * sin_d0
    ra = np.degrees(np.arctan2(xi, denominator)) + ra0
    dec = np.degrees(np.arctan2(sin_d0 + eta * cos_d0, np.hypot(xi, denominator)))
    return np.mod(ra, 360.0), dec


def tan_sip_world(header: Mapping[str, Any], x: Array, y: Array) -> tuple[Array, Array] | None:
    """RA and Dec (degrees, RA in [0, 360)) of the 0-based pixel positions ``x``, ``y`` of a
    2-D RA---TAN(-SIP) image, as ``astropy.wcs.WCS(header).all_pix2world(x, y, 0)`` gives
    them; ``None`` when the header is not one this module reproduces exactly."""
    wcs = tan_parameters(header)
    if wcs is None:
        return None
    ra, dec = project([wcs], np.asarray(x, dtype=float)[None], np.asarray(y, dtype=float)[None])
    return ra[0], dec[0]
