"""Uncertainty and sensitivity analysis of a Monte Carlo study, computed from its runs and stored.

``analyze_monte_carlo(service_or_engine, study_id)`` reads the study's runs, computes per objective
the distribution and 95 % tail risk (``analysis.uncertainty.risk_summary``) and per parameter and
objective the Pearson / Spearman correlations and Sobol' indices (``analysis.sensitivity``), then
replaces the study's ``uncertainty_analysis`` and ``sensitivity_analysis`` rows in one transaction.

Which Sobol' estimator runs depends on how the samples were drawn, which the study records in its
``metadata_json`` under the key ``"sampling"`` (``integrations.monte_carlo.run_monte_carlo`` writes
it)::

    {"sampling": {"method": "saltelli",          # or "random" (any independent sample)
                  "base_samples": 1024,          # N of SALib.sample.sobol.sample(problem, N, ...)
                  "calc_second_order": false,
                  "bounds": [[-3.14, 3.14], ...]}}   # optional; null entries for non-uniform inputs

- ``"saltelli"``: the runs, in evaluation order, are the rows of a Saltelli design (N blocks of
  D + 2 rows, or 2D + 2 with second order). First- and total-order indices and their 95 %
  bootstrap confidence half-widths come from the design (``total_order_indices``); the
  importance rank follows the total-order index. The design's structure is checked before use.
- anything else (or no ``"sampling"`` key): the runs are taken as a random sample; the first-order
  index comes from the given data (RBD-FAST, ``first_order_indices``), with its confidence
  half-width; no total-order index; the rank follows the first-order index.

Which runs count: successful runs whose objective value is finite. The others are excluded,
counted in ``excluded_count`` and described in the returned ``warnings``. In a Saltelli design an
excluded run removes its whole block (every estimator needs the complete block).

Too few usable runs for any method raises ``NotEnoughSamplesError`` naming the method, how many
runs there are and how many it needs; nothing is written then.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from analysis import sensitivity, uncertainty

from . import derive, writer
from ..engine import transaction
from ..errors import HiveError, ValidationError
from .records import SensitivityRecord, UncertaintyRecord, validate_many, validate_one

SAMPLING_KEY = "sampling"
SALTELLI = "saltelli"
RANDOM = "random"


class NotEnoughSamplesError(HiveError):
    """Too few usable runs for one of the analysis methods; nothing was written.

    ``method``, ``available`` and ``required`` hold what the message states.
    """

    def __init__(self, study_id: str, objective: str, method: str, available: int, required: int, why: str = ""):
        self.method = method
        self.available = available
        self.required = required
        super().__init__(
            f"study_id={study_id!r}, objective {objective!r}: {method} needs at least {required} usable "
            f"{'blocks' if 'Saltelli' in method else 'runs'}, there are {available}{why}; nothing was written"
        )


def analyze_monte_carlo(
    service_or_engine: Any, study_id: str, *, num_resamples: int = 100, seed: int = 0
) -> dict:
    """Compute, store and return the uncertainty and sensitivity analysis of a Monte Carlo study.

    ``service_or_engine``: a ``DatabaseMetadataService`` or its SQLAlchemy ``Engine``.
    ``num_resamples`` / ``seed``: the bootstrap behind the confidence half-widths (deterministic).

    Earlier analysis rows of the study are replaced, in the same transaction. Returns::

        {"study_id": ...,
         "sampling": "random" | "saltelli",
         "uncertainty": [one dict per objective: analysis_id, objective_name, mean_value, ...],
         "sensitivity": [one dict per (objective, parameter): sensitivity_id, analysis_id,
                         parameter_name, parameter_index, objective_name, correlation_coefficient,
                         rank_correlation, sobol_first_order(_conf), sobol_total(_conf),
                         importance_rank],
         "warnings": ["objective 'cost': 3 of 2,000 runs excluded (2 failed, 1 with a non-finite value)", ...]}

    Undefined values (the correlation of a constant input, say) are None, stored as NULL.

    >>> from storage import DatabaseMetadataService
    >>> from storage.studies.monte_carlo import analyze_monte_carlo
    >>> import numpy as np
    >>> db = DatabaseMetadataService(":memory:")
    >>> _ = db.create_study({"study_id": "mc", "study_type": "monte_carlo",
    ...                      "optimization_objective": "cost", "parameter_names": ["a", "b"]})
    >>> x = np.random.default_rng(0).random((200, 2))
    >>> _ = db.log_study_runs([{"study_id": "mc", "parameter_vector": list(v), "fitness": float(3 * v[0] + v[1])}
    ...                        for v in x])
    >>> result = analyze_monte_carlo(db, "mc")
    >>> [row["importance_rank"] for row in result["sensitivity"]]
    [1, 2]
    """
    if not isinstance(study_id, str):
        raise ValidationError(f"study_id={study_id!r}: expected text")
    engine = _engine_of(service_or_engine)
    with transaction(engine) as conn:
        study = writer.lock_studies(conn, [study_id])[study_id]
        if study.study_type != "monte_carlo":
            raise ValidationError(
                f"study_id={study_id!r} has study_type={study.study_type!r}: the Monte Carlo analysis needs a "
                "'monte_carlo' study (its runs must be samples of the uncertain inputs)"
            )
        objective_text, metadata_text = conn.execute(
            sa.text("SELECT optimization_objective, metadata_json FROM studies WHERE study_id = :s"), {"s": study_id}
        ).one()
        runs = derive.load_study_runs(conn, study)
        design = _sampling_design(study_id, metadata_text)
        plan = _compute(study, runs, objective_text, design, num_resamples, seed)
        return _store(conn, study_id, plan) | {"sampling": design["method"]}


def _engine_of(service_or_engine: Any) -> Engine:
    if isinstance(service_or_engine, Engine):
        return service_or_engine
    engine = getattr(service_or_engine, "engine", None)
    if isinstance(engine, Engine):
        return engine
    raise ValidationError(
        f"service_or_engine={service_or_engine!r}: expected a DatabaseMetadataService or an SQLAlchemy Engine"
    )


# ------------------------------------------------------------------------------------- the design


def _sampling_design(study_id: str, metadata_text: str | None) -> dict:
    """The study's recorded sampling design; a study without one is a random sample."""
    try:
        metadata = json.loads(metadata_text) if metadata_text else None
    except ValueError:  # free text from the old service: no design recorded
        metadata = None
    sampling = metadata.get(SAMPLING_KEY) if isinstance(metadata, Mapping) else None
    if not isinstance(sampling, Mapping) or sampling.get("method") != SALTELLI:
        return {"method": RANDOM}
    where = f"study_id={study_id!r}: metadata_json.{SAMPLING_KEY}"
    base = sampling.get("base_samples")
    if not isinstance(base, int) or isinstance(base, bool) or base < 1:
        raise ValidationError(f"{where}.base_samples={base!r}: expected a positive integer (N of the Saltelli design)")
    second = sampling.get("calc_second_order", False)
    if not isinstance(second, bool):
        raise ValidationError(f"{where}.calc_second_order={second!r}: expected true or false")
    bounds = sampling.get("bounds")
    if bounds is not None and not isinstance(bounds, list):
        raise ValidationError(f"{where}.bounds={bounds!r}: expected a list of [low, high] pairs")
    return {"method": SALTELLI, "base_samples": base, "calc_second_order": second, "bounds": bounds}


