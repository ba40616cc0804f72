"""Run a Monte Carlo study end to end: sample the inputs, evaluate, record, analyse, complete.

``run_monte_carlo`` draws samples of the uncertain parameters, evaluates the user's function on
each, records every sample as a run of a new ``monte_carlo`` study (in batches, so a long study
shows progress), records the sampling design in the study's ``metadata_json`` (key ``"sampling"``,
see ``storage.studies.monte_carlo``), marks the study completed and stores and returns the uncertainty and
sensitivity analysis of ``storage.studies.monte_carlo.analyze_monte_carlo``.

Parameters are given as ``name -> distribution``: a frozen ``scipy.stats`` distribution
(``stats.norm(100, 5)``, ``stats.triang(0.5, loc=1, scale=2)``...) or a ``(low, high)`` pair for a
uniform distribution. Two sampling methods:

- ``"random"``: ``n_samples`` independent draws: uniform numbers from ``numpy``'s generator
  (``seed``) pushed through each distribution's inverse CDF (``ppf``). First-order Sobol' indices
  are estimated from the given data.
- ``"saltelli"``: SALib's Sobol'-sequence Saltelli design on the unit cube, pushed through the
  same inverse CDFs (Sobol' indices do not change under such per-input transforms).
  ``n_samples`` is the base sample count N, a power of two; the study gets N x (D + 2) runs
  (N x (2D + 2) with ``calc_second_order``). First- and total-order indices come from the design.

Example (runs as is)::

    >>> from scipy import stats
    >>> from storage import DatabaseMetadataService
    >>> from integrations.monte_carlo import run_monte_carlo
    >>> db = DatabaseMetadataService(":memory:")
    >>> result = run_monte_carlo(
    ...     db, "linear_mc", {"a": (0.0, 1.0), "b": stats.norm(0.0, 0.1)},
    ...     lambda p: 4 * p["a"] + p["b"], n_samples=256, method="saltelli", seed=7,
    ...     objective_names=["cost"])
    >>> [(row["parameter_name"], row["importance_rank"]) for row in result["sensitivity"]]
    [('a', 1), ('b', 2)]
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from SALib.sample import sobol as sobol_sample

from storage.errors import ValidationError
from storage.studies.monte_carlo import RANDOM, SALTELLI, SAMPLING_KEY

DEFAULT_BATCH_SIZE = 1_000
_ERROR_TEXT_LIMIT = 500


def run_monte_carlo(
    service: Any,
    study_id: str,
    parameters: Mapping[str, Any],
    function: Callable,
    n_samples: int,
    *,
    method: str = RANDOM,
    seed: int = 0,
    objective_names: Sequence[str] | None = None,
    objective_directions: Sequence[str] | None = None,
    calc_second_order: bool = False,
    vectorized: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    study: Mapping[str, Any] | None = None,
) -> dict:
    """Sample, evaluate, record and analyse; returns ``analyze_monte_carlo``'s result.

    ``function``: called as ``function(sample)`` with ``sample`` a dict ``name -> float``; returns
    a float or a sequence of floats (one per objective). An exception it raises is recorded as a
    failed run (its message in the run's ``metadata_json``) and excluded from the analysis. With
    ``vectorized=True`` it is called once per batch with a dict ``name -> array`` and returns an
    array of shape (n,) or (n, m); an exception then stops the study.
    ``objective_names``: default ``["value"]`` for one objective, ``objective_0, ...`` for more.
    ``objective_directions``: ``"minimize"`` (default) or ``"maximize"`` per objective; it decides
    which tail is the risk (VaR/CVaR).
    ``study``: extra ``create_study`` fields (``study_name``, ``description``, ``metadata_json``
    entries are merged with the recorded design).

    The study is created here (an existing ``study_id`` raises ``DuplicateError``), completed
    after the last sample, then analysed.
    """
    names, transforms, descriptions = _parameters(parameters)
    if not isinstance(n_samples, int) or isinstance(n_samples, bool) or n_samples < 1:
        raise ValidationError(f"n_samples={n_samples!r}: expected a positive integer")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValidationError(f"batch_size={batch_size!r}: expected a positive integer")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValidationError(f"seed={seed!r}: expected an integer")
    unit = _unit_design(method, len(names), n_samples, seed, calc_second_order)
    samples = np.column_stack([transform(unit[:, i]) for i, transform in enumerate(transforms)])
    bad = ~np.isfinite(samples)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise ValidationError(
            f"parameters[{names[column]!r}]: its distribution gave {samples[row, column]} at quantile "
            f"{unit[row, column]}; only distributions with finite values can be sampled"
        )

    sampling: dict[str, Any] = {"method": method, "seed": seed, "distributions": descriptions}
    if method == SALTELLI:
        sampling |= {
            "base_samples": n_samples,
            "calc_second_order": calc_second_order,
            "scramble": True,
            "bounds": [d.get("bounds") for d in descriptions],
        }
    else:
        sampling["samples"] = n_samples

    extra = dict(study or {})
    metadata = dict(extra.pop("metadata_json", None) or {})
    metadata[SAMPLING_KEY] = sampling
    created = False
    total = len(samples)
    for start in range(0, total, batch_size):
        batch = samples[start:start + batch_size]
        expected = len(objective_names) if objective_names is not None else None
        outputs, errors = _evaluate(function, names, batch, vectorized, expected)
        if not created:
            if all(error is not None for error in errors):
                # Every sample of the first batch failing is a bug in the function, not uncertainty.
                raise ValidationError(
                    f"function failed on all {len(batch)} samples of the first batch; nothing was written. "
                    f"First error: {errors[0]}"
                )
            objective_names, objective_directions = _objectives(objective_names, objective_directions, outputs.shape[1])
            service.create_study({
                "study_id": study_id,
                "study_type": "monte_carlo",
                "optimization_objective": ",".join(objective_names),
                "objective_directions": list(objective_directions),
                "parameter_names": names,
                "max_evaluations": total,
                "status": "running",
                **extra,
                "metadata_json": metadata,
            })
            created = True
        elif outputs.shape[1] != len(objective_names):
            raise ValidationError(
                f"function returned {outputs.shape[1]} values for sample {start}, earlier samples "
                f"returned {len(objective_names)}"
            )
        service.log_study_runs(_columns(study_id, start, batch, outputs, errors, objective_directions))
        if start + len(batch) < total:
            service.update_study_status(study_id, "running", progress_percent=100.0 * (start + len(batch)) / total)
    service.update_study_status(study_id, "completed")
    return service.analyze_monte_carlo(study_id)  # the public method: works through a remote service too


# ---------------------------------------------------------------------------------------- inputs


def _parameters(parameters: Mapping[str, Any]):
    """Names, inverse-CDF transforms of unit numbers, and JSON descriptions of the distributions."""
    if not isinstance(parameters, Mapping) or not parameters:
        raise ValidationError(f"parameters={parameters!r}: expected a non-empty dict name -> distribution")
    names, transforms, descriptions = [], [], []
    for name, spec in parameters.items():
        if not isinstance(name, str) or not name:
            raise ValidationError(f"parameters: name {name!r}: expected non-empty text")
        if isinstance(spec, (tuple, list)):
            if len(spec) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in spec):
                raise ValidationError(f"parameters[{name!r}]={spec!r}: expected (low, high) numbers")
            low, high = float(spec[0]), float(spec[1])
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise ValidationError(f"parameters[{name!r}]={spec!r}: expected finite low < high")
            transforms.append(lambda u, low=low, high=high: low + (high - low) * u)
            descriptions.append({"name": name, "distribution": "uniform", "bounds": [low, high]})
        elif callable(getattr(spec, "ppf", None)) and hasattr(spec, "dist"):
            transforms.append(_ppf_transform(spec))
            descriptions.append(_describe_distribution(name, spec))
        else:
            raise ValidationError(
                f"parameters[{name!r}]={spec!r}: expected a frozen scipy.stats distribution or a (low, high) pair"
            )
        names.append(name)
    return names, transforms, descriptions


def _ppf_transform(distribution) -> Callable[[np.ndarray], np.ndarray]:
    # Keep quantiles strictly inside (0, 1): ppf(0) of an unbounded distribution is -inf.
    tiny = np.finfo(np.float64).tiny
    return lambda u: np.asarray(distribution.ppf(np.clip(u, tiny, np.nextafter(1.0, 0.0))), dtype=np.float64)


def _describe_distribution(name: str, distribution) -> dict:
    description: dict[str, Any] = {"name": name, "distribution": distribution.dist.name}
    args = [float(a) for a in distribution.args]
    kwds = {k: float(v) for k, v in distribution.kwds.items()}
    if args:
        description["args"] = args
    if kwds:
        description["kwds"] = kwds
    low, high = (float(v) for v in distribution.support())
    if distribution.dist.name == "uniform" and math.isfinite(low) and math.isfinite(high):
        description["bounds"] = [low, high]
    return description


def _unit_design(method: str, d: int, n_samples: int, seed: int, calc_second_order: bool) -> np.ndarray:
    """Samples on the unit cube, one column per parameter."""
    if method == RANDOM:
        return np.random.default_rng(seed).random((n_samples, d))
    if method == SALTELLI:
        if n_samples & (n_samples - 1):
            raise ValidationError(
                f"n_samples={n_samples}: a Saltelli (Sobol' sequence) design needs a power of two base samples, "
                f"e.g. {1 << (n_samples.bit_length() - 1)} or {1 << n_samples.bit_length()}"
            )
        problem = {"num_vars": d, "names": [f"u{i}" for i in range(d)], "bounds": [[0.0, 1.0]] * d}
        return sobol_sample.sample(problem, n_samples, calc_second_order=calc_second_order, scramble=True, seed=seed)
    raise ValidationError(f"method={method!r}: must be {RANDOM!r} or {SALTELLI!r}")


def _objectives(names: Sequence[str] | None, directions: Sequence[str] | None, m: int):
    if names is None:
        names = ["value"] if m == 1 else [f"objective_{k}" for k in range(m)]
    names = list(names)
    if len(names) != m:
        raise ValidationError(f"objective_names={names!r} has {len(names)} names but the function returns {m} values")
    if any(not isinstance(n, str) or not n or "," in n for n in names):
        raise ValidationError(f"objective_names={names!r}: expected non-empty names without commas")
    directions = list(directions) if directions is not None else ["minimize"] * m
    if len(directions) != m:
        raise ValidationError(
            f"objective_directions={directions!r} has {len(directions)} entries but the function returns {m} values"
        )
    return names, directions


# ------------------------------------------------------------------------------------ evaluation


def _evaluate(function: Callable, names: list[str], batch: np.ndarray, vectorized: bool, expected_m: int | None):
    """Outputs (n, m) of one batch and, per row, the error text of a failed evaluation (or None).
    ``expected_m`` (the objective count, once known) sizes the NaN rows of a batch that failed entirely."""
    if vectorized:
        outputs = np.asarray(function({name: batch[:, i] for i, name in enumerate(names)}), dtype=np.float64)
        if outputs.ndim == 1:
            outputs = outputs[:, None]
        if outputs.ndim != 2 or outputs.shape[0] != len(batch):
            raise ValidationError(
                f"vectorized function returned shape {outputs.shape} for {len(batch)} samples; expected (n,) or (n, m)"
            )
        return outputs, [None] * len(batch)
    rows: list[np.ndarray | None] = []
    errors: list[str | None] = []
    for vector in batch:
        try:
            value = function(dict(zip(names, vector.tolist())))
            rows.append(np.asarray(value, dtype=np.float64).reshape(-1))
            errors.append(None)
        except Exception as error:  # noqa: BLE001 - a failed simulation is a result to record, not a crash
            rows.append(None)
            errors.append(f"{type(error).__name__}: {error}"[:_ERROR_TEXT_LIMIT])
    widths = {len(r) for r in rows if r is not None}
    if len(widths) > 1:
        raise ValidationError(f"function returned different numbers of values within one batch: {sorted(widths)}")
    m = widths.pop() if widths else (expected_m or 1)
    outputs = np.array([r if r is not None else np.full(m, np.nan) for r in rows], dtype=np.float64).reshape(len(batch), m)
    return outputs, errors


def _columns(study_id: str, start: int, batch: np.ndarray, outputs: np.ndarray, errors: list, directions: list) -> dict:
    """One batch of samples as the columns ``log_study_runs`` takes."""
    # fitness cannot be NaN (README); the worst value for the direction stands in for a missing one.
    worst = -math.inf if directions[0] == "maximize" else math.inf
    n = len(batch)
    failed = np.array([error is not None for error in errors], dtype=bool)
    return {
        "study_id": [study_id] * n,
        "evaluation_number": np.arange(start, start + n),
        "parameter_vector": batch,
        "objectives": outputs,
        "fitness": np.where(np.isnan(outputs[:, 0]), worst, outputs[:, 0]),
        "simulation_status": np.where(failed, "failed", "success"),
        "metadata_json": [None if error is None else {"error": error} for error in errors],
    }
