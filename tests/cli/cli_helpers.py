"""Helpers of the command-line tests: run the installed command, write small FITS files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from astropy.io import fits

Run = Callable[..., subprocess.CompletedProcess[str]]


def command() -> list[str]:
    """The console script when installed, else the module (the same ``main``)."""
    script = shutil.which("astro-cloud-async")
    return [script] if script else [sys.executable, "-m", "astro_cloud_async.cli"]


def popen(*args: str | os.PathLike[str], **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(  # type: ignore[call-overload,no-any-return]
        [*command(), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def write_small_files(directory: Path, n: int, *, seed: int = 0) -> list[Path]:
    """``n`` small FITS files of one to three HDUs each, with a few keywords."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        primary = fits.PrimaryHDU()
        primary.header["OBJECT"] = f"field {i:03d}"
        primary.header["EXPTIME"] = float(rng.integers(10, 300))
        hdus = [primary]
        for j in range(i % 3):
            image = fits.ImageHDU(np.zeros((4, 5 + j), dtype=np.int16), name=f"SCI{j + 1}")
            hdus.append(image)
        path = directory / f"frame_{i:03d}.fits"
        fits.HDUList(hdus).writeto(path)
        paths.append(path)
    return paths
