"""Prompt-optimization runs (DSPy MIPROv2 and others): runs, their iterations and samples, analytics.

``PromptOptimizationStore(url_or_path, project_id="...")`` works inside one project. Every query
carries ``project_id`` as a bound parameter; on PostgreSQL the connection also carries it
(``options=-c app.project_id=...``), so row-level security confines even a mistaken query to the
project, and writes into another project are refused by the database itself.

What callers write is validated first (``storage.prompts.records``) and written in one transaction:
a batch of iterations or samples is all-or-nothing, and ``import_run`` writes a finished run with
its iterations and samples at once (an optimizer's log imported after the fact), or nothing. What
the database derives is never written here: ``duration_ms``, ``improvement``, ``improvement_pct``
(generated columns), ``updated_at``, the run's iteration statistics and ``is_best`` (triggers; see
migration 0004), and the run's token and cost totals: its iterations' sums plus the usage it
spent outside them, ``unattributed_*`` (migration 0007).

Reads return plain dicts (JSON decoded, scores as floats, timestamps as UTC text). Point queries
(one run, a page of runs, the leaderboard, a run's samples) run on the backend with its indexes.
Project analytics come from the ``optimization_run_analytics`` materialized view on PostgreSQL
(as fresh as the last ``refresh_analytics()``), and from DuckDB over the SQLite file
(``storage.reader.Reader.analytics``), always fresh.

PostgreSQL deployment: connect as a role that is neither owner nor superuser nor BYPASSRLS, granted
by ``hive-cli db grant`` (``storage.privileges``). ``hive_refresh_optimization_analytics()`` is
executable by everyone, as PostgreSQL functions are.
"""
from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

import orjson
import pydantic
import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from .. import idempotency, migrate, remote
from ..engine import check_project_id, create_engine, display_url, resolve_url, transaction
from ..errors import DuplicateError, HiveError, NotFoundError, ValidationError
from .records import (
    CURSOR_PATTERN,
    FINISHED_STATUSES,
    IterationRecord,
    ProgressUpdate,
    RunCreate,
    RunFilters,
    RunUpdate,
    SampleRecord,
    _check_config,
    validate,
)
from ..schema import OPTIMIZER_TYPES, RUN_STATUSES
from ..batches import bulk_insert, collection_paused

RUN_COLUMNS = (
    "id", "project_id", "name", "description", "optimizer_type", "status", "config", "metadata", "tags",
    "task_name", "dataset_name", "model_name", "prompt_model_name", "start_time", "end_time", "duration_ms",
    "baseline_score", "best_score", "final_score", "improvement", "improvement_pct", "iterations_planned",
    "iterations_completed", "samples_evaluated", "samples_successful", "samples_failed", "prompt_tokens",
    "completion_tokens", "cost", "unattributed_prompt_tokens", "unattributed_completion_tokens", "unattributed_cost",
    "avg_latency_ms", "error_message", "created_at", "updated_at",
)
ITERATION_COLUMNS = (
    "id", "run_id", "iteration", "score", "evaluation_kind", "is_best", "instructions", "demo_set_ids", "params",
    "batch_size", "prompt_tokens", "completion_tokens", "cost", "latency_ms", "created_at",
)
SAMPLE_COLUMNS = (
    "id", "run_id", "iteration", "sample_index", "input", "output", "expected", "score", "success", "error",
    "latency_ms", "prompt_tokens", "completion_tokens", "created_at",
)
JSON_COLUMNS = {"config", "metadata", "instructions", "demo_set_ids", "params", "input", "output", "expected"}
FLOAT_COLUMNS = {
    "baseline_score", "best_score", "final_score", "improvement", "improvement_pct", "score", "cost",
    "unattributed_cost", "avg_latency_ms", "latency_ms",
}
# Fields a caller may set on a run (everything else is the database's).
WRITABLE_RUN_FIELDS = (
    "name", "description", "optimizer_type", "status", "config", "metadata", "tags", "task_name",
    "dataset_name", "model_name", "prompt_model_name", "start_time", "end_time", "baseline_score",
    "final_score", "iterations_planned", "samples_evaluated", "samples_successful", "samples_failed",
    "unattributed_prompt_tokens", "unattributed_completion_tokens", "unattributed_cost", "error_message",
)

# Readable reasons for the database's own refusals (constraint names from storage.schema).
CONSTRAINT_REASONS = {
    "ck_optimization_runs_time_order": "end_time is before start_time",
    "ck_optimization_runs_sample_counts": "samples_evaluated is less than samples_successful + samples_failed",
    "uq_optimization_iterations_run_id_iteration": "that iteration number already exists in this run",
    "uq_optimization_samples_run_id_iteration_sample_index": "that (iteration, sample_index) already exists in this run",
    "optimization_iterations_run_id_iteration_key": "that iteration number already exists in this run",
    "pk_optimization_runs": "a run with this id already exists",
    "projects_project_isolation": "row-level security: the row belongs to another project",
    "optimization_runs_project_isolation": "row-level security: the row belongs to another project",
}
# SQLite names the columns of a failed UNIQUE, not the constraint.
SQLITE_UNIQUE_COLUMNS = {
    "optimization_iterations.run_id, optimization_iterations.iteration": "uq_optimization_iterations_run_id_iteration",
    "optimization_samples.run_id, optimization_samples.iteration, optimization_samples.sample_index":
        "uq_optimization_samples_run_id_iteration_sample_index",
    "optimization_runs.id": "pk_optimization_runs",
}