def _check_saltelli_structure(study_id: str, parameters: np.ndarray, design: dict) -> None:
    """The runs must be the design's rows in order: A, AB_1..AB_D, [BA_1..BA_D], B per block.

    AB_k is A with column k taken from B (BA_k: B with column k from A). Checking this catches
    runs logged out of order, missing or extra runs, before they turn into wrong indices.
    """
    n, d = parameters.shape
    block = 2 * d + 2 if design["calc_second_order"] else d + 2
    expected = design["base_samples"] * block
    where = f"study_id={study_id!r}: metadata_json.{SAMPLING_KEY} records a Saltelli design"
    if n != expected:
        raise ValidationError(
            f"{where} of {design['base_samples']} base samples x {block} rows = {expected} runs "
            f"(D = {d} parameters), but the study has {n} runs"
        )
    blocks = parameters.reshape(design["base_samples"], block, d)
    a, b = blocks[:, 0, :], blocks[:, -1, :]
    column = np.eye(d, dtype=bool)
    for k in range(d):
        expected_ab = np.where(column[k], b, a)
        if not np.array_equal(blocks[:, 1 + k, :], expected_ab):
            raise ValidationError(
                f"{where}, but row {1 + k} of some block is not A with column {k} taken from B: "
                "the runs are not the design's rows in evaluation order"
            )
        if design["calc_second_order"] and not np.array_equal(blocks[:, 1 + d + k, :], np.where(column[k], a, b)):
            raise ValidationError(
                f"{where} with second order, but row {1 + d + k} of some block is not B with column {k} "
                "taken from A: the runs are not the design's rows in evaluation order"
            )


