"""Writing validated records, inside a transaction the caller owns (see ``storage.engine.transaction``).

Every function here receives records that ``storage.studies.records`` has already validated for shape and
type; what is checked here needs the database: the study exists, lengths match what the study
declares, keys are free. Checks run before the first INSERT, so a refused batch writes nothing,
and the caller's transaction makes even a database-side refusal all-or-nothing.

Speed matters on ``insert_study_runs`` (the optimizer's hot path): one SELECT that locks the
studies, one executemany INSERT, one UPDATE per study; no per-row round trips.
"""
from __future__ import annotations

import json
import uuid
import warnings
from dataclasses import dataclass
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from .. import schema as t
from ..batches import bulk_insert
from .columns import NO_PARAMETERS, RunColumns
from .designs import design_key, design_keys, own_names_or_none
from ..engine import connection_project
from ..errors import DuplicateError, UnknownStudyError, UnknownStudyWarning, ValidationError
from ..jsonfields import check_text, encode_finite_vector, encode_json, encode_objectives
from .labels import labels_text, validate_experiment, validate_labels, value_text
from .records import check_fitness, normalize_timestamp
from ..timestamps import now_text, seconds_between


@dataclass
class StudyState:
    """What a write needs to know about a study, read under its lock."""

    study_id: str
    study_type: str
    status: str
    directions: list[str]
    parameter_names: list[str] | None
    reference_point: list[float] | None
    run_count: int
    best_fitness: float | None
    best_solution_id: str | None
    created_at: str | None
    objective_names: list[str] | None = None
    names_from_runs: bool = False

    @property
    def n_objectives(self) -> int:
        return len(self.directions)

    @property
    def maximize(self) -> bool:
        return self.directions[0] == "maximize"

    def better(self, a: float, b: float | None) -> bool:
        """Is fitness ``a`` strictly better than ``b`` (None = nothing yet)?"""
        if b is None:
            return True
        return a > b if self.maximize else a < b


_STUDY_STATE_COLUMNS = (
    "study_id, study_type, status, objective_directions, parameter_names, reference_point, "
    "run_count, best_fitness, best_solution_id, created_at, optimization_objective, parameter_names_from_runs"
)


def lock_studies(conn: Connection, study_ids: Iterable[str], field: str = "study_id") -> dict[str, StudyState]:
    """Read the studies a write touches, locking their rows on PostgreSQL (in a fixed order, so
    concurrent writers cannot deadlock). On SQLite the transaction already holds the write lock.
    Every write passes here: a study of another project is unknown to it."""
    ids = sorted(set(study_ids))
    lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
    rows = conn.execute(
        sa.text(f"SELECT {_STUDY_STATE_COLUMNS} FROM studies WHERE study_id IN :ids AND project_id = :project "
                f"ORDER BY study_id{lock}").bindparams(sa.bindparam("ids", expanding=True)),
        {"ids": ids, "project": connection_project(conn)},
    ).all()
    found = {row.study_id: _study_state(row) for row in rows}
    for study_id in ids:
        if study_id not in found:
            raise UnknownStudyError(study_id, field)
    return found


def _study_state(row: Any) -> StudyState:
    directions = json.loads(row.objective_directions) if row.objective_directions else ["minimize"]
    objective_text = getattr(row, "optimization_objective", None)
    objective_names = [n.strip() for n in objective_text.split(",") if n.strip()] if objective_text else None
    return StudyState(
        study_id=row.study_id,
        study_type=row.study_type,
        status=row.status,
        directions=directions,
        parameter_names=json.loads(row.parameter_names) if row.parameter_names else None,
        reference_point=json.loads(row.reference_point) if row.reference_point else None,
        run_count=row.run_count or 0,
        best_fitness=row.best_fitness,
        best_solution_id=row.best_solution_id,
        created_at=row.created_at,
        objective_names=objective_names if objective_names and len(objective_names) == len(directions) else None,
        names_from_runs=bool(getattr(row, "parameter_names_from_runs", False)),
    )


# ---------------------------------------------------------------------------------------- studies


def ensure_project(conn: Connection) -> str:
    """The connection's project, created (named as its id) if this is its first row."""
    project = connection_project(conn)
    conn.execute(sa.text("INSERT INTO projects (id, name) VALUES (:p, :p) ON CONFLICT (id) DO NOTHING"), {"p": project})
    return project


