"""What the store derives from raw evaluations, so an optimizer may log only its runs.

Run when a study is marked completed, inside the same transaction as the status change:
- multi-objective studies: ``is_pareto_optimal`` and ``domination_count`` of every run, with respect
  to the study's objective directions, and a final ``pareto_fronts`` row (generation NULL) with its
  hypervolume;
- every study with generation numbers: a ``convergence_metrics`` row for each generation the
  optimizer did not log, and (multi-objective) the hypervolume of the front found so far.

Which runs count: successful runs whose objectives (or fitness) are all finite. Failed, infeasible
and non-finite runs are never on the front; their ``domination_count`` is NULL ("not ranked").

Designs, not evaluations: when the optimizer evaluated one design several times (same design key,
``storage.studies.designs``), only its first evaluation on the front is flagged ``is_pareto_optimal`` and
listed in ``pareto_fronts``, so front sizes, knee points and hypervolume inputs count it once.

The numbers come from ``analysis`` (pure functions); this module only moves them in and out.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import orjson
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from analysis import convergence, pareto

from .. import schema as t
from .designs import names_of_run
from ..jsonfields import NON_FINITE_TOKENS
from ..timestamps import now_text
from .writer import StudyState


@dataclass
class StudyRuns:
    """A study's runs as arrays, in evaluation order."""

    run_ids: list[str]
    generations: np.ndarray  # float, NaN where the run has no generation
    fitness: np.ndarray
    objectives: np.ndarray  # (n, m); NaN rows where a run logged no objectives
    parameters: np.ndarray | None  # (n, d): by the study's names when runs name their own, else by position when every run has d
    success: np.ndarray  # bool
    is_pareto: np.ndarray  # bool, as stored
    domination: np.ndarray  # int64 as stored; -1 = NULL, not ranked
    design_keys: np.ndarray  # int64; runs with equal keys are one design
    row_keys: list  # what an UPDATE finds each row by: SQLite's rowid, else run_id

    @property
    def valid(self) -> np.ndarray:
        """Runs that take part in dominance: successful with all objectives finite."""
        return self.success & np.isfinite(self.objectives).all(axis=1)


def parse_objectives(texts: list[str | None], m: int) -> np.ndarray:
    """Stored objectives JSON -> (n, m) floats, parsed in one call; NaN rows where absent."""
    filler = "[" + ",".join(["null"] * m) + "]"
    joined = "[" + ",".join(filler if text is None else text for text in texts) + "]"
    values = orjson.loads(joined)
    if '"' in joined:  # non-finite values are stored as the strings "NaN" / "Infinity" / "-Infinity"
        values = [[NON_FINITE_TOKENS.get(v, v) if isinstance(v, str) else v for v in row] for row in values]
    try:
        return np.array(values, dtype=float).reshape(len(texts), m)
    except ValueError:  # rows of another length (logged before the study declared its objectives)
        out = np.full((len(texts), m), np.nan)
        for i, row in enumerate(values):
            if len(row) == m:
                out[i] = np.array(row, dtype=float)
        return out


def parse_parameters(texts: list[str]) -> np.ndarray | None:
    """Parameter vectors -> (n, d) floats when every run has the same d, else None."""
    if not texts:
        return None
    values = orjson.loads("[" + ",".join(texts) + "]")
    width = len(values[0])
    if any(len(v) != width for v in values):
        return None
    return np.array(values, dtype=float).reshape(len(values), width)


def parameters_by_name(vectors: list[str], own_names: list[str | None], study_names: list[str]) -> np.ndarray:
    """Parameter vectors -> (n, len(study_names)), each value in its name's column (NaN where a run
    has no value): runs that name their own parameters, in another order or a subset, line up."""
    columns = {name: j for j, name in enumerate(study_names)}
    out = np.full((len(vectors), len(study_names)), np.nan)
    for i, (text, names) in enumerate(zip(vectors, own_names)):
        values = orjson.loads(text)
        for name, value in zip(names_of_run(len(values), orjson.loads(names) if names else None, study_names), values):
            if name in columns:
                out[i, columns[name]] = value
    return out


