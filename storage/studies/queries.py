"""The seed's queries (and what the pages need), as functions of a ``Reader`` returning DataFrames.

Every query is written once, with named bound parameters, for both backends, and is shaped to be
an index read: a study's runs are reached through the indexes that lead with ``study_id``.
JSON columns come back decoded: ``parameter_vector`` and ``objectives`` as lists of floats
(non-finite objectives as NaN / inf), ``parameter_names`` and ``objective_directions`` as lists.

Studies that are still running get their derived data computed on the fly from their runs
(Pareto front, convergence history), so live monitoring never shows stale or missing numbers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable

import numpy as np
import orjson
import pandas as pd

from analysis import convergence, pareto

from .derive import load_study_runs, pareto_designs, reference_point_min
from ..errors import HiveError, UnknownStudyError, ValidationError
from ..jsonfields import NON_FINITE_TOKENS
from .labels import validate_labels, value_of, value_text
from ..reader import Reader
from ..schema import STUDY_STATUSES, STUDY_TYPES
from .writer import StudyState, _study_state

STUDY_TYPE_ALIASES = {"ga": "genetic_algorithm", "mc": "monte_carlo", "milp": "milp", "sim": "single_simulation"}
RUN_SORT_COLUMNS = ("evaluation_number", "generation_number", "fitness", "evaluation_time_seconds", "created_at")
SIMULATION_KPIS = ("total_cost", "co2_emissions", "renewable_fraction", "self_sufficiency_rate")

_STUDY_COLUMNS = """study_id, study_name, description, study_type, status, progress_percent, run_count,
    best_fitness, best_solution_id, optimization_objective, objective_directions, parameter_names,
    reference_point, population_size, max_generations, max_evaluations, created_at, updated_at,
    completed_at, execution_time_seconds, metadata_json, parameter_choices, experiment, labels"""

_RUN_COLUMNS = """r.run_id, r.study_id, r.evaluation_number, r.generation_number, r.parameter_vector,
    r.parameter_names, r.fitness, r.objectives, r.constraint_violations, r.simulation_status,
    r.evaluation_time_seconds, r.solver_time_seconds, r.is_pareto_optimal, r.domination_count,
    r.simulation_run_id, r.created_at, r.metadata_json, r.run_state"""

# How many evaluations the run's design had (index idx_study_runs_design): fronts and best-design
# lists show each design once and say how often it was evaluated.
_EVALUATIONS = ("CASE WHEN r.design_key IS NULL THEN 1 ELSE (SELECT COUNT(*) FROM study_runs d "
                "WHERE d.study_id = r.study_id AND d.design_key = r.design_key) END AS evaluations")

_KPI_COLUMNS = ", ".join(f"sim.{k}" for k in SIMULATION_KPIS)


def normalize_study_type(value: str | None) -> str | None:
    if value is None:
        return None
    resolved = STUDY_TYPE_ALIASES.get(value, value)
    if resolved not in STUDY_TYPES:
        raise ValidationError(
            f"study_type={value!r}: one of {', '.join(STUDY_TYPES)} (or {', '.join(STUDY_TYPE_ALIASES)})"
        )
    return resolved


# ----------------------------------------------------------------------------------------- studies


def _in_project(reader: Reader, alias: str = "") -> tuple[str, dict]:
    """The clause that keeps a reader of one project to its studies (``"1 = 1"`` for a reader of the
    whole file). On PostgreSQL row-level security says the same; the clause also lets the
    (project_id, created_at) index serve study lists."""
    if reader.project_id is None:
        return "1 = 1", {}
    return f"{alias}project_id = :project", {"project": reader.project_id}


def _study_filters(reader, study_type, status, text, created_from, created_to, experiment=None,
                   labels=None) -> tuple[str, dict]:
    project, params = _in_project(reader)
    clauses = [project] if params else []
    if experiment is not None:
        clauses.append("experiment = :experiment")
        params["experiment"] = experiment
    for i, (name, value) in enumerate((validate_labels(labels, "filter", tail="") or {}).items()):
        # one index probe of study_labels (name, value) per label asked for
        clauses.append(f"EXISTS (SELECT 1 FROM study_labels l WHERE l.study_id = studies.study_id "
                       f"AND l.name = :label_name{i} AND l.value = :label_value{i})")
        params[f"label_name{i}"], params[f"label_value{i}"] = name, value_text(value)
    types = [normalize_study_type(t) for t in ([study_type] if isinstance(study_type, str) else study_type or [])]
    if types:
        names = {f"type{i}": t for i, t in enumerate(types)}
        clauses.append(f"study_type IN ({', '.join(':' + n for n in names)})")
        params.update(names)
    statuses = [status] if isinstance(status, str) else list(status or [])
    for value in statuses:
        if value not in STUDY_STATUSES:
            raise ValidationError(f"status={value!r}: one of {', '.join(STUDY_STATUSES)}")
    if statuses:
        names = {f"status{i}": v for i, v in enumerate(statuses)}
        clauses.append(f"status IN ({', '.join(':' + n for n in names)})")
        params.update(names)
    if text:
        clauses.append(
            "(LOWER(study_id) LIKE :text ESCAPE '\\' OR LOWER(COALESCE(study_name, '')) LIKE :text ESCAPE '\\' "
            "OR LOWER(COALESCE(description, '')) LIKE :text ESCAPE '\\')"
        )
        params["text"] = "%" + _escape_like(text.lower()) + "%"
    if created_from:
        clauses.append("created_at >= :created_from")
        params["created_from"] = _day_text(created_from)
    if created_to:
        # A date includes its whole day; a moment in time includes that very second.
        whole_day = not isinstance(created_to, datetime) and not (isinstance(created_to, str) and len(created_to) > 10)
        clauses.append("created_at < :created_to" if whole_day else "created_at <= :created_to")
        params["created_to"] = _day_text(created_to, end=True)
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


def list_studies(
    reader: Reader,
    study_type: str | list[str] | None = None,
    status: str | list[str] | None = None,
    text: str | None = None,
    created_from: date | datetime | str | None = None,
    created_to: date | datetime | str | None = None,
    limit: int | None = None,
    offset: int = 0,
    *,
    experiment: str | None = None,
    labels: dict | None = None,
) -> pd.DataFrame:
    """Studies, newest first, with every filter optional (type and status take one value or a
    list); ``text`` matches id, name or description, case-insensitively in any script; ``experiment``
    one experiment; ``labels`` studies carrying every label given (``{"algorithm": "NSGA-II"}``;
    ``80`` and ``80.0`` are one value)."""
    where, params = _study_filters(reader, study_type, status, text, created_from, created_to, experiment, labels)
    sql = f"SELECT {_STUDY_COLUMNS} FROM studies {where} ORDER BY created_at DESC, study_id"
    if limit is not None:
        sql += " LIMIT :limit OFFSET :offset"
        params.update(limit=int(limit), offset=int(offset))
    return _studies(reader, sql, params)


def count_studies(reader: Reader, study_type=None, status=None, text=None, created_from=None, created_to=None, *,
                  experiment=None, labels=None) -> int:
    where, params = _study_filters(reader, study_type, status, text, created_from, created_to, experiment, labels)
    return int(reader.fetch_rows(f"SELECT COUNT(*) AS n FROM studies {where}", params)[0]["n"])


def study_choices(reader: Reader) -> pd.DataFrame:
    """What a study picker needs, most recently updated first: id, name, type, status, objective names
    and directions, run count, and what the study has to show: ``has_progress`` (convergence rows,
    or runs with generation numbers) and ``has_analyses`` (uncertainty or sensitivity results). The
    two flags are index probes per study (indexes lead with study_id), not scans."""
    project, params = _in_project(reader, "s.")
    return _studies(
        reader,
        "SELECT s.study_id, s.study_name, s.study_type, s.status, s.optimization_objective, s.objective_directions, "
        "s.run_count, s.updated_at, "
        "CASE WHEN EXISTS (SELECT 1 FROM convergence_metrics c WHERE c.study_id = s.study_id) "
        "  OR EXISTS (SELECT 1 FROM study_runs r WHERE r.study_id = s.study_id AND r.generation_number IS NOT NULL) "
        "  THEN 1 ELSE 0 END AS has_progress, "
        "CASE WHEN EXISTS (SELECT 1 FROM sensitivity_analysis a WHERE a.study_id = s.study_id) "
        "  OR EXISTS (SELECT 1 FROM uncertainty_analysis u WHERE u.study_id = s.study_id) "
        "  THEN 1 ELSE 0 END AS has_analyses "
        f"FROM studies s WHERE {project} ORDER BY s.updated_at DESC, s.created_at DESC, s.study_id",
        params,
    )


def list_projects(reader: Reader) -> pd.DataFrame:
    """Every project's id and name, by id: the projects a connection may choose from. On PostgreSQL
    ``projects`` shows a connection only its own project (forced row-level security), so the list
    comes from ``hive_project_directory()``, which lists ids and names and nothing inside them."""
    if reader.backend == "postgresql":
        return reader.fetch("SELECT id, name FROM hive_project_directory()")
    return reader.fetch("SELECT id, name FROM projects ORDER BY id")


def get_study(reader: Reader, study_id: str) -> dict:
    project, params = _in_project(reader)
    frame = _studies(reader, f"SELECT {_STUDY_COLUMNS} FROM studies WHERE study_id = :s AND {project}",
                     {"s": study_id, **params})
    if frame.empty:
        raise UnknownStudyError(study_id)
    return frame.to_dict("records")[0]


def study_state(reader: Reader, study_id: str) -> StudyState:
    """The study's state; a study of another project than the reader's is unknown (every per-study
    query starts here)."""
    project, params = _in_project(reader)
    rows = reader.fetch_rows(
        "SELECT study_id, study_type, status, objective_directions, parameter_names, reference_point, "
        f"run_count, best_fitness, best_solution_id, created_at FROM studies WHERE study_id = :s AND {project}",
        {"s": study_id, **params},
    )
    if not rows:
        raise UnknownStudyError(study_id)
    return _study_state(_Row(rows[0]))


_FINITE_SUCCESS = "r.study_id = s.study_id AND r.simulation_status = 'success' AND r.fitness < :inf AND r.fitness > :ninf"


def compare_studies(reader: Reader, study_ids: Iterable[str]) -> pd.DataFrame:
    """The seed's side-by-side table: study_id, study_type, best_fitness, run_count, avg_fitness,
    pareto_count, execution_time_seconds (plus status and objective count).

    ``avg_fitness`` averages the finite fitness of successful runs. ``pareto_count`` is the size of
    the current front: the stored flags of a completed study (counted through the partial Pareto
    index), computed from the runs of one still running. One statement for all the studies."""
    ids = list(dict.fromkeys(study_ids))
    if not ids:
        raise ValidationError("study_ids: give at least one study")
    names = {f"id{i}": study_id for i, study_id in enumerate(ids)}
    project, in_project = _in_project(reader, "s.")
    sql = (
        "SELECT s.study_id, s.study_type, s.best_fitness, s.run_count, s.execution_time_seconds, s.status, "
        "s.objective_directions, s.parameter_names, s.reference_point, s.created_at, s.best_solution_id, "
        f"(SELECT AVG(r.fitness) FROM study_runs r WHERE {_FINITE_SUCCESS}) AS avg_fitness, "
        "(SELECT COUNT(*) FROM study_runs r WHERE r.study_id = s.study_id AND r.is_pareto_optimal) AS flagged "
        f"FROM studies s WHERE s.study_id IN ({', '.join(':' + n for n in names)}) AND {project}"
    )
    params = {**names, **in_project, "inf": math.inf, "ninf": -math.inf}
    try:
        found = {row["study_id"]: row for row in reader.fetch_rows(sql, params)}
    except HiveError as error:
        if "out of range" not in str(error):
            raise
        found = None  # PostgreSQL refuses a sum beyond the largest double: average scaled below
    if found is None or any(r["avg_fitness"] is not None and math.isinf(r["avg_fitness"]) for r in found.values()):
        found = {row["study_id"]: row for row in reader.fetch_rows(sql.replace(
            "SELECT AVG(r.fitness)", "SELECT AVG(r.fitness / :scale) * :scale"), {**params, "scale": math.ldexp(1.0, 1000)})}
    rows = []
    for study_id in ids:
        if study_id not in found:
            raise UnknownStudyError(study_id)
        row = found[study_id]
        study = _study_state(_Row(row))
        pareto_count = None
        if study.n_objectives >= 2:
            pareto_count = int(row["flagged"]) if study.status == "completed" else _live_front_size(reader, study)
        rows.append({
            "study_id": study_id,
            "study_type": row["study_type"],
            "best_fitness": row["best_fitness"],
            "run_count": row["run_count"],
            "avg_fitness": row["avg_fitness"],
            "pareto_count": pareto_count,
            "execution_time_seconds": row["execution_time_seconds"],
            "status": row["status"],
            "objectives": study.n_objectives,
        })
    return pd.DataFrame(rows)


def _live_front_size(reader: Reader, study: StudyState) -> int:
    """Distinct designs on the front of a study that is still running."""
    with reader.engine.connect() as conn:
        runs = load_study_runs(conn, study)
    return int(pareto_designs(study, runs).sum())


# ------------------------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class RunFilter:
    generation: int | None = None
    fitness_min: float | None = None
    fitness_max: float | None = None
    simulation_status: str | None = None


def _run_where(study_id: str, filters: RunFilter) -> tuple[str, dict]:
    clauses, params = ["r.study_id = :study_id"], {"study_id": study_id}
    if filters.generation is not None:
        clauses.append("r.generation_number = :generation")
        params["generation"] = int(filters.generation)
    if filters.fitness_min is not None:
        clauses.append("r.fitness >= :fitness_min")
        params["fitness_min"] = float(filters.fitness_min)
    if filters.fitness_max is not None:
        clauses.append("r.fitness <= :fitness_max")
        params["fitness_max"] = float(filters.fitness_max)
    if filters.simulation_status is not None:
        clauses.append("r.simulation_status = :simulation_status")
        params["simulation_status"] = filters.simulation_status
    return " AND ".join(clauses), params


def query_study_runs(
    reader: Reader,
    study_id: str,
    filters: RunFilter = RunFilter(),
    sort: str = "evaluation_number",
    descending: bool = False,
    limit: int = 100,
    offset: int = 0,
    with_kpis: bool = True,
    after_evaluation: int | None = None,
) -> pd.DataFrame:
    """One page of a study's runs: filtered, sorted (server side), ``limit`` rows from ``offset``.

    ``after_evaluation`` pages by key instead (runs with a larger evaluation_number), which stays
    fast at any depth; exports use it."""
    if sort not in RUN_SORT_COLUMNS:
        raise ValidationError(f"sort={sort!r}: one of {', '.join(RUN_SORT_COLUMNS)}")
    if not 0 < int(limit) <= 100_000:
        raise ValidationError(f"limit={limit!r}: between 1 and 100000")
    if int(offset) < 0:
        raise ValidationError(f"offset={offset!r}: must not be negative")
    where, params = _run_where(study_id, filters)
    if after_evaluation is not None:
        where += " AND r.evaluation_number > :after_evaluation"
        params["after_evaluation"] = int(after_evaluation)
    direction = "DESC" if descending else "ASC"
    # Runs without a value sort last on both backends (their defaults disagree); fitness and
    # evaluation_number are never NULL, and a bare sort key keeps the (study_id, key) index usable.
    nulls_last = "" if sort in ("fitness", "evaluation_number") else f"(r.{sort} IS NULL), "
    join = f", {_KPI_COLUMNS}" if with_kpis else ""
    sql = (
        f"SELECT {_RUN_COLUMNS}{join} FROM study_runs r "
        + ("LEFT JOIN simulation_runs sim ON sim.run_id = r.simulation_run_id " if with_kpis else "")
        + f"WHERE {where} ORDER BY {nulls_last}r.{sort} {direction}, r.evaluation_number {direction} "
        "LIMIT :limit OFFSET :offset"
    )
    params.update(limit=int(limit), offset=int(offset))
    return _runs(reader, sql, params)


def count_study_runs(reader: Reader, study_id: str, filters: RunFilter = RunFilter()) -> int:
    where, params = _run_where(study_id, filters)
    return int(reader.fetch_rows(f"SELECT COUNT(*) AS n FROM study_runs r WHERE {where}", params)[0]["n"])


def _sample_step(reader: Reader, study_id: str, max_rows: int) -> int:
    """Every k-th evaluation keeps at most ``max_rows`` of the study's runs."""
    return max(1, -(-count_study_runs(reader, study_id) // max(1, int(max_rows))))


def sample_study_fitness(reader: Reader, study_id: str, max_rows: int = 20_000) -> np.ndarray:
    """Fitness of an evenly spread sample of the study's successful runs (every k-th evaluation), for
    distributions: one column, not whole runs."""
    step = _sample_step(reader, study_id, max_rows)
    _columns, rows = reader.fetch_columns(
        "SELECT fitness FROM study_runs WHERE study_id = :s AND simulation_status = 'success' "
        "AND evaluation_number % :step = 0 ORDER BY evaluation_number LIMIT :limit",
        {"s": study_id, "step": step, "limit": int(max_rows)},
    )
    return np.array([row[0] for row in rows], dtype=float)  # NULL (no fitness) -> NaN


def sample_study_runs(reader: Reader, study_id: str, max_rows: int = 5000) -> pd.DataFrame:
    """An evenly spread sample of at most ``max_rows`` runs (every k-th evaluation), for drawing a
    study's cloud without sending a million points to the browser."""
    step = _sample_step(reader, study_id, max_rows)
    return _runs(
        reader,
        f"SELECT {_RUN_COLUMNS} FROM study_runs r WHERE r.study_id = :s AND r.evaluation_number % :step = 0 "
        "ORDER BY r.evaluation_number LIMIT :limit",
        {"s": study_id, "step": step, "limit": int(max_rows)},
    )


def get_best_designs(reader: Reader, study_id: str, limit: int = 10) -> pd.DataFrame:
    """Top ``limit`` designs by fitness in the study's direction, each design once (its best
    successful evaluation), with simulation KPIs and ``evaluations``: how often it was evaluated."""
    study = study_state(reader, study_id)
    if not 0 < int(limit) <= 100_000:
        raise ValidationError(f"limit={limit!r}: between 1 and 100000")
    direction = "DESC" if study.maximize else "ASC"
    sql = (
        f"SELECT {_RUN_COLUMNS}, {_KPI_COLUMNS}, r.design_key, {_EVALUATIONS} FROM study_runs r "
        "LEFT JOIN simulation_runs sim ON sim.run_id = r.simulation_run_id "
        "WHERE r.study_id = :s AND r.simulation_status = 'success' "
        f"ORDER BY r.fitness {direction}, r.evaluation_number LIMIT :limit"
    )
    # An index range read of the best runs; read further only when repeated designs filled it.
    fetch = 2 * int(limit)
    while True:
        frame = _runs(reader, sql, {"s": study_id, "limit": fetch})
        designs = frame[frame["design_key"].isna() | ~frame["design_key"].duplicated()]  # no key: a design of its own
        if len(designs) >= int(limit) or len(frame) < fetch:
            break
        fetch *= 4
    return designs.head(int(limit)).drop(columns=["design_key"]).reset_index(drop=True)


def get_pareto_front(reader: Reader, study_id: str, study: StudyState | None = None) -> pd.DataFrame:
    """The front of a multi-objective study, at any time: its non-dominated successful runs, one per
    design, with ``evaluations`` (how often the design was evaluated).

    Completed studies read their stored flags through the partial Pareto index; running ones are
    computed from the runs (same rule: successful runs with all objectives finite)."""
    study = study or study_state(reader, study_id)
    if study.n_objectives < 2:
        raise ValidationError(
            f"study_id={study_id!r} has one objective ({study.directions[0]}); a Pareto front needs two or more"
        )
    base = (
        f"SELECT {_RUN_COLUMNS}, {_KPI_COLUMNS}, {_EVALUATIONS} FROM study_runs r "
        "LEFT JOIN simulation_runs sim ON sim.run_id = r.simulation_run_id WHERE r.study_id = :s"
    )
    if study.status == "completed":
        return _runs(reader, base + " AND r.is_pareto_optimal ORDER BY r.fitness, r.evaluation_number", {"s": study_id})
    with reader.engine.connect() as conn:
        runs = load_study_runs(conn, study)
    front_ids = [runs.run_ids[i] for i in np.flatnonzero(pareto_designs(study, runs))]
    frame = _fetch_runs_by_id(reader, base, study_id, front_ids)
    frame["is_pareto_optimal"] = True
    return frame.sort_values(["fitness", "evaluation_number"], kind="stable").reset_index(drop=True)


def get_runs(reader: Reader, study_id: str, run_ids: list[str]) -> pd.DataFrame:
    """Chosen runs of a study (e.g. a selection on a chart), with their simulation KPIs."""
    base = (
        f"SELECT {_RUN_COLUMNS}, {_KPI_COLUMNS} FROM study_runs r "
        "LEFT JOIN simulation_runs sim ON sim.run_id = r.simulation_run_id WHERE r.study_id = :s"
    )
    return _fetch_runs_by_id(reader, base, study_id, list(dict.fromkeys(run_ids)))


def study_objectives(reader: Reader, study_id: str) -> pd.DataFrame:
    """Every run's generation, success flag, design key (a run without one gets a key of its own)
    and objectives (one column per objective, in minimization form under ``min_<i>``), for
    front-evolution views. Parsed in one pass."""
    study = study_state(reader, study_id)
    with reader.engine.connect() as conn:
        runs = load_study_runs(conn, study)
    frame = pd.DataFrame({"run_id": runs.run_ids, "generation_number": runs.generations, "valid": runs.valid,
                          "design_key": runs.design_keys})
    minimized = pareto.to_minimization(runs.objectives, study.directions) if len(runs.run_ids) else runs.objectives
    for i in range(study.n_objectives):
        frame[f"objective_{i}"] = runs.objectives[:, i]
        frame[f"min_{i}"] = minimized[:, i]
    return frame


def _fetch_runs_by_id(reader: Reader, base: str, study_id: str, run_ids: list[str]) -> pd.DataFrame:
    frames = []
    for start in range(0, len(run_ids), 500):  # bounded IN lists
        chunk = run_ids[start:start + 500]
        names = {f"id{i}": run_id for i, run_id in enumerate(chunk)}
        placeholders = ", ".join(f":{name}" for name in names)
        frames.append(_runs(reader, base + f" AND r.run_id IN ({placeholders})", {"s": study_id, **names}))
    if not frames:
        return _runs(reader, base + " AND 1 = 0", {"s": study_id})
    return pd.concat(frames, ignore_index=True)


def get_convergence_history(reader: Reader, study_id: str) -> pd.DataFrame:
    """Per generation, in order: best / average / worst / std of fitness, best so far, stagnation,
    evaluations, diversity and (multi-objective) hypervolume of the front so far.

    Rows the optimizer logged (or the store derived at completion) are used as stored; generations
    with runs but no row yet (a running study) are computed from the runs, so a live study's
    history is complete on every call."""
    study = study_state(reader, study_id)
    stored = reader.fetch(
        "SELECT generation_number, best_fitness, average_fitness, worst_fitness, fitness_std_dev, "
        "population_diversity, stagnation_count, generation_time_seconds, evaluations_in_generation, "
        "hypervolume, dual_bound, relative_gap, elapsed_seconds FROM convergence_metrics "
        "WHERE study_id = :s ORDER BY generation_number",
        {"s": study_id},
    )
    stored["source"] = "stored"
    if study.status == "completed":
        history = stored
    else:
        computed = _live_convergence(reader, study)
        if len(stored):
            computed = computed[~computed["generation_number"].isin(stored["generation_number"])]
        history = pd.concat([stored, computed], ignore_index=True) if len(computed) else stored
    history = history.sort_values("generation_number", kind="stable").reset_index(drop=True)
    best = history["best_fitness"].astype(float)
    # cummin/cummax leave a generation without any successful run at NaN; the best so far carries over.
    history["best_so_far"] = (best.cummax() if study.maximize else best.cummin()).ffill()
    return history


def study_progress(reader: Reader, study_id: str) -> dict:
    """What a live view shows of a study: its row (status, run_count, best_fitness, progress and
    budget fields) and, for several objectives, the hypervolume of its front so far (the latest
    generation's; None for one objective or no valid run)."""
    study = get_study(reader, study_id)
    study["hypervolume"] = None
    if len(study.get("objective_directions") or []) >= 2 and study.get("run_count"):
        volumes = get_convergence_history(reader, study_id)["hypervolume"].astype(float).dropna()
        study["hypervolume"] = float(volumes.iloc[-1]) if len(volumes) else None
    return study


def _live_convergence(reader: Reader, study: StudyState) -> pd.DataFrame:
    with reader.engine.connect() as conn:
        runs = load_study_runs(conn, study)
    has_generation = ~np.isnan(runs.generations)
    if not has_generation.any():
        return pd.DataFrame(columns=["generation_number"])
    fitness = np.where(runs.success, runs.fitness, np.nan)[has_generation]
    parameters = runs.parameters[has_generation] if runs.parameters is not None else None
    history = convergence.convergence_history(
        runs.generations[has_generation].astype(np.int64), fitness, study.directions[0], parameters
    ).drop(columns=["best_so_far", "nonfinite_count"])
    history["hypervolume"] = np.nan
    if study.n_objectives >= 2:
        valid = runs.valid & has_generation
        if valid.any():
            points = pareto.to_minimization(runs.objectives[valid], study.directions)
            gens, hv = pareto.hypervolume_by_generation(
                points, runs.generations[valid].astype(np.int64), reference_point_min(study, points)
            )
            history = history.set_index("generation_number")
            history.loc[np.asarray(gens, dtype=np.int64), "hypervolume"] = hv
            history = history.reset_index()
    history["stagnation_count"] = history["stagnation_count"].astype("float")
    history["source"] = "computed"
    return history


def get_uncertainty_summary(reader: Reader, study_id: str) -> pd.DataFrame:
    study_state(reader, study_id)
    return reader.fetch(
        "SELECT analysis_id, objective_name, target_solution_id, mean_value, median_value, std_dev, "
        "percentile_5, percentile_25, percentile_50, percentile_75, percentile_95, var_95, cvar_95, "
        "sample_count, excluded_count, created_at FROM uncertainty_analysis WHERE study_id = :s "
        "ORDER BY objective_name, analysis_id",
        {"s": study_id},
    )


def get_sensitivity_rankings(reader: Reader, study_id: str, limit: int | None = 10) -> pd.DataFrame:
    study_state(reader, study_id)
    sql = (
        "SELECT sensitivity_id, analysis_id, objective_name, parameter_name, parameter_index, "
        "correlation_coefficient, rank_correlation, sobol_first_order, sobol_first_order_conf, "
        "sobol_total, sobol_total_conf, importance_rank FROM sensitivity_analysis WHERE study_id = :s "
        "ORDER BY importance_rank, objective_name, parameter_index"
    )
    params: dict = {"s": study_id}
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = int(limit)
    return reader.fetch(sql, params)


# ------------------------------------------------------------------------------------- decoding


class _Row:
    def __init__(self, mapping: dict):
        self.__dict__.update(mapping)


def _json_column(values: list) -> list:
    """Decode a column of JSON texts in one parse (NULL stays None)."""
    present = [v for v in values if isinstance(v, str)]
    if not present:
        return [None] * len(values)
    decoded = iter(orjson.loads("[" + ",".join(present) + "]"))
    return [next(decoded) if isinstance(v, str) else None for v in values]


def _objective_column(values: list) -> list:
    decoded = _json_column(values)
    if any('"' in v for v in values if isinstance(v, str)):  # "NaN" / "Infinity" / "-Infinity"
        decoded = [None if row is None else [NON_FINITE_TOKENS[v] if isinstance(v, str) else float(v) for v in row]
                   for row in decoded]
    return decoded


_RUN_DECODERS = {"parameter_vector": _json_column, "parameter_names": _json_column, "objectives": _objective_column,
                 # 64-bit keys stay exact (a float column would round them)
                 "design_key": lambda values: pd.array(values, dtype="Int64")}
_STUDY_DECODERS = {"objective_directions": _json_column, "parameter_names": _json_column, "reference_point": _json_column,
                   "parameter_choices": lambda values: [orjson.loads(v) if v else None for v in values],
                   "labels": lambda values: [orjson.loads(v) if v else None for v in values]}


def _frame(columns: list[str], rows: list[tuple], decoders: dict) -> pd.DataFrame:
    data = {name: list(values) for name, values in zip(columns, zip(*rows))} if rows else {name: [] for name in columns}
    for name, decode in decoders.items():
        if name in data:
            data[name] = decode(data[name])
    frame = pd.DataFrame(data, columns=columns)
    if "is_pareto_optimal" in frame:
        frame["is_pareto_optimal"] = frame["is_pareto_optimal"].astype(bool)
    if "objective_directions" in frame:
        frame["objective_directions"] = [v if v else ["minimize"] for v in frame["objective_directions"]]
    return frame


def _runs(reader: Reader, sql: str, params: dict) -> pd.DataFrame:
    """A run query's result with its JSON columns decoded in bulk."""
    return _frame(*reader.fetch_columns(sql, params), _RUN_DECODERS)


def _studies(reader: Reader, sql: str, params: dict) -> pd.DataFrame:
    return _frame(*reader.fetch_columns(sql, params), _STUDY_DECODERS)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _day_text(value, end: bool = False) -> str:
    """A date bound as timestamp text; an end date includes its whole day."""
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if end:
        value = date.fromordinal(value.toordinal() + 1)
    return value.strftime("%Y-%m-%d 00:00:00")


def get_design(reader: Reader, study_id: str, run_id: str) -> dict:
    """One evaluation, for the design view: the run with its simulation KPIs, the other evaluations
    of the same design (``repeats``: run ids in evaluation order) and its learning curve
    (``intermediate_values``: steps and values, NaN where the run reported NaN)."""
    study_state(reader, study_id)
    frame = get_runs(reader, study_id, [run_id])
    if frame.empty:
        from ..errors import NotFoundError

        raise NotFoundError(f"run_id={run_id!r}: no such run in study_id={study_id!r}")
    run = frame.to_dict("records")[0]
    key = reader.fetch_rows("SELECT design_key FROM study_runs WHERE run_id = :r", {"r": run_id})[0]["design_key"]
    repeats = [] if key is None else [row["run_id"] for row in reader.fetch_rows(
        "SELECT run_id FROM study_runs WHERE study_id = :s AND design_key = :k ORDER BY evaluation_number",
        {"s": study_id, "k": key})]
    curve = reader.fetch("SELECT step, value FROM intermediate_values WHERE run_id = :r ORDER BY step", {"r": run_id})
    return {"run": run, "repeats": repeats or [run_id], "intermediate_values": curve}


def best_run_of_generation(reader: Reader, study_id: str, generation: int) -> str | None:
    """The run with the best fitness of one generation (successful runs), e.g. a convergence point."""
    study = study_state(reader, study_id)
    direction = "DESC" if study.maximize else "ASC"
    rows = reader.fetch_rows(
        "SELECT run_id FROM study_runs WHERE study_id = :s AND generation_number = :g AND simulation_status = 'success' "
        f"ORDER BY fitness {direction}, evaluation_number LIMIT 1", {"s": study_id, "g": int(generation)})
    return rows[0]["run_id"] if rows else None


# ---------------------------------------------------------------------- experiments and decisions


def list_experiments(reader: Reader) -> pd.DataFrame:
    """Every experiment, the most recently updated first: how many studies and runs it has, and its
    labels (``{name: how many distinct values}``, e.g. ``{"algorithm": 2, "seed": 5}``)."""
    project, params = _in_project(reader, "s.")
    frame = reader.fetch(
        "SELECT experiment, COUNT(*) AS studies, SUM(run_count) AS runs, MAX(updated_at) AS updated_at "
        f"FROM studies s WHERE experiment IS NOT NULL AND {project} "
        "GROUP BY experiment ORDER BY MAX(updated_at) DESC, experiment", params)
    counts: dict[str, dict[str, int]] = {}
    for row in reader.fetch_rows(
            "SELECT s.experiment, l.name, COUNT(DISTINCT l.value) AS n FROM study_labels l "
            f"JOIN studies s ON s.study_id = l.study_id WHERE s.experiment IS NOT NULL AND {project} "
            "GROUP BY s.experiment, l.name ORDER BY s.experiment, l.name", params):
        counts.setdefault(row["experiment"], {})[row["name"]] = int(row["n"])
    frame["labels"] = [counts.get(e, {}) for e in frame["experiment"]]
    return frame


def experiment_studies(reader: Reader, experiment: str) -> pd.DataFrame:
    """The studies of one experiment (by id), with ``labels`` as the values filters and groups compare
    (``80.0`` read as ``80``; see ``storage.studies.labels``). Refuses an experiment no study has, naming those
    the database holds."""
    project, params = _in_project(reader)
    frame = _studies(reader, f"SELECT {_STUDY_COLUMNS} FROM studies WHERE experiment = :e AND {project} "
                     "ORDER BY study_id", {"e": experiment, **params})
    if frame.empty:
        from ..errors import NotFoundError

        known = list_experiments(reader)["experiment"].tolist()
        have = f"experiments here: {', '.join(repr(e) for e in known[:10])}" if known else "no study has an experiment yet"
        raise NotFoundError(f"experiment={experiment!r}: no such experiment ({have})")
    labels: dict[str, dict] = {}
    for row in reader.fetch_rows(
            "SELECT l.study_id, l.name, l.value FROM study_labels l JOIN studies s ON s.study_id = l.study_id "
            f"WHERE s.experiment = :e AND {_in_project(reader, 's.')[0]}", {"e": experiment, **params}):
        labels.setdefault(row["study_id"], {})[row["name"]] = value_of(row["value"])
    frame["labels"] = [labels.get(sid, {}) for sid in frame["study_id"]]
    return frame


_DECISION_DECODERS = {**_RUN_DECODERS, "settings": _json_column}


def get_decisions(reader: Reader, study_id: str) -> pd.DataFrame:
    """A study's decisions, the latest first (its history): method, settings (decoded), rationale,
    who and when, and the chosen run's evaluation, generation, parameters and objectives."""
    study_state(reader, study_id)
    return _frame(*reader.fetch_columns(
        "SELECT d.decision_id, d.study_id, d.run_id, d.method, d.settings, d.rationale, d.decided_by, d.decided_at, "
        "r.evaluation_number, r.generation_number, r.parameter_vector, r.parameter_names, r.fitness, r.objectives "
        "FROM decisions d JOIN study_runs r ON r.run_id = d.run_id WHERE d.study_id = :s "
        "ORDER BY d.decided_at DESC, d.decision_id DESC", {"s": study_id}), _DECISION_DECODERS)


# ------------------------------------------------------------------------- trials (issue 13)
# What Optuna Dashboard shows of any study: history by evaluation number, learning curves, timeline,
# parameter importance. Large studies are thinned here, so the browser receives a bounded drawing.


def _objective_values(reader: Reader, study_id: str, columns: str, where: str = "") -> tuple[StudyState, list, np.ndarray]:
    """Rows of a study's runs (``columns``, then fitness and objectives last) in evaluation order, and
    the (n, m) objective values (a single-objective run that logged only fitness: its fitness)."""
    study = study_state(reader, study_id)
    _names, rows = reader.fetch_columns(
        f"SELECT {columns}, fitness, objectives FROM study_runs WHERE study_id = :s {where} ORDER BY evaluation_number",
        {"s": study_id})
    from .derive import parse_objectives

    m = study.n_objectives
    values = parse_objectives([r[-1] for r in rows], m) if rows else np.empty((0, m))
    if m == 1 and rows:
        missing = np.isnan(values[:, 0])
        values[missing, 0] = np.array([np.nan if r[-2] is None else r[-2] for r in rows], dtype=float)[missing]
    return study, rows, values


def run_state_label(simulation_status: str, run_state: str | None) -> str:
    """One word for an evaluation's outcome: feasible, infeasible, pruned or failed."""
    if simulation_status == "success":
        return "feasible"
    if simulation_status == "infeasible":
        return "infeasible"
    return "pruned" if run_state == "pruned" else "failed"


def get_trial_history(reader: Reader, study_id: str, objective: int = 0, max_points: int = 5000) -> pd.DataFrame:
    """Objective ``objective`` of every evaluation by evaluation number, for studies with or without
    generations: run_id, evaluation_number, created_at (completion), value, state (feasible,
    infeasible, pruned, failed) and best_so_far (over feasible evaluations, in the objective's
    direction; NaN before the first), as Optuna's optimization history counts them.

    Above ``max_points`` evaluations (5,000: more points cost the browser seconds) every k-th is kept plus each one that improved the best so far
    (the best-so-far line stays exact); ``frame.attrs["total"]`` is the study's evaluation count."""
    study, rows, values = _objective_values(
        reader, study_id, "run_id, evaluation_number, created_at, simulation_status, run_state")
    if not 0 <= int(objective) < study.n_objectives:
        raise ValidationError(f"objective={objective!r}: the study has {study.n_objectives} objective(s)")
    value = values[:, int(objective)] if len(rows) else np.empty(0)
    status = np.array([r[3] for r in rows], dtype=object)
    pruned = np.array([r[4] == "pruned" for r in rows], dtype=bool)
    state = np.select([status == "success", status == "infeasible", pruned], ["feasible", "infeasible", "pruned"],
                      "failed")  # run_state_label, for every row at once
    frame = pd.DataFrame(
        {"run_id": [r[0] for r in rows], "evaluation_number": [r[1] for r in rows], "created_at": [r[2] for r in rows],
         "value": value, "state": state})
    maximize = study.directions[int(objective)] == "maximize"
    feasible = np.where((frame["state"] == "feasible") & np.isfinite(value), value, -np.inf if maximize else np.inf)
    best = np.maximum.accumulate(feasible) if maximize else np.minimum.accumulate(feasible)
    frame["best_so_far"] = np.where(np.isfinite(best), best, np.nan)
    total = len(frame)
    frame.attrs["state_counts"] = frame["state"].value_counts().to_dict()  # of every evaluation, before thinning
    if total > max_points:
        step = -(-total // int(max_points))
        improved = np.r_[True, np.diff(np.nan_to_num(frame["best_so_far"].to_numpy(), nan=np.inf)) != 0]
        keep = (np.arange(total) % step == 0) | improved
        keep[-1] = True
        frame = frame[keep].reset_index(drop=True)
    frame.attrs["total"] = total
    return frame


def get_hypervolume_history(reader: Reader, study_id: str, max_points: int = 500) -> pd.DataFrame:
    """Hypervolume of the front found so far, by evaluation number (feasible evaluations with every
    objective finite count), on the study's reference point (else the worst value of each
    objective). Up to ``max_points`` evaluations it is computed after each one; above, after every
    k-th (the last one always). Columns evaluation_number, hypervolume; ``attrs["reference_point"]``
    in the objectives' own directions."""
    study = study_state(reader, study_id)
    if study.n_objectives < 2:
        raise ValidationError(f"study_id={study_id!r} has one objective; a hypervolume needs two or more")
    with reader.engine.connect() as conn:
        runs = load_study_runs(conn, study)
    numbers = np.arange(len(runs.run_ids))  # positions in evaluation order
    evaluation_numbers = np.array([row[0] for row in reader.fetch_columns(
        "SELECT evaluation_number FROM study_runs WHERE study_id = :s ORDER BY evaluation_number", {"s": study_id})[1]],
        dtype=np.int64)
    valid = runs.valid
    if not valid.any():
        return pd.DataFrame({"evaluation_number": evaluation_numbers, "hypervolume": np.zeros(len(numbers))})
    points = pareto.to_minimization(runs.objectives, study.directions)
    reference = reference_point_min(study, points[valid])
    step = max(1, -(-len(numbers) // int(max_points)))
    buckets = numbers // step  # evaluations of one bucket are added together
    _, hv = pareto.hypervolume_by_generation(points[valid], buckets[valid], reference)
    seen = np.unique(buckets[valid])
    last_of_bucket = pd.Series(evaluation_numbers).groupby(buckets).max()
    frame = pd.DataFrame({"evaluation_number": last_of_bucket.to_numpy(), "bucket": last_of_bucket.index})
    frame["hypervolume"] = pd.Series(hv, index=seen).reindex(frame["bucket"]).ffill().fillna(0.0).to_numpy()
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in study.directions])
    frame.attrs["reference_point"] = (reference * signs).tolist()
    return frame.drop(columns=["bucket"])


def get_learning_curves(reader: Reader, study_id: str, max_curves: int = 100, best_curves: int = 10,
                        max_steps: int = 200) -> pd.DataFrame:
    """Intermediate values of a study's evaluations, one row per (run, step): run_id,
    evaluation_number, state (feasible, infeasible, pruned, failed), step, value (NaN where the run
    reported NaN).

    Thinned here: of the runs that reported values, at most ``max_curves`` chosen evenly by
    evaluation number plus the ``best_curves`` best feasible ones (by fitness), and at most
    ``max_steps`` points of each curve (evenly by position; the first and last always).
    ``attrs["total_curves"]`` is how many runs reported values, ``attrs["shown_curves"]`` how many
    are drawn."""
    study = study_state(reader, study_id)
    runs = reader.fetch(
        "SELECT r.run_id, r.evaluation_number, r.fitness, r.simulation_status, r.run_state FROM study_runs r "
        "WHERE r.study_id = :s AND EXISTS (SELECT 1 FROM intermediate_values v WHERE v.run_id = r.run_id) "
        "ORDER BY r.evaluation_number", {"s": study_id})
    total = len(runs)
    chosen = runs.iloc[np.unique(np.linspace(0, total - 1, min(total, int(max_curves))).round().astype(int))] if total else runs
    feasible = runs[runs["simulation_status"] == "success"]
    best = feasible.sort_values(["fitness", "evaluation_number"], ascending=[not study.maximize, True]).head(int(best_curves))
    chosen = pd.concat([chosen, best]).drop_duplicates("run_id").sort_values("evaluation_number")
    ids = chosen["run_id"].tolist()
    parts = []
    for start in range(0, len(ids), 500):  # bounded IN lists
        names = {f"id{i}": run_id for i, run_id in enumerate(ids[start:start + 500])}
        parts.append(reader.fetch(
            f"SELECT run_id, step, value FROM intermediate_values WHERE run_id IN ({', '.join(':' + n for n in names)}) "
            "ORDER BY run_id, step", names))
    values = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["run_id", "step", "value"])
    position = values.groupby("run_id").cumcount()
    length = values.groupby("run_id")["step"].transform("size")
    stride = np.maximum(1, np.ceil(length / int(max_steps))).astype(int)
    values = values[(position % stride == 0) | (position == length - 1)]
    chosen = chosen.assign(state=[run_state_label(s, r) for s, r in zip(chosen["simulation_status"], chosen["run_state"])])
    frame = values.merge(chosen[["run_id", "evaluation_number", "state"]], on="run_id")
    frame = frame.sort_values(["evaluation_number", "step"]).reset_index(drop=True)
    frame["value"] = frame["value"].astype(float)
    frame = frame[["run_id", "evaluation_number", "state", "step", "value"]]
    frame.attrs.update(total_curves=total, shown_curves=len(chosen))
    return frame


def get_timeline(reader: Reader, study_id: str, max_rows: int = 2000) -> pd.DataFrame:
    """Start and end of evaluations, for studies that record times: run_id, evaluation_number, state,
    start, end (UTC). The exact datetimes an import kept (``metadata_json`` datetime_start /
    datetime_complete) when present, else end = ``created_at`` (the completion) and start = end -
    ``evaluation_time_seconds``. An even sample of at most ``max_rows`` evaluations;
    ``attrs["total"]`` counts all of them."""
    study_state(reader, study_id)
    step = _sample_step(reader, study_id, max_rows)
    columns, rows = reader.fetch_columns(
        "SELECT run_id, evaluation_number, simulation_status, run_state, created_at, evaluation_time_seconds, "
        "metadata_json FROM study_runs WHERE study_id = :s AND evaluation_number % :step = 0 "
        "ORDER BY evaluation_number LIMIT :limit", {"s": study_id, "step": step, "limit": int(max_rows)})
    frame = pd.DataFrame(rows, columns=columns)
    metadata = [m if isinstance(m, dict) else {} for m in _json_column(frame["metadata_json"].tolist())]
    exact_end = pd.to_datetime([m.get("datetime_complete") for m in metadata], utc=True, errors="coerce", format="ISO8601")
    exact_start = pd.to_datetime([m.get("datetime_start") for m in metadata], utc=True, errors="coerce", format="ISO8601")
    end = pd.Series(exact_end).fillna(pd.Series(pd.to_datetime(frame["created_at"], utc=True, errors="coerce")))
    duration = pd.to_timedelta(pd.to_numeric(frame["evaluation_time_seconds"]), unit="s")
    start = pd.Series(exact_start).fillna(end - duration)
    out = pd.DataFrame({"run_id": frame["run_id"], "evaluation_number": frame["evaluation_number"],
                        "state": [run_state_label(s, r) for s, r in zip(frame["simulation_status"], frame["run_state"])],
                        "start": start, "end": end})
    out = out[out["start"].notna() & out["end"].notna()].reset_index(drop=True)
    out.attrs["total"] = count_study_runs(reader, study_id)
    return out


def get_objective_values(reader: Reader, study_id: str, objective: int = 0) -> np.ndarray:
    """Objective ``objective`` of every evaluation that finished with a value (feasible or
    infeasible: Optuna's COMPLETE trials), for distributions (EDF)."""
    study, _rows, values = _objective_values(reader, study_id, "run_id",
                                             "AND simulation_status IN ('success', 'infeasible')")
    if not 0 <= int(objective) < study.n_objectives:
        raise ValidationError(f"objective={objective!r}: the study has {study.n_objectives} objective(s)")
    column = values[:, int(objective)]
    return column[np.isfinite(column)]


def get_parameter_importance(reader: Reader, study_id: str, method: str | None = None) -> pd.DataFrame:
    """The stored parameter importance of a study (``storage.studies.importance``), most important first per
    objective: objective_name, parameter_name, method, importance, importance_conf, spearman,
    importance_rank, evaluations_used, study_run_count (the study's runs when it was computed),
    created_at. Empty when none was computed; ``method`` picks one."""
    study_state(reader, study_id)
    params: dict = {"s": study_id}
    where = "WHERE study_id = :s"
    if method is not None:
        where += " AND method = :m"
        params["m"] = method
    return reader.fetch(
        "SELECT objective_name, parameter_name, method, importance, importance_conf, spearman, importance_rank, "
        f"evaluations_used, study_run_count, created_at FROM parameter_importance {where} "
        "ORDER BY method, objective_name, importance_rank, parameter_name", params)
