"""Copy an existing Optuna study (from its RDB storage) into the store: ``hive-cli import optuna``.

What becomes what:

- the Optuna study -> one study: ``study_name`` = the Optuna name, ``objective_directions`` =
  its directions, ``optimization_objective`` = its metric names (``set_metric_names``) or
  ``value`` / ``objective_0, objective_1, ...``, ``parameter_names`` = every parameter name in
  sorted order, ``created_at`` = the first trial's start; ``metadata_json`` keeps the Optuna
  study name, the storage URL (without password), the sampler, the parameter distributions and
  the study's user attributes. It is marked completed at the end (Pareto flags, hypervolume...),
  ``completed_at`` = the last trial's completion.
- each trial -> one run: ``evaluation_number`` = ``trial.number``; ``parameter_vector`` = the
  params in sorted name order, in Optuna's internal representation (a categorical choice is its
  index; the original values are kept in the run's ``metadata_json["params"]``); a trial without
  some parameter (conditional search spaces) carries its own ``parameter_names``.
  COMPLETE -> ``success`` with ``objectives`` = its values, ``fitness`` = the first;
  FAIL and PRUNED -> ``failed`` with ``fitness`` = +inf (-inf when the first objective is
  maximized), as the store's rules for failed evaluations require; RUNNING and WAITING trials are
  skipped and counted. ``created_at`` = completion time (start time if none),
  ``evaluation_time_seconds`` = completion - start, both exact datetimes in ``metadata_json``;
  GA samplers' generation numbers become ``generation_number``.
- study type, from the sampler: NSGA-II/III -> ``genetic_algorithm``; Random, QMC, Grid ->
  ``monte_carlo``; anything else -> ``genetic_algorithm``. Optuna does not store the sampler, so it
  is recognised from what samplers leave behind (GA samplers' ``<Sampler>:generation`` trial
  attributes, QMC's ``qmc:`` study attributes, Grid's ``grid_id``, TPE's ``tpe:``, CMA-ES's
  ``cma:``); a RandomSampler leaves nothing: pass ``sampler="RandomSampler"``. An unrecognised
  sampler is recorded as ``unknown``.

Optuna's RDB storage keeps naive datetimes in the local time of the machine that ran the trials;
they are read as local time of this machine and stored in UTC.

Example (runs as is)::

    >>> import optuna, tempfile, os
    >>> from storage import DatabaseMetadataService
    >>> from integrations.optuna_import import import_optuna_study
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> db = DatabaseMetadataService(":memory:")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     url = "sqlite:///" + os.path.join(folder, "optuna.db")
    ...     study = optuna.create_study(study_name="quad", storage=url,
    ...                                 sampler=optuna.samplers.RandomSampler(seed=0))
    ...     study.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.5) ** 2, n_trials=5)
    ...     summary = import_optuna_study(db, url, "quad", sampler="RandomSampler")
    >>> summary["study_id"], summary["study_type"], summary["complete"]
    ('optuna_quad', 'monte_carlo', 5)
"""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy as sa
from optuna.distributions import CategoricalDistribution, distribution_to_json
from optuna.trial import TrialState

from storage.errors import HiveError, NotFoundError, ValidationError

GENETIC = "genetic_algorithm"
MONTE_CARLO = "monte_carlo"
SAMPLER_STUDY_TYPES = {
    "NSGAIISampler": GENETIC,
    "NSGAIIISampler": GENETIC,
    "RandomSampler": MONTE_CARLO,
    "QMCSampler": MONTE_CARLO,
    "GridSampler": MONTE_CARLO,
}
UNKNOWN_SAMPLER = "unknown"
_IMPORTED_STATES = {TrialState.COMPLETE: "success", TrialState.FAIL: "failed", TrialState.PRUNED: "failed"}
_COUNT_KEYS = {TrialState.COMPLETE: "complete", TrialState.FAIL: "failed", TrialState.PRUNED: "pruned"}