def insert_study(conn: Connection, record: dict) -> str:
    study_id = record["study_id"]
    directions = record.get("objective_directions")
    names_text = record.get("optimization_objective")
    names = [n.strip() for n in names_text.split(",") if n.strip()] if names_text else None
    if directions is None:
        directions = ["minimize"] * (len(names) if names else 1)
    elif not directions:
        raise ValidationError("study: objective_directions=[]: needs at least one direction")
    elif names and len(names) != len(directions):
        raise ValidationError(
            f"study: objective_directions has {len(directions)} entries but optimization_objective="
            f"{names_text!r} names {len(names)} objectives"
        )
    reference = record.get("reference_point")
    if reference is not None and len(reference) != len(directions):
        raise ValidationError(
            f"study: reference_point={reference!r} has {len(reference)} values for {len(directions)} objectives"
        )
    for field in ("study_name", "description", "base_system_config_path", "optimization_objective"):
        if record.get(field) is not None:
            check_text(field, record[field])
    experiment = validate_experiment(record.get("experiment"))
    labels = validate_labels(record.get("labels"))
    now = now_text()
    created = normalize_timestamp("created_at", record.get("created_at")) or now
    values = {
        "study_id": study_id,
        "study_type": record["study_type"],
        "study_name": record.get("study_name"),
        "description": record.get("description"),
        "base_system_config_path": record.get("base_system_config_path"),
        "optimization_objective": names_text,
        "optimization_constraints": encode_json("optimization_constraints", record.get("optimization_constraints")),
        "population_size": record.get("population_size"),
        "max_generations": record.get("max_generations"),
        "max_evaluations": record.get("max_evaluations"),
        "status": record.get("status", "pending"),
        "progress_percent": record.get("progress_percent"),
        "metadata_json": encode_json("metadata_json", record.get("metadata_json")),
        "objective_directions": json.dumps(directions, separators=(",", ":")),
        "reference_point": encode_finite_vector(reference) if reference is not None else None,
        "parameter_names": encode_json("parameter_names", record.get("parameter_names")),
        "parameter_choices": _encode_choices(record.get("parameter_choices"), record.get("parameter_names")),
        "experiment": experiment,
        "labels": labels_text(labels),
        "run_count": 0,
        "created_at": created,
        "updated_at": now,
    }
    project = ensure_project(conn)
    # Study ids are unique across projects; on PostgreSQL another project's study is invisible, so the
    # conflict is caught by the insert itself rather than by a look-up first.
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(t.studies)
    inserted = conn.execute(insert.values(**values, project_id=project)
                            .on_conflict_do_nothing(index_elements=["study_id"]).returning(t.studies.c.study_id)).first()
    if inserted is None:
        raise DuplicateError(f"study: study_id={study_id!r} already exists")
    if labels:
        conn.execute(t.study_labels.insert(), [{"study_id": study_id, "name": name, "value": value_text(value)}
                                               for name, value in labels.items()])
    return study_id


def _encode_choices(choices: dict | None, names: list[str] | None) -> str | None:
    """Categorical labels: each named parameter's choices, its values being the choice's index."""
    if choices is None:
        return None
    for name, labels in choices.items():
        if names is not None and name not in names:
            raise ValidationError(f"study: parameter_choices names {name!r}, which is not one of parameter_names {names!r}")
        if not labels:
            raise ValidationError(f"study: parameter_choices[{name!r}]=[]: a categorical parameter needs at least one choice")
    return encode_json("parameter_choices", choices)


def update_study(conn: Connection, study: StudyState, values: dict) -> None:
    conn.execute(t.studies.update().where(t.studies.c.study_id == study.study_id).values(**values))


# ------------------------------------------------------------------------------------- study runs

# Bound for every run; the optional columns below are bound only when some record of the batch
# has them, so a typical batch binds 7 values per row instead of 17 (binding is a measurable share
# of an insert). Absent columns take the table's defaults.
_BASE_COLUMNS = ("run_id", "study_id", "evaluation_number", "parameter_vector", "fitness", "created_at", "design_key")
_OPTIONAL_COLUMNS = (
    "generation_number", "parameter_names", "objectives", "constraint_violations", "simulation_run_id",
    "simulation_status", "evaluation_time_seconds", "solver_time_seconds", "is_pareto_optimal",
    "domination_count", "metadata_json", "run_state",
)
_OPTIONAL_ENCODERS = {
    "objectives": lambda v: encode_objectives(v),
    "constraint_violations": lambda v: encode_json("constraint_violations", v),
    "metadata_json": lambda v: encode_json("metadata_json", v),
}


