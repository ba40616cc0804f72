"""The HTTP server: the store's API for optimizers on other machines, one project per API key.

Every route of ``storage.api_routes`` calls the same-named method of ``DatabaseMetadataService`` or
``PromptOptimizationStore`` opened in the key's project, so on PostgreSQL each request's connection
carries that project and row-level security confines it whatever the query. Refusals answer with the
store's own message: ``{"error": "UnknownStudyError", "message": "study_id='x': no such study ..."}``
and the status of ``STATUS_OF_ERROR`` (another project's ids answer 404, as unknown ones do).
Responses are JSON; user text is never rendered as HTML.

    hive-cli serve --db postgresql://app:...@db/hive --host 0.0.0.0 --port 8000
"""
from __future__ import annotations

import html
import inspect
import json
import re
import shutil
import tempfile
import threading
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from storage import DatabaseMetadataService, PromptOptimizationStore
from storage.api_routes import API, PROMPT_ROUTES, STATUS_OF_ERROR, STUDY_ROUTES, Route
from storage.engine import resolve_url
from storage.errors import HiveError, PayloadTooLargeError, ValidationError
from storage.keys import KeyChecker

MAX_BODY_BYTES = 32 * 1024 * 1024  # 32 MiB: a batch of ~100,000 evaluations as JSON
MAX_JSON_DEPTH = 32
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json", "parquet": "application/vnd.apache.parquet"}


def _json(value: Any, status: int = 200) -> Response:
    # Python's JSON: NaN and +/-Infinity travel as those literals (the store keeps non-finite
    # objectives; the remote client reads them back as floats).
    return Response(json.dumps(value, default=str, separators=(",", ":")), status_code=status,
                    media_type="application/json")


def error_response(error: HiveError) -> Response:
    name = next((cls.__name__ for cls in type(error).__mro__ if cls.__name__ in STATUS_OF_ERROR), None)
    return _json({"error": type(error).__name__, "message": str(error)}, STATUS_OF_ERROR.get(name, 400))


def _depth(value: Any, limit: int) -> int:
    stack, deepest = [(value, 1)], 1
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _query_value(route: Route, name: str, request: Request) -> Any:
    kind = route.query[name]
    if kind is list:
        return request.query_params.getlist(name)
    text = request.query_params[name]
    try:
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        if kind is bool:
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return text.lower() in ("true", "1")
        if kind is dict:
            value = json.loads(text)
            if not isinstance(value, dict):
                raise ValueError
            return value
    except ValueError:
        raise ValidationError(f"{name}={text!r}: expected {kind.__name__}") from None
    return text


class Projects:
    """One service and one prompt store per project, opened on first use and kept."""

    def __init__(self, url):
        self.url = url
        self._open: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def get(self, kind: str, project: str):
        with self._lock:
            found = self._open.get((kind, project))
            if found is None:
                found = (DatabaseMetadataService(self.url, project_id=project) if kind == "studies"
                         else PromptOptimizationStore(self.url, project_id=project))
                self._open[(kind, project)] = found
            return found

    def close(self) -> None:
        for opened in self._open.values():
            opened.close()


