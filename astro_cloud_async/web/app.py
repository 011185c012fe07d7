"""The aiohttp application: routes of the API, the page and its static files.

Every route under ``/api/`` answers JSON (or a file, an image, an event stream) and is guarded
by the token (:mod:`.guard`). The page itself (``/``) needs the token too; the static files it
loads (scripts, styles, fonts) are the package's own and need none. Handlers stay thin: the
work is in :mod:`.drop` (a dropped file's headers), :mod:`.scans` (scans), :mod:`.tables` and
:mod:`.query` (catalogs), :mod:`.preview` (cutouts).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from .. import __version__
from ..catalog.rows import normalize_keywords
from ..client import Client
from ..errors import ConfigurationError
from ..options import Options
from ..sections.read import record_from_row
from .drop import WalkSessions
from .errors import BadRequestError, NotFoundError
from .guard import TOKEN, guard_middleware
from .preview import preview_png
from .query import Query
from .scans import ScanJob, catalog_bytes
from .tables import Tables, footprints, page, row_detail, table_info

__all__ = ["MAX_BODY", "WebSettings", "create_app"]

MAX_BODY = 16 * 1024 * 1024
"""Largest request body: the walker's largest read (a 4096-block header) fits."""
MAX_RUNNING_SCANS = 4
MAX_KEPT_SCANS = 16

SCAN_OPTION_NAMES = ("anon", "requester_pays", "endpoint_url", "region", "profile")


@dataclass
class WebSettings:
    """What ``serve`` was started with."""

    token: str
    catalogs: list[Path] = field(default_factory=list)
    options: Options = field(default_factory=Options)
    """Defaults for scans started from the page, and the options previews read with."""


SETTINGS = web.AppKey("settings", WebSettings)
TABLES = web.AppKey("tables", Tables)
WALKS = web.AppKey("walks", WalkSessions)
SCANS = web.AppKey("scans", dict[str, ScanJob])
CLIENT = web.AppKey("client", Client)


def _static_root() -> Path:
    return Path(str(resources.files("astro_cloud_async.web") / "static"))


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, default=str))


def _int(request: web.Request, name: str, default: int | None = None) -> int:
    text = request.query.get(name)
    if text is None:
        if default is None:
            raise BadRequestError(f"the parameter {name!r} is missing")
        return default
    try:
        return int(text)
    except ValueError:
        raise BadRequestError(f"{name} must be an integer, got {text!r}") from None


async def _body_json(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise BadRequestError("the request body is not JSON") from None
    if not isinstance(data, dict):
        raise BadRequestError("the request body must be a JSON object")
    return data


# --- the page --------------------------------------------------------------------------------


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(_static_root() / "index.html")


async def info(request: web.Request) -> web.Response:
    tables = request.app[TABLES]
    return _json(
        {
            "version": __version__,
            "catalogs": [
                {"id": t.id, "name": t.name, "kind": t.kind} for t in tables if t.kind == "catalog"
            ],
        }
    )


# --- a dropped file --------------------------------------------------------------------------


async def open_file(request: web.Request) -> web.Response:
    data = await _body_json(request)
    name, size = data.get("name"), data.get("size")
    if not isinstance(name, str) or not isinstance(size, int) or isinstance(size, bool):
        raise BadRequestError("give the file's name and size")
    session = request.app[WALKS].open(name, size)
    answer = session.advance()
    if answer["done"]:
        request.app[WALKS].close(session.id)
    return _json(answer)


async def feed_file(request: web.Request) -> web.Response:
    walks = request.app[WALKS]
    session = walks.get(request.match_info["id"])
    answer = session.feed(_int(request, "start"), await request.read())
    if answer["done"]:
        walks.close(session.id)
    return _json(answer)


async def close_file(request: web.Request) -> web.Response:
    request.app[WALKS].close(request.match_info["id"])
    return _json({})


# --- scans -----------------------------------------------------------------------------------


def scan_options(base: Options, form: dict[str, Any]) -> Options:
    """``base`` with the options typed into the scan form."""
    given: dict[str, Any] = {}
    for name in SCAN_OPTION_NAMES:
        value = form.get(name)
        if isinstance(value, bool):
            if value:
                given[name] = True
        elif isinstance(value, str) and value.strip():
            given[name] = value.strip()
    suffixes = form.get("suffixes")
    if isinstance(suffixes, str) and suffixes.strip():
        given["suffixes"] = tuple(s.strip() for s in suffixes.split(",") if s.strip())
    return Options.from_kwargs(base, **given)


async def start_scan(request: web.Request) -> web.Response:
    form = await _body_json(request)
    source = form.get("source")
    sources = source.split() if isinstance(source, str) else []
    if not sources:
        raise BadRequestError("type a URL, a bucket prefix or a folder to scan")
    keywords = form.get("keywords")
    options = scan_options(request.app[SETTINGS].options, form)
    scans = request.app[SCANS]
    if sum(job.running for job in scans.values()) >= MAX_RUNNING_SCANS:
        raise BadRequestError(f"{MAX_RUNNING_SCANS} scans are running: stop one first")
    job = ScanJob(
        sources,
        options,
        normalize_keywords(keywords if isinstance(keywords, str) else None),
    )
    finished = [j for j in scans.values() if not j.running]
    while len(scans) >= MAX_KEPT_SCANS and finished:
        old = finished.pop(0)
        scans.pop(old.id)
        request.app[TABLES].remove(old.id)
    scans[job.id] = job
    request.app[TABLES].add(job)
    job.start()
    return _json({"id": job.id, "table": job.id})


def _scan(request: web.Request) -> ScanJob:
    job = request.app[SCANS].get(request.match_info["id"])
    if job is None:
        raise NotFoundError("no such scan")
    return job


async def scan_events(request: web.Request) -> web.StreamResponse:
    job = _scan(request)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):
        async for event, data in job.events():
            if event == "keepalive":
                await response.write(b": keep-alive\n\n")
                continue
            text = json.dumps(data, default=str)
            await response.write(f"event: {event}\ndata: {text}\n\n".encode())
    return response