def insert_study_runs(conn: Connection, runs: RunColumns) -> list[str]:
    """Insert validated runs (``storage.studies.columns``: from records or columns); returns their run_ids
    in input order.

    Written column by column (comprehensions, ``zip``) rather than row by row: this is the
    optimizer's hot path, and per-row Python work is what separates 40,000 from 100,000 rows/s.
    """
    if not runs.n:
        return []
    n = runs.n
    single = n == 1
    present = runs.values
    study_ids = runs.values["study_id"]
    studies = _lock_or_create_studies(conn, runs, study_ids)
    for study in studies.values():
        if study.status == "completed":
            raise ValidationError(
                f"study_id={study.study_id!r} is completed; its Pareto flags and convergence are final. "
                "Set it back to 'running' with update_study_status to add runs"
            )
    runs.assemble(studies)
    vectors = runs.get("parameter_vector") or [NO_PARAMETERS] * n
    objectives = runs.get("objectives") or [None] * n
    study_changes: dict[str, dict] = {sid: {} for sid in studies}
    if any(isinstance(o, dict) for o in objectives):
        objectives = _objectives_by_name(objectives, studies, study_ids, study_changes, single)
    given_names = runs.get("parameter_names")
    own_names = None
    if given_names is not None and any(names is not None for names in given_names):
        own_names = _own_names(given_names, vectors, studies, study_ids, study_changes, single)
    _check_lengths(studies, study_ids, vectors, objectives, own_names, single)
    given_fitness = runs.get("fitness") or [None] * n
    fitness = [f if f is not None else (o[0] if o else None) for f, o in zip(given_fitness, objectives)]
    if None in fitness or any(f != f for f in fitness):
        for i, f in enumerate(fitness):
            if f is None or f != f:
                check_fitness(_where(i, single), given_fitness[i], objectives[i])
    max_number = _max_evaluation_numbers(conn, studies)
    given_numbers = runs.get("evaluation_number")
    numbers = _evaluation_numbers(given_numbers, study_ids, max_number, single)
    if given_numbers is not None:
        _check_free_numbers(conn, _explicit_numbers(given_numbers, study_ids), max_number)
    given_ids = runs.get("run_id")
    if given_ids is not None:
        run_ids = [r or f"{s}:{k}" for r, s, k in zip(given_ids, study_ids, numbers)]
    else:
        run_ids = [f"{s}:{k}" for s, k in zip(study_ids, numbers)]
    _check_new_run_ids(conn, run_ids, given_ids)
    if "simulation_run_id" in present:
        _check_simulation_links(conn, runs.values["simulation_run_id"])

    now = now_text()
    if "created_at" in present:
        created = [now if t is None else normalize_timestamp("created_at", t) for t in runs.values["created_at"]]
    else:
        created = [now] * n
    if own_names is None:
        keys = design_keys(vectors)
    else:
        keys = [design_key(v, names, studies[sid].parameter_names) for v, names, sid in zip(vectors, own_names, study_ids)]
    columns = [run_ids, study_ids, numbers, [encode_finite_vector(v) for v in vectors], fitness, created, keys]
    names = list(_BASE_COLUMNS)
    for column in _OPTIONAL_COLUMNS:
        if column == "parameter_names":
            if own_names is not None:
                columns.append([None if v is None else encode_json("parameter_names", v) for v in own_names])
                names.append(column)
            continue
        if column not in present:
            continue
        encode = _OPTIONAL_ENCODERS.get(column)
        values = objectives if column == "objectives" else runs.values[column]
        columns.append(values if encode is None else [None if v is None else encode(v) for v in values])
        names.append(column)
    try:
        bulk_insert(conn, "study_runs", names, columns)
    except exc.IntegrityError as error:
        raise _duplicate_from(error) from None

    statuses = runs.get("simulation_status")
    for study_id, study in studies.items():
        mine = range(n) if len(studies) == 1 else [i for i in range(n) if study_ids[i] == study_id]
        candidates = [i for i in mine if statuses is None or statuses[i] == "success"]
        values: dict[str, Any] = {"run_count": study.run_count + len(mine), "updated_at": now, **study_changes[study_id]}
        if study.status == "pending":
            values["status"] = "running"
        if candidates:
            pick = max if study.maximize else min
            i = pick(candidates, key=fitness.__getitem__)
            if study.better(fitness[i], study.best_fitness):
                values["best_fitness"], values["best_solution_id"] = fitness[i], run_ids[i]
        update_study(conn, study, values)
    return run_ids


