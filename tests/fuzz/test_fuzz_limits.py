"""Time and memory per object stay bounded on hostile input: no quadratic path, no huge buffer.

Strategy: a cost that grows faster than the input shows when the input grows tenfold, so each
test times the same work on a 10,000-card and a 100,000-card header (best of three, to shed
noise from other processes) and allows a factor of 30 where linear is 10. Memory is measured
with tracemalloc around one walk, and the bytes a walker holds with its own ``held`` counter
while it is fed an endless header, as a scan would feed it.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable

import pytest

from astro_cloud_async.errors import HeaderTooLargeError, InvalidHeaderError
from astro_cloud_async.fits import (
    BLOCK,
    HDU,
    EndOfObject,
    NeedData,
    Walker,
    padded,
    parse_card,
    walk_bytes,
)

LINEAR_SLACK = 3.0
CACHE_CLIFF = 4.0 / 3.0
"""Extra allowance for headers of more distinct keywords than the card reader caches (65,536):
past that, cards fall from the fast reader to the general one, a constant factor slower."""


def _best_of(runs: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - began)
    return best


def _object(cards: list[bytes]) -> bytes:
    """A primary HDU with ``cards`` after its structural ones, padded to whole blocks."""
    head = [
        b"SIMPLE  =                    T".ljust(80),
        b"BITPIX  =                    8".ljust(80),
        b"NAXIS   =                    0".ljust(80),
    ]
    body = b"".join(head + cards) + b"END".ljust(80)
    return body + b" " * (padded(len(body)) - len(body))


def _plain_cards(n: int, tag: str = "K") -> list[bytes]:
    """``n`` cards with distinct keywords (``tag`` keeps them distinct between headers)."""
    return [f"{tag}{i:07d}= {i:20d} / card {i}".ljust(80).encode() for i in range(n)]


def _recycled_cards(n: int, tag: str = "K") -> list[bytes]:
    """``n`` cards over 1,000 keywords, as in long WCS-table or HISTORY-heavy headers."""
    return [f"{tag}{i % 1000:07d}= {i:20d} / card {i}".ljust(80).encode() for i in range(n)]


def _mixed_cards(n: int, tag: str = "K") -> list[bytes]:
    """Cards of every kind the general reader handles: slow paths, not the fast one."""
    kinds = [
        b"HIERARCH ESO DET %s%d NAME = 'ccd' / hierarch",
        b"%s%06d= 1.5d3 / D exponent",
        b"%s%06d= (1.0, -2.5E3)",
        b"HISTORY  %s%d  \xe9\xe8 non-ASCII text",
        b"%s%06d= 'it''s quoted'' twice' / quotes",
        b"%s%06d= 12 34 56 / unparsable",
    ]
    t = tag.lower().encode()
    return [(kinds[i % len(kinds)] % (t, i)).ljust(80)[:80] for i in range(n)]


def _continue_cards(n: int, tag: str = "K") -> list[bytes]:
    """One long string of ``n`` CONTINUE pieces."""
    first = f"{tag}LONGSTR= 'start&'".ljust(80).encode()
    rest = [(b"CONTINUE  'piece%07d&'" % i).ljust(80) for i in range(n - 2)]
    return [first, *rest, b"CONTINUE  'end'".ljust(80)]


def _work(data: bytes) -> None:
    (hdu,) = walk_bytes(data, max_header_bytes=len(data) + BLOCK)
    header = hdu.header
    header.cards  # noqa: B018  (every card read)
    header.to_dict()
    for key in list(header)[:100]:
        header.get(key)


def _best_over(objects: list[bytes]) -> float:
    """The fastest walk over ``objects``, each walked once (their keywords are all new)."""
    return min(_best_of(1, lambda data=data: _work(data)) for data in objects)  # type: ignore[misc]


@pytest.mark.parametrize("make", [_recycled_cards, _plain_cards, _mixed_cards, _continue_cards])
def test_long_headers_cost_linear_time(make: Callable[[int, str], list[bytes]]) -> None:
    # Every header has keywords never seen before, as a hostile one would: the card reader's
    # per-keyword caches help neither size.
    _work(_object(make(1000, "W")))  # imports and first-call costs
    t_small = _best_over([_object(make(10_000, tag)) for tag in "ABC"])
    t_large = _best_over([_object(make(100_000, tag)) for tag in "DEF"])
    ratio = t_large / t_small
    slack = LINEAR_SLACK * (CACHE_CLIFF if make is _plain_cards else 1.0)
    assert ratio < 10 * slack, f"{make.__name__}: x10 cards cost x{ratio:.1f} time"


def test_long_string_value_is_joined_in_linear_time() -> None:
    def card(n: int) -> bytes:
        return b"".join(_continue_cards(n))

    small, large = card(10_000), card(100_000)
    assert len(parse_card(large).value) > 100_000  # type: ignore[arg-type]
    t_small = _best_of(3, lambda: parse_card(small))
    t_large = _best_of(3, lambda: parse_card(large))
    assert t_large / t_small < 10 * LINEAR_SLACK


def _feed_lazily(walker: Walker, source: Callable[[int, int], bytes]) -> tuple[object, int, int]:
    """Drive ``walker`` from ``source(start, end)``; return (outcome, requests, most held)."""
    requests = 0
    most = 0
    try:
        while True:
            event = walker.next_event()
            if isinstance(event, NeedData):
                requests += 1
                walker.feed(event.start, source(event.start, event.end))
                most = max(most, walker.held)
            elif isinstance(event, EndOfObject):
                return event, requests, most
            else:
                assert isinstance(event, HDU)
    except HeaderTooLargeError as err:
        return err, requests, most


def test_endless_header_holds_at_most_the_header_bound() -> None:
    # 10 GB of HISTORY cards after a SIMPLE card, made on demand: never an END.
    simple = b"SIMPLE  =                    T".ljust(80)
    history = b"HISTORY endless".ljust(80)

    def source(start: int, end: int) -> bytes:
        end = min(end, 10 * 2**30)
        out = bytearray(history * ((end - start) // 80 + 2))
        offset = start % 80
        out = out[offset : offset + end - start]
        if start == 0:
            out[:80] = simple
        return bytes(out)

    bound = 1000 * BLOCK
    walker = Walker(max_header_bytes=bound, object_size=10 * 2**30)
    outcome, requests, most = _feed_lazily(walker, source)
    assert isinstance(outcome, HeaderTooLargeError) and outcome.offset == 0
    assert most <= bound
    assert requests <= 12  # reads double while the header goes on


def test_header_read_incrementally_asks_a_logarithmic_number_of_ranges() -> None:
    data = _object(_plain_cards(100_000))  # 8 MB of header

    walker = Walker(max_header_bytes=len(data) + BLOCK, object_size=len(data))
    began = time.perf_counter()
    outcome, requests, most = _feed_lazily(walker, lambda s, e: data[s:e])
    elapsed = time.perf_counter() - began
    assert isinstance(outcome, EndOfObject) and outcome.hdu_count == 1
    assert requests <= 12
    assert most <= len(data)
    assert elapsed < 10


def _hdu(first: bytes, cards: list[bytes]) -> bytes:
    body = first + b"".join(cards) + b"END".ljust(80)
    return body + b" " * (padded(len(body)) - len(body))


@pytest.mark.parametrize(
    "structural",
    [
        [("NAXIS", 1), ("NAXIS1", 2**49)],  # just under the 1 PiB bound: a truncated HDU
        [("NAXIS", 3), ("NAXIS1", 2**20), ("NAXIS2", 2**20), ("NAXIS3", 2**20)],
        [("NAXIS", 2), ("NAXIS1", 10**60), ("NAXIS2", 10**60)],
        [("NAXIS", 1), ("NAXIS1", 1), ("PCOUNT", 2**62), ("GCOUNT", 2**62)],
        [("NAXIS", 998), *[(f"NAXIS{i}", 2) for i in range(1, 999)]],
        [("NAXIS", 999), *[(f"NAXIS{i}", 2**40) for i in range(1, 1000)]],
    ],
    ids=["2**49", "2**60", "10**120", "pcount", "998-axes", "999-axes-of-2**40"],
)
@pytest.mark.parametrize("where", ["primary", "extension"])
def test_forged_data_sizes_allocate_nothing(structural: list[tuple[str, int]], where: str) -> None:
    cards = [f"{k:<8}= {v:>20}".ljust(80).encode() for k, v in structural]
    if where == "primary":
        first = b"SIMPLE  =                    T".ljust(80) + b"BITPIX  = -64".ljust(80)
        data = _hdu(first, cards)
    else:
        first = b"XTENSION= 'BINTABLE'".ljust(80) + b"BITPIX  =                    8".ljust(80)
        data = _object([]) + _hdu(first, cards)
    tracemalloc.start()
    try:
        try:
            hdus = walk_bytes(data)
        except InvalidHeaderError:
            hdus = []
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * len(data) + (1 << 20), f"peak {peak} bytes"
    assert all(h.truncated for h in hdus if h.data_size)
