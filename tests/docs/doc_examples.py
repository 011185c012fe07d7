"""The examples of the documentation pages, found and run so that they cannot rot.

Strategy: a page's examples are its fenced code blocks in ``python``, ``bash`` and ``console``
(``text`` blocks are output or syntax, and are not run). They run in page order, sharing one
namespace per page, as a reader would run them one after the other: Python in the process
(top-level ``await`` works, as in a notebook, on one event loop per page), shell commands with
bash, ``console`` blocks as ``$``-prefixed commands whose output must match the block's
(``...`` matches anything, whitespace is normalised).

Two HTML comments, invisible on the rendered page and on GitHub, steer the runner:

* ``<!-- skip: REASON -->`` before a block: the block is not run (reported as skipped, with the
  reason). Only for what cannot run here: real AWS buckets, a Dask scheduler you name, ...
* ``<!-- setup` then Python code then ``-->``: code run before the next block, in the page's
  namespace, for names an example takes as given (``records``, ``urls``).

The pages name places that do not exist here (``https://archive.example/``, ``s3://my-bucket/``,
``/shared/``). :class:`World` serves those names from the project's real test servers (nginx
for HTTP, SeaweedFS for S3) and a scratch folder, and :data:`PLACES` says how each name is
rewritten before a block runs; the code itself runs as written.
"""

from __future__ import annotations

import ast
import asyncio
import doctest
import inspect
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
RUN_LANGUAGES = ("python", "bash", "console")
SKIP = re.compile(r"<!--\s*skip:\s*(?P<reason>.+?)\s*-->\s*$", re.DOTALL)
SETUP = re.compile(r"<!--\s*setup\s*\n(?P<code>.*?)-->\s*$", re.DOTALL)


@dataclass(frozen=True)
class Example:
    """One code block of a page: what to run, where it is, and whether to run it."""

    page: Path
    line: int
    """1-based line of the block's first line of code."""
    language: str
    source: str
    setup: str = ""
    """Hidden code (``<!-- setup``) to run first, in the same namespace."""
    setup_line: int = 0
    skip: str | None = None

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(DOCS).as_posix()}:{self.line}"


def pages() -> list[Path]:
    """Every Markdown page of the site (not the generated reference or the build)."""
    return sorted(
        path
        for path in DOCS.rglob("*.md")
        if not {"_build", "generated"}.intersection(path.relative_to(DOCS).parts)
    )


def examples(page: Path) -> list[Example]:
    """The runnable blocks of ``page``, in order, each with its skip reason and set-up code."""
    found: list[Example] = []
    skip: str | None = None
    setup: list[str] = []
    setup_line = 0
    for token in MarkdownIt("commonmark").parse(page.read_text(encoding="utf-8")):
        assert token.map is not None or token.type != "fence"
        if token.type == "html_block":
            if match := SKIP.match(token.content.strip()):
                skip = " ".join(match["reason"].split())
            elif match := SETUP.match(token.content.strip()):
                setup.append(match["code"])
                setup_line = setup_line or (token.map[0] + 2 if token.map else 0)
            continue
        if token.type != "fence":
            continue
        language = token.info.strip().split()[0] if token.info.strip() else ""
        if language in RUN_LANGUAGES and token.map is not None:
            found.append(
                Example(
                    page=page,
                    line=token.map[0] + 2,
                    language=language,
                    source=token.content,
                    setup="".join(setup),
                    setup_line=setup_line,
                    skip=skip,
                )
            )
        skip, setup, setup_line = None, [], 0
    return found


# --- running --------------------------------------------------------------------------------


def substitute(source: str, places: list[tuple[str, str]]) -> str:
    for name, place in places:
        source = source.replace(name, place)
    return source


@dataclass
class PageRun:
    """What the examples of one page share: a namespace, an event loop, a working folder."""

    page: Path
    workspace: Path
    places: list[tuple[str, str]]
    env: dict[str, str]
    namespace: dict[str, Any] = field(default_factory=dict)
    loop: asyncio.AbstractEventLoop | None = None
    closers: list[Callable[[], object]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.namespace.update({"__name__": "__main__", "__builtins__": __builtins__})

    def close(self) -> None:
        for close in reversed(self.closers):
            close()
        if self.loop is not None:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()
            self.loop = None

    def run(self, example: Example) -> None:
        if example.setup:
            self.run_python(example.setup, example.setup_line)
        if example.language == "python":
            self.run_python(example.source, example.line)
        elif example.language == "bash":
            self.run_shell(example.source, example.line)
        else:
            self.run_console(example.source, example.line)

    def run_python(self, source: str, line: int) -> None:
        source = "\n" * (line - 1) + substitute(source, self.places)
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        code = compile(source, str(self.page), "exec", flags=flags, dont_inherit=True)
        if code.co_flags & inspect.CO_COROUTINE:
            if self.loop is None:
                self.loop = asyncio.new_event_loop()
            self.loop.run_until_complete(eval(code, self.namespace))
        else:
            exec(code, self.namespace)

    def shell(self, command: str, line: int) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", substitute(command, self.places)],
            cwd=self.workspace,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"{self.page.name}:{line}: exit status {done.returncode}\n"
                f"$ {command}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
            )
        return done

    def run_shell(self, source: str, line: int) -> None:
        self.shell(source, line)

    def run_console(self, source: str, line: int) -> None:
        for command, expected, at in console_commands(source, line):
            done = self.shell(command, at)
            checker = doctest.OutputChecker()
            options = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
            got = done.stdout + done.stderr
            if expected and not checker.check_output(expected, got, options):
                raise AssertionError(
                    f"{self.page.name}:{at}: the output of `{command}` differs from the page's\n"
                    + checker.output_difference(doctest.Example(command, expected), got, options)
                )


def console_commands(source: str, line: int) -> Iterator[tuple[str, str, int]]:
    """``(command, expected output, line)`` for each ``$ command`` of a console block."""
    command: str | None = None
    at = line
    output: list[str] = []
    for offset, text in enumerate(source.splitlines()):
        if text.startswith("$ "):
            if command is not None:
                yield command, "\n".join(output).strip() + "\n", at
            command, at, output = text[2:], line + offset, []
        else:
            output.append(text)
    if command is not None:
        yield command, "\n".join(output).strip() + "\n", at


def command_shims(folder: Path) -> Path:
    """A folder with an ``astro-cloud-async`` that runs this tree's package with this Python."""
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "astro-cloud-async"
    shim.write_text(
        textwrap.dedent(
            f"""\
            #!/bin/sh
            exec {sys.executable} -m astro_cloud_async.cli "$@"
            """
        )
    )
    shim.chmod(0o755)
    return folder


def subprocess_env(shims: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{shims}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("PYTEST_CURRENT_TEST", None)
    env["TMPDIR"] = str(fresh_folder(shims.parent / "tmp"))  # what a command leaves stays here
    return env


def fresh_folder(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