def _lock_or_create_studies(conn: Connection, runs: RunColumns, study_ids: list[str]) -> dict[str, StudyState]:
    """The batch's studies, locked. A study that does not exist yet is created, as the seed's own
    example expects (a run logged into a fresh store): type ``other``, status ``running``, its
    objectives as the first run gives them; a warning says so, since a mistyped id lands here too."""
    try:
        return lock_studies(conn, study_ids)
    except UnknownStudyError:
        pass
    existing = set(conn.execute(
        sa.text("SELECT study_id FROM studies WHERE study_id IN :ids").bindparams(sa.bindparam("ids", expanding=True)),
        {"ids": sorted(set(study_ids))},
    ).scalars())
    for study_id in dict.fromkeys(study_ids):
        if study_id in existing:
            continue
        given = runs.get("objectives")
        objectives = given[study_ids.index(study_id)] if given else None
        record: dict[str, Any] = {"study_id": study_id, "study_type": "other", "status": "running",
                                  "metadata_json": {"created_by": "log_study_runs: the study did not exist"}}
        if isinstance(objectives, dict):
            record["optimization_objective"] = ",".join(objectives)
        if objectives:
            record["objective_directions"] = ["minimize"] * len(objectives)
        try:
            insert_study(conn, record)
        except DuplicateError:  # another project's study (invisible here under row-level security)
            raise UnknownStudyError(study_id) from None
        warnings.warn(f"study_id={study_id!r} did not exist: created it (study_type 'other', objectives minimized); "
                      "create studies with create_study to declare their type, names and directions",
                      UnknownStudyWarning, stacklevel=4)
    return lock_studies(conn, study_ids)


def _objectives_by_name(objectives: list, studies: dict[str, StudyState], study_ids: list[str],
                        study_changes: dict[str, dict], single: bool) -> list:
    """Objectives given as {name: value} -> lists in the study's objective order. A study that named
    no objectives takes the names of its first such run."""
    ordered = []
    for i, (values, study_id) in enumerate(zip(objectives, study_ids)):
        if not isinstance(values, dict):
            ordered.append(values)
            continue
        study = studies[study_id]
        if study.objective_names is None:
            if len(values) != study.n_objectives:
                raise ValidationError(
                    f"{_where(i, single)}: objectives names {list(values)} but study {study_id!r} declares "
                    f"{study.n_objectives} objective(s) (objective_directions={study.directions}); nothing was written")
            bad = [name for name in values if "," in name or not name.strip()]
            if bad:
                raise ValidationError(f"{_where(i, single)}: objectives name {bad[0]!r}: objective names are non-empty "
                                      "and contain no comma; nothing was written")
            study.objective_names = list(values)
            study_changes[study_id]["optimization_objective"] = ",".join(values)
        unknown = [name for name in values if name not in study.objective_names]
        missing = [name for name in study.objective_names if name not in values]
        if unknown or missing:
            problem = f"names {unknown[0]!r}, not an objective of" if unknown else f"lacks {missing[0]!r}, an objective of"
            raise ValidationError(f"{_where(i, single)}: objectives {problem} study {study_id!r} "
                                  f"({', '.join(study.objective_names)}); nothing was written")
        ordered.append([values[name] for name in study.objective_names])
    return ordered


def _own_names(given: list, vectors: list, studies: dict[str, StudyState], study_ids: list[str],
               study_changes: dict[str, dict], single: bool) -> list:
    """Each run's names as stored (None: the study's leading names; see storage.studies.designs). A study
    that declared its names refuses others; one that declared none keeps the union of its runs'."""
    for i, (names, vector, study_id) in enumerate(zip(given, vectors, study_ids)):
        if names is None:
            continue
        if len(names) != len(vector):
            raise ValidationError(f"{_where(i, single)}: parameter_vector has {len(vector)} values but parameter_names "
                                  f"has {len(names)} names; nothing was written")
        if len(set(names)) != len(names):
            twice = next(n for n in names if names.count(n) > 1)
            raise ValidationError(f"{_where(i, single)}: parameter_names names {twice!r} twice; nothing was written")
        study = studies[study_id]
        if study.parameter_names is not None and not study.names_from_runs:
            outside = [name for name in names if name not in study.parameter_names]
            if outside:
                raise ValidationError(
                    f"{_where(i, single)}: parameter_names contains {outside[0]!r}, which is not one of the "
                    f"parameter_names of study {study_id!r}: {study.parameter_names}; nothing was written")
        else:
            union = list(study.parameter_names or [])
            new = [name for name in names if name not in union]
            if new or study.parameter_names is None:
                study.parameter_names = union + new
                study.names_from_runs = True
                study_changes[study_id]["parameter_names"] = encode_json("parameter_names", study.parameter_names)
                study_changes[study_id]["parameter_names_from_runs"] = True
    return [own_names_or_none(names, studies[sid].parameter_names) for names, sid in zip(given, study_ids)]


