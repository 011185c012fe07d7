"""Coverage-guided fuzzing of the FITS core with atheris (libFuzzer), run by hand.

    pip install atheris
    python tests/fuzz/atheris_fits.py -max_total_time=600 [CORPUS_DIR ...]
    python tests/fuzz/atheris_fits.py --strict -runs=200000 CORPUS_DIR

Strategy: hypothesis (test_fuzz_fits.py) explores mutations we thought of; libFuzzer explores
the branches the code has, guided by coverage of the instrumented package. Each input is walked
twice (size known, then never told), its headers are used through every accessor, and its
first bytes are read as a card. Anything raised that is not an ``AstroCloudError`` is a crash:
libFuzzer stops and writes the input to ``crash-*``. ``--strict`` also checks the walk's
invariants (contiguous block-aligned HDUs, every header ended by an END card).

With no corpus folder, a fresh one is seeded with astropy's test files and the sample corpus.
libFuzzer reports the inputs tried (``#N`` lines, ``Done N runs``); the harness also prints
its own count every 10,000 inputs.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["astro_cloud_async"]):
    from astro_cloud_async.errors import AstroCloudError
    from astro_cloud_async.fits import (
        BLOCK,
        HDU,
        EndOfObject,
        Header,
        NeedData,
        Walker,
        parse_card,
        parse_header,
        walk_bytes,
    )

STRICT = "--strict" in sys.argv
TRIED = 0


def _use(header: Header) -> None:
    header.cards  # noqa: B018
    header.to_dict()
    for key in header:
        header.get(key)
    repr(header)


def _walk_without_size(data: bytes) -> list[HDU]:
    walker = Walker()
    hdus = []
    while True:
        event = walker.next_event()
        if isinstance(event, NeedData):
            walker.feed(event.start, data[event.start : event.end])
        elif isinstance(event, HDU):
            hdus.append(event)
        else:
            assert isinstance(event, EndOfObject)
            return hdus


def _check(hdus: list[HDU]) -> None:
    pos = 0
    for hdu in hdus:
        assert hdu.header_offset == pos and pos % BLOCK == 0, hdu
        assert hdu.data_offset % BLOCK == 0 and hdu.data_offset > hdu.header_offset, hdu
        assert hdu.header.ended, hdu
        pos = hdu.end


def test_one_input(data: bytes) -> None:
    global TRIED
    TRIED += 1
    if TRIED % 10_000 == 0:
        print(f"inputs tried: {TRIED}", file=sys.stderr, flush=True)
    parse_card(data[:240])
    _use(parse_header(data[: 40 * BLOCK]))
    for walk in (walk_bytes, _walk_without_size):
        try:
            hdus = walk(data)
        except AstroCloudError:
            continue
        for hdu in hdus:
            _use(hdu.header)
        if STRICT:
            _check(hdus)


def _seed_corpus() -> str:
    sys.path.insert(0, str(Path(__file__).parent))
    from fuzz_inputs import seed_objects

    folder = Path(tempfile.mkdtemp(prefix="fits-corpus-"))
    for i, data in enumerate(seed_objects()):
        (folder / f"seed{i:03d}.fits").write_bytes(data[: 64 * 1024])
    return str(folder)


def main() -> None:
    argv = [a for a in sys.argv if a != "--strict"]
    if not [a for a in argv[1:] if not a.startswith("-")]:
        argv.append(_seed_corpus())
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
