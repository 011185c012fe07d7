"""Headers, HDUs and summaries as JSON for the page.

A card's value goes as ``[type, text]``: numbers as Python's exact spelling (``repr``), so a
float or a 64-bit integer reaches the page, and a test, without passing through JavaScript's
doubles; ``str`` values as they are, ``bool`` as ``T``/``F``, undefined values as an empty
text. Commentary cards (COMMENT, HISTORY, blank keyword) have type ``text``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ..fits.cards import Card
from ..fits.header import Header
from ..fits.summary import HDULike, summarize

__all__ = ["card_json", "hdu_json", "header_json", "value_json"]


def value_json(card: Card) -> list[str]:
    """``[type, text]`` of a card's value (see the module docstring)."""
    value = card.value
    if card.is_commentary:
        return ["text", "" if value is None else str(value)]
    if value is None:
        return ["undefined", ""]
    if isinstance(value, bool):
        return ["bool", "T" if value else "F"]
    if isinstance(value, int):
        return ["int", str(value)]
    if isinstance(value, float):
        return ["float", repr(value)]
    if isinstance(value, complex):
        return ["complex", repr(value)]
    return ["str", value]


def card_json(card: Card) -> dict[str, Any]:
    """One card: keyword, typed value, comment, the text as written and any problem."""
    kind, text = value_json(card)
    return {
        "keyword": card.keyword,
        "type": kind,
        "value": text,
        "comment": card.comment,
        "image": card.image,
        "problem": card.problem,
    }


def header_json(header: Header) -> list[dict[str, Any]]:
    """Every card of ``header``, in order."""
    return [card_json(card) for card in header.cards]


def hdu_json(hdu: HDULike) -> dict[str, Any]:
    """An HDU's ``info`` row, where it lies and its header."""
    summary = asdict(summarize(hdu))
    dims = summary["dimensions"]
    summary["dimensions"] = list(dims) if isinstance(dims, tuple) else dims
    return {
        "summary": summary,
        "index": hdu.index,
        "header_offset": hdu.header_offset,
        "data_offset": hdu.data_offset,
        "data_size": hdu.data_size,
        "truncated": hdu.truncated,
        "trailing_bytes": getattr(hdu, "trailing_bytes", 0),
        "cards": header_json(hdu.header),
    }
