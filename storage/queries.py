"""The seed's queries (and what the pages need), as functions of a ``Reader`` returning DataFrames.

Every query is written once, with named bound parameters, for both backends, and is shaped to be
an index read: a study's runs are reached through the indexes that lead with ``study_id``.
JSON columns come back decoded: ``parameter_vector`` and ``objectives`` as lists of floats
(non-finite objectives as NaN / inf), ``parameter_names`` and ``objective_directions`` as lists.

Studies that are still running get their derived data computed on the fly from their runs
(Pareto front, convergence history), so live monitoring never shows stale or missing numbers.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable

import numpy as np
import pandas as pd

from analysis import convergence, pareto

from .derive import load_study_runs, reference_point_min
from .errors import UnknownStudyError, ValidationError
from .jsonfields import NON_FINITE_TOKENS
from .reader import Reader
from .schema import STUDY_STATUSES, STUDY_TYPES
from .writer import StudyState, _study_state

STUDY_TYPE_ALIASES = {"ga": "genetic_algorithm", "mc": "monte_carlo", "milp": "milp", "sim": "single_simulation"}
RUN_SORT_COLUMNS = ("evaluation_number", "generation_number", "fitness", "evaluation_time_seconds", "created_at")
SIMULATION_KPIS = ("total_cost", "co2_emissions", "renewable_fraction", "self_sufficiency_rate")

_STUDY_COLUMNS = """study_id, study_name, description, study_type, status, progress_percent, run_count,
    best_fitness, best_solution_id, optimization_objective, objective_directions, parameter_names,
    reference_point, population_size, max_generations, max_evaluations, created_at, updated_at,
    completed_at, execution_time_seconds, metadata_json"""

_RUN_COLUMNS = """r.run_id, r.study_id, r.evaluation_number, r.generation_number, r.parameter_vector,
    r.parameter_names, r.fitness, r.objectives, r.constraint_violations, r.simulation_status,
    r.evaluation_time_seconds, r.solver_time_seconds, r.is_pareto_optimal, r.domination_count,
    r.simulation_run_id, r.created_at, r.metadata_json"""

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


def list_studies(
    reader: Reader,
    study_type: str | None = None,
    status: str | None = None,
    text: str | None = None,
    created_from: date | datetime | str | None = None,
    created_to: date | datetime | str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Studies, newest first, with every filter optional; ``text`` matches id, name or description."""
    clauses, params = [], {}
    study_type = normalize_study_type(study_type)
    if study_type:
        clauses.append("study_type = :study_type")
        params["study_type"] = study_type
    if status:
        if status not in STUDY_STATUSES:
            raise ValidationError(f"status={status!r}: one of {', '.join(STUDY_STATUSES)}")
        clauses.append("status = :status")
        params["status"] = status
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
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = f"SELECT {_STUDY_COLUMNS} FROM studies {where} ORDER BY created_at DESC, study_id"
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = int(limit)
    frame = reader.fetch(sql, params)
    return _decode_study_frame(frame)


def get_study(reader: Reader, study_id: str) -> dict:
    rows = reader.fetch_rows(f"SELECT {_STUDY_COLUMNS} FROM studies WHERE study_id = :s", {"s": study_id})
    if not rows:
        raise UnknownStudyError(study_id)
    return _decode_study_frame(pd.DataFrame(rows)).to_dict("records")[0]


def study_state(reader: Reader, study_id: str) -> StudyState:
    rows = reader.fetch_rows(
        "SELECT study_id, study_type, status, objective_directions, parameter_names, reference_point, "
        "run_count, best_fitness, best_solution_id, created_at FROM studies WHERE study_id = :s",
        {"s": study_id},
    )
    if not rows:
        raise UnknownStudyError(study_id)
    return _study_state(_Row(rows[0]))