def _check_lengths(studies, study_ids, vectors, objectives, own_names, single: bool) -> None:
    """parameter_vector against the study's names (runs without names of their own: all of them,
    or no parameters at all); objectives against the study's declared count. Fast when everything
    agrees: one set of lengths per column."""
    one_study = len(studies) == 1
    if one_study:
        study = next(iter(studies.values()))
        expected = None if study.parameter_names is None else {len(study.parameter_names), 0}
        unnamed = vectors if own_names is None else [v for v, names in zip(vectors, own_names) if names is None]
        if expected is None or set(map(len, unnamed)) <= expected:
            if {len(o) for o in objectives if o is not None} <= {study.n_objectives}:
                return
    for i, (study_id, vector, objs) in enumerate(zip(study_ids, vectors, objectives)):
        study = studies[study_id]
        has_own = own_names is not None and own_names[i] is not None
        declared = study.parameter_names
        if not has_own and declared is not None and len(vector) not in (len(declared), 0):
            raise ValidationError(
                f"{_where(i, single)}: parameter_vector has {len(vector)} values but the study's parameter_names "
                f"{declared!r} has {len(declared)} names (a run with fewer parameters names them in "
                "parameter_names); nothing was written"
            )
        if objs is not None and len(objs) != study.n_objectives:
            raise ValidationError(
                f"{_where(i, single)}: objectives={objs!r} has {len(objs)} values but study {study_id!r} "
                f"declares {study.n_objectives} objective{'s' if study.n_objectives != 1 else ''} "
                f"(objective_directions={study.directions}); nothing was written"
            )


def _evaluation_numbers(given, study_ids, max_number, single: bool) -> list[int]:
    """Given numbers are kept (and checked free); missing ones continue after the highest so far."""
    next_number = {sid: (k + 1 if k is not None else 0) for sid, k in max_number.items()}
    given = given or [None] * len(study_ids)
    for number, study_id in zip(given, study_ids):
        if number is not None and number >= next_number[study_id]:
            next_number[study_id] = number + 1
    numbers = []
    for number, study_id in zip(given, study_ids):
        if number is None:
            number = next_number[study_id]
            next_number[study_id] = number + 1
        numbers.append(number)
    if len(set(zip(study_ids, numbers))) != len(numbers):
        seen: set = set()
        for i, key in enumerate(zip(study_ids, numbers)):
            if key in seen:
                raise DuplicateError(
                    f"{_where(i, single)}: evaluation_number={key[1]} appears twice for study_id={key[0]!r} "
                    "in this batch; nothing was written"
                )
            seen.add(key)
    return numbers


def _explicit_numbers(given: list[int | None], study_ids: list[str]) -> dict[str, list[int]]:
    explicit: dict[str, list[int]] = {}
    for number, study_id in zip(given, study_ids):
        if number is not None:
            explicit.setdefault(study_id, []).append(number)
    return explicit


def _where(index: int, single: bool) -> str:
    return "study_run" if single else f"study_runs[{index}]"


def _max_evaluation_numbers(conn: Connection, studies: dict[str, StudyState]) -> dict[str, int | None]:
    # One index lookup per study (the unique index's last entry), not a scan.
    result = {}
    for study_id in studies:
        result[study_id] = conn.execute(
            sa.text("SELECT MAX(evaluation_number) FROM study_runs WHERE study_id = :s"), {"s": study_id}
        ).scalar()
    return result


def _check_free_numbers(conn: Connection, explicit: dict[str, list[int]], max_number: dict[str, int | None]) -> None:
    """Explicit evaluation numbers at or below the study's current maximum may be taken already."""
    for study_id, numbers in explicit.items():
        ceiling = max_number[study_id]
        suspects = sorted(n for n in numbers if ceiling is not None and n <= ceiling)
        if not suspects:
            continue
        taken = conn.execute(
            sa.text(
                "SELECT evaluation_number FROM study_runs WHERE study_id = :s AND evaluation_number IN :n "
                "ORDER BY evaluation_number LIMIT 1"
            ).bindparams(sa.bindparam("n", expanding=True)),
            {"s": study_id, "n": suspects},
        ).scalar()
        if taken is not None:
            raise DuplicateError(
                f"evaluation_number={taken} is already taken in study_id={study_id!r} "
                "(UNIQUE (study_id, evaluation_number)); nothing was written"
            )


