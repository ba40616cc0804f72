"""Parameter importance of any study with parameters, computed on demand and kept.

``analyze_parameter_importance(service_or_engine, study_id, method)`` reads the study's runs,
computes for every objective each parameter's importance (``analysis.importance``: PED-ANOVA or
fANOVA through Optuna's own evaluators, or first-order Sobol' indices from given data) with
Spearman's rank correlation beside it, and replaces the study's rows of that method in
``parameter_importance``. ``storage.studies.queries.get_parameter_importance`` reads them back, so the next
view is instant; each row keeps the study's run count at the time, so a reader can tell the study
has grown since.

Which runs count, as Optuna's ``get_param_importances`` does: evaluations that finished with a
value (``success`` and ``infeasible`` runs: Optuna's COMPLETE trials; pruned and failed ones are
left out) whose objective is finite and that have a value for every parameter analysed. Parameters
are those every such run has (a conditional parameter that some runs lack is left out and named in
``left_out``). Above ``max_evaluations`` runs an even sample is used (every k-th, in evaluation
order), and the result says so.

Search spaces: an imported Optuna study keeps its distributions (``metadata_json.distributions``),
so the numbers are Optuna's own; otherwise a categorical parameter's space is its choices
(``parameter_choices``) and a numeric one the range of its values.
"""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import sqlalchemy as sa

from analysis import importance as kernels
from analysis.uncertainty import InsufficientSamplesError

from . import derive, writer
from ..engine import transaction
from ..errors import HiveError, ValidationError

# An even sample above these sizes keeps a view's wait to seconds (Optuna's fANOVA walks its trees
# in Python: ~5 s for 250 evaluations; PED-ANOVA ~2 s for 10,000).
MAX_EVALUATIONS = {"ped_anova": 10_000, "fanova": 250, "sobol": 100_000}


class NotEnoughEvaluationsError(HiveError):
    """Too few usable evaluations for the method; nothing was written."""


def analyze_parameter_importance(service_or_engine: Any, study_id: str, method: str = "ped_anova", *,
                                 max_evaluations: int | None = None, seed: int = 0) -> dict:
    """Compute, store and return the parameter importance of a study by ``method`` (one of
    ``analysis.importance.METHODS``). Returns::

        {"study_id", "method", "method_label", "evaluations_used", "evaluations_usable", "study_run_count",
         "left_out": [parameters some runs lack], "rows": [one dict per (objective, parameter)]}
    """
    from .monte_carlo import _engine_of

    if method not in kernels.METHODS:
        raise ValidationError(f"method={method!r}: one of {', '.join(kernels.METHODS)}")
    limit = int(max_evaluations or MAX_EVALUATIONS[method])
    engine = _engine_of(service_or_engine)
    # Read and compute outside the write transaction: a long analysis must not hold SQLite's write lock.
    with engine.connect() as conn:
        study = writer.lock_studies(conn, [study_id])[study_id]
        study_row = conn.execute(sa.text(
            "SELECT optimization_objective, metadata_json, parameter_choices FROM studies WHERE study_id = :s"),
            {"s": study_id}).one()
        data = _usable_runs(conn, study)
    plan = _compute(study, study_row, data, method, limit, seed)
    with transaction(engine) as conn:
        writer.lock_studies(conn, [study_id])
        conn.execute(sa.text("DELETE FROM parameter_importance WHERE study_id = :s AND method = :m"),
                     {"s": study_id, "m": method})
        if plan["rows"]:
            conn.execute(sa.text(
                "INSERT INTO parameter_importance (study_id, objective_name, parameter_name, method, importance, "
                "importance_conf, spearman, importance_rank, evaluations_used, study_run_count) VALUES (:study_id, "
                ":objective_name, :parameter_name, :method, :importance, :importance_conf, :spearman, "
                ":importance_rank, :evaluations_used, :study_run_count)"), plan["rows"])
    return plan


