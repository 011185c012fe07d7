"""The architecture page matches the code: its layers are the import-linter contract's, and
every module and file its diagram and steps name exists."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "architecture.md"
PACKAGE = ROOT / "astro_cloud_async"


def contract_layers() -> list[list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    return [
        sorted(name.strip().removeprefix("astro_cloud_async.") for name in layer.split("|"))
        for layer in contract["layers"]
    ]


def page_layers() -> list[list[str]]:
    text = PAGE.read_text(encoding="utf-8")
    section = text[text.index("## The layers") :]
    rows = re.findall(r"^\| (\d+) \| (.+?) \|", section, flags=re.MULTILINE)
    assert [int(number) for number, _ in rows] == list(range(1, len(rows) + 1))
    return [sorted(re.findall(r"`([\w.]+)`", modules)) for _, modules in rows]


def test_the_layers_table_is_the_import_linter_contract() -> None:
    assert page_layers() == contract_layers()


def test_every_file_the_page_names_exists() -> None:
    text = PAGE.read_text(encoding="utf-8")
    text = re.sub(r"\S*://\S*|\s/data/\w+|\.ci/run", " ", text)  # URLs and paths of examples
    named = set(re.findall(r"\b((?:[a-z_0-9]+/)+(?:[a-z_0-9]+\.py)?)", text))
    named |= set(re.findall(r"(?<![\w/.])([a-z_0-9]+\.py)\b", text))
    assert len(named) > 15
    missing = []
    for name in sorted(named):
        if name.startswith(("benchmarks/", "tests/", "astro_cloud_async/")):
            path = ROOT / name
        elif "/" in name:
            path = PACKAGE / name
        else:  # a bare file name: somewhere in the package
            path = next(PACKAGE.rglob(name), PACKAGE / name)
        if not path.exists():
            missing.append(name)
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"


def test_the_diagram_names_the_layers_of_the_data_path() -> None:
    text = PAGE.read_text(encoding="utf-8")
    diagram = text[text.index("```{graphviz}") : text.index("```", text.index("digraph"))]
    for layer in ("client", "scanner", "stores", "pool", "fits", "records", "catalog"):
        assert f"{layer}/" in diagram or f"{layer}.py" in diagram, layer