def load_study_runs(conn: Connection, study: StudyState) -> StudyRuns:
    row_key = "rowid" if conn.dialect.name == "sqlite" else "run_id"
    rows = conn.execute(
        sa.text(
            "SELECT run_id, generation_number, fitness, objectives, parameter_vector, simulation_status, "
            "is_pareto_optimal, COALESCE(domination_count, -1), design_key, parameter_names, "
            f"{row_key} FROM study_runs WHERE study_id = :s ORDER BY evaluation_number"
        ),
        {"s": study.study_id},
    ).all()
    named = study.parameter_names and any(r[9] is not None for r in rows)
    n = len(rows)
    m = study.n_objectives
    objectives = parse_objectives([r[3] for r in rows], m) if n else np.empty((0, m))
    fitness = np.array([r[2] for r in rows], dtype=float)
    if m == 1:
        # Single-objective runs may log only fitness; it is their objective.
        missing = np.isnan(objectives[:, 0]) if n else np.zeros(0, bool)
        objectives[missing, 0] = fitness[missing]
    return StudyRuns(
        run_ids=[r[0] for r in rows],
        generations=np.array([np.nan if r[1] is None else r[1] for r in rows], dtype=float),
        fitness=fitness,
        objectives=objectives,
        parameters=(parameters_by_name([r[4] for r in rows], [r[9] for r in rows], study.parameter_names) if named
                    else parse_parameters([r[4] for r in rows])),
        success=np.array([r[5] == "success" for r in rows], dtype=bool),
        is_pareto=np.array([bool(r[6]) for r in rows], dtype=bool),
        domination=np.array([r[7] for r in rows], dtype=np.int64),
        # A run without a key (written around the store) is a design of its own.
        design_keys=np.array([r[8] if r[8] is not None else -1 - i for i, r in enumerate(rows)], dtype=np.int64),
        row_keys=[r[10] for r in rows],
    )


def pareto_designs(study: StudyState, runs: StudyRuns) -> np.ndarray:
    """Mask of the runs that are the front: non-dominated, valid, one run per design."""
    valid = runs.valid
    on_front = np.zeros(len(runs.run_ids), dtype=bool)
    if valid.any():
        on_front[valid] = pareto.non_dominated_mask(pareto.to_minimization(runs.objectives[valid], study.directions))
    return pareto.first_of_each_key(runs.design_keys, on_front)


def reference_point_min(study: StudyState, points_min: np.ndarray) -> np.ndarray:
    """The study's declared reference point (in minimization form), else the worst value per objective."""
    if study.reference_point is not None:
        return pareto.to_minimization(np.asarray([study.reference_point], dtype=float), study.directions)[0]
    return pareto.default_reference_point(points_min)


@dataclass
class Derived:
    pareto_front_size: int | None = None
    hypervolume: float | None = None
    convergence_rows_added: int = 0


def derive_on_completion(conn: Connection, study: StudyState) -> Derived:
    runs = load_study_runs(conn, study)
    derived = Derived()
    if not runs.run_ids:
        return derived
    if study.n_objectives >= 2:
        derived.pareto_front_size, derived.hypervolume = _store_pareto(conn, study, runs)
    derived.convergence_rows_added = _store_convergence(conn, study, runs)
    return derived


def _store_pareto(conn: Connection, study: StudyState, runs: StudyRuns) -> tuple[int, float | None]:
    valid = runs.valid
    on_front = pareto_designs(study, runs)
    counts = np.full(len(runs.run_ids), -1, dtype=np.int64)  # -1: not ranked, stored as NULL
    hypervolume = None
    if valid.any():
        points = pareto.to_minimization(runs.objectives[valid], study.directions)
        counts[valid] = pareto.domination_counts(points)
        reference = reference_point_min(study, points)
        hypervolume = float(pareto.hypervolume(points[on_front[valid]], reference))
    _update_ranks(conn, runs, on_front, counts)
    front_ids = [runs.run_ids[i] for i in np.flatnonzero(on_front)]
    conn.execute(
        t.pareto_fronts.delete().where(
            t.pareto_fronts.c.study_id == study.study_id, t.pareto_fronts.c.generation_number.is_(None)
        )
    )
    conn.execute(
        t.pareto_fronts.insert().values(
            study_id=study.study_id,
            generation_number=None,
            front_size=len(front_ids),
            hypervolume=hypervolume,
            run_ids=json.dumps(front_ids, separators=(",", ":"), ensure_ascii=False),
            created_at=now_text(),
        )
    )
    return len(front_ids), hypervolume