# ------------------------------------------------------------------------------------ computation


def _compute(study, runs: derive.StudyRuns, objective_text: str | None, design: dict, num_resamples: int, seed: int) -> list[dict]:
    """Every row to store, per objective: ``{"uncertainty": {...}, "sensitivity": [...], "warnings": [...]}``."""
    study_id = study.study_id
    objectives = _objective_names(objective_text, study.n_objectives)
    n = len(runs.run_ids)
    if n == 0:
        raise NotEnoughSamplesError(
            study_id, objectives[0], "the distribution statistics (risk_summary)", 0, uncertainty.MIN_RISK_SAMPLES,
            " (the study has no runs)",
        )
    if runs.parameters is None:
        raise ValidationError(
            f"study_id={study_id!r}: the runs' parameter_vector lengths differ; a Monte Carlo analysis needs "
            "every run to sample the same parameters"
        )
    parameters = runs.parameters
    d = parameters.shape[1]
    if d == 0:
        raise ValidationError(f"study_id={study_id!r}: the runs have empty parameter vectors; nothing to analyse")
    names = _parameter_names(study, d)
    if design["method"] == SALTELLI:
        _check_saltelli_structure(study_id, parameters, design)

    plan = []
    for k, (objective, direction) in enumerate(zip(objectives, study.directions)):
        values = runs.objectives[:, k]
        usable = runs.success & np.isfinite(values)
        failed = int(np.count_nonzero(~runs.success))
        nonfinite = int(np.count_nonzero(runs.success & ~np.isfinite(values)))
        warnings = []
        if failed or nonfinite:
            warnings.append(
                f"objective {objective!r}: {failed + nonfinite:,} of {n:,} runs excluded "
                f"({failed:,} failed, {nonfinite:,} with a non-finite value)"
            )
        y = np.where(usable, values, np.nan)  # NaN marks an excluded run for every method below
        excluded = failed + nonfinite

        risk = _guarded(study_id, objective, "the distribution statistics (risk_summary)", excluded,
                        lambda: uncertainty.risk_summary(y, direction))
        pearson, spearman = _guarded(study_id, objective, "the correlations (Pearson and Spearman)", excluded,
                                     lambda: sensitivity.correlations(parameters, y))
        if design["method"] == SALTELLI:
            problem = {"num_vars": d, "names": names, "bounds": _problem_bounds(design.get("bounds"), d)}
            sobol = _guarded(
                study_id, objective, "the Saltelli (total-order) Sobol' analysis", excluded,
                lambda: sensitivity.total_order_indices(
                    parameters, y, problem, design["calc_second_order"], num_resamples=num_resamples, seed=seed
                ),
            )
            if sobol["dropped_base_samples"]:
                warnings.append(
                    f"objective {objective!r}: {sobol['dropped_base_samples']:,} of {design['base_samples']:,} Saltelli "
                    "blocks dropped (a block with an excluded run cannot be used)"
                )
            first, first_conf = sobol["S1"], sobol["S1_conf"]
            total, total_conf = sobol["ST"], sobol["ST_conf"]
        else:
            indices = _guarded(
                study_id, objective, "the first-order Sobol' indices from given data (RBD-FAST)", excluded,
                lambda: sensitivity.first_order_indices(parameters, y, num_resamples=num_resamples, seed=seed),
            )
            first, first_conf = indices.S1, indices.S1_conf
            total = total_conf = np.full(d, np.nan)
        try:
            ranks = sensitivity.importance_ranks(total=total, first=first).tolist()
        except ValueError:  # every index undefined: a constant output
            ranks = [None] * d
            warnings.append(f"objective {objective!r}: the output is constant, so no input explains it; indices are NULL")

        plan.append({
            "uncertainty": {"study_id": study_id, "objective_name": objective, **risk},
            "sensitivity": [
                {
                    "study_id": study_id,
                    "parameter_name": names[i],
                    "parameter_index": i,
                    "objective_name": objective,
                    "correlation_coefficient": _finite(pearson[i]),
                    "rank_correlation": _finite(spearman[i]),
                    "sobol_first_order": _finite(first[i]),
                    "sobol_first_order_conf": _finite(first_conf[i]),
                    "sobol_total": _finite(total[i]),
                    "sobol_total_conf": _finite(total_conf[i]),
                    "importance_rank": ranks[i],
                }
                for i in range(d)
            ],
            "warnings": warnings,
        })
    return plan


