"""Copy an Optuna study into the store: ``hive-cli import optuna`` (checked against Optuna 5.0).

The source is a storage URL and a study name (Optuna's RDB storage: ``sqlite:///optuna.db``,
``postgresql://...``), or a live ``optuna.Study`` object (any storage).

What becomes what:

- the Optuna study -> one study: ``study_name`` = the Optuna name, ``objective_directions`` =
  its directions, ``optimization_objective`` = its metric names (``set_metric_names``) or
  ``value`` / ``objective_0, objective_1, ...``, ``parameter_names`` = every parameter name in
  sorted order, ``parameter_choices`` = the choices of each categorical parameter,
  ``created_at`` = the first trial's start, ``completed_at`` = the last trial's completion.
  ``metadata_json`` keeps the Optuna study name, the storage URL (without password), the sampler
  and how it was recognised, the parameter distributions, whether the study is constrained and
  the study's user attributes. The study is marked completed at the end (Pareto flags,
  hypervolume...).
- each trial -> one run, ``evaluation_number`` = ``trial.number``. RUNNING and WAITING trials have
  no result yet: they are skipped and counted, so runs = COMPLETE + PRUNED + FAIL trials.

  - ``run_state`` = Optuna's state in lower case: ``complete``, ``pruned``, ``fail``.
  - ``simulation_status``: a feasible COMPLETE trial is ``success``, an infeasible one
    ``infeasible``, PRUNED and FAIL trials ``failed``.
  - ``objectives`` = ``trial.values`` and ``fitness`` = the first value, a PRUNED trial's too (Optuna
    gives it its last intermediate value when that is not NaN). A trial without values (FAIL, or
    PRUNED before any report) has no objectives and ``fitness`` +inf (-inf when the first
    objective is maximized), as the store's rule for failed evaluations asks.
  - ``parameter_vector`` = the params in sorted name order, in Optuna's internal representation: a
    categorical parameter is its choice's index, and the study's ``parameter_choices`` turns the
    index back into the choice in tables and exports (``param:use_bn`` shows ``False``). A trial
    without some parameters (conditional search spaces) carries its own ``parameter_names``.
  - constraints (a sampler's ``constraints_func``, or ``trial.set_constraint``) ->
    ``constraint_violations`` = ``{"constraints": [values], "names": [Optuna's keys]}`` (the keys
    are "0", "1", ... for ``constraints_func``).
  - intermediate values (``trial.report``) of every trial -> the ``intermediate_values`` table,
    one row per step (NaN stored as NULL), all trials in one ``log_learning_curves``.
  - ``metadata_json``: every user attribute, non-finite numbers written as "NaN", "Infinity",
    "-Infinity" (as the store writes non-finite objectives), and the exact datetimes
    (``datetime_start``, ``datetime_complete``: ISO 8601, UTC, microseconds).
  - ``created_at`` = completion (start if none), ``evaluation_time_seconds`` = completion -
    start; a sampler's generation number (NSGA-II/III, CMA-ES) -> ``generation_number``.

Best design and front, as Optuna's ``study.best_trial`` and ``study.best_trials``. Optuna picks
from COMPLETE trials that are feasible, feasible meaning every constraint value is <= 0 (a trial
without constraints is feasible); ``best_trial`` takes the best value in the storage and, when
that trial is infeasible, the best feasible one, which is the same trial as "the best feasible
COMPLETE trial". The store picks its best design and front from ``success`` runs, which are
exactly those trials, so the two agree. Where they may not: between trials of equal value the store
takes the lowest trial number, Optuna whichever the database returns first; the store's front
leaves out trials with an infinite value and lists a design evaluated twice once (its first
trial), where Optuna lists both.

Study type, from the sampler: NSGA-II/III (any GA sampler) -> ``genetic_algorithm``; CMA-ES ->
``evolution_strategy``; TPE, GP, BoTorch -> ``bayesian_optimization``; Random, QMC, Grid,
BruteForce -> ``monte_carlo``; anything else -> ``other``. The sampler's class name is recorded in
``metadata_json["sampler"]``. It comes from, in this order: ``sampler=``; what samplers leave in
the storage (GA samplers' ``<Sampler>:generation``, CMA-ES's ``cma:``, ``sepcma:`` or ``cmawm:``,
TPE's ``tpe:relative_params``, GP's ``gp:relative_params`` trial attributes; QMC's ``qmc:`` study
attributes; Grid's ``grid_id``); a live ``optuna.Study``'s sampler object. Note that a study
from ``optuna.load_study`` without ``sampler=`` carries a new TPESampler, whatever ran it.
RandomSampler and BruteForceSampler leave nothing, nor does TPE before its startup trials end:
without ``sampler=`` or the study that ran, such a sampler is ``unknown`` (type ``other``).

Datetimes. Optuna's RDB storage keeps UTC in its tables and hands out naive local time, which is
ambiguous in the hour repeated when daylight-saving time ends; the importer reads the tables'
UTC values, so the datetimes are exact. Other storages (in-memory, journal) are read through
Optuna's local times, converted as this machine's local time: exact except in that repeated hour.

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
    >>> live = optuna.create_study(study_name="live", sampler=optuna.samplers.TPESampler(seed=0))
    >>> live.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    >>> summary = import_optuna_study(db, live)
    >>> summary["sampler"], summary["study_type"]
    ('TPESampler', 'bayesian_optimization')
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

from storage.studies.columns import from_columns
from storage.errors import HiveError, NotFoundError, ValidationError
from storage.studies.records import validate_intermediate_values

GENETIC = "genetic_algorithm"
EVOLUTION_STRATEGY = "evolution_strategy"
BAYESIAN = "bayesian_optimization"
MONTE_CARLO = "monte_carlo"
OTHER = "other"
SAMPLER_STUDY_TYPES = {
    "NSGAIISampler": GENETIC,
    "NSGAIIISampler": GENETIC,
    "BaseGASampler": GENETIC,  # every GA sampler derives from it
    "CmaEsSampler": EVOLUTION_STRATEGY,
    "TPESampler": BAYESIAN,
    "GPSampler": BAYESIAN,
    "BoTorchSampler": BAYESIAN,
    "RandomSampler": MONTE_CARLO,
    "QMCSampler": MONTE_CARLO,
    "GridSampler": MONTE_CARLO,
    "BruteForceSampler": MONTE_CARLO,
}
UNKNOWN_SAMPLER = "unknown"
_STATUS = {TrialState.COMPLETE: "success", TrialState.FAIL: "failed", TrialState.PRUNED: "failed"}
_COUNT_KEYS = {TrialState.COMPLETE: "complete", TrialState.FAIL: "failed", TrialState.PRUNED: "pruned"}
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def import_optuna_study(
    service: Any,
    source: str | optuna.Study,
    study_name: str | None = None,
    study_id: str | None = None,
    *,
    sampler: str | None = None,
    experiment: str | None = None,
    labels: dict | None = None,
) -> dict:
    """Copy an Optuna study into study ``study_id`` (default ``optuna_<study name>``).

    ``source``: a storage URL (then ``study_name`` names the study) or a live ``optuna.Study``.
    ``sampler``: the sampler's class name when it cannot be recognised (see the module docstring).
    ``experiment`` / ``labels``: the study's experiment and labels (``create_study``'s), e.g. one
    Optuna study per sampler and seed imported into one experiment.
    Returns a summary dict (study_id, optuna_study_name, study_type, sampler, sampler_source, runs,
    complete, infeasible, failed, pruned, skipped, intermediate_values). An existing ``study_id``
    raises ``DuplicateError``; an unknown study raises ``NotFoundError`` listing the studies the
    storage holds. Records are checked before anything is written; should the database still
    refuse one, the study is left with status ``failed`` and the error in its description.
    """
    if sampler is not None and (not isinstance(sampler, str) or not sampler):
        raise ValidationError(f"sampler={sampler!r}: expected a sampler class name such as 'RandomSampler'")
    if isinstance(source, optuna.Study):
        if study_name is not None and study_name != source.study_name:
            raise ValidationError(f"study_name={study_name!r}: the study given is {source.study_name!r}")
        study_name, where = source.study_name, "a live optuna.Study"
        # Optuna has no public accessor for a study's storage; the RDB storage sits in a cache.
        storage = source._storage
        data = _read_study(storage, getattr(storage, "_backend", storage), study_name, where)
        live_sampler = source.sampler
    else:
        for label, value in (("source", source), ("study_name", study_name)):
            if not isinstance(value, str) or not value:
                raise ValidationError(f"{label}={value!r}: expected non-empty text (a storage URL and a study name)")
        where = _display(source)
        storage = _open_storage(source, where)
        try:
            data = _read_study(storage, storage, study_name, where)
        finally:
            storage.engine.dispose()
        live_sampler = None
    study_id = study_id if study_id is not None else f"optuna_{study_name}"

    trials = [t for t in data["trials"] if t.state in _STATUS]
    directions = data["directions"]
    names = sorted({name for t in trials for name in t.params})
    sampler_name, sampler_source, study_type = _sampler(sampler, data, live_sampler)
    times = _datetimes(trials, data["datetimes"])
    runs, curves, counts = _runs(study_id, trials, times, names, directions)
    counts["skipped"] = len(data["trials"]) - len(trials)
    # Refusals of shape come before anything is written (the calls below are separate transactions).
    from_columns(runs)
    for number, values in curves.items():
        try:
            validate_intermediate_values(values)
        except ValidationError as error:
            raise ValidationError(f"trial {number}: {error}") from None

    choices = {
        name: _json_value(list(distribution.choices), f"parameter_choices[{name!r}]")
        for t in trials for name, distribution in t.distributions.items()
        if isinstance(distribution, CategoricalDistribution)
    }
    metadata = {
        "source": "optuna",
        "optuna_version": optuna.__version__,
        "optuna_study_name": study_name,
        "storage": where,
        "sampler": sampler_name,
        "sampler_source": sampler_source,
        "constrained": any(t.constraints for t in trials),
        "distributions": _json_value(data["distributions"], "distributions"),
    }
    if data["user_attrs"]:
        metadata["user_attrs"] = _json_value(data["user_attrs"], "study user_attrs")
    record = {
        "study_id": study_id,
        "study_type": study_type,
        "study_name": study_name,
        "optimization_objective": ",".join(_objective_names(data["metric_names"], len(directions))),
        "objective_directions": directions,
        "parameter_names": names,
        "status": "running",
        "metadata_json": metadata,
    }
    if choices:
        record["parameter_choices"] = dict(sorted(choices.items()))
    if experiment is not None:
        record["experiment"] = experiment
    if labels is not None:
        record["labels"] = labels
    starts = [start for start, _ in times if start is not None]
    ends = [complete for _, complete in times if complete is not None]
    if starts:
        record["created_at"] = min(starts)
    service.create_study(record)
    try:
        run_ids = dict(zip(runs["evaluation_number"], service.log_study_runs(runs))) if trials else {}
        points = service.log_learning_curves(study_id, {run_ids[n]: v for n, v in curves.items()}) if curves else 0
    except Exception as error:
        # The study exists but is incomplete: say so on it, so nobody takes it for the Optuna study.
        service.update_study_status(study_id, "failed", description=f"Optuna import failed: {_first_line(error)}")
        raise
    service.update_study_status(study_id, "completed", **({"completed_at": max(ends)} if ends else {}))
    return {
        "study_id": study_id,
        "optuna_study_name": study_name,
        "study_type": study_type,
        "sampler": sampler_name,
        "sampler_source": sampler_source,
        "runs": len(trials),
        **counts,
        "intermediate_values": points,
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


def _read_study(storage: Any, backend: Any, study_name: str, where: str) -> dict:
    """Everything the import needs from ``storage``; ``backend`` is the RDB storage behind it, if any."""
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
        "datetimes": _stored_utc(backend, optuna_id) if isinstance(backend, optuna.storages.RDBStorage) else {},
    }


def _stored_utc(storage: optuna.storages.RDBStorage, optuna_id: int) -> dict[int, tuple]:
    """``{trial number: (start, complete)}`` as the RDB tables hold them: naive UTC (Optuna 5),
    which Optuna turns into naive local time, losing which of a repeated hour it was."""
    trials = sa.table(
        "trials", sa.column("study_id"), sa.column("number"),
        sa.column("datetime_start", sa.DateTime), sa.column("datetime_complete", sa.DateTime),
    )
    query = sa.select(trials.c.number, trials.c.datetime_start, trials.c.datetime_complete).where(
        trials.c.study_id == optuna_id
    )
    with storage.engine.connect() as conn:
        return {number: (_as_utc(start), _as_utc(end)) for number, start, end in conn.execute(query)}


def _as_utc(naive_utc: datetime | None) -> datetime | None:
    return None if naive_utc is None else naive_utc.replace(tzinfo=timezone.utc)


def _datetimes(trials: list, stored: dict[int, tuple]) -> list[tuple]:
    """Each trial's (start, complete) in UTC: the RDB tables' values, else Optuna's local times converted."""
    return [
        stored[t.number] if t.number in stored else (_local_to_utc(t.datetime_start), _local_to_utc(t.datetime_complete))
        for t in trials
    ]


