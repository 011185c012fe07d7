"""Virtual datasets: kerchunk references that make the images of a catalog zarr arrays.

::

    from astro_cloud_async.virtual import open_references, write_references

    write_references("sector.parquet", "sector.json", stack=True)  # no byte read or copied
    group = open_references("sector.json", remote_protocol="s3", remote_options={"anon": True})
    cube = group["stack1"]            # (frames, NAXIS2, NAXIS1), read lazily by rows

or with xarray: ``xarray.open_dataset("reference://", engine="zarr", consolidated=False,
zarr_format=2, storage_options={"fo": "sector.json"})`` once
:mod:`astro_cloud_async.virtual.codec` is imported (scaled images need its filter).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .refs import DEFAULT_CHUNK_BYTES as DEFAULT_CHUNK_BYTES
    from .refs import ImageRef as ImageRef
    from .refs import image_refs as image_refs
    from .refs import open_references as open_references
    from .refs import references as references
    from .refs import rows_per_chunk as rows_per_chunk
    from .refs import write_references as write_references

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "DEFAULT_CHUNK_BYTES": ".refs",
        "ImageRef": ".refs",
        "image_refs": ".refs",
        "open_references": ".refs",
        "references": ".refs",
        "rows_per_chunk": ".refs",
        "write_references": ".refs",
    },
)