def _usable_runs(conn, study) -> dict:
    """The runs that finished with a value, in evaluation order: objectives (n, m) and parameters by name."""
    rows = conn.execute(sa.text(
        "SELECT fitness, objectives, parameter_vector, parameter_names FROM study_runs "
        "WHERE study_id = :s AND simulation_status IN ('success', 'infeasible') ORDER BY evaluation_number"),
        {"s": study.study_id}).all()
    m = study.n_objectives
    objectives = derive.parse_objectives([r[1] for r in rows], m) if rows else np.empty((0, m))
    if m == 1 and rows:  # single-objective runs may log only fitness
        missing = np.isnan(objectives[:, 0])
        objectives[missing, 0] = np.array([r[0] for r in rows], dtype=float)[missing]
    names = list(study.parameter_names or [])
    if not rows or not names:
        parameters = derive.parse_parameters([r[2] for r in rows]) if rows else None
        if parameters is not None and not names:
            names = [f"x{i}" for i in range(parameters.shape[1])]
    else:
        parameters = derive.parameters_by_name([r[2] for r in rows], [r[3] for r in rows], names)
    return {"objectives": objectives, "parameters": parameters, "names": names}


def _search_spaces(names: list[str], columns: np.ndarray, metadata_text: str | None, choices_text: str | None) -> list:
    from optuna.distributions import CategoricalDistribution, json_to_distribution

    try:
        metadata = json.loads(metadata_text) if metadata_text else {}
    except ValueError:
        metadata = {}
    given = metadata.get("distributions") if isinstance(metadata, dict) and metadata.get("source") == "optuna" else None
    choices = json.loads(choices_text) if choices_text else {}
    spaces = []
    for j, name in enumerate(names):
        if isinstance(given, dict) and name in given:
            spaces.append(json_to_distribution(json.dumps(given[name])))
        elif name in choices:
            spaces.append(CategoricalDistribution([_hashable(c) for c in choices[name]]))
        else:
            spaces.append(kernels.numeric_space(columns[:, j]))
    return spaces


def _hashable(choice):
    return choice if choice is None or isinstance(choice, (bool, int, float, str)) else json.dumps(choice)


def _compute(study, study_row, data: dict, method: str, limit: int, seed: int) -> dict:
    objective_names = _objective_names(study_row[0], study.n_objectives)
    parameters, names = data["parameters"], data["names"]
    if parameters is None or not names:
        raise ValidationError(f"study_id={study.study_id!r}: its runs record no parameters (or vectors of different "
                              "lengths without names); there is nothing to rank")
    present = np.isfinite(parameters).all(axis=0) if len(parameters) else np.zeros(len(names), bool)
    kept = [j for j in range(len(names)) if present[j]]
    left_out = [names[j] for j in range(len(names)) if not present[j]]
    if not kept:
        raise ValidationError(f"study_id={study.study_id!r}: no parameter has a value in every finished run")
    X = parameters[:, kept]
    kept_names = [names[j] for j in kept]
    spaces = _search_spaces(kept_names, X, study_row[1], study_row[2])
    rows, used_counts, usable_counts = [], [], []
    for k, (objective, direction) in enumerate(zip(objective_names, study.directions)):
        y = data["objectives"][:, k]
        usable = np.flatnonzero(np.isfinite(y))
        step = max(1, math.ceil(len(usable) / limit))
        chosen = usable[::step]
        usable_counts.append(len(usable))
        try:
            result = kernels.parameter_importances(X[chosen], y[chosen], kept_names, spaces, method, direction, seed)
        except InsufficientSamplesError as error:
            raise NotEnoughEvaluationsError(
                f"study_id={study.study_id!r}, objective {objective!r}: {kernels.METHODS[method]} needs at least "
                f"{error.required} finished evaluations with a finite value, there are {error.available}; "
                "nothing was written") from None
        used_counts.append(result.sample_count)
        for j, name in enumerate(kept_names):
            rows.append({
                "study_id": study.study_id, "objective_name": objective, "parameter_name": name, "method": method,
                "importance": _finite(result.importance[j]), "importance_conf": _finite(result.conf[j]),
                "spearman": _finite(result.spearman[j]), "importance_rank": int(result.ranks[j]),
                "evaluations_used": result.sample_count, "study_run_count": study.run_count,
            })
    return {"study_id": study.study_id, "method": method, "method_label": kernels.METHODS[method],
            "evaluations_used": min(used_counts), "evaluations_usable": max(usable_counts),
            "study_run_count": study.run_count, "left_out": left_out, "rows": rows}


def _objective_names(text: str | None, m: int) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()] if text else []
    # The names the pages and exports use (storage.studies.exports.objective_names).
    return names if len(names) == m else [f"objective_{k + 1}" for k in range(m)]


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