def _update_ranks(conn: Connection, runs: StudyRuns, on_front: np.ndarray, counts: np.ndarray) -> None:
    """Write the flags and counts that changed: by rowid on SQLite (no index lookup), in one
    statement on PostgreSQL (one round trip, however many rows)."""
    changed = np.flatnonzero((runs.is_pareto != on_front) | (runs.domination != counts))
    if not changed.size:
        return
    flags = on_front[changed].tolist()
    values = counts[changed].astype(object)
    values[counts[changed] < 0] = None
    keys = [runs.row_keys[i] for i in changed.tolist()]
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("UPDATE study_runs SET is_pareto_optimal = ?, domination_count = ? WHERE rowid = ?",
                             list(zip(flags, values.tolist(), keys)))
        return
    conn.execute(
        sa.text(
            "UPDATE study_runs AS r SET is_pareto_optimal = v.flag, domination_count = v.count "
            "FROM unnest(CAST(:keys AS text[]), CAST(:flags AS boolean[]), CAST(:counts AS integer[])) "
            "AS v(run_id, flag, count) WHERE r.run_id = v.run_id"
        ),
        {"keys": keys, "flags": flags, "counts": values.tolist()},
    )


def _store_convergence(conn: Connection, study: StudyState, runs: StudyRuns) -> int:
    has_generation = ~np.isnan(runs.generations)
    if not has_generation.any():
        return 0
    fitness = np.where(runs.success, runs.fitness, np.nan)[has_generation]
    parameters = runs.parameters[has_generation] if runs.parameters is not None else None
    history = convergence.convergence_history(
        runs.generations[has_generation].astype(np.int64), fitness, study.directions[0], parameters
    )
    hv_by_generation: dict[int, float] = {}
    if study.n_objectives >= 2:
        valid = runs.valid & has_generation
        if valid.any():
            points = pareto.to_minimization(runs.objectives[valid], study.directions)
            gens, hv = pareto.hypervolume_by_generation(
                points, runs.generations[valid].astype(np.int64), reference_point_min(study, points)
            )
            hv_by_generation = {int(g): float(v) for g, v in zip(gens, hv)}
    logged = dict(
        conn.execute(
            sa.text("SELECT generation_number, hypervolume FROM convergence_metrics WHERE study_id = :s"),
            {"s": study.study_id},
        ).all()
    )
    now = now_text()
    new_rows = []
    for row in history.itertuples(index=False):
        generation = int(row.generation_number)
        if generation in logged:
            continue
        new_rows.append({
            "study_id": study.study_id,
            "generation_number": generation,
            "best_fitness": _finite_or_none(row.best_fitness),
            "average_fitness": _finite_or_none(row.average_fitness),
            "worst_fitness": _finite_or_none(row.worst_fitness),
            "fitness_std_dev": _finite_or_none(row.fitness_std_dev),
            "population_diversity": _finite_or_none(row.population_diversity),
            "stagnation_count": None if pd.isna(row.stagnation_count) else int(row.stagnation_count),
            "evaluations_in_generation": int(row.evaluations_in_generation),
            "hypervolume": hv_by_generation.get(generation),
            "created_at": now,
        })
    if new_rows:
        conn.execute(t.convergence_metrics.insert(), new_rows)
    fill = [
        {"g": g, "hv": hv_by_generation[g], "s": study.study_id}
        for g, hv in logged.items()
        if hv is None and g in hv_by_generation
    ]
    if fill:
        conn.execute(
            sa.text("UPDATE convergence_metrics SET hypervolume = :hv WHERE study_id = :s AND generation_number = :g"),
            fill,
        )
    return len(new_rows)


def _finite_or_none(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
