"""A footprint worker process: batches of footprint jobs in on stdin, their columns out on stdout.

Run by the index job as ``python -m astro_cloud_async.sky.worker PRIORITY`` (see
:mod:`astro_cloud_async.indexing.workers`). It loads numpy and the footprint code and nothing
else: not the caller's main module, not the HTTP stack, so it starts in a fraction of the CPU a
``multiprocessing`` worker takes (which imports the parent's main module and its packages).

Frames both ways are an 8-byte big-endian length and a pickle: a list of
:data:`~.footprints.FootprintJob` in, ``(True, columns)`` or ``(False, message)`` out, one
answer per batch, in order. The process lowers its own priority first, ignores SIGINT (the run
decides what an interruption does), keeps its real stdout for frames only (anything printed
goes to stderr), and ends at the end of its input: when the run closes it, or when the run's
process dies however it dies.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import sys
from typing import BinaryIO, NoReturn

__all__ = ["FRAME", "encode_frame", "main", "read_frame", "serve", "write_frame"]

FRAME = struct.Struct(">Q")
"""The length that comes before each pickle."""


def read_frame(stream: BinaryIO) -> bytes | None:
    """The next frame's pickle, or None at the end of the input (a frame cut short too)."""
    head = stream.read(FRAME.size)
    if len(head) < FRAME.size:
        return None
    (size,) = FRAME.unpack(head)
    data = stream.read(size)
    return data if len(data) == size else None


def encode_frame(value: object) -> bytes:
    """``value`` as one frame: its pickle's length, then the pickle (both ways use it)."""
    blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return FRAME.pack(len(blob)) + blob


def write_frame(stream: BinaryIO, value: object) -> None:
    stream.write(encode_frame(value))
    stream.flush()


def serve(source: BinaryIO, sink: BinaryIO) -> None:
    """Answer every batch of ``source`` on ``sink`` until the input ends."""
    from .footprints import footprint_columns_of_jobs

    while (data := read_frame(source)) is not None:
        try:
            reply: tuple[bool, object] = (True, footprint_columns_of_jobs(pickle.loads(data)))
        except Exception as err:  # a bad batch fails alone; the run decides what follows
            reply = (False, f"{type(err).__name__}: {err}")
        write_frame(sink, reply)


def main(argv: list[str]) -> NoReturn:
    if argv:
        with contextlib.suppress(OSError, ValueError):  # refused: the inherited priority
            os.setpriority(os.PRIO_PROCESS, 0, int(argv[0]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sink = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not break a frame
    with contextlib.suppress(BrokenPipeError):  # the run is gone: nobody to answer
        serve(sys.stdin.buffer, sink)
    # Every answer is written and flushed: end at once, without the interpreter's teardown
    # (tens of milliseconds with numpy loaded) that the run would otherwise wait for.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
