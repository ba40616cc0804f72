"""The remote client: ``DatabaseMetadataService("http://host:8000", api_key=...)`` and
``PromptOptimizationStore("http://host:8000", ...)`` speak to ``hive-cli serve`` with the local
classes' methods, arguments, return values and exceptions (``storage.api_routes`` maps each method
to its route; the server answers refusals with the store's own exception name and message).

The key comes from ``api_key=`` or ``$HIVE_API_KEY`` and decides the project. Faults of the
connection are retried with exponential backoff: a request that never reached the server always; one
that may have reached it only when repeating it is harmless (reads, and batch writes, which carry an
``Idempotency-Key`` made once per call, so a retried batch is written once).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from . import errors
from .api_routes import API, PROMPT_ROUTES, STUDY_ROUTES, Route

API_KEY_ENV = "HIVE_API_KEY"
RETRY_STATUSES = {502, 503, 504}


def is_remote(url_or_path: Any) -> bool:
    return isinstance(url_or_path, str) and url_or_path.startswith(("http://", "https://"))


def _jsonable(value: Any) -> Any:
    """What ``json`` cannot write: arrays and frames (the columnar batches), dates, result objects."""
    if hasattr(value, "to_pydict"):  # pyarrow Table
        return value.to_pydict()
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # pandas DataFrame: missing -> None
        cells = value.astype(object).where(value.notna(), None)
        return {str(c): cells[c].tolist() for c in cells.columns}
    if hasattr(value, "tolist"):  # numpy array or scalar
        return value.tolist()
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (set, tuple)) or inspect.isgenerator(value) or hasattr(value, "__next__"):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "__dict__"):
        return {k: v for k, v in vars(value).items() if not k.startswith("_")}
    raise TypeError(f"{type(value).__name__} cannot be sent to the server")


def _error(payload: Any, status: int) -> errors.HiveError:
    name = payload.get("error") if isinstance(payload, dict) else None
    message = payload.get("message") if isinstance(payload, dict) else None
    cls = getattr(errors, name, None) if isinstance(name, str) else None
    if name == "NotEnoughEvaluationsError":
        from .studies.importance import NotEnoughEvaluationsError as cls
    if not (isinstance(cls, type) and issubclass(cls, errors.HiveError)):
        cls = errors.HiveError
    error = cls.__new__(cls)  # the message as the server wrote it, whatever the class's constructor takes
    Exception.__init__(error, message or f"HTTP {status}")
    return error


class RemoteClient:
    """One HTTP connection pool to a server, with the key and the retry policy."""

    def __init__(self, base_url: str, api_key: str | None, *, timeout_s: float = 120.0, retries: int = 6):
        import httpx

        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or os.environ.get(API_KEY_ENV)
        if not self.api_key:
            raise errors.AuthenticationError(f"an API key is needed for {self.base_url}: api_key=... or ${API_KEY_ENV}")
        self.retries = retries
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s,
                                  headers={"Authorization": f"Bearer {self.api_key}"})

    def close(self) -> None:
        self._http.close()

    def request(self, verb: str, path: str, *, params: Any = None, body: Any = None, safe: bool = True,
                idempotency_key: str | None = None, into: Path | None = None) -> Any:
        """The answer's JSON; with ``into``, a file answer is written there (beside it, then renamed)
        and its ``X-Rows`` header returned."""
        import httpx

        content = None if body is None else json.dumps(body, default=_jsonable).encode()
        headers = {"Content-Type": "application/json"} if content is not None else {}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                with self._http.stream(verb, path, params=params, content=content, headers=headers) as response:
                    if not (response.status_code in RETRY_STATUSES and safe and not last):
                        if into is not None and response.status_code < 400:
                            return _save(response, into)
                        response.read()
                        return self._answer(response)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:  # never reached the server
                if last:
                    raise errors.StorageUnavailableError(f"server {self.base_url} is unreachable: {error}") from None
            except httpx.TransportError as error:  # may have reached it: repeat only what is harmless
                if last or not safe:
                    raise errors.StorageUnavailableError(
                        f"server {self.base_url} did not answer ({type(error).__name__}: {error}); "
                        + ("" if safe else "the request may or may not have been carried out")) from None
            time.sleep(min(0.2 * 2 ** attempt, 5.0))
        raise errors.StorageUnavailableError(f"server {self.base_url}: no answer after {self.retries} retries")

    def _answer(self, response: Any) -> Any:
        try:
            payload = json.loads(response.content) if response.content else None
        except ValueError:  # not the server's answer: a proxy's error page, say
            raise errors.StorageUnavailableError(
                f"server {self.base_url} answered HTTP {response.status_code} with "
                f"{response.headers.get('content-type', 'no content type')}, not the API's JSON") from None
        if response.status_code >= 400:
            raise _error(payload, response.status_code)
        return payload


def _save(response: Any, path: Path) -> int:
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("wb") as handle:
            for chunk in response.iter_bytes():
                handle.write(chunk)
        partial.replace(path)
    except OSError as error:  # as the local export says it
        partial.unlink(missing_ok=True)
        raise errors.HiveError(f"cannot write {path}: {error.strerror or error}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return int(response.headers.get("x-rows", 0))


class _Remote:
    """Methods made from routes: each binds its arguments as the local method does, then calls."""

    _local: type
    _routes: list[Route]

    def __init__(self, base_url: str, *, api_key: str | None = None, project_id: str | None = None):
        self.url = base_url
        self._client = RemoteClient(base_url, api_key)
        try:
            self.project_id = self._client.request("GET", f"{API}/whoami")["project_id"]
        except BaseException:
            self._client.close()
            raise
        if project_id is not None and project_id != self.project_id:
            self._client.close()
            raise errors.ValidationError(f"project_id={project_id!r}: this API key works in project {self.project_id!r}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r}, project_id={self.project_id!r})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _call(self, route: Route, arguments: dict) -> Any:
        path = route.path.format(**{name: _segment(arguments.pop(name)) for name in route.path_args})
        into = Path(arguments.pop("path")) if route.download else None
        if route.verb == "GET":
            params = [(k, _query_text(v)) for k, value in arguments.items() if value is not None
                      for v in (value if isinstance(value, (list, tuple)) else [value])]
            params = [(k, json.dumps(v) if isinstance(v, dict) else v) for k, v in params]
            return self._client.request("GET", path, params=params, into=into)
        key = arguments.pop("idempotency_key", None) or (uuid.uuid4().hex if route.batch else None)
        body = arguments.pop(route.body) if route.body is not None else (arguments or None)
        safe = route.batch or route.verb == "DELETE"
        return self._client.request(route.verb, path, body=body, safe=safe, idempotency_key=key)


def _segment(value: Any) -> str:
    from urllib.parse import quote

    if not isinstance(value, str):
        raise errors.ValidationError(f"{value!r}: ids are text")
    return quote(value, safe="")


def _query_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _method(route: Route, local: Any):
    signature = inspect.signature(local)

    def call(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        arguments = dict(bound.arguments)
        arguments.pop("self")
        for name, parameter in signature.parameters.items():  # **fields / **criteria: spread out
            if parameter.kind is inspect.Parameter.VAR_KEYWORD and name in arguments:
                arguments.update(arguments.pop(name))
        return self._call(route, arguments)

    call.__name__, call.__doc__ = route.method, local.__doc__
    call.__signature__ = signature
    return call


# Local methods written only in terms of public ones: the remote class takes them as they are.
_COMPOSED = {"PromptOptimizationStore": ("complete_run", "fail_run", "list_runs")}


def _start_run(self, run_id: str) -> dict:
    return self.update_run(run_id, {"status": "running"})


def _add_iteration(self, run_id: str, iteration) -> dict:
    self.add_iterations(run_id, [iteration])
    return next(i for i in self.get_iterations(run_id) if i["iteration"] == iteration["iteration"])


def remote_class(local: type, routes: list[Route]) -> type:
    namespace = {route.method: _method(route, getattr(local, route.method)) for route in routes}
    namespace.update({name: getattr(local, name) for name in _COMPOSED.get(local.__name__, ())})
    if local.__name__ == "PromptOptimizationStore":
        namespace.update(start_run=_start_run, add_iteration=_add_iteration)
    namespace["__doc__"] = f"{local.__name__} over HTTP (``storage.remote``): the same methods, through hive-cli serve."
    return type(f"Remote{local.__name__}", (_Remote,), namespace)


_ROUTES = {"DatabaseMetadataService": STUDY_ROUTES, "PromptOptimizationStore": PROMPT_ROUTES}
_CLASSES: dict[str, type] = {}


def new_instance(cls: type, local: type, url_or_path: Any, options: dict) -> Any:
    """``local.__new__``: a server's URL (given, or in ``$HIVE_DB_URL``) opens ``local``'s remote
    class with ``options``; anything else (or a subclass) makes an instance of ``cls`` as usual."""
    from .engine import DEFAULT_PATH_ENV

    target = url_or_path if url_or_path is not None else os.environ.get(DEFAULT_PATH_ENV)
    if cls is not local or not is_remote(target):
        return object.__new__(cls)
    options.pop("project_name", None)  # the prompt store's: the server's project already has its name
    if local.__name__ not in _CLASSES:
        _CLASSES[local.__name__] = remote_class(local, _ROUTES[local.__name__])
    return _CLASSES[local.__name__](target, **options)
