"""FITS checksums (the Checksum convention, FITS standard 4.0 section 4.4.2.7): pure arithmetic.

Strategy: the 32-bit ones'-complement sum of a byte string read as big-endian words equals the
string's value as one integer modulo ``2**32 - 1`` (``2**32`` is 1 in that arithmetic), except
that a string that is not all zeros and whose sum is a multiple of ``2**32 - 1`` sums to
``0xFFFFFFFF``, the "negative zero", as an end-around-carry adder gives it (and as astropy's
``_compute_checksum`` does). So a header's sum is one ``int.from_bytes`` and one modulo, in C,
with no numpy: the core stays free of it. Sums of pieces whose lengths are multiples of four
bytes add with :func:`add`, so data streamed in blocks is summed piece by piece (the data side
sums large pieces with numpy, in :mod:`astro_cloud_async.audit`).

The verdicts follow ``astropy.io.fits`` (``verify_checksum`` / ``verify_datasum``):

* ``DATASUM`` holds when the data's sum (padding included) equals its value;
* ``CHECKSUM`` holds when the sum of the header blocks, plus the data's sum, is negative zero.
  astropy uses the data's sum as computed from the data when ``DATASUM`` is present and 0
  when it is absent; :func:`checksum_verdict` takes the computed sum when one is given and
  otherwise trusts the stored ``DATASUM``, so a header can be checked without reading its data.

The header's blocks are its cards up to END followed by spaces to the end of the block, which
is what astropy sums too (it re-serialises the header, padded with spaces).
"""

from __future__ import annotations

from typing import Literal

from .cards import CARD_LENGTH
from .header import Header
from .layout import padded

__all__ = [
    "ABSENT",
    "BAD",
    "NEGATIVE_ZERO",
    "OK",
    "Verdict",
    "add",
    "checksum_verdict",
    "datasum_verdict",
    "encode_checksum",
    "header_sum",
    "ones_complement_sum",
    "stored_datasum",
]

Verdict = Literal["ok", "bad", "absent"]
OK: Verdict = "ok"
BAD: Verdict = "bad"
ABSENT: Verdict = "absent"

NEGATIVE_ZERO = 0xFFFFFFFF
_MODULUS = 0xFFFFFFFF


def add(a: int, b: int) -> int:
    """The ones'-complement sum of two 32-bit sums (end-around carry)."""
    total = a + b
    if total == 0:
        return 0
    folded = total % _MODULUS
    return folded or NEGATIVE_ZERO


def ones_complement_sum(data: bytes | bytearray | memoryview, start: int = 0) -> int:
    """The 32-bit ones'-complement sum of ``data`` read as big-endian words, added to ``start``.

    A last partial word is completed with zero bytes, as astropy does.
    """
    extra = len(data) % 4
    value = int.from_bytes(data, "big")
    if extra:
        value <<= 8 * (4 - extra)
    return add(start, value)


def header_sum(header: Header) -> int:
    """The sum of ``header``'s blocks: its cards up to END, then spaces to a whole block."""
    raw = header.raw
    length = padded(max(len(raw), CARD_LENGTH))
    return ones_complement_sum(raw + b" " * (length - len(raw)))


def stored_datasum(header: Header) -> int | None:
    """The value of ``DATASUM`` as an integer; ``None`` when absent; -1 when not a number."""
    if "DATASUM" not in header:
        return None
    value = header.get("DATASUM")
    try:
        return int(str(value).strip()) if not isinstance(value, bool) else -1
    except ValueError:
        return -1


def checksum_verdict(header: Header, datasum: int | None = None) -> Verdict:
    """Whether ``header``'s CHECKSUM holds: ``ok``, ``bad``, or ``absent`` (no CHECKSUM card).

    ``datasum`` is the data's sum as computed from the data; without it the stored DATASUM is
    trusted (the header alone is checked). With no DATASUM card the data count as 0, as in
    astropy.
    """
    if "CHECKSUM" not in header:
        return ABSENT
    stored = stored_datasum(header)
    if stored is None:
        data = 0
    elif datasum is not None:
        data = datasum
    elif stored < 0:
        return BAD
    else:
        data = stored
    return OK if add(header_sum(header), data) == NEGATIVE_ZERO else BAD


def datasum_verdict(header: Header, datasum: int) -> Verdict:
    """Whether ``header``'s DATASUM equals ``datasum``, the data's computed sum."""
    stored = stored_datasum(header)
    if stored is None:
        return ABSENT
    return OK if stored == datasum else BAD


_EXCLUDE = frozenset(b":;<=>?@[\\]^_`")


def encode_checksum(value: int) -> str:
    """The 16-character ASCII encoding of a 32-bit value (the convention's ``CHECKSUM`` text).

    The CHECKSUM card holds ``encode_checksum(~sum & 0xFFFFFFFF)`` of the HDU summed with a
    CHECKSUM of sixteen ``0``; the encoded text is rotated right by one character.
    """
    chars = [[0] * 4 for _ in range(4)]
    for i in range(4):
        byte = (value >> (24 - 8 * i)) & 0xFF
        quotient, remainder = byte // 4 + ord("0"), byte % 4
        ch = [quotient + remainder, quotient, quotient, quotient]
        changed = True
        while changed:
            changed = False
            for j in (0, 2):
                while ch[j] in _EXCLUDE or ch[j + 1] in _EXCLUDE:
                    ch[j] += 1
                    ch[j + 1] -= 1
                    changed = True
        for j in range(4):
            chars[j][i] = ch[j]
    text = bytes(c for row in chars for c in row).decode("ascii")
    return text[-1] + text[:-1]
