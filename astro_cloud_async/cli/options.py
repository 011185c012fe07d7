"""Command-line flags for the library's :class:`~astro_cloud_async.options.Options`.

Strategy: one table maps each flag to the ``Options`` field of the same name (``--first-read``
to ``first_read``), so the command line cannot drift from the library: a test checks that every
field has its flag. Flags default to "not given" and only given ones reach
:meth:`Options.from_kwargs`, which builds the options once and keeps the library's defaults and
validation.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError
from ..options import BLOCK, Options

__all__ = ["FLAGS", "add_option_flags", "options_from_args", "parse_size"]

_SIZE = re.compile(
    r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>|b|k|kb|kib|m|mb|mib|g|gb|gib|blocks?)\s*$", re.I
)
_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1000,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1000**3,
    "gib": 1024**3,
    "block": BLOCK,
    "blocks": BLOCK,
}


def parse_size(text: str) -> int:
    """A byte count: ``28800``, ``64k`` / ``64KiB`` (binary), ``1MB`` (decimal), ``10blocks``."""
    m = _SIZE.match(text)
    if m is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 28800, 64k, 10blocks)")
    return int(float(m.group("n")) * _UNITS[m.group("unit").lower()])


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    return name.strip(), value.strip()


@dataclass(frozen=True)
class Flag:
    field: str
    kind: Callable[[str], Any] | None
    """Parser of the value; ``None`` for a switch."""
    help: str
    metavar: str | None = None
    repeat: bool = False


FLAGS: tuple[Flag, ...] = (
    Flag("concurrency", int, "requests in flight at once (default 256)", "N"),
    Flag(
        "connections_per_host",
        int,
        "requests in flight to one host, fixed (default: from 64, grown while answers stay fast)",
        "N",
    ),
    Flag("max_objects_in_flight", int, "objects walked at once (default: --concurrency)", "N"),
    Flag("first_read", parse_size, "size of an object's first read (default 10 blocks)", "SIZE"),
    Flag("next_read", parse_size, "size of a read after skipping data (default 8 blocks)", "SIZE"),
    Flag("predict_layout", None, "do not prefetch headers where a folder's layout is known"),
    Flag("multi_range", None, "never ask for several ranges in one HTTP request"),
    Flag(
        "max_stream_bytes",
        parse_size,
        "from a server ignoring Range, read at most SIZE of an object (default 64MiB)",
        "SIZE",
    ),
    Flag("retries", int, "retries of a failed request (default 5)", "N"),
    Flag("backoff", float, "base of the exponential back-off, seconds (default 0.1)", "S"),
    Flag("max_backoff", float, "longest back-off, seconds (default 10)", "S"),
    Flag("timeout", float, "seconds allowed for one request (default 30)", "S"),
    Flag("connect_timeout", float, "seconds allowed to connect (default 10)", "S"),
    Flag("anon", None, "send no credentials (public buckets and containers)"),
    Flag("requester_pays", None, "requester-pays buckets (S3, GCS): your account pays"),
    Flag("endpoint_url", str, "endpoint of an S3-compatible service, GCS emulator or Azure", "URL"),
    Flag("region", str, "S3 region", "REGION"),
    Flag("profile", str, "AWS credentials profile", "NAME"),
    Flag("project", str, "GCS project billed for requester-pays reads", "PROJECT"),
    Flag("account_name", str, "Azure storage account of az:// and abfs:// URLs", "NAME"),
    Flag("account_key", str, "Azure account key (prefer AZURE_STORAGE_KEY)", "KEY"),
    Flag("sas_token", str, "Azure SAS token (prefer AZURE_STORAGE_SAS_TOKEN)", "SAS"),
    Flag(
        "connection_string",
        str,
        "Azure connection string (prefer AZURE_STORAGE_CONNECTION_STRING)",
        "TEXT",
    ),
    Flag(
        "headers",
        _header,
        "extra HTTP request header, e.g. 'Authorization: Bearer …' (repeatable)",
        "'NAME: VALUE'",
        repeat=True,
    ),
    Flag(
        "suffixes",
        str,
        "when listing, keep keys ending in SUFFIX, e.g. .fits (repeatable)",
        "SUFFIX",
        repeat=True,
    ),
    Flag("max_header_bytes", parse_size, "give up on a header with no END within SIZE", "SIZE"),
    Flag("max_hdus", int, "give up on an object with more HDUs", "N"),
)
"""Every ``Options`` field settable from the command line (``auth``: use ``--header``)."""

_FLAG_NAMES = {
    "headers": "--header",
    "suffixes": "--suffix",
    "predict_layout": "--no-predict-layout",
    "multi_range": "--no-multi-range",
}
_ON_BY_DEFAULT = frozenset({"predict_layout", "multi_range"})
"""Switches whose flag turns the option off."""


def add_option_flags(parser: argparse.ArgumentParser) -> None:
    """Add the fetch options to ``parser`` (in their own group)."""
    group = parser.add_argument_group("fetching (the library's Options)")
    for flag in FLAGS:
        name = _FLAG_NAMES.get(flag.field, "--" + flag.field.replace("_", "-"))
        if flag.kind is None:
            group.add_argument(
                name,
                dest=flag.field,
                action="store_false" if flag.field in _ON_BY_DEFAULT else "store_true",
                default=argparse.SUPPRESS,
                help=flag.help,
            )
        else:
            group.add_argument(
                name,
                dest=flag.field,
                type=flag.kind,
                metavar=flag.metavar,
                action="append" if flag.repeat else "store",
                default=argparse.SUPPRESS,
                help=flag.help,
            )


def options_from_args(args: argparse.Namespace, **extra: Any) -> Options:
    """The one ``Options`` of this command: the flags given, then ``extra``."""
    given: dict[str, Any] = {}
    for flag in FLAGS:
        if hasattr(args, flag.field):
            given[flag.field] = getattr(args, flag.field)
    if "headers" in given:
        given["headers"] = dict(given["headers"])
    if "suffixes" in given:
        given["suffixes"] = tuple(given["suffixes"])
    given.update(extra)
    try:
        return Options.from_kwargs(**given)
    except ConfigurationError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigurationError(str(err)) from err