def import_optuna_study(
    service: Any,
    storage_url: str,
    study_name: str,
    study_id: str | None = None,
    *,
    sampler: str | None = None,
) -> dict:
    """Copy Optuna study ``study_name`` from ``storage_url`` into study ``study_id``
    (default ``optuna_<study_name>``); returns a summary dict (study_id, study_type, sampler,
    runs, complete, failed, pruned, skipped).

    ``sampler``: the sampler's class name when it cannot be recognised (see the module docstring).
    An existing ``study_id`` raises ``DuplicateError``; an unknown study raises ``NotFoundError``
    listing the studies the storage holds.
    """
    for label, value in (("storage_url", storage_url), ("study_name", study_name)):
        if not isinstance(value, str) or not value:
            raise ValidationError(f"{label}={value!r}: expected non-empty text")
    if sampler is not None and (not isinstance(sampler, str) or not sampler):
        raise ValidationError(f"sampler={sampler!r}: expected a sampler class name such as 'RandomSampler'")
    study_id = study_id if study_id is not None else f"optuna_{study_name}"
    where = _display(storage_url)
    storage = _open_storage(storage_url, where)
    try:
        source = _read_study(storage, study_name, where)
    finally:
        storage.engine.dispose()

    trials = source["trials"]
    directions = source["directions"]
    names = sorted({name for t in trials if t.state in _IMPORTED_STATES for name in t.params})
    if sampler is not None:
        sampler_name, sampler_source = sampler, "given"
    else:
        sampler_name, sampler_source = _detect_sampler(source["system_attrs"], trials)
    study_type = SAMPLER_STUDY_TYPES.get(sampler_name, GENETIC)
    runs, counts = _runs(study_id, trials, names, directions)
    starts = [_utc(t.datetime_start) for t in trials if t.datetime_start is not None]
    ends = [_utc(t.datetime_complete) for t in trials if t.datetime_complete is not None]

    metadata = {
        "source": "optuna",
        "optuna_version": optuna.__version__,
        "optuna_study_name": study_name,
        "storage": where,
        "sampler": sampler_name,
        "sampler_source": sampler_source,
        "distributions": source["distributions"],
    }
    if source["user_attrs"] and _is_standard_json(source["user_attrs"]):
        metadata["user_attrs"] = source["user_attrs"]
    record = {
        "study_id": study_id,
        "study_type": study_type,
        "study_name": study_name,
        "optimization_objective": ",".join(_objective_names(source["metric_names"], len(directions))),
        "objective_directions": directions,
        "parameter_names": names,
        "status": "running",
        "metadata_json": metadata,
    }
    if starts:
        record["created_at"] = min(starts)
    service.create_study(record)
    if runs:
        service.log_study_runs(runs)
    completion = {"completed_at": max(ends)} if ends else {}
    service.update_study_status(study_id, "completed", **completion)
    return {
        "study_id": study_id,
        "optuna_study_name": study_name,
        "study_type": study_type,
        "sampler": sampler_name,
        "sampler_source": sampler_source,
        "runs": len(runs),
        **counts,
    }


# ------------------------------------------------------------------------------ reading Optuna


