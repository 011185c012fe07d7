"""Which Azure storage account a request goes to, where, and with which credential.

Resolved from the options first, then the variables the Azure tools read:
``AZURE_STORAGE_ACCOUNT_NAME``, ``AZURE_STORAGE_KEY`` (or ``AZURE_STORAGE_ACCOUNT_KEY``),
``AZURE_STORAGE_SAS_TOKEN`` and ``AZURE_STORAGE_CONNECTION_STRING``. A connection string may
hold the account, its key or a SAS, and the blob endpoint (which is how an emulator's address
is given; ``UseDevelopmentStorage=true`` means Azurite's well-known account on 127.0.0.1).
Credentials belong to the configured account only: a URL naming another account is read with
its own SAS or anonymously. Keys and SAS tokens never appear in a ``repr``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ...errors import ConfigurationError
from ...options import Options

__all__ = [
    "DEV_ACCOUNT",
    "DEV_ENDPOINT",
    "DEV_KEY",
    "AzureAccount",
    "configured_endpoint",
    "parse_connection_string",
    "resolve_account",
]

DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
"""Azurite's published development key (not a secret)."""
DEV_ENDPOINT = "http://127.0.0.1:10000/devstoreaccount1"


@dataclass(frozen=True, slots=True)
class AzureAccount:
    """One storage account: its blob endpoint (no trailing ``/``) and credentials."""

    name: str
    endpoint: str
    key: str | None = field(default=None, repr=False)
    sas: str | None = field(default=None, repr=False)
    """A SAS token (no leading ``?``)."""
    sas_first: bool = False
    """The SAS was given explicitly (``sas_token=``) and wins over the key."""


def parse_connection_string(text: str) -> dict[str, str]:
    """``Name=value;...`` as a dict with lower-case names (values may hold ``=``)."""
    fields: dict[str, str] = {}
    for part in text.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name.strip():
            fields[name.strip().lower()] = value.strip()
    if not fields:
        raise ConfigurationError("the Azure connection string holds no Name=value pair")
    if fields.get("usedevelopmentstorage", "").lower() == "true":
        fields.setdefault("accountname", DEV_ACCOUNT)
        fields.setdefault("accountkey", DEV_KEY)
        fields.setdefault("blobendpoint", DEV_ENDPOINT)
    return fields


def _connection(options: Options) -> dict[str, str]:
    text = options.connection_string or os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    return parse_connection_string(text) if text else {}


def _configured_name(options: Options, cs: dict[str, str]) -> str | None:
    return (
        options.account_name
        or os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
        or cs.get("accountname")
    )


def configured_endpoint(options: Options, *, connection_only: bool = False) -> str | None:
    """The blob endpoint of the configured account when it is not Azure's own (an emulator),
    so that HTTP(S) URLs under it can be told apart from plain web servers.

    ``connection_only``: only a connection string's ``BlobEndpoint`` counts, not
    ``endpoint_url`` (which may name an S3 endpoint when the URL's service is not known yet).
    """
    cs = _connection(options)
    endpoint = cs.get("blobendpoint") if connection_only else None
    if not connection_only:
        endpoint = options.endpoint_url or cs.get("blobendpoint")
    return endpoint.rstrip("/") if endpoint else None


def resolve_account(options: Options, named: str | None = None) -> AzureAccount:
    """The account ``named`` by a URL, or the configured one, with what applies to it."""
    cs = _connection(options)
    configured = _configured_name(options, cs)
    name = named or configured
    if not name:
        raise ConfigurationError(
            "no Azure storage account: give account_name=, AZURE_STORAGE_ACCOUNT_NAME, a "
            "connection string, or an https://ACCOUNT.blob.core.windows.net/ URL"
        )
    if configured is not None and name.lower() != configured.lower():
        return AzureAccount(name, f"https://{name}.blob.core.windows.net")
    endpoint = options.endpoint_url or cs.get("blobendpoint")
    if not endpoint:
        protocol = cs.get("defaultendpointsprotocol", "https")
        suffix = cs.get("endpointsuffix", "core.windows.net")
        endpoint = f"{protocol}://{name}.blob.{suffix}"
    key = (
        options.account_key
        or os.environ.get("AZURE_STORAGE_KEY")
        or os.environ.get("AZURE_STORAGE_ACCOUNT_KEY")
        or cs.get("accountkey")
    )
    sas = (
        options.sas_token
        or os.environ.get("AZURE_STORAGE_SAS_TOKEN")
        or cs.get("sharedaccesssignature")
    )
    return AzureAccount(
        name,
        endpoint.rstrip("/"),
        key or None,
        sas.lstrip("?") or None if sas else None,
        sas_first=bool(options.sas_token),
    )
