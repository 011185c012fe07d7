"""Geometry on the unit sphere with numpy: distances, and whether quadrilaterals hold a point.

Strategy: positions become unit vectors, so nothing depends on how RA wraps at 0/360 or how
it degenerates at the poles. A footprint is a convex quadrilateral whose sides are great-circle
arcs; a point lies inside when it is on the inner side of all four sides, that is when its
dot product with each side's normal (the cross product of the side's two corners) has the sign
the polygon's own centre has. The orientation of the corners (clockwise or not, which depends
on the image's handedness) is thus taken from the polygon itself. Everything works on arrays
of many polygons at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["contains", "separation", "unit_vectors"]

Array = np.ndarray[Any, Any]


def unit_vectors(ra: Array | float, dec: Array | float) -> Array:
    """Unit vectors, shape ``(..., 3)``, of positions in degrees."""
    r, d = np.radians(ra), np.radians(dec)
    cos_d = np.cos(d)
    return np.stack([cos_d * np.cos(r), cos_d * np.sin(r), np.sin(d)], axis=-1)


def separation(ra1: Any, dec1: Any, ra2: Any, dec2: Any) -> Array:
    """Angular distance in degrees (Vincenty's formula: accurate at every distance)."""
    r1, d1, r2, d2 = (np.radians(np.asarray(v, dtype=float)) for v in (ra1, dec1, ra2, dec2))
    dra = r2 - r1
    num = np.hypot(
        np.cos(d2) * np.sin(dra),
        np.cos(d1) * np.sin(d2) - np.sin(d1) * np.cos(d2) * np.cos(dra),
    )
    den = np.sin(d1) * np.sin(d2) + np.cos(d1) * np.cos(d2) * np.cos(dra)
    result: Array = np.degrees(np.arctan2(num, den))
    return result


def contains(corners: Array, centres: Array, point: Array, margin: float = 0.0) -> Array:
    """Which polygons hold ``point`` (a unit vector), or come within ``margin`` degrees of it.

    ``corners``: unit vectors of shape ``(n, k, 3)`` (``k`` corners in order around each
    polygon); ``centres``: unit vectors ``(n, 3)`` of a point inside each polygon. With a
    margin, each side is moved outwards by ``margin`` (so near a corner the test is slightly
    generous: it holds the polygon widened by ``margin``, corners squared off).
    """
    following = np.roll(corners, -1, axis=1)
    normals = np.cross(corners, following)
    lengths = np.linalg.norm(normals, axis=-1)
    lengths[lengths == 0] = 1.0
    normals = normals / lengths[..., None]
    side = np.einsum("nkc,nc->nk", normals, centres)
    orientation = np.sign(side.sum(axis=1))
    signed = np.einsum("nkc,c->nk", normals, point) * orientation[:, None]
    limit = -np.sin(np.radians(margin))
    inside: Array = np.all(signed >= limit, axis=1) & (centres @ point > 0)
    return inside