def compare_studies(reader: Reader, study_ids: Iterable[str]) -> pd.DataFrame:
    """The seed's side-by-side table: study_id, study_type, best_fitness, run_count, avg_fitness,
    pareto_count, execution_time_seconds (plus status and objective count).

    ``avg_fitness`` averages the finite fitness of successful runs. ``pareto_count`` is the size of
    the current front: stored flags for completed studies, computed from the runs otherwise."""
    ids = list(dict.fromkeys(study_ids))
    if not ids:
        raise ValidationError("study_ids: give at least one study")
    rows = []
    for study_id in ids:
        study = study_state(reader, study_id)
        finite = "study_id = :s AND simulation_status = 'success' AND fitness < :inf AND fitness > :ninf"
        bounds = {"s": study_id, "inf": math.inf, "ninf": -math.inf}
        span = reader.fetch_rows(f"SELECT MIN(fitness) AS lo, MAX(fitness) AS hi FROM study_runs WHERE {finite}", bounds)[0]
        # Sum the values scaled by a power of two (exact) so a sum of huge finite values cannot
        # overflow (PostgreSQL would refuse, SQLite would say inf).
        largest = max(1.0, abs(span["lo"] or 0.0), abs(span["hi"] or 0.0))
        scale = math.ldexp(1.0, min(math.frexp(largest)[1], 1023))
        stats = reader.fetch_rows(
            f"SELECT AVG(fitness / :scale) * :scale AS avg_fitness FROM study_runs WHERE {finite}",
            {**bounds, "scale": scale},
        )[0]
        summary = reader.fetch_rows(
            "SELECT study_type, best_fitness, run_count, execution_time_seconds, status FROM studies WHERE study_id = :s",
            {"s": study_id},
        )[0]
        pareto_count = None
        if study.n_objectives >= 2:
            pareto_count = len(get_pareto_front(reader, study_id, study=study))
        rows.append({
            "study_id": study_id,
            "study_type": summary["study_type"],
            "best_fitness": summary["best_fitness"],
            "run_count": summary["run_count"],
            "avg_fitness": stats["avg_fitness"],
            "pareto_count": pareto_count,
            "execution_time_seconds": summary["execution_time_seconds"],
            "status": summary["status"],
            "objectives": study.n_objectives,
        })
    return pd.DataFrame(rows)


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
    join = f", {_KPI_COLUMNS}" if with_kpis else ""
    sql = (
        f"SELECT {_RUN_COLUMNS}{join} FROM study_runs r "
        + ("LEFT JOIN simulation_runs sim ON sim.run_id = r.simulation_run_id " if with_kpis else "")
        # Runs without a value sort last on both backends (their defaults disagree).
        + f"WHERE {where} ORDER BY (r.{sort} IS NULL), r.{sort} {direction}, r.evaluation_number {direction} "
        "LIMIT :limit OFFSET :offset"
    )
    params.update(limit=int(limit), offset=int(offset))
    return _decode_run_frame(reader.fetch(sql, params))


def count_study_runs(reader: Reader, study_id: str, filters: RunFilter = RunFilter()) -> int:
    where, params = _run_where(study_id, filters)
    return int(reader.fetch_rows(f"SELECT COUNT(*) AS n FROM study_runs r WHERE {where}", params)[0]["n"])