def _now_text() -> str:
    moment = datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


class PromptOptimizationStore:
    """Prompt-optimization runs of one project (SQLite file by default, PostgreSQL by URL).

    ``url_or_path``: as for ``DatabaseMetadataService`` (a URL, a file path, ``":memory:"``, or None
    for ``$HIVE_DB_URL`` / ``~/.hive/hive.db``). ``project_id``: letters, digits and ``_ . : @ -``.
    """

    def __new__(cls, url_or_path: str | os.PathLike | None = None, **options: Any):
        # A server's URL ("http://host:8000", here or in $HIVE_DB_URL): the same methods over HTTP.
        return remote.new_instance(cls, PromptOptimizationStore, url_or_path, options)

    def __init__(self, url_or_path: str | os.PathLike | None = None, *, project_id: str,
                 project_name: str | None = None):
        self.project_id = check_project_id(project_id)
        self.project_name = project_name or project_id
        self.url = resolve_url(url_or_path)
        self.backend = self.url.get_backend_name()
        # Every pooled connection carries the project (row-level security keys on it on PostgreSQL).
        self.engine: Engine = create_engine(self.url, project_id, application_name="hive-prompt")
        self._reader = None
        self._project_known = False
        try:
            self.created_schema = migrate.ensure_current(self.engine)
        except BaseException:
            self.engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"PromptOptimizationStore({display_url(self.url)!r}, project_id={self.project_id!r})"

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self.engine.dispose()

    def __enter__(self) -> PromptOptimizationStore:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ------------------------------------------------------------------------------- helpers

    @property
    def _pg(self) -> bool:
        return self.backend == "postgresql"

    def _json_param(self, name: str) -> str:
        return f"CAST(:{name} AS jsonb)" if self._pg else f":{name}"

    def _encode_json(self, value: Any) -> str | None:
        return None if value is None else orjson.dumps(value).decode()

    def _encode_tags(self, tags: list[str]) -> Any:
        return list(tags) if self._pg else json.dumps(tags, ensure_ascii=False, separators=(",", ":"))

    def _decode(self, row: Mapping[str, Any]) -> dict:
        out = dict(row)
        for key, value in out.items():
            if value is None:
                continue
            # SQLite keeps JSON as text; PostgreSQL's jsonb arrives decoded already, where a JSON
            # string value is a Python str that must stay as it is.
            if (key in JSON_COLUMNS or key == "tags") and isinstance(value, str) and not self._pg:
                out[key] = json.loads(value)
            elif key in FLOAT_COLUMNS and not isinstance(value, float):
                out[key] = float(value)
            elif key in ("is_best", "success"):
                out[key] = bool(value)
        return out

    def _write(self):
        return _Translated(self.engine, write=True)

    def _read(self):
        return _Translated(self.engine, write=False)

    def _ensure_project(self, conn: Connection) -> None:
        if self._project_known:
            return
        conn.execute(
            sa.text("INSERT INTO projects (id, name) VALUES (:p, :name) ON CONFLICT (id) DO NOTHING"),
            {"p": self.project_id, "name": self.project_name},
        )
        self._project_known = True

    def _lock_run(self, conn: Connection, run_id: str, what: str) -> dict:
        if not isinstance(run_id, str):
            raise ValidationError(f"{what}: run_id={run_id!r}: expected text; nothing was written")
        lock = " FOR UPDATE" if self._pg else ""
        row = conn.execute(
            sa.text(f"SELECT id, optimizer_type, status, start_time, end_time FROM optimization_runs "
                    f"WHERE id = :id AND project_id = :p{lock}"),
            {"id": run_id, "p": self.project_id},
        ).mappings().first()
        if row is None:
            raise NotFoundError(f"{what}: run_id={run_id!r}: no such run in project {self.project_id!r}")
        return dict(row)

    # ----------------------------------------------------------------------------------- runs

    def create_run(self, record: Mapping[str, Any]) -> dict:
        """Create a run; returns it as stored. ``id`` is assigned (32 hex digits) when not given.

        A run created ``running`` gets ``start_time`` = now unless given; one created finished
        (completed, failed, cancelled) gets ``end_time`` too."""
        run = validate(RunCreate, record, "run")
        values = run.model_dump(exclude_none=True)
        values["id"] = values.get("id") or uuid.uuid4().hex
        _stamp_times(values, values["status"], {})
        columns, params = self._run_values(values)
        columns += ["project_id"]
        params["project_id"] = self.project_id
        placeholders = [self._placeholder(c) for c in columns]
        with self._write() as conn:
            self._ensure_project(conn)
            conn.execute(
                sa.text(f"INSERT INTO optimization_runs ({', '.join(columns)}) VALUES ({', '.join(placeholders)})"),
                params,
            )
            return self._fetch_run(conn, values["id"])

    def import_run(self, record: Mapping[str, Any], iterations: Iterable[Mapping[str, Any]],
                   samples: Iterable[Mapping[str, Any]] | None = None) -> dict:
        """Record a whole finished run (an optimizer's log imported after the fact) in ONE
        transaction: the run, its iterations and its samples, or nothing at all.

        Everything is validated before anything is written; every sample must belong to one of the
        given iterations. The run's sample counts are those of ``samples`` (unless given); a
        ``completed`` run without ``final_score`` takes its best iteration's, as ``complete_run``
        does. Returns the run as stored."""
        run = validate(RunCreate, record, "run")
        iteration_records = _validate_batch(IterationRecord, iterations, "iterations")
        sample_records = _validate_batch(SampleRecord, samples if samples is not None else [], "samples")
        numbers = _unique_keys(iteration_records, lambda r: r.iteration, "iterations", "iteration")
        _unique_keys(sample_records, lambda r: (r.iteration, r.sample_index), "samples", "(iteration, sample_index)")
        for index, sample in enumerate(sample_records):
            if sample.iteration not in numbers:
                raise ValidationError(
                    f"samples[{index}]: iteration={sample.iteration} is not one of this run's iterations "
                    f"({_short_range(sorted(numbers))}); nothing was written"
                )
        values = run.model_dump(exclude_none=True)
        values["id"] = values.get("id") or uuid.uuid4().hex
        if sample_records:
            successful = sum(1 for s in sample_records if s.success)
            values.setdefault("samples_evaluated", len(sample_records))
            values.setdefault("samples_successful", successful)
            values.setdefault("samples_failed", len(sample_records) - successful)
        _stamp_times(values, values["status"], {})
        columns, params = self._run_values(values)
        columns += ["project_id"]
        params["project_id"] = self.project_id
        placeholders = [self._placeholder(c) for c in columns]
        with collection_paused(), self._write() as conn:
            self._ensure_project(conn)
            conn.execute(
                sa.text(f"INSERT INTO optimization_runs ({', '.join(columns)}) VALUES ({', '.join(placeholders)})"),
                params,
            )
            self._insert_iterations(conn, values["id"], iteration_records)
            self._insert_samples(conn, values["id"], sample_records)
            if values["status"] == "completed" and "final_score" not in values:
                conn.execute(
                    sa.text("UPDATE optimization_runs SET final_score = best_score WHERE id = :id AND project_id = :p"),
                    {"id": values["id"], "p": self.project_id},
                )
            return self._fetch_run(conn, values["id"])

    def _placeholder(self, column: str) -> str:
        return self._json_param(column) if column in ("config", "metadata") else f":{column}"

    def _run_values(self, values: dict) -> tuple[list[str], dict]:
        columns, params = [], {}
        for key in ("id", *WRITABLE_RUN_FIELDS):
            if key not in values:
                continue
            value = values[key]
            if key in ("config", "metadata"):
                value = self._encode_json(value if value is not None else {})
            elif key == "tags":
                value = self._encode_tags(value if value is not None else [])
            columns.append(key)
            params[key] = value
        return columns, params

    def get_run(self, run_id: str, *, with_iterations: bool = False) -> dict:
        """One run (``NotFoundError`` when it is not in this project); optionally with its iterations."""
        with self._read() as conn:
            run = self._fetch_run(conn, run_id)
            if with_iterations:
                run["iterations"] = self._fetch_iterations(conn, run_id)
            return run

    def _fetch_run(self, conn: Connection, run_id: str) -> dict:
        if not isinstance(run_id, str):
            raise ValidationError(f"run_id={run_id!r}: expected text")
        row = conn.execute(
            sa.text(f"SELECT {', '.join(RUN_COLUMNS)} FROM optimization_runs WHERE id = :id AND project_id = :p"),
            {"id": run_id, "p": self.project_id},
        ).mappings().first()
        if row is None:
            raise NotFoundError(f"run_id={run_id!r}: no such run in project {self.project_id!r}")
        return self._decode(row)

    def update_run(self, run_id: str, changes: Mapping[str, Any]) -> dict:
        """Change some fields of a run; returns the run. Setting ``status`` to ``running`` fills
        ``start_time``, to a finished status fills ``end_time`` (when not given or already set);
        ``completed`` without a ``final_score`` takes the best iteration's score."""
        update = validate(RunUpdate, changes, "update_run")
        values = update.model_dump(exclude_unset=True)
        if not values:
            raise ValidationError("update_run: no fields to change; nothing was written")
        return self._update(run_id, values, "update_run")

    def update_progress(self, run_id: str, **progress: Any) -> dict:
        """Progress of a running optimization: ``status``, ``iterations_planned``,
        ``samples_evaluated``, ``samples_successful``, ``samples_failed`` (absolute values)."""
        values = validate(ProgressUpdate, progress, "update_progress").model_dump(exclude_unset=True)
        if not values:
            raise ValidationError("update_progress: no fields to change; nothing was written")
        return self._update(run_id, values, "update_progress")

    def _update(self, run_id: str, values: dict, what: str) -> dict:
        with self._write() as conn:
            current = self._lock_run(conn, run_id, what)
            if "config" in values:
                try:
                    _check_config(current["optimizer_type"], values["config"])
                except ValueError as error:
                    raise ValidationError(f"{what}: {error}; nothing was written") from None
            extra = ""
            if "status" in values:
                _stamp_times(values, values["status"], current)
                if values["status"] == "completed" and "final_score" not in values:
                    extra = ", final_score = COALESCE(final_score, best_score)"
            for key in ("start_time", "end_time"):
                if values.get(key, "") is None:
                    values.pop(key)  # the stamps never clear an existing time
            columns, params = self._run_values(values)
            assignments = ", ".join(f"{c} = {self._placeholder(c)}" for c in columns) + extra
            params.update(id=run_id, p=self.project_id)
            conn.execute(
                sa.text(f"UPDATE optimization_runs SET {assignments} WHERE id = :id AND project_id = :p"), params
            )
            return self._fetch_run(conn, run_id)

    def start_run(self, run_id: str) -> dict:
        return self._update(run_id, {"status": "running"}, "start_run")

    def complete_run(self, run_id: str, *, final_score: float | None = None, **changes: Any) -> dict:
        """Mark a run completed (end_time now); ``final_score`` defaults to the best iteration's."""
        if final_score is not None:
            changes["final_score"] = final_score
        changes["status"] = "completed"
        return self.update_run(run_id, changes)

    def fail_run(self, run_id: str, error_message: str) -> dict:
        return self.update_run(run_id, {"status": "failed", "error_message": error_message})

    def delete_run(self, run_id: str) -> bool:
        """Delete a run with its iterations and samples; False when there was no such run."""
        if not isinstance(run_id, str):
            raise ValidationError(f"delete_run: run_id={run_id!r}: expected text")
        with self._write() as conn:
            result = conn.execute(
                sa.text("DELETE FROM optimization_runs WHERE id = :id AND project_id = :p"),
                {"id": run_id, "p": self.project_id},
            )
            return result.rowcount > 0

    def list_runs(self, filters: Mapping[str, Any] | RunFilters | None = None, **criteria: Any) -> list[dict]:
        """Runs of the project, newest first, filtered (see ``RunFilters``); one page."""
        return self.list_runs_page(filters, **criteria)["runs"]

    def list_runs_page(self, filters: Mapping[str, Any] | RunFilters | None = None, **criteria: Any) -> dict:
        """``{"runs": [...], "next_cursor": text or None}``: pass ``cursor=next_cursor`` for the next page."""
        spec = validate(RunFilters, {**dict(filters or {}), **criteria}, "list_runs") if not isinstance(
            filters, RunFilters) else filters
        sql, params = self._list_sql(spec)
        with self._read() as conn:
            rows = [self._decode(r) for r in conn.execute(sa.text(sql), params).mappings()]
        next_cursor = None
        if len(rows) > spec.limit:
            rows = rows[: spec.limit]
            last = rows[-1]
            next_cursor = f"{last['created_at']}|{last['id']}"
        return {"runs": rows, "next_cursor": next_cursor}

    def count_runs(self, filters: Mapping[str, Any] | None = None, **criteria: Any) -> int:
        spec = validate(RunFilters, {**dict(filters or {}), **criteria}, "count_runs")
        where, params = self._where(spec)
        with self._read() as conn:
            return conn.execute(sa.text(f"SELECT count(*) FROM optimization_runs r WHERE {where}"), params).scalar_one()

    def _list_sql(self, spec: RunFilters) -> tuple[str, dict]:
        where, params = self._where(spec)
        if spec.cursor is not None:
            match = CURSOR_PATTERN.match(spec.cursor)
            if not match:
                raise ValidationError(f"list_runs: cursor={spec.cursor!r}: not a cursor returned by list_runs_page")
            where += " AND (r.created_at < :cursor_at OR (r.created_at = :cursor_at AND r.id < :cursor_id))"
            params.update(cursor_at=match.group(1), cursor_id=match.group(2))
        params.update(limit=spec.limit + 1, offset=spec.offset)
        columns = ", ".join(f"r.{c}" for c in RUN_COLUMNS)
        return (
            f"SELECT {columns} FROM optimization_runs r WHERE {where} "
            "ORDER BY r.created_at DESC, r.id DESC LIMIT :limit OFFSET :offset",
            params,
        )

    def _where(self, spec: RunFilters) -> tuple[str, dict]:
        clauses = ["r.project_id = :p"]
        params: dict[str, Any] = {"p": self.project_id}

        def one_of(column: str, values: list[str], prefix: str) -> None:
            if len(values) == 1:  # an equality, so the (project_id, column, created_at) index applies
                clauses.append(f"r.{column} = :{prefix}0")
            else:
                clauses.append(f"r.{column} IN ({', '.join(f':{prefix}{i}' for i in range(len(values)))})")
            params.update({f"{prefix}{i}": v for i, v in enumerate(values)})

        if spec.status:
            one_of("status", spec.status, "status")
        if spec.optimizer_type:
            one_of("optimizer_type", spec.optimizer_type, "optimizer")
        for kind, tags in (("all", spec.tags_all), ("any", spec.tags_any)):
            if not tags:
                continue
            tags = list(dict.fromkeys(tags))
            if self._pg:
                operator = "@>" if kind == "all" else "&&"
                clauses.append(f"r.tags {operator} CAST(:tags_{kind} AS text[])")
                params[f"tags_{kind}"] = tags
            else:
                marks = ", ".join(f":tag_{kind}{i}" for i in range(len(tags)))
                params.update({f"tag_{kind}{i}": t for i, t in enumerate(tags)})
                if kind == "all":
                    clauses.append(
                        f"(SELECT count(DISTINCT t.value) FROM json_each(r.tags) t WHERE t.value IN ({marks})) = {len(tags)}"
                    )
                else:
                    clauses.append(f"EXISTS (SELECT 1 FROM json_each(r.tags) t WHERE t.value IN ({marks}))")
        for i, (key, value) in enumerate((spec.config or {}).items()):
            self._config_clause(clauses, params, i, key, value)
        if spec.created_after is not None:
            clauses.append("r.created_at >= :created_after")
            params["created_after"] = spec.created_after
        if spec.created_before is not None:
            clauses.append("r.created_at < :created_before")
            params["created_before"] = spec.created_before
        if spec.score_min is not None:
            clauses.append(f"r.{spec.score_field} >= :score_min")
            params["score_min"] = spec.score_min
        if spec.score_max is not None:
            clauses.append(f"r.{spec.score_field} <= :score_max")
            params["score_max"] = spec.score_max
        return " AND ".join(clauses), params

    def _config_clause(self, clauses: list[str], params: dict, i: int, key: str, value: Any) -> None:
        path = key.split(".")
        if self._pg:
            # Containment, so the GIN index (jsonb_path_ops) answers it.
            document: Any = value
            for part in reversed(path):
                document = {part: document}
            clauses.append(f"r.config @> CAST(:config{i} AS jsonb)")
            params[f"config{i}"] = orjson.dumps(document).decode()
            return
        json_path = "$" + "".join(f'."{part}"' for part in path)
        params[f"config_path{i}"] = json_path
        if value is None:
            clauses.append(f"json_type(r.config, :config_path{i}) = 'null'")
        elif isinstance(value, bool):
            clauses.append(f"json_type(r.config, :config_path{i}) = '{'true' if value else 'false'}'")
        else:
            kind = "'text'" if isinstance(value, str) else "'integer', 'real'"
            clauses.append(
                f"json_extract(r.config, :config_path{i}) = :config{i} AND json_type(r.config, :config_path{i}) IN ({kind})"
            )
            params[f"config{i}"] = value

    # ----------------------------------------------------------------------------- iterations

    def add_iteration(self, run_id: str, iteration: Mapping[str, Any]) -> dict:
        """Record one iteration; returns it as stored (with the ``is_best`` the database decided)."""
        self.add_iterations(run_id, [iteration])
        number = iteration["iteration"]
        with self._read() as conn:
            return next(i for i in self._fetch_iterations(conn, run_id) if i["iteration"] == number)

    def add_iterations(self, run_id: str, iterations: Iterable[Mapping[str, Any]], *,
                       idempotency_key: str | None = None) -> int:
        """Record iterations of a run in one transaction (all or nothing); returns how many.
        ``idempotency_key``: a retry of the same batch with it writes nothing (``storage.idempotency``)."""
        records = _validate_batch(IterationRecord, iterations, "iterations")
        _unique_keys(records, lambda r: r.iteration, "iterations", "iteration")
        with collection_paused(), self._write() as conn:
            with idempotency.once(conn, idempotency_key, [run_id, [r.model_dump() for r in records]]) as once:
                if once.done:
                    return once.result
                self._lock_run(conn, run_id, "iterations")
                self._insert_iterations(conn, run_id, records)
                once.result = len(records)
        return len(records)

    def _insert_iterations(self, conn: Connection, run_id: str, records: list[IterationRecord]) -> None:
        columns = ["run_id", "project_id", "iteration", "score", "evaluation_kind", "instructions", "demo_set_ids",
                   "params", "batch_size", "prompt_tokens", "completion_tokens", "cost", "latency_ms"]
        enc = self._encode_json
        rows = [
            (run_id, self.project_id, r.iteration, r.score, r.evaluation_kind, enc(r.instructions),
             enc(r.demo_set_ids), enc(r.params), r.batch_size, r.prompt_tokens, r.completion_tokens, r.cost,
             r.latency_ms)
            for r in records
        ]
        if rows:
            bulk_insert(conn, "optimization_iterations", columns, list(zip(*rows)))

    def get_iterations(self, run_id: str) -> list[dict]:
        with self._read() as conn:
            self._lock_free_check(conn, run_id)
            return self._fetch_iterations(conn, run_id)

    def best_iteration(self, run_id: str) -> dict | None:
        """The iteration the database marked best (full evaluations first), or None."""
        with self._read() as conn:
            self._lock_free_check(conn, run_id)
            row = conn.execute(
                sa.text(f"SELECT {', '.join(ITERATION_COLUMNS)} FROM optimization_iterations "
                        "WHERE run_id = :id AND project_id = :p AND is_best"),
                {"id": run_id, "p": self.project_id},
            ).mappings().first()
            return self._decode(row) if row is not None else None

    def _lock_free_check(self, conn: Connection, run_id: str) -> None:
        found = conn.execute(
            sa.text("SELECT 1 FROM optimization_runs WHERE id = :id AND project_id = :p"),
            {"id": run_id, "p": self.project_id},
        ).first()
        if found is None:
            raise NotFoundError(f"run_id={run_id!r}: no such run in project {self.project_id!r}")

    def _fetch_iterations(self, conn: Connection, run_id: str) -> list[dict]:
        rows = conn.execute(
            sa.text(f"SELECT {', '.join(ITERATION_COLUMNS)} FROM optimization_iterations "
                    "WHERE run_id = :id AND project_id = :p ORDER BY iteration"),
            {"id": run_id, "p": self.project_id},
        ).mappings()
        return [self._decode(r) for r in rows]

    # -------------------------------------------------------------------------------- samples

    def add_samples(self, run_id: str, samples: Iterable[Mapping[str, Any]], *, count_progress: bool = True,
                    idempotency_key: str | None = None) -> int:
        """Record evaluated samples in one transaction (``storage.batches.bulk_insert``).

        All or nothing: one bad sample (or one already stored) writes none. With
        ``count_progress`` the run's samples_evaluated / successful / failed grow by this batch.
        ``idempotency_key``: a retry of the same batch with it writes nothing (``storage.idempotency``)."""
        records = _validate_batch(SampleRecord, samples, "samples")
        _unique_keys(records, lambda r: (r.iteration, r.sample_index), "samples", "(iteration, sample_index)")
        with collection_paused(), self._write() as conn:
            with idempotency.once(conn, idempotency_key, [run_id, count_progress, [r.model_dump() for r in records]]) as once:
                if once.done:
                    return once.result
                self._add_samples(conn, run_id, records, count_progress)
                once.result = len(records)
        return len(records)

    def _add_samples(self, conn: Connection, run_id: str, records: list[SampleRecord], count_progress: bool) -> None:
        self._lock_run(conn, run_id, "samples")
        self._insert_samples(conn, run_id, records)
        if records and count_progress:
            successful = sum(1 for r in records if r.success)
            conn.execute(
                sa.text(
                    "UPDATE optimization_runs SET samples_evaluated = samples_evaluated + :n, "
                    "samples_successful = samples_successful + :ok, samples_failed = samples_failed + :bad "
                    "WHERE id = :id AND project_id = :p"
                ),
                {"n": len(records), "ok": successful, "bad": len(records) - successful, "id": run_id,
                 "p": self.project_id},
            )

    def _insert_samples(self, conn: Connection, run_id: str, records: list[SampleRecord]) -> None:
        columns = ["run_id", "project_id", "iteration", "sample_index", "input", "output", "expected", "score",
                   "success", "error", "latency_ms", "prompt_tokens", "completion_tokens"]
        enc = self._encode_json
        project = self.project_id
        rows = [
            (run_id, project, r.iteration, r.sample_index, enc(r.input), enc(r.output), enc(r.expected), r.score,
             r.success, r.error, r.latency_ms, r.prompt_tokens, r.completion_tokens)
            for r in records
        ]
        if rows:
            bulk_insert(conn, "optimization_samples", columns, list(zip(*rows)))

    def get_samples(self, run_id: str, *, iteration: int | None = None, success: bool | None = None,
                    limit: int | None = 1000, offset: int = 0) -> list[dict]:
        """A run's samples in (iteration, sample_index) order, optionally one iteration's or only
        the failed (``success=False``) ones."""
        for name, value in (("iteration", iteration), ("limit", limit), ("offset", offset)):
            if value is not None and (type(value) is not int or value < 0):
                raise ValidationError(f"get_samples: {name}={value!r}: expected a non-negative integer")
        if success is not None and type(success) is not bool:
            raise ValidationError(f"get_samples: success={success!r}: expected True or False")
        clauses = ["run_id = :id", "project_id = :p"]
        params: dict[str, Any] = {"id": run_id, "p": self.project_id, "offset": offset}
        if iteration is not None:
            clauses.append("iteration = :iteration")
            params["iteration"] = iteration
        if success is not None:
            clauses.append("success = :success")
            params["success"] = success
        page = ""
        if limit is not None:
            page = " LIMIT :limit OFFSET :offset"
            params["limit"] = limit
        elif offset:
            page = " LIMIT -1 OFFSET :offset" if not self._pg else " OFFSET :offset"
        with self._read() as conn:
            self._lock_free_check(conn, run_id)
            rows = conn.execute(
                sa.text(f"SELECT {', '.join(SAMPLE_COLUMNS)} FROM optimization_samples WHERE {' AND '.join(clauses)} "
                        f"ORDER BY iteration, sample_index{page}"),
                params,
            ).mappings()
            return [self._decode(r) for r in rows]

    # ------------------------------------------------------------------------------ analytics

    def leaderboard(self, limit: int = 10, *, optimizer_type: str | None = None) -> list[dict]:
        """The project's completed runs by final score, best first (ties: the earlier run)."""
        if type(limit) is not int or not 1 <= limit <= 1000:
            raise ValidationError(f"leaderboard: limit={limit!r}: expected an integer from 1 to 1000")
        params: dict[str, Any] = {"p": self.project_id, "limit": limit}
        extra = ""
        if optimizer_type is not None:
            if optimizer_type not in OPTIMIZER_TYPES:
                raise ValidationError(
                    f"leaderboard: optimizer_type={optimizer_type!r}: must be one of {', '.join(OPTIMIZER_TYPES)}"
                )
            extra = " AND optimizer_type = :optimizer"
            params["optimizer"] = optimizer_type
        with self._read() as conn:
            rows = conn.execute(
                sa.text(
                    f"SELECT {', '.join(RUN_COLUMNS)} FROM optimization_runs "
                    "WHERE project_id = :p AND status = 'completed' AND final_score IS NOT NULL" + extra +
                    " ORDER BY final_score DESC, created_at, id LIMIT :limit"
                ),
                params,
            ).mappings()
            return [dict(self._decode(r), rank=i + 1) for i, r in enumerate(rows)]

    def refresh_analytics(self) -> None:
        """PostgreSQL: recompute the analytics materialized view (all projects; concurrent readers
        keep reading the previous version meanwhile). SQLite: nothing to do, always fresh."""
        if not self._pg:
            return
        with self._write() as conn:
            conn.execute(sa.text("SELECT hive_refresh_optimization_analytics()"))

    def project_analytics(self, *, refresh: bool = False) -> dict:
        """Counts by status and optimizer, success rate (completed among finished runs), average
        improvement of completed runs, tokens, cost, average duration.

        PostgreSQL reads the materialized view (as of the last refresh, ``refreshed_at``; pass
        ``refresh=True`` to refresh first); SQLite aggregates the file through DuckDB."""
        if refresh:
            self.refresh_analytics()
        if self._pg:
            with self._read() as conn:
                groups = [dict(r) for r in conn.execute(
                    sa.text("SELECT * FROM optimization_project_analytics WHERE project_id = :p"),
                    {"p": self.project_id},
                ).mappings()]
        else:
            groups = self._sqlite_analytics_groups()
        return _summarize_groups(self.project_id, groups, fresh=not self._pg)

    def _sqlite_analytics_groups(self) -> list[dict]:
        # DuckDB's sqlite scanner does not see generated columns: improvement and duration are
        # computed here from the same expressions the schema uses.
        sql = f"""
            SELECT optimizer_type, status, count(*) AS runs,
                   count(final_score - baseline_score) AS runs_with_improvement,
                   sum(round(final_score - baseline_score, 4)) AS improvement_sum,
                   count(final_score) AS runs_with_final_score,
                   max(final_score) AS best_final_score,
                   sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens,
                   sum(cost) AS cost,
                   sum({_DUCK_DURATION}) AS duration_ms_sum,
                   count({_DUCK_DURATION}) AS runs_with_duration,
                   sum(samples_evaluated) AS samples_evaluated, sum(samples_successful) AS samples_successful,
                   sum(samples_failed) AS samples_failed, max(created_at) AS last_created_at
              FROM db.optimization_runs WHERE project_id = ? GROUP BY optimizer_type, status"""
        if not self.url.database or self.url.database == ":memory:":
            # No file for DuckDB to attach: the same aggregate on SQLite itself.
            sqlite_sql = sql.replace("db.optimization_runs", "optimization_runs").replace("?", ":p")
            sqlite_sql = sqlite_sql.replace(_DUCK_DURATION, _SQLITE_DURATION)
            with self._read() as conn:
                return [dict(r) for r in conn.execute(sa.text(sqlite_sql), {"p": self.project_id}).mappings()]
        if self._reader is None:
            from ..reader import Reader

            self._reader = Reader(self.url)
        # max_rows: rows are fetched as tuples (DuckDB's .df() costs more than the query here)
        frame = self._reader.analytics(sql, [self.project_id], max_rows=10_000)
        return frame.to_dict("records")

    def run_summary(self, run_id: str) -> dict:
        """A run with what a reader wants at a glance: best iteration, per-kind iteration counts and
        best scores, the best-so-far trajectory of full evaluations, and sample statistics."""
        with self._read() as conn:
            run = self._fetch_run(conn, run_id)
            iterations = self._fetch_iterations(conn, run_id)
            stats = conn.execute(
                sa.text(
                    "SELECT count(*) AS samples, "
                    "coalesce(sum(CASE WHEN success THEN 1 ELSE 0 END), 0) AS successful, "
                    "avg(score) AS avg_score, avg(latency_ms) AS avg_latency_ms, "
                    "coalesce(sum(prompt_tokens), 0) AS prompt_tokens, "
                    "coalesce(sum(completion_tokens), 0) AS completion_tokens "
                    "FROM optimization_samples WHERE run_id = :id AND project_id = :p"
                ),
                {"id": run_id, "p": self.project_id},
            ).mappings().one()
        by_kind: dict[str, dict] = {}
        trajectory, best_so_far = [], None
        for it in iterations:
            kind = by_kind.setdefault(it["evaluation_kind"], {"count": 0, "best_score": None})
            kind["count"] += 1
            if it["score"] is not None and (kind["best_score"] is None or it["score"] > kind["best_score"]):
                kind["best_score"] = it["score"]
            if it["evaluation_kind"] == "full" and it["score"] is not None:
                best_so_far = it["score"] if best_so_far is None else max(best_so_far, it["score"])
                trajectory.append({"iteration": it["iteration"], "score": it["score"], "best_so_far": best_so_far})
        samples = int(stats["samples"])
        successful = int(stats["successful"])
        return {
            "run": run,
            "best_iteration": next((it for it in iterations if it["is_best"]), None),
            "iterations_by_kind": by_kind,
            "full_eval_trajectory": trajectory,
            "samples": {
                "count": samples,
                "successful": successful,
                "failed": samples - successful,
                "success_rate": successful / samples if samples else None,
                "avg_score": float(stats["avg_score"]) if stats["avg_score"] is not None else None,
                "avg_latency_ms": float(stats["avg_latency_ms"]) if stats["avg_latency_ms"] is not None else None,
                "prompt_tokens": int(stats["prompt_tokens"]),
                "completion_tokens": int(stats["completion_tokens"]),
            },
        }


