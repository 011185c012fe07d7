"""astropy's reading of cards and headers, the reference the FITS tests compare against.

Record-valued keyword cards (``DP1 = 'AXIS.1: 1'``, which astropy reads as ``DP1.AXIS.1 = 1.0``
whatever its configuration says) are taken by their raw keyword and raw string value: we read
them as the plain string cards the standard defines. astropy's warnings about non-standard cards
are silenced: the tests run with warnings as errors, and flagging such cards is what
``Card.problem`` is for.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from astropy.io import fits
from astropy.io.fits.card import Undefined

from astro_cloud_async.fits.cards import Card


class Unreadable:
    """astropy raised when asked for this value or comment."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"Unreadable({type(self.error).__name__})"


@dataclass(frozen=True)
class Reading:
    keyword: str
    value: object
    comment: object

    @property
    def readable(self) -> bool:
        return not isinstance(self.value, Unreadable) and not isinstance(self.comment, Unreadable)


@contextmanager
def quiet_astropy() -> Iterator[None]:
    """astropy's warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def reading(card: fits.Card) -> Reading:
    """astropy's reading of one card (call inside :func:`quiet_astropy`)."""
    keyword = card.keyword
    value: object
    comment: object
    try:
        if card.field_specifier is not None:  # record-valued: the raw string card
            keyword, value = card.rawkeyword, card.rawvalue
        else:
            value = card.value
        if isinstance(value, Undefined):
            value = None
    except Exception as err:  # astropy's VerifyError and friends
        value = Unreadable(err)
    try:
        comment = card.comment
    except Exception as err:
        comment = Unreadable(err)
    return Reading(keyword, value, comment)


def astropy_card(image: str) -> Reading:
    """How astropy reads one card image (80 characters, or a long string with CONTINUEs)."""
    with quiet_astropy():
        return reading(fits.Card.fromstring(image))


def astropy_header(data: bytes | str) -> list[Reading]:
    """How ``astropy.io.fits.Header.fromstring`` reads a header, card by card."""
    with quiet_astropy():
        return [reading(card) for card in fits.Header.fromstring(data).cards]


def same_value(ours: object, theirs: object) -> bool:
    """Equal and of the same type (True is not 1, 1 is not 1.0); NaN equals NaN.

    (A complex value whose parts overflow comes out as ``nan+infj``, in astropy as here.)
    """
    if type(ours) is not type(theirs):
        return False
    if isinstance(ours, float) and isinstance(theirs, float):
        return ours == theirs or (math.isnan(ours) and math.isnan(theirs))
    if isinstance(ours, complex) and isinstance(theirs, complex):
        return same_value(ours.real, theirs.real) and same_value(ours.imag, theirs.imag)
    return ours == theirs


def same_card(a: Card, b: Card) -> bool:
    """Card equality with NaN equal to NaN."""
    return same_value(a.value, b.value) and (a.keyword, a.comment, a.image, a.problem) == (
        b.keyword,
        b.comment,
        b.image,
        b.problem,
    )
