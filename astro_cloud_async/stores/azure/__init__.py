"""Azure Blob Storage: URL forms, account configuration, Shared Key signing, listing, the store.

Only :mod:`.store` needs aiohttp; the URL forms, the configuration and the signer are plain
Python, and this face imports nothing until a name is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._lazy import attach

if TYPE_CHECKING:
    from .config import AzureAccount as AzureAccount
    from .config import parse_connection_string as parse_connection_string
    from .config import resolve_account as resolve_account
    from .sharedkey import SharedKeySigner as SharedKeySigner
    from .store import AzureStore as AzureStore
    from .urls import AzureLocation as AzureLocation
    from .urls import parse_azure_https as parse_azure_https
    from .urls import parse_azure_url as parse_azure_url

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "AzureAccount": ".config",
        "AzureLocation": ".urls",
        "AzureStore": ".store",
        "SharedKeySigner": ".sharedkey",
        "parse_azure_https": ".urls",
        "parse_azure_url": ".urls",
        "parse_connection_string": ".config",
        "resolve_account": ".config",
    },
)