def _check_new_run_ids(conn: Connection, run_ids: list[str], given_ids: list[str | None] | None) -> None:
    if len(set(run_ids)) != len(run_ids):
        seen: set[str] = set()
        for run_id in run_ids:
            if run_id in seen:
                raise DuplicateError(f"run_id={run_id!r} appears twice in this batch; nothing was written")
            seen.add(run_id)
    given = [run_id for run_id in given_ids or () if run_id]
    if given:
        taken = conn.execute(
            sa.text("SELECT run_id FROM study_runs WHERE run_id IN :ids LIMIT 1").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": given},
        ).scalar()
        if taken is not None:
            raise DuplicateError(f"run_id={taken!r} already exists; nothing was written")


def _check_simulation_links(conn: Connection, simulation_ids: list[str | None]) -> None:
    wanted = sorted({s for s in simulation_ids if s})
    if not wanted:
        return
    found = set(
        conn.execute(
            sa.text("SELECT run_id FROM simulation_runs WHERE run_id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": wanted},
        ).scalars()
    )
    missing = [s for s in wanted if s not in found]
    if missing:
        raise ValidationError(
            f"simulation_run_id={missing[0]!r}: no such simulation run; log the simulation first, "
            "or log it afterwards with study_run_id to link both ways; nothing was written"
        )


def _duplicate_from(error: exc.IntegrityError) -> ValidationError:
    text = str(error.orig).strip()
    if "unique" in text.lower() or "duplicate key" in text.lower():
        if "evaluation_number" in text:
            return DuplicateError(f"duplicate (study_id, evaluation_number): {text}; nothing was written")
        return DuplicateError(f"duplicate key: {text}; nothing was written")
    return ValidationError(f"refused by the database: {text}; nothing was written")


def insert_intermediate_values(conn: Connection, study_id: str, rows: list[tuple[str, int, float | None]]) -> int:
    """Learning-curve points ``(run_id, step, value)`` of runs of one study; NaN is stored as NULL.
    A step a run already reported is refused, like a step given twice."""
    if not rows:
        return 0
    lock_studies(conn, [study_id])
    run_ids = sorted({run_id for run_id, _, _ in rows})
    found = set(conn.execute(
        sa.text("SELECT run_id FROM study_runs WHERE study_id = :s AND run_id IN :ids").bindparams(
            sa.bindparam("ids", expanding=True)), {"s": study_id, "ids": run_ids}).scalars())
    missing = [run_id for run_id in run_ids if run_id not in found]
    if missing:
        raise ValidationError(f"intermediate_values: run_id={missing[0]!r} is not a run of study_id={study_id!r}; "
                              "nothing was written")
    keys = [(run_id, step) for run_id, step, _ in rows]
    if len(set(keys)) != len(keys):
        twice = next(k for k in keys if keys.count(k) > 1)
        raise DuplicateError(f"intermediate_values: step={twice[1]} of run_id={twice[0]!r} appears twice in this batch; "
                             "nothing was written")
    try:
        bulk_insert(conn, "intermediate_values", ["run_id", "study_id", "step", "value"],
                    [[run_id for run_id, _, _ in rows], [study_id] * len(rows), [step for _, step, _ in rows],
                     [None if value != value else value for _, _, value in rows]])
    except exc.IntegrityError as error:
        raise DuplicateError(f"intermediate_values: a step was already reported ({str(error.orig).strip()}); "
                             "nothing was written") from None
    return len(rows)


# -------------------------------------------------------------------------------- simulation runs

_SIMULATION_FLOATS = (
    "execution_time_seconds", "total_cost", "co2_emissions", "renewable_fraction", "self_sufficiency_rate",
)