def _local_to_utc(moment: datetime | None) -> datetime | None:
    # Naive local time (Optuna's in-memory and journal storages); astimezone() reads it that way.
    return None if moment is None else moment.astimezone(timezone.utc)


def _sampler(given: str | None, data: dict, live: Any) -> tuple[str, str, str]:
    """(sampler class name, how it was found, study type)."""
    if given is not None:
        return given, "given", SAMPLER_STUDY_TYPES.get(given, OTHER)
    found = _detect_sampler(data["system_attrs"], data["trials"])
    if found is not None:
        name, source, kinds = found
        return name, source, _study_type(kinds)
    if live is not None:
        kinds = [cls.__name__ for cls in type(live).__mro__]  # a subclass of TPESampler is a TPE sampler
        return type(live).__name__, "the study's sampler object", _study_type(kinds)
    return UNKNOWN_SAMPLER, "not recognised: Optuna does not store the sampler (give it with sampler=...)", OTHER


def _study_type(class_names: list[str]) -> str:
    return next((SAMPLER_STUDY_TYPES[n] for n in class_names if n in SAMPLER_STUDY_TYPES), OTHER)


def _detect_sampler(study_attrs: dict, trials: list) -> tuple[str, str, list[str]] | None:
    """The sampler's class name from the traces samplers leave in the storage, or None."""
    trial_keys = {key for t in trials for key in t.system_attrs}
    if any(key.startswith(("cma:", "sepcma:", "cmawm:")) for key in trial_keys):
        return "CmaEsSampler", "trial system attribute 'cma:...'", ["CmaEsSampler"]
    for key in sorted(trial_keys):
        prefix = key[: -len(":generation")]
        if key.endswith(":generation") and prefix.endswith("Sampler"):  # GA samplers: "<ClassName>:generation"
            return prefix, f"trial system attribute {key!r}", [prefix, "BaseGASampler"]
    if any(key.startswith("qmc:") for key in study_attrs):
        return "QMCSampler", "study system attribute 'qmc:...'", ["QMCSampler"]
    if "grid_id" in trial_keys:
        return "GridSampler", "trial system attribute 'grid_id'", ["GridSampler"]
    if any(key.startswith("tpe:") for key in trial_keys):
        return "TPESampler", "trial system attribute 'tpe:...'", ["TPESampler"]
    if any(key.startswith("gp:") for key in trial_keys):
        return "GPSampler", "trial system attribute 'gp:...'", ["GPSampler"]
    return None


