"""Fuzz-test set-up.

Hypothesis writes a patch for each failing example through ``hypothesis.extra._patching``,
which imports libcst, which touches a deprecated ``mypy_extensions`` name. Under the suite's
``filterwarnings = error`` that warning turns a clean failure report into an INTERNALERROR, so
the module is imported here once, with deprecation warnings ignored.
"""

from __future__ import annotations

import contextlib
import warnings

with warnings.catch_warnings(), contextlib.suppress(ImportError):  # no libcst: no patches
    warnings.simplefilter("ignore", DeprecationWarning)
    import hypothesis.extra._patching  # noqa: F401