def insert_simulation_run(conn: Connection, record: dict) -> str:
    for field in _SIMULATION_FLOATS:
        value = record.get(field)
        if value is not None and value != value:
            raise ValidationError(
                f"simulation_run: {field}=nan: NaN cannot be stored in a REAL column (SQLite would make it NULL); "
                "use None for a missing value; nothing was written"
            )
    run_id = record.get("run_id") or uuid.uuid4().hex
    study_id = record.get("study_id")
    study_run_id = record.get("study_run_id")
    if study_run_id is not None:
        owner = conn.execute(
            sa.select(t.study_runs.c.study_id).where(t.study_runs.c.run_id == study_run_id)
        ).scalar()
        if owner is None:
            raise ValidationError(f"simulation_run: study_run_id={study_run_id!r}: no such study run; nothing was written")
        if study_id is None:
            study_id = owner
    if study_id is not None:
        lock_studies(conn, [study_id])  # a study (or a run's study) of another project is unknown here
    if conn.execute(sa.select(t.simulation_runs.c.run_id).where(t.simulation_runs.c.run_id == run_id)).first():
        raise DuplicateError(f"simulation_run: run_id={run_id!r} already exists; nothing was written")
    values = {
        "run_id": run_id,
        "run_name": record.get("run_name"),
        "system_config_path": record.get("system_config_path"),
        "status": record.get("status"),
        "start_time": _legacy_time("start_time", record.get("start_time")),
        "end_time": _legacy_time("end_time", record.get("end_time")),
        "results_path": record.get("results_path"),
        "metadata_json": encode_json("metadata_json", record.get("metadata_json")),
        "study_id": study_id,
        "study_run_id": study_run_id,
        "project_id": ensure_project(conn),
        "created_at": normalize_timestamp("created_at", record.get("created_at")) or now_text(),
    }
    for field in ("run_name", "system_config_path", "status", "results_path"):
        if values[field] is not None:
            check_text(field, values[field])
    values.update({field: record.get(field) for field in _SIMULATION_FLOATS})
    conn.execute(t.simulation_runs.insert().values(**values))
    if study_run_id is not None:
        conn.execute(
            t.study_runs.update()
            .where(t.study_runs.c.run_id == study_run_id, t.study_runs.c.simulation_run_id.is_(None))
            .values(simulation_run_id=run_id)
        )
    return run_id


def _legacy_time(field: str, value: Any) -> str | None:
    # The old service stored whatever text it was given; keep doing so, but normalise datetimes.
    if value is None or isinstance(value, str):
        if value is not None:
            check_text(field, value)
        return value
    return normalize_timestamp(field, value)


# ------------------------------------------------------------------------------- analysis tables


def insert_convergence_metrics(conn: Connection, records: list[dict]) -> int:
    if not records:
        return 0
    lock_studies(conn, (r["study_id"] for r in records))
    keys = [(r["study_id"], r["generation_number"]) for r in records]
    if len(set(keys)) != len(keys):
        raise DuplicateError("convergence_metrics: a generation_number appears twice in this batch; nothing was written")
    for study_id in {k[0] for k in keys}:
        generations = [g for s, g in keys if s == study_id]
        taken = conn.execute(
            sa.text(
                "SELECT generation_number FROM convergence_metrics WHERE study_id = :s AND generation_number IN :g LIMIT 1"
            ).bindparams(sa.bindparam("g", expanding=True)),
            {"s": study_id, "g": generations},
        ).scalar()
        if taken is not None:
            raise DuplicateError(
                f"convergence_metrics: generation_number={taken} already logged for study_id={study_id!r}; nothing was written"
            )
    now = now_text()
    conn.execute(t.convergence_metrics.insert(), [{**r, "created_at": now} for r in records])
    return len(records)


def insert_pareto_front(conn: Connection, record: dict, hypervolume: float | None) -> int:
    study_id = record["study_id"]
    lock_studies(conn, [study_id])
    run_ids = record["run_ids"]
    if len(set(run_ids)) != len(run_ids):
        raise ValidationError("pareto_front: run_ids contains a run twice; nothing was written")
    if run_ids:
        found = set(
            conn.execute(
                sa.text("SELECT run_id FROM study_runs WHERE study_id = :s AND run_id IN :ids").bindparams(
                    sa.bindparam("ids", expanding=True)
                ),
                {"s": study_id, "ids": run_ids},
            ).scalars()
        )
        missing = [r for r in run_ids if r not in found]
        if missing:
            raise ValidationError(
                f"pareto_front: run_ids contains {missing[0]!r}, which is not a run of study_id={study_id!r}; nothing was written"
            )
    front_size = record.get("front_size")
    if front_size is not None and front_size != len(run_ids):
        raise ValidationError(f"pareto_front: front_size={front_size} but run_ids lists {len(run_ids)} runs")
    result = conn.execute(
        t.pareto_fronts.insert().values(
            study_id=study_id,
            generation_number=record.get("generation_number"),
            front_size=len(run_ids),
            hypervolume=record.get("hypervolume", hypervolume),
            run_ids=json.dumps(run_ids, separators=(",", ":"), ensure_ascii=False),
            created_at=now_text(),
        )
    )
    return result.inserted_primary_key[0]


def insert_uncertainty(conn: Connection, record: dict) -> int:
    lock_studies(conn, [record["study_id"]])
    _check_run_of_study(conn, record.get("target_solution_id"), record["study_id"], "target_solution_id")
    result = conn.execute(t.uncertainty_analysis.insert().values(**record, created_at=now_text()))
    return result.inserted_primary_key[0]