def _objective_names(metric_names: Any, m: int) -> list[str]:
    if isinstance(metric_names, list) and len(metric_names) == m and all(
        isinstance(n, str) and n and "," not in n for n in metric_names
    ):
        return metric_names
    return ["value"] if m == 1 else [f"objective_{k}" for k in range(m)]


# ------------------------------------------------------------------------------- trials -> runs


def _runs(study_id: str, trials: list, times: list[tuple], names: list[str],
          directions: list[str]) -> tuple[dict[str, list], dict[int, list], dict]:
    """The runs as columns (``log_study_runs`` takes them in one batch; None: the trial has no such
    value), learning curves ``{trial number: [(step, value), ...]}`` and counts."""
    no_value = -math.inf if directions[0] == "maximize" else math.inf
    counts = {"complete": 0, "infeasible": 0, "failed": 0, "pruned": 0}
    fields = ("evaluation_number", "parameter_vector", "parameter_names", "simulation_status", "run_state",
              "metadata_json", "objectives", "fitness", "constraint_violations", "generation_number", "created_at",
              "evaluation_time_seconds")
    runs: dict[str, list] = {"study_id": [study_id] * len(trials), **{field: [] for field in fields}}
    curves = {}
    for trial, (start, complete) in zip(trials, times):
        counts[_COUNT_KEYS[trial.state]] += 1
        constraints = trial.constraints  # Optuna's reading of the "constraints" system attributes
        status = _STATUS[trial.state]
        if status == "success" and not all(value <= 0.0 for value in constraints.values()):  # Optuna's rule
            status = "infeasible"
            counts["infeasible"] += 1
        own = [name for name in names if name in trial.params]
        objectives = None if trial.values is None else [float(v) for v in trial.values]
        run = {
            "evaluation_number": trial.number,
            "parameter_vector": [float(trial.distributions[name].to_internal_repr(trial.params[name])) for name in own],
            "parameter_names": own if own != names else None,
            "simulation_status": status,
            "run_state": trial.state.name.lower(),
            "metadata_json": _trial_metadata(trial, start, complete),
            "objectives": objectives,
            "fitness": no_value if objectives is None else objectives[0],
            "constraint_violations": {
                "constraints": [_json_number(float(v)) for v in constraints.values()], "names": list(constraints),
            } if constraints else None,
            "generation_number": _generation(trial.system_attrs),
            "created_at": complete or start,
            "evaluation_time_seconds": (max(0.0, (complete - start).total_seconds())
                                        if start is not None and complete is not None else None),
        }
        for field in fields:
            runs[field].append(run[field])
        if trial.intermediate_values:
            curves[trial.number] = sorted(trial.intermediate_values.items())
    return runs, curves, counts