async def stop_scan(request: web.Request) -> web.Response:
    job = _scan(request)
    await job.stop()
    return _json(job.progress())


async def scan_catalog(request: web.Request) -> web.Response:
    job = _scan(request)
    fmt = request.match_info["format"]
    body = await asyncio.to_thread(catalog_bytes, job, fmt)
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in job.sources[0].rstrip("/"))
    name = f"{stem.rsplit('_', 1)[-1] or 'scan'}-catalog.{fmt}"
    return web.Response(
        body=body,
        content_type={"parquet": "application/vnd.apache.parquet", "csv": "text/csv"}.get(
            fmt, "application/x-ndjson"
        ),
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- tables ----------------------------------------------------------------------------------


async def list_tables(request: web.Request) -> web.Response:
    return _json([{"id": t.id, "name": t.name, "kind": t.kind} for t in request.app[TABLES]])


async def get_table(request: web.Request) -> web.Response:
    source = request.app[TABLES].get(request.match_info["id"])
    return _json(await asyncio.to_thread(table_info, source))


async def table_rows(request: web.Request) -> web.Response:
    source = request.app[TABLES].get(request.match_info["id"])
    query = Query.from_params(request.query)
    offset, limit = _int(request, "offset", 0), _int(request, "limit", 50)
    return _json(await asyncio.to_thread(page, source, query, offset, limit))


async def table_row(request: web.Request) -> web.Response:
    source = request.app[TABLES].get(request.match_info["id"])
    number = int(request.match_info["row"])
    return _json(await asyncio.to_thread(row_detail, source, number))


async def table_footprints(request: web.Request) -> web.Response:
    source = request.app[TABLES].get(request.match_info["id"])
    query = Query.from_params(request.query)
    by = request.query.get("by") or None
    return _json(await asyncio.to_thread(footprints, source, query, by))


async def row_preview(request: web.Request) -> web.Response:
    source = request.app[TABLES].get(request.match_info["id"])
    number = int(request.match_info["row"])
    table = source.table()
    if not 0 <= number < len(table):
        raise NotFoundError(f"no row {number} in {source.name}")
    record = record_from_row(table.slice(number, 1).to_pylist()[0])
    if source.options == request.app[SETTINGS].options:
        png, _ = await preview_png(record, request.app[CLIENT])
    else:
        async with Client(source.options) as client:
            png, _ = await preview_png(record, client)
    return web.Response(body=png, content_type="image/png")


# --- the application -------------------------------------------------------------------------


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    async with Client(app[SETTINGS].options) as client:
        app[CLIENT] = client
        yield
        for job in list(app[SCANS].values()):
            await job.stop(cancel=True)


def create_app(settings: WebSettings) -> web.Application:
    """The app for ``settings``; catalogs are read when the page first asks for them."""
    for path in settings.catalogs:
        if not Path(path).exists():
            raise ConfigurationError("no such catalog", url=str(path))
    app = web.Application(middlewares=[guard_middleware], client_max_size=MAX_BODY)
    app[SETTINGS] = settings
    app[TOKEN] = settings.token
    app[TABLES] = Tables.of_catalogs(list(settings.catalogs), settings.options)
    app[WALKS] = WalkSessions()
    app[SCANS] = {}
    app.cleanup_ctx.append(_lifetime)
    app.router.add_get("/", index)
    app.router.add_static("/static/", _static_root(), name="static")
    api = [
        web.get("/api/info", info),
        web.post("/api/files", open_file),
        web.post("/api/files/{id}", feed_file),
        web.delete("/api/files/{id}", close_file),
        web.post("/api/scans", start_scan),
        web.get("/api/scans/{id}/events", scan_events),
        web.post("/api/scans/{id}/stop", stop_scan),
        web.get("/api/scans/{id}/catalog.{format}", scan_catalog),
        web.get("/api/tables", list_tables),
        web.get("/api/tables/{id}", get_table),
        web.get("/api/tables/{id}/rows", table_rows),
        web.get(r"/api/tables/{id}/rows/{row:\d+}", table_row),
        web.get(r"/api/tables/{id}/rows/{row:\d+}/preview.png", row_preview),
        web.get("/api/tables/{id}/footprints", table_footprints),
    ]
    app.router.add_routes(api)
    return app