def _guarded(study_id: str, objective: str, method: str, excluded: int, compute):
    """Run one analysis kernel; its "too few samples" becomes the store's error with the counts."""
    try:
        return compute()
    except uncertainty.InsufficientSamplesError as error:
        why = f" ({excluded:,} more runs excluded as failed or non-finite)" if excluded else ""
        raise NotEnoughSamplesError(study_id, objective, method, error.available, error.required, why) from None


def _parameter_names(study, d: int) -> list[str]:
    if study.parameter_names is not None and len(study.parameter_names) == d:
        return [str(name) for name in study.parameter_names]
    return [f"x{i}" for i in range(d)]


def _objective_names(text: str | None, m: int) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()] if text else []
    if len(names) == m:
        return names
    return ["fitness"] if m == 1 else [f"objective_{k}" for k in range(m)]


def _problem_bounds(bounds: list | None, d: int) -> list[list[float]]:
    """Bounds for SALib's problem dict. The Sobol' estimators use only the outputs, so inputs
    without recorded bounds (non-uniform distributions) get the unit interval."""
    result = []
    for i in range(d):
        pair = bounds[i] if bounds is not None and i < len(bounds) else None
        ok = isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, (int, float)) for v in pair) and pair[0] < pair[1]
        result.append([float(pair[0]), float(pair[1])] if ok else [0.0, 1.0])
    return result


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# -------------------------------------------------------------------------------------- storage


def _store(conn: Connection, study_id: str, plan: list[dict]) -> dict:
    # Replace, not add: an analysis describes the study's runs as they are now.
    conn.execute(sa.text("DELETE FROM sensitivity_analysis WHERE study_id = :s"), {"s": study_id})
    conn.execute(sa.text("DELETE FROM uncertainty_analysis WHERE study_id = :s"), {"s": study_id})
    uncertainty_rows, sensitivity_rows, warnings = [], [], []
    for item in plan:
        record = validate_one(UncertaintyRecord, item["uncertainty"], "uncertainty_analysis")
        analysis_id = writer.insert_uncertainty(conn, record)
        uncertainty_rows.append({"analysis_id": analysis_id, **record})
        rows = [{**row, "analysis_id": analysis_id} for row in item["sensitivity"]]
        records = validate_many(SensitivityRecord, rows, "sensitivity_analysis")
        ids = writer.insert_sensitivity(conn, records)
        sensitivity_rows.extend({"sensitivity_id": i, **r} for i, r in zip(ids, records))
        warnings.extend(item["warnings"])
    return {"study_id": study_id, "uncertainty": uncertainty_rows, "sensitivity": sensitivity_rows, "warnings": warnings}
