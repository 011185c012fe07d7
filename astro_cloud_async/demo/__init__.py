"""The built-in default: a sample survey of realistic FITS files, and a server for it.

:mod:`.survey` writes survey-like FITS files (TESS-like full-frame images, 60-CCD mosaic
exposures, tables; sparse on disk) with astropy, for the ``demo`` command, the tests and the
benchmarks. :mod:`.server` serves a folder with Range support on 127.0.0.1. Nothing is
imported until a name is used (astropy is heavy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .server import RangeServer as RangeServer
    from .server import check_range_support as check_range_support
    from .server import serve_directory as serve_directory
    from .server import serve_directory_in_thread as serve_directory_in_thread
    from .survey import write_survey as write_survey
    from .survey import write_test_corpus as write_test_corpus

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "RangeServer": ".server",
        "check_range_support": ".server",
        "serve_directory": ".server",
        "serve_directory_in_thread": ".server",
        "write_survey": ".survey",
        "write_test_corpus": ".survey",
    },
)
