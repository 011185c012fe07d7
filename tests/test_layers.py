"""The layers hold at import time: what importing each entry point loads, and no cycles.

import-linter (run by ``.ci/run``) checks which layer may import which; these tests check the
consequences a user feels: the FITS core and the command line's start load none of the heavy
libraries, and no two modules of the package import each other, directly or round a loop.
"""

from __future__ import annotations

import json
import subprocess
import sys

import grimp
import pytest

HEAVY = ("aiohttp", "aiobotocore", "botocore", "pyarrow", "astropy", "numpy", "asyncio")


def loaded_after(code: str) -> set[str]:
    """The top-level packages among :data:`HEAVY` that ``code`` loads in a fresh interpreter."""
    probe = (
        f"import sys\n{code}\nimport json\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    ("code", "allowed"),
    [
        ("import astro_cloud_async", set()),
        ("import astro_cloud_async.fits", set()),
        ("from astro_cloud_async.fits import parse_header, Walker", set()),
        ("import astro_cloud_async.stores, astro_cloud_async.catalog", set()),
        ("from astro_cloud_async import Options, HDURecord, AstroCloudError", set()),
        # The S3 store's code (and aiobotocore) comes only with an S3 URL.
        ("from astro_cloud_async import Client", {"aiohttp", "asyncio"}),
    ],
)
def test_imports_load_only_what_they_need(code: str, allowed: set[str]) -> None:
    assert loaded_after(code) <= allowed


def test_command_line_help_loads_no_library_stack() -> None:
    code = (
        "from astro_cloud_async.cli import main\n"
        "import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])"
    )
    assert loaded_after(code) == set()


def test_one_command_loads_only_its_own_module() -> None:
    code = (
        "from astro_cloud_async.cli import main\n"
        "import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['info', '--help'])\n"
        "assert 'astro_cloud_async.cli.index' not in sys.modules\n"
        "assert 'astro_cloud_async.cli.info' in sys.modules"
    )
    assert "aiobotocore" not in loaded_after(code)


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycle_in_the_package() -> None:
    graph = grimp.build_graph("astro_cloud_async", exclude_type_checking_imports=True)
    assert len(graph.modules) > 50
    assert _cycles(graph) == []
    # The check itself finds a cycle when there is one.
    graph.add_import(importer="astro_cloud_async.fits.layout", imported="astro_cloud_async.client")
    assert _cycles(graph) != []
