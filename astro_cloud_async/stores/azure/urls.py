"""Azure Blob Storage URL forms.

``az://container/blob`` and ``abfs://container/blob`` (also ``abfss://``, as adlfs writes
them) leave the account to the configuration; ``abfs://container@ACCOUNT.dfs.core.windows.net/
blob`` names it. ``https://ACCOUNT.blob.core.windows.net/container/blob`` is the service's own
form; its query, if any, is a SAS token, and belongs to the request, never to the location.
Under a custom blob endpoint (an emulator's ``http://127.0.0.1:10000/devstoreaccount1``),
``{endpoint}/container/blob`` names a blob too.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from ...errors import ConfigurationError

__all__ = [
    "AzureLocation",
    "account_host",
    "azure_schemes",
    "blob_path",
    "parse_azure_https",
    "parse_azure_url",
    "url_sas",
]

azure_schemes = frozenset({"az", "abfs", "abfss"})
_SERVICE_SUFFIXES = (".blob.core.windows.net", ".dfs.core.windows.net")


@dataclass(frozen=True, slots=True)
class AzureLocation:
    """A container and blob name (``blob`` may be a prefix or empty); ``account`` when the URL
    names it."""

    container: str
    blob: str
    account: str | None = None


def account_host(host: str) -> str | None:
    """The account of a ``ACCOUNT.blob.core.windows.net`` (or ``.dfs.``) host, else ``None``."""
    host = host.lower()
    for suffix in _SERVICE_SUFFIXES:
        if host.endswith(suffix) and len(host) > len(suffix):
            account = host[: -len(suffix)]
            return account if "." not in account else None
    return None


def parse_azure_url(url: str) -> AzureLocation:
    """Split ``az://container/blob`` or ``abfs[s]://container[@ACCOUNT.dfs.core.windows.net]/blob``."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in azure_schemes:
        raise ConfigurationError("not an az:// or abfs:// URL", url=url)
    netloc, _, blob = rest.partition("/")
    container, at, host = netloc.partition("@")
    account = None
    if at:
        account = account_host(host)
        if account is None:
            raise ConfigurationError("the host after '@' is not an Azure storage host", url=url)
    if not container:
        raise ConfigurationError("Azure URL without a container", url=url)
    return AzureLocation(container, blob, account)


def parse_azure_https(url: str, *, endpoint: str | None = None) -> AzureLocation | None:
    """The blob an HTTP(S) URL names (a SAS query is allowed), or ``None``.

    ``https://ACCOUNT.blob.core.windows.net/container/blob`` always; with ``endpoint`` (a blob
    service URL such as an emulator's), ``{endpoint}/container/blob`` as well.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return None
    path: str | None = None
    account = account_host(parts.hostname or "")
    if account is not None:
        path = parts.path.lstrip("/")
    elif endpoint is not None:
        ep = urlsplit(endpoint)
        base = ep.path.rstrip("/")
        same = (parts.scheme.lower(), parts.netloc.lower()) == (
            ep.scheme.lower(),
            ep.netloc.lower(),
        )
        if same and parts.path.startswith(base + "/"):
            path = parts.path[len(base) + 1 :]
    if not path:
        return None
    container, _, blob = path.partition("/")
    return AzureLocation(unquote(container), unquote(blob), account) if container else None


def url_sas(url: str) -> str | None:
    """The SAS token an HTTPS URL carries (its query), if any."""
    if "?" not in url or "://" not in url or url.partition("://")[0].lower() in azure_schemes:
        return None
    query = urlsplit(url).query
    return query or None


def blob_path(container: str, blob: str) -> str:
    """``/container/blob`` percent-encoded as the Azure SDKs send it (``/`` kept)."""
    return f"/{quote(container, safe='')}/{quote(blob, safe='/~')}" if blob else f"/{container}"