def _display(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        raise ValidationError(f"storage_url={url!r}: not a database URL (e.g. sqlite:///optuna.db)") from None


def _open_storage(url: str, where: str) -> optuna.storages.RDBStorage:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # Opening a missing SQLite file would create an empty Optuna database there.
        if not parsed.database or parsed.database == ":memory:" or not Path(parsed.database).is_file():
            raise NotFoundError(f"storage_url={where!r}: no such SQLite file")
    try:
        return optuna.storages.RDBStorage(url, skip_table_creation=True)
    except Exception as error:  # noqa: BLE001 - any driver/Optuna failure: say where and why, in one line
        raise HiveError(f"cannot open the Optuna storage {where}: {_first_line(error)}") from error


def _read_study(storage: optuna.storages.RDBStorage, study_name: str, where: str) -> dict:
    try:
        optuna_id = storage.get_study_id_from_name(study_name)
    except KeyError:
        try:
            known = sorted(s.study_name for s in storage.get_all_studies())
        except Exception:  # noqa: BLE001 - the list is a courtesy in the message
            known = []
        raise NotFoundError(
            f"study_name={study_name!r}: no such Optuna study in {where}"
            + (f" (it holds: {', '.join(known)})" if known else "")
        ) from None
    except Exception as error:  # noqa: BLE001
        raise HiveError(f"cannot read the Optuna storage {where}: {_first_line(error)}") from error
    directions = [
        "maximize" if d == optuna.study.StudyDirection.MAXIMIZE else "minimize"
        for d in storage.get_study_directions(optuna_id)
    ]
    system_attrs = storage.get_study_system_attrs(optuna_id)
    trials = sorted(storage.get_all_trials(optuna_id, deepcopy=False), key=lambda t: t.number)
    distributions: dict[str, Any] = {}
    for trial in trials:
        for name, distribution in trial.distributions.items():
            distributions.setdefault(name, json.loads(distribution_to_json(distribution)))
    return {
        "directions": directions,
        "system_attrs": system_attrs,
        "user_attrs": storage.get_study_user_attrs(optuna_id),
        "metric_names": system_attrs.get("study:metric_names"),
        "trials": trials,
        "distributions": dict(sorted(distributions.items())),
    }


def _detect_sampler(study_attrs: dict, trials: list) -> tuple[str, str]:
    """The sampler's class name from the traces samplers leave in the storage."""
    trial_keys = {key for t in trials for key in t.system_attrs}
    for key in sorted(trial_keys):
        if key.endswith(":generation"):  # every Optuna GA sampler: "<ClassName>:generation"
            return key.split(":", 1)[0], f"trial system attribute {key!r}"
    if any(key.startswith("qmc:") for key in study_attrs):
        return "QMCSampler", "study system attribute 'qmc:...'"
    if "grid_id" in trial_keys:
        return "GridSampler", "trial system attribute 'grid_id'"
    if any(key.startswith("tpe:") for key in trial_keys):
        return "TPESampler", "trial system attribute 'tpe:...'"
    if any(key.startswith(("cma:", "sepcma:", "cmawm:")) for key in trial_keys):
        return "CmaEsSampler", "trial system attribute 'cma:...'"
    return UNKNOWN_SAMPLER, "not recognised: Optuna does not store the sampler (give it with sampler=...)"


def _objective_names(metric_names: Any, m: int) -> list[str]:
    if isinstance(metric_names, list) and len(metric_names) == m and all(
        isinstance(n, str) and n and "," not in n for n in metric_names
    ):
        return metric_names
    return ["value"] if m == 1 else [f"objective_{k}" for k in range(m)]


# ------------------------------------------------------------------------------- trials -> runs


def _runs(study_id: str, trials: list, names: list[str], directions: list[str]) -> tuple[list[dict], dict]:
    failed_fitness = -math.inf if directions[0] == "maximize" else math.inf
    counts = {"complete": 0, "failed": 0, "pruned": 0, "skipped": 0}
    runs = []
    for trial in trials:
        status = _IMPORTED_STATES.get(trial.state)
        if status is None:  # RUNNING / WAITING: no result yet
            counts["skipped"] += 1
            continue
        counts[_COUNT_KEYS[trial.state]] += 1
        own = [name for name in names if name in trial.params]
        run: dict[str, Any] = {
            "study_id": study_id,
            "evaluation_number": trial.number,
            "parameter_vector": [
                float(trial.distributions[name].to_internal_repr(trial.params[name])) for name in own
            ],
            "simulation_status": status,
            "metadata_json": _trial_metadata(trial),
        }
        if own != names:
            run["parameter_names"] = own
        if status == "success":
            values = [float(v) for v in trial.values]
            run["objectives"] = values
            run["fitness"] = values[0]
        else:
            run["fitness"] = failed_fitness
        generation = _generation(trial.system_attrs)
        if generation is not None:
            run["generation_number"] = generation
        moment = trial.datetime_complete or trial.datetime_start
        if moment is not None:
            run["created_at"] = _utc(moment)
        if trial.datetime_start is not None and trial.datetime_complete is not None:
            run["evaluation_time_seconds"] = max(0.0, (trial.datetime_complete - trial.datetime_start).total_seconds())
        runs.append(run)
    return runs, counts


def _trial_metadata(trial) -> dict:
    metadata: dict[str, Any] = {"optuna_state": trial.state.name}
    if trial.datetime_start is not None:
        metadata["datetime_start"] = _utc(trial.datetime_start).isoformat()
    if trial.datetime_complete is not None:
        metadata["datetime_complete"] = _utc(trial.datetime_complete).isoformat()
    if any(isinstance(d, CategoricalDistribution) for d in trial.distributions.values()) and _is_standard_json(trial.params):
        metadata["params"] = dict(sorted(trial.params.items()))
    if trial.state == TrialState.PRUNED and trial.intermediate_values:
        metadata["intermediate_values"] = {
            str(step): value for step, value in sorted(trial.intermediate_values.items()) if math.isfinite(value)
        }
    if trial.user_attrs and _is_standard_json(trial.user_attrs):
        metadata["user_attrs"] = trial.user_attrs
    return metadata


def _generation(system_attrs: dict) -> int | None:
    for key, value in system_attrs.items():
        if key.endswith(":generation") and isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _utc(moment: datetime) -> datetime:
    # A naive datetime is local time (Optuna's RDB storage); astimezone() reads it that way.
    return moment.astimezone(timezone.utc)


def _is_standard_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
        return True
    except (TypeError, ValueError):
        return False


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
