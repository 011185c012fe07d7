"""Lazy package faces (PEP 562): a package names what it offers, and a name's module is imported
only when the name is first used.

So ``import astro_cloud_async.fits`` costs what the FITS core needs and ``astro-cloud-async
--help`` loads neither aiohttp nor aiobotocore, while ``from astro_cloud_async import Client``
still works as usual. Each face also imports its names under ``TYPE_CHECKING``, for type
checkers and readers; at run time only this table is consulted.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["attach"]


def attach(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for the package ``package``.

    ``exports`` maps each public name to the module (relative to ``package``, e.g. ``".http"``)
    that defines it. A name is imported on first access and then kept in the package's
    namespace, so later accesses cost a plain attribute lookup.
    """
    names = sorted(exports)

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(names) | set(vars(sys.modules[package])))

    return __getattr__, __dir__, names
