"""``astro-cloud-async headers``: print headers as astropy's ``fitsheader`` does.

The layout is ``fitsheader``'s: ``# HDU n in URL:`` then the header's cards, 80 characters
each (a long string with its CONTINUE cards on one line, as ``fitsheader`` prints it), a blank
line between HDUs and between objects. ``--hdu`` takes an index or an EXTNAME; ``--keyword``
an exact keyword (its first card) or a pattern with ``*`` and ``?`` (every matching card).
Cards are printed as stored: for a tile-compressed image that is the compressed table's header
(what ``fitsheader --compressed`` shows). ``--json`` prints the same selection as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from fnmatch import fnmatchcase
from typing import Any

from ..errors import AstroCloudError, redact_url
from ..fits.cards import Card
from ..records import HDURecord
from .options import add_option_flags, options_from_args
from .reading import print_failure, read_objects

__all__ = ["configure", "format_headers", "run", "select_cards", "select_hdus"]


def configure(p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``headers`` to its parser."""
    p.description = (
        "Print the headers of FITS objects, local or remote, like astropy's "
        "fitsheader, reading only the header blocks."
    )
    p.add_argument("urls", nargs="+", metavar="URL", help="object URL or local path")
    p.add_argument(
        "-e",
        "--hdu",
        action="append",
        metavar="HDU",
        help="HDU index or EXTNAME (repeatable; default: all)",
    )
    p.add_argument(
        "-k",
        "--keyword",
        action="append",
        metavar="KEYWORD",
        help="only this keyword; '*' and '?' match patterns (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of cards")
    add_option_flags(p)
    p.set_defaults(run=run)


def select_hdus(
    records: list[HDURecord], wanted: list[str] | None
) -> tuple[list[tuple[str, HDURecord]], list[str]]:
    """The HDUs asked for, each with the label it was asked by, and the labels not found."""
    if not wanted:
        return [(str(r.index), r) for r in records], []
    found: list[tuple[str, HDURecord]] = []
    missing: list[str] = []
    for label in wanted:
        match: HDURecord | None = None
        name, _, ver = label.rpartition(",")
        if label.strip().lstrip("-").isdigit():
            index = int(label)
            label = str(index)
            match = records[index] if -len(records) <= index < len(records) else None
        elif name and ver.strip().isdigit():
            # "EXTNAME,EXTVER", labelled as fitsheader labels it.
            key, version = name.strip().upper(), int(ver)
            label = str((name, version))
            match = next(
                (r for r in records if _extname(r) == key and r.header.get("EXTVER", 1) == version),
                None,
            )
        else:
            key = label.strip().upper()
            match = next((r for r in records if _extname(r) == key), None)
            if match is None and key == "PRIMARY" and records:
                match = records[0]
        if match is None:
            missing.append(label)
        else:
            found.append((label, match))
    return found, missing


def _extname(record: HDURecord) -> str:
    return (record.extname or "").strip().upper()


def _normal(keyword: str) -> str:
    keyword = keyword.strip().upper()
    return keyword[len("HIERARCH ") :].strip() if keyword.startswith("HIERARCH ") else keyword


def select_cards(cards: tuple[Card, ...], keywords: list[str] | None) -> list[Card]:
    """All cards, or for each keyword its first card (a pattern: every matching card)."""
    if not keywords:
        return list(cards)
    chosen: list[Card] = []
    for keyword in keywords:
        key = _normal(keyword)
        if "*" in key or "?" in key:
            chosen.extend(c for c in cards if fnmatchcase(c.keyword.upper(), key))
        else:
            first = next((c for c in cards if c.keyword.upper() == key), None)
            if first is not None:
                chosen.append(first)
    return chosen


def format_headers(
    url: str, selected: list[tuple[str, HDURecord]], keywords: list[str] | None
) -> str:
    """The text ``fitsheader`` prints for these HDUs of one object."""
    out: list[str] = []
    for i, (label, record) in enumerate(selected):
        if i > 0:
            out.append("\n")
        out.append(f"# HDU {label} in {url}:\n")
        for card in select_cards(record.cards, keywords):
            out.append(f"{card.image}\n")
    return "".join(out)


def _json_value(value: Any) -> Any:
    return [value.real, value.imag] if isinstance(value, complex) else value


def _as_json(url: str, selected: list[tuple[str, HDURecord]], keywords: list[str] | None) -> Any:
    hdus = []
    for _, record in selected:
        if keywords:
            header: dict[str, Any] = {}
            for card in select_cards(record.cards, keywords):
                header.setdefault(card.keyword, _json_value(card.value))
        else:
            header = record.header.to_dict()
        hdus.append(
            {
                "hdu": record.index,
                "extname": record.extname,
                "header_offset": record.header_offset,
                "data_offset": record.data_offset,
                "data_size": record.data_size,
                "truncated": record.truncated,
                "header": header,
            }
        )
    return {"url": url, "hdus": hdus}


def run(args: argparse.Namespace) -> int:
    options = options_from_args(args)
    status = 0
    documents: list[Any] = []
    for n, (url, outcome) in enumerate(
        zip(args.urls, read_objects(args.urls, options), strict=True)
    ):
        if isinstance(outcome, AstroCloudError):
            print_failure(url, outcome)
            status = 1
            continue
        selected, missing = select_hdus(outcome, args.hdu)
        for label in missing:
            print(f"warning: {redact_url(url)}: extension {label} not found", file=sys.stderr)
            status = 1
        if args.json:
            documents.append(_as_json(url, selected, args.keyword))
            continue
        if n > 0 and not args.keyword:
            print()
        sys.stdout.write(format_headers(url, selected, args.keyword))
    if args.json:
        json.dump(
            documents if len(args.urls) > 1 else (documents or [None])[0], sys.stdout, indent=2
        )
        print()
    return status