def insert_sensitivity(conn: Connection, records: list[dict]) -> list[int]:
    if not records:
        return []
    lock_studies(conn, (r["study_id"] for r in records))
    analysis_ids = sorted({r["analysis_id"] for r in records if r.get("analysis_id") is not None})
    if analysis_ids:
        owners = dict(
            conn.execute(
                sa.text("SELECT analysis_id, study_id FROM uncertainty_analysis WHERE analysis_id IN :ids").bindparams(
                    sa.bindparam("ids", expanding=True)
                ),
                {"ids": analysis_ids},
            ).all()
        )
        for record in records:
            aid = record.get("analysis_id")
            if aid is not None and owners.get(aid) != record["study_id"]:
                raise ValidationError(
                    f"sensitivity_analysis: analysis_id={aid} is not an uncertainty analysis of "
                    f"study_id={record['study_id']!r}; nothing was written"
                )
    now = now_text()
    ids = []
    for record in records:  # a handful of rows per analysis; ids are wanted back
        ids.append(conn.execute(t.sensitivity_analysis.insert().values(**record, created_at=now)).inserted_primary_key[0])
    return ids


def _check_run_of_study(conn: Connection, run_id: str | None, study_id: str, field: str) -> None:
    if run_id is None:
        return
    owner = conn.execute(sa.select(t.study_runs.c.study_id).where(t.study_runs.c.run_id == run_id)).scalar()
    if owner != study_id:
        raise ValidationError(f"{field}={run_id!r} is not a run of study_id={study_id!r}; nothing was written")


def elapsed_seconds(study: StudyState, completed_at: str) -> float | None:
    """Seconds from the study's creation to ``completed_at``; None when the old text is not a timestamp."""
    if not study.created_at:
        return None
    try:
        return max(0.0, seconds_between(study.created_at, completed_at))
    except ValueError:
        return None



# -------------------------------------------------------------------------------------- decisions


def insert_decision(conn: Connection, record: dict) -> int:
    """A decision: the run must be a successful run of the study and, when the study has two or more
    objectives, a design on its current front. ``decided_at`` is now; earlier decisions stay (history)."""
    study_id, run_id = record["study_id"], record["run_id"]
    study = lock_studies(conn, [study_id])[study_id]
    run = conn.execute(
        sa.text("SELECT study_id, simulation_status, design_key FROM study_runs WHERE run_id = :r"), {"r": run_id}
    ).first()
    if run is None or run.study_id != study_id:
        raise ValidationError(f"decision: run_id={run_id!r} is not a run of study_id={study_id!r}; nothing was written")
    if run.simulation_status != "success":
        raise ValidationError(f"decision: run_id={run_id!r} did not succeed (simulation_status="
                              f"{run.simulation_status!r}); a decision chooses a successful design; nothing was written")
    if study.n_objectives >= 2 and not _on_front(conn, study, run_id, run.design_key):
        raise ValidationError(
            f"decision: run_id={run_id!r} is not on the current front of study_id={study_id!r} (another design "
            "dominates it); a decision chooses one of the front's designs; nothing was written")
    try:
        for field in ("rationale", "decided_by"):
            if record.get(field) is not None:
                check_text(field, record[field])
        settings = record.get("settings")
        settings = None if settings is None else encode_json("settings", settings)
    except ValidationError as error:
        raise ValidationError(f"decision: {error}; nothing was written") from None
    result = conn.execute(t.decisions.insert().values(
        study_id=study_id,
        run_id=run_id,
        method=record["method"],
        settings=settings,
        rationale=record.get("rationale"),
        decided_by=record.get("decided_by"),
        decided_at=now_text(),
    ))
    return result.inserted_primary_key[0]


def _on_front(conn: Connection, study: StudyState, run_id: str, key: int | None) -> bool:
    """Is the run's design on the study's front: the stored flags of a completed study (a design
    evaluated again is flagged at one of its evaluations), computed from the runs of a running one."""
    if study.status == "completed":
        same_design = " OR design_key = :k" if key is not None else ""
        return conn.execute(
            sa.text(f"SELECT 1 FROM study_runs WHERE study_id = :s AND is_pareto_optimal AND (run_id = :r{same_design}) "
                    "LIMIT 1"), {"s": study.study_id, "r": run_id, "k": key}).first() is not None
    from .derive import load_study_runs, pareto_designs  # numpy; derive imports this module

    runs = load_study_runs(conn, study)
    mask = pareto_designs(study, runs)
    index = runs.run_ids.index(run_id)
    return bool(mask[index]) or int(runs.design_keys[index]) in set(runs.design_keys[mask].tolist())