_DUCK_DURATION = "CAST(round(epoch_ms(CAST(end_time AS TIMESTAMP)) - epoch_ms(CAST(start_time AS TIMESTAMP))) AS BIGINT)"
_SQLITE_DURATION = "CAST(round((julianday(end_time) - julianday(start_time)) * 86400000.0) AS INTEGER)"


def _summarize_groups(project_id: str, groups: list[dict], *, fresh: bool) -> dict:
    """Per-(optimizer, status) aggregate rows -> the project's analytics."""
    def num(value) -> float:
        return 0.0 if value is None or value != value else float(value)

    by_status = {status: 0 for status in RUN_STATUSES}
    by_optimizer: dict[str, int] = {}
    total = improvement_n = duration_n = 0
    improvement_sum = duration_sum = cost = 0.0
    prompt_tokens = completion_tokens = samples = samples_ok = samples_bad = 0
    best = None
    refreshed_at = None
    for g in groups:
        runs = int(g["runs"])
        total += runs
        by_status[g["status"]] = by_status.get(g["status"], 0) + runs
        by_optimizer[g["optimizer_type"]] = by_optimizer.get(g["optimizer_type"], 0) + runs
        if g["status"] == "completed":
            improvement_n += int(g["runs_with_improvement"])
            improvement_sum += num(g["improvement_sum"])
            if g["best_final_score"] is not None and g["best_final_score"] == g["best_final_score"]:
                best = max(best or 0.0, float(g["best_final_score"]))
        duration_n += int(g["runs_with_duration"])
        duration_sum += num(g["duration_ms_sum"])
        cost += num(g["cost"])
        prompt_tokens += int(num(g["prompt_tokens"]))
        completion_tokens += int(num(g["completion_tokens"]))
        samples += int(num(g["samples_evaluated"]))
        samples_ok += int(num(g["samples_successful"]))
        samples_bad += int(num(g["samples_failed"]))
        refreshed_at = g.get("refreshed_at") or refreshed_at
    finished = sum(by_status[s] for s in FINISHED_STATUSES)
    return {
        "project_id": project_id,
        "total_runs": total,
        "runs_by_status": by_status,
        "runs_by_optimizer": dict(sorted(by_optimizer.items())),
        "success_rate": by_status["completed"] / finished if finished else None,
        "avg_improvement": round(improvement_sum / improvement_n, 6) if improvement_n else None,
        "best_final_score": best,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "total_cost": round(cost, 6),
        "avg_duration_ms": duration_sum / duration_n if duration_n else None,
        "samples_evaluated": samples,
        "samples_successful": samples_ok,
        "samples_failed": samples_bad,
        "refreshed_at": None if fresh else refreshed_at,
    }


