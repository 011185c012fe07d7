"""The scan layer: drive the walker over one object, and many objects at once.

:mod:`.walk` drives one object (ask, fetch, feed), :mod:`.sources` turns the caller's sources
into object URLs, lazily, and :mod:`.engine` runs a bounded number of walks and yields their
records as they complete. The public entry points built on these are
:func:`astro_cloud_async.scan` and :class:`astro_cloud_async.Client`.
"""

from .engine import ScanCounts, object_limit, run_scan
from .sources import Resolver, Source, Sources, iter_sources, object_urls
from .walk import Fetcher, ObjectOutcome, make_walker, walk_object

__all__ = [
    "Fetcher",
    "ObjectOutcome",
    "Resolver",
    "ScanCounts",
    "Source",
    "Sources",
    "iter_sources",
    "make_walker",
    "object_limit",
    "object_urls",
    "run_scan",
    "walk_object",
]