def create_app(db_url: str | None = None, *, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    url = resolve_url(db_url)
    DatabaseMetadataService(url).close()  # the schema is current (or the server does not start)
    keys = KeyChecker(url)
    projects = Projects(url)
    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        projects.close()
        keys.close()

    app = FastAPI(title="hive: optimization results", version="1", docs_url=None, redoc_url=None, lifespan=lifespan)

    async def read_body(request: Request) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            raise PayloadTooLargeError(f"body of {int(declared):,} bytes: the limit is {max_body_bytes:,}")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body_bytes:
                raise PayloadTooLargeError(f"body over {max_body_bytes:,} bytes: the limit")
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw:
            return None
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError) as error:
            raise ValidationError(f"body: not JSON ({str(error)[:200]})") from None
        if _depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise ValidationError(f"body: nested deeper than {MAX_JSON_DEPTH} levels")
        return value

    def project_of(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        return keys.authenticate(token.strip() if scheme.lower() == "bearer" else None)

    def endpoint(kind: str, route: Route):
        async def handle(request: Request) -> Response:
            try:
                project = await run_in_threadpool(project_of, request)
                kwargs: dict[str, Any] = dict(request.path_params)
                if route.verb == "GET":
                    unknown = sorted(set(request.query_params) - set(route.query))
                    if unknown:
                        raise ValidationError(f"{route.method}: no parameter {', '.join(map(repr, unknown))} "
                                              f"(it takes {', '.join(route.query) or 'none'})")
                    for name in route.query:
                        if name in request.query_params:
                            kwargs[name] = _query_value(route, name, request)
                else:
                    body = await read_body(request)
                    if route.body is not None:
                        kwargs[route.body] = body
                    elif body is not None:
                        if not isinstance(body, dict):
                            raise ValidationError("body: expected a JSON object of the call's arguments")
                        kwargs.update(body)
                target = getattr(projects.get(kind, project), route.method)
                if route.batch and request.headers.get("idempotency-key"):
                    kwargs["idempotency_key"] = request.headers["idempotency-key"]
                if route.download:
                    return await download(route, target, kwargs)
                try:
                    inspect.signature(target).bind(**kwargs)
                except TypeError as error:
                    raise ValidationError(f"{route.method}: {error}") from None
                result = await run_in_threadpool(target, **kwargs)
                return _json(result)
            except HiveError as error:
                return error_response(error)

        handle.__name__ = route.method
        return handle

    async def download(route: Route, target, kwargs: dict) -> Response:
        # Written whole to a temporary file first: a refusal still answers with its status and
        # message, and a million-row table streams from disk, not memory.
        folder = tempfile.mkdtemp(prefix="hive-export-")
        try:
            output_format = kwargs.get("output_format", "csv")
            name = "_".join(re.sub(r"[^A-Za-z0-9._-]+", "-", str(kwargs[arg])) for arg in route.path_args)
            path = f"{folder}/{name}.{output_format}"
            rows = await run_in_threadpool(target, **kwargs, path=path)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return FileResponse(path, media_type=MEDIA_TYPES[output_format], filename=f"{name}.{output_format}",
                            headers={"X-Rows": str(rows)}, background=BackgroundTask(shutil.rmtree, folder, True))

    for kind, routes in (("studies", STUDY_ROUTES), ("prompts", PROMPT_ROUTES)):
        for route in routes:
            app.add_api_route(route.path, endpoint(kind, route), methods=[route.verb], summary=route.summary,
                              name=f"{kind}.{route.method}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> Response:
        # No such route, or a verb it does not take: answered in the API's own shape.
        name = "NotFoundError" if error.status_code == 404 else "HiveError"
        return _json({"error": name, "message": f"{error.detail}: see /docs"}, error.status_code)

    @app.get(f"{API}/whoami", summary="The project of the request's key")
    async def whoami(request: Request) -> Response:
        try:
            return _json({"project_id": await run_in_threadpool(project_of, request)})
        except HiveError as error:
            return error_response(error)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        # A page of its own (FastAPI's loads Swagger UI from a CDN; this one loads nothing).
        def row(verb: str, path: str, what: str, method: str) -> str:
            return (f"<tr><td>{html.escape(verb)}</td><td><code>{html.escape(path)}</code></td>"
                    f"<td>{html.escape(what)}</td><td><code>{html.escape(method)}</code></td></tr>")

        rows = "".join(
            f"<tr><th colspan='4'>{title}</th></tr>" + "".join(row(r.verb, r.path, r.summary, r.method) for r in routes)
            for title, routes in (("Studies (DatabaseMetadataService)", STUDY_ROUTES),
                                  ("Prompt optimization (PromptOptimizationStore)", PROMPT_ROUTES)))
        rows += "<tr><th colspan='4'>The server</th></tr>" + row(
            "GET", f"{API}/whoami", "The project of the request's key", "") + row(
            "GET", "/healthz", "Liveness (no key needed)", "")
        return HTMLResponse(
            "<!doctype html><meta charset='utf-8'><title>hive API</title>"
            "<style>body{font:14px system-ui;margin:2em}td{padding:2px 10px;border-bottom:1px solid #ddd}"
            "th{text-align:left;padding:14px 10px 4px}</style>"
            "<h1>hive API</h1><p>Every request carries <code>Authorization: Bearer KEY</code> "
            "(<code>hive-cli keys create</code>); batch writes may carry an <code>Idempotency-Key</code>. "
            "Machine-readable: <a href='/openapi.json'>/openapi.json</a>.</p>"
            f"<table><tr><td><b>verb</b></td><td><b>path</b></td><td><b>what</b></td><td><b>Python method</b></td></tr>"
            f"{rows}</table>")

    return app