def _stamp_times(values: dict, status: str, current: Mapping[str, Any]) -> None:
    """Entering ``running`` stamps start_time, entering a finished status stamps end_time, unless
    given or already set. A run finished without ever running keeps no start_time (no duration)."""
    if status == "running" and values.get("start_time") is None and current.get("start_time") is None:
        values["start_time"] = _now_text()
    if status in FINISHED_STATUSES and values.get("end_time") is None and current.get("end_time") is None:
        values["end_time"] = _now_text()


def _unique_keys(records: list, key, what: str, label: str) -> set:
    """The keys of a batch; a key given twice is refused, naming both positions."""
    seen: dict[Any, int] = {}
    for index, record in enumerate(records):
        value = key(record)
        if value in seen:
            raise DuplicateError(
                f"{what}[{index}]: {label}={value} appears twice in this batch (also at [{seen[value]}]); "
                "nothing was written"
            )
        seen[value] = index
    return set(seen)


def _short_range(numbers: list[int]) -> str:
    return ", ".join(map(str, numbers)) if len(numbers) <= 8 else f"{numbers[0]}..{numbers[-1]}"


_BATCH_ADAPTERS: dict[type, TypeAdapter] = {}


def _validate_batch(shape: type[pydantic.BaseModel], records: Any, what: str) -> list:
    """A whole batch through one TypeAdapter (fast); the first problem names its index."""
    if isinstance(records, (str, bytes, dict)) or not hasattr(records, "__iter__"):
        raise ValidationError(f"{what}: expected a list of records, got {type(records).__name__}; nothing was written")
    records = list(records)
    adapter = _BATCH_ADAPTERS.get(shape) or _BATCH_ADAPTERS.setdefault(shape, TypeAdapter(list[shape]))
    try:
        return adapter.validate_python(records)
    except pydantic.ValidationError as error:
        index = error.errors(include_url=False)[0]["loc"][0]
        # Re-validate the offending record alone for a message whose field path starts at it.
        validate(shape, records[index], f"{what}[{index}]")
        raise ValidationError(f"{what}[{index}]: {error.errors()[0]['msg']}; nothing was written") from None


class _Translated:
    """``storage.engine.transaction`` plus readable reasons for the database's own refusals."""

    def __init__(self, engine: Engine, write: bool):
        self._context = transaction(engine, write=write)
        self._engine = engine

    def __enter__(self) -> Connection:
        return self._context.__enter__()

    def __exit__(self, kind, error, tb):
        try:
            return self._context.__exit__(kind, error, tb)
        except HiveError as translated:
            cause = translated.__cause__
            if not isinstance(cause, exc.DBAPIError):
                raise
            text = str(cause.orig)
            for columns, name in SQLITE_UNIQUE_COLUMNS.items():
                if columns in text:
                    text += f" ({name})"
            for name, reason in CONSTRAINT_REASONS.items():
                if name in text:
                    cls = DuplicateError if name.startswith(("uq_", "pk_")) or name.endswith("_key") else ValidationError
                    raise cls(f"refused by the database: {reason} ({name}); nothing was written") from cause
            if "UNIQUE constraint failed" in text or "duplicate key" in text:
                raise DuplicateError(f"refused by the database: {text.strip().splitlines()[0]}; nothing was written") from cause
            raise