def sample_study_runs(reader: Reader, study_id: str, max_rows: int = 5000) -> pd.DataFrame:
    """An evenly spread sample of at most ``max_rows`` runs (every k-th evaluation), for drawing a
    study's cloud without sending a million points to the browser."""
    total = count_study_runs(reader, study_id)
    step = max(1, -(-total // max(1, int(max_rows))))
    frame = reader.fetch(
        f"SELECT {_RUN_COLUMNS} FROM study_runs r WHERE r.study_id = :s AND r.evaluation_number % :step = 0 "
        "ORDER BY r.evaluation_number LIMIT :limit",
        {"s": study_id, "step": step, "limit": int(max_rows)},
    )
    return _decode_run_frame(frame)


def get_best_designs(reader: Reader, study_id: str, limit: int = 10) -> pd.DataFrame:
    """Top ``limit`` successful runs by fitness in the study's direction, with simulation KPIs."""
    study = study_state(reader, study_id)
    direction = "DESC" if study.maximize else "ASC"
    sql = (
        f"SELECT {_RUN_COLUMNS}, {_KPI_COLUMNS} FROM study_runs r "
        "LEFT JOIN simulation_runs sim ON sim.run_id = r.simulation_run_id "
        "WHERE r.study_id = :s AND r.simulation_status = 'success' "
        f"ORDER BY r.fitness {direction}, r.evaluation_number LIMIT :limit"
    )
    if not 0 < int(limit) <= 100_000:
        raise ValidationError(f"limit={limit!r}: between 1 and 100000")
    return _decode_run_frame(reader.fetch(sql, {"s": study_id, "limit": int(limit)}))


def get_pareto_front(reader: Reader, study_id: str, study: StudyState | None = None) -> pd.DataFrame:
    """The non-dominated successful runs of a multi-objective study, at any time.

    Completed studies read their stored flags through the partial Pareto index; running ones are
    computed from the runs (same rule: successful runs with all objectives finite)."""
    study = study or study_state(reader, study_id)
    if study.n_objectives < 2:
        raise ValidationError(
            f"study_id={study_id!r} has one objective ({study.directions[0]}); a Pareto front needs two or more"
        )
    base = (
        f"SELECT {_RUN_COLUMNS}, {_KPI_COLUMNS} FROM study_runs r "
        "LEFT JOIN simulation_runs sim ON sim.run_id = r.simulation_run_id WHERE r.study_id = :s"
    )
    if study.status == "completed":
        frame = reader.fetch(base + " AND r.is_pareto_optimal ORDER BY r.fitness, r.evaluation_number", {"s": study_id})
        return _decode_run_frame(frame)
    with reader.engine.connect() as conn:
        runs = load_study_runs(conn, study)
    valid = runs.valid
    if not valid.any():
        return _decode_run_frame(reader.fetch(base + " AND 1 = 0", {"s": study_id}))
    points = pareto.to_minimization(runs.objectives[valid], study.directions)
    front_ids = [run_id for run_id, keep in zip(np.array(runs.run_ids)[valid], pareto.non_dominated_mask(points)) if keep]
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
    """Every run's generation, success flag and objectives (one column per objective, in
    minimization form under ``min_<i>``), for front-evolution views. Parsed in one pass."""
    study = study_state(reader, study_id)
    with reader.engine.connect() as conn:
        runs = load_study_runs(conn, study)
    frame = pd.DataFrame({"run_id": runs.run_ids, "generation_number": runs.generations, "valid": runs.valid})
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
        frames.append(reader.fetch(base + f" AND r.run_id IN ({placeholders})", {"s": study_id, **names}))
    if not frames:
        return _decode_run_frame(reader.fetch(base + " AND 1 = 0", {"s": study_id}))
    return _decode_run_frame(pd.concat(frames, ignore_index=True))


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


def _decode_objectives(text):
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    return [NON_FINITE_TOKENS[v] if isinstance(v, str) else float(v) for v in json.loads(text)]


def _decode_list(text):
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    return json.loads(text)


def _decode_run_frame(frame: pd.DataFrame) -> pd.DataFrame:
    if "parameter_vector" in frame:
        frame["parameter_vector"] = [_decode_list(v) for v in frame["parameter_vector"]]
    if "parameter_names" in frame:
        frame["parameter_names"] = [_decode_list(v) for v in frame["parameter_names"]]
    if "objectives" in frame:
        frame["objectives"] = [_decode_objectives(v) for v in frame["objectives"]]
    if "is_pareto_optimal" in frame:
        frame["is_pareto_optimal"] = frame["is_pareto_optimal"].astype(bool)
    return frame


def _decode_study_frame(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("objective_directions", "parameter_names", "reference_point"):
        if column in frame:
            frame[column] = [_decode_list(v) for v in frame[column]]
    if "objective_directions" in frame:
        frame["objective_directions"] = [v if v else ["minimize"] for v in frame["objective_directions"]]
    return frame


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