def _trial_metadata(trial, start: datetime | None, complete: datetime | None) -> dict:
    metadata: dict[str, Any] = {}
    if start is not None:
        metadata["datetime_start"] = start.isoformat()
    if complete is not None:
        metadata["datetime_complete"] = complete.isoformat()
    if trial.user_attrs:
        metadata["user_attrs"] = _json_value(trial.user_attrs, f"trial {trial.number} user_attrs")
    if trial.system_attrs:   # what Optuna and its samplers recorded (constraints, generation, grid id...)
        metadata["system_attrs"] = _json_value(trial.system_attrs, f"trial {trial.number} system_attrs")
    return metadata


def _generation(system_attrs: dict) -> int | None:
    for key, value in system_attrs.items():
        if key.endswith(":generation") and isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _json_number(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if value != value else _NON_FINITE[value]


def _json_value(value: Any, where: str) -> Any:
    """Standard JSON: non-finite floats as the store's strings "NaN", "Infinity", "-Infinity".
    Optuna's RDB and journal storages hold JSON only; an in-memory study may hold anything else,
    which is refused, naming it."""
    if isinstance(value, float):
        return _json_number(value)
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise ValidationError(f"{where}: key {key!r} is not text, so not JSON; nothing was written")
        return {key: _json_value(item, f"{where}[{key!r}]") for key, item in value.items()}
    raise ValidationError(f"{where}={value!r}: a {type(value).__name__} is not JSON; nothing was written")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
