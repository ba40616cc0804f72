"""``DatabaseMetadataService``: the seed's public contract, a thin facade over the focused modules.

Validation lives in ``records``, writing in ``writer``, derived data in ``derive``, schema versions in
``migrate``; this class opens the database, runs each call in one transaction and returns plain
values (ids, dicts), never ORM objects.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

# derive, monte_carlo, queries and the Reader (numpy, pandas, SciPy, SALib, moocore, DuckDB) are
# imported in the methods that use them: logging runs needs none of them, and `import storage` stays fast.
from . import columns, writer
from .. import idempotency, migrate, remote
from ..batches import collection_paused
from ..engine import DEFAULT_PROJECT, check_project_id, create_engine, display_url, resolve_url, transaction
from ..errors import ValidationError
from ..jsonfields import encode_finite_vector, encode_json
from .records import (
    ConvergenceRecord,
    DecisionRecord,
    IntermediateValuesKey,
    ParetoFrontRecord,
    SensitivityRecord,
    SimulationRunRecord,
    StudyRecord,
    StudyRunRecord,
    StudyStatusFields,
    UncertaintyRecord,
    normalize_timestamp,
    validate_intermediate_values,
    validate_many,
    validate_one,
)
from ..schema import STUDY_STATUSES
from ..timestamps import now_text

if TYPE_CHECKING:
    from ..reader import Reader


class DatabaseMetadataService:
    """Write API for optimization results (SQLite file by default, PostgreSQL by URL).

    ``url_or_path``: a SQLAlchemy URL (``sqlite:///...``, ``postgresql://...``), a file path,
    ``":memory:"``, or None for ``$HIVE_DB_URL`` / the default file ``~/.hive/hive.db``.
    An empty database is given the schema on first open; an out-of-date one raises
    ``SchemaBehindError`` naming the ``hive-cli db upgrade`` command.

    ``project_id``: the project this service works in (default ``default``). Studies it creates
    belong to it; a study of another project answers as if it did not exist. On PostgreSQL every
    connection carries the project, so row-level security confines even hand-written SQL.

    A server's URL (``"http://host:8000"``, from ``hive-cli serve``) with ``api_key=`` (or
    ``$HIVE_API_KEY``) gives the same methods over HTTP, in the key's project (``storage.remote``).
    """

    def __new__(cls, url_or_path: str | os.PathLike | None = None, **options: Any):
        # A server's URL ("http://host:8000", here or in $HIVE_DB_URL): the same methods over HTTP.
        return remote.new_instance(cls, DatabaseMetadataService, url_or_path, options)

    def __init__(self, url_or_path: str | os.PathLike | None = None, *, project_id: str = DEFAULT_PROJECT,
                 api_key: str | None = None):
        if api_key is not None:
            raise ValidationError(f"api_key: only for a server's URL (http://...), not for {url_or_path!r}")
        self.url = resolve_url(url_or_path)
        self.project_id = check_project_id(project_id)
        self.engine: Engine = create_engine(self.url, project_id)
        self._reader: Reader | None = None
        try:
            self.created_schema = migrate.ensure_current(self.engine)
        except BaseException:
            self.engine.dispose()
            raise

    def __repr__(self) -> str:
        project = "" if self.project_id == DEFAULT_PROJECT else f", project_id={self.project_id!r}"
        return f"DatabaseMetadataService({display_url(self.url)!r}{project})"

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self.engine.dispose()

    @property
    def reader(self) -> Reader:
        """The read layer on the same database (created on first use)."""
        if self._reader is None:
            from ..reader import Reader

            in_memory = not self.url.database or self.url.database == ":memory:"
            self._reader = Reader(self.url, project_id=self.project_id, engine=self.engine if in_memory else None)
        return self._reader

    def __enter__(self) -> DatabaseMetadataService:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ----------------------------------------------------------------------------------- studies

    def create_study(self, study_record: Mapping[str, Any]) -> str:
        """Create a study; returns its ``study_id``. Keys as in the seed, plus
        ``objective_directions`` (list of "minimize"/"maximize", default all "minimize"),
        ``reference_point`` (list, for hypervolume) and ``parameter_names`` (list)."""
        record = validate_one(StudyRecord, study_record, "study")
        with transaction(self.engine) as conn:
            return writer.insert_study(conn, record)

    def update_study_status(self, study_id: str, status: str, **fields: Any) -> dict:
        """Set a study's status (and any of ``StudyStatusFields``). Marking it ``completed`` fills
        ``completed_at`` and ``execution_time_seconds`` when not given and derives Pareto flags,
        the final front with its hypervolume, and missing convergence rows, in one transaction.
        Returns a summary dict of the study."""
        if not isinstance(study_id, str):
            raise ValidationError(f"study_id={study_id!r}: expected text")
        if status not in STUDY_STATUSES:
            raise ValidationError(f"status={status!r}: must be one of {', '.join(STUDY_STATUSES)}")
        values = validate_one(StudyStatusFields, fields, "update_study_status")
        now = now_text()
        with collection_paused(), transaction(self.engine) as conn:
            study = writer.lock_studies(conn, [study_id])[study_id]
            update: dict[str, Any] = {"status": status, "updated_at": now}
            for key in ("progress_percent", "best_fitness", "best_solution_id", "execution_time_seconds", "description"):
                if key in values:
                    update[key] = values[key]
            if "best_fitness" in update and update["best_fitness"] != update["best_fitness"]:
                raise ValidationError("update_study_status: best_fitness=nan: NaN cannot be stored")
            if "metadata_json" in values:
                update["metadata_json"] = encode_json("metadata_json", values["metadata_json"])
            if "reference_point" in values:
                reference = values["reference_point"]
                if reference is not None and len(reference) != study.n_objectives:
                    raise ValidationError(
                        f"update_study_status: reference_point={reference!r} has {len(reference)} values "
                        f"for {study.n_objectives} objectives"
                    )
                update["reference_point"] = encode_finite_vector(reference) if reference is not None else None
                study.reference_point = reference
            if "completed_at" in values:
                update["completed_at"] = normalize_timestamp("completed_at", values["completed_at"])
            summary: dict[str, Any] = {}
            if status == "completed":
                update.setdefault("completed_at", now)
                update.setdefault("progress_percent", 100.0)
                if "execution_time_seconds" not in update:
                    update["execution_time_seconds"] = writer.elapsed_seconds(study, update["completed_at"])
                from . import derive

                derived = derive.derive_on_completion(conn, study)
                summary.update(dataclasses.asdict(derived))
            writer.update_study(conn, study, update)
        summary.update({
            "study_id": study_id,
            "status": status,
            "run_count": study.run_count,
            "best_fitness": update.get("best_fitness", study.best_fitness),
            "best_solution_id": update.get("best_solution_id", study.best_solution_id),
        })
        return summary

    # -------------------------------------------------------------------------------- evaluations

    def log_study_run(self, run_record: Mapping[str, Any]) -> str:
        """Log one evaluation; returns its ``run_id`` (``"<study_id>:<evaluation_number>"`` when not given)."""
        record = validate_one(StudyRunRecord, run_record, "study_run")
        with transaction(self.engine) as conn:
            return writer.insert_study_runs(conn, columns.from_records([record]))[0]

    def log_study_runs(self, runs: Any, *, idempotency_key: str | None = None) -> list[str]:
        """Log many evaluations in one transaction: all are written, or none. Returns their run_ids.

        ``runs``: a list of records (dicts), or the same as columns, the fast path for arrays: a
        pandas DataFrame, a pyarrow Table or a dict of equal-length lists / numpy arrays, columns
        named as the record's fields; ``parameter_vector`` and ``objectives`` may be 2-D arrays, or
        one column per parameter / objective the study names (see ``storage.studies.columns``).

        ``idempotency_key``: names the batch; sending the same batch again with it (a retry after a
        lost answer) writes nothing and returns the first run_ids (``storage.idempotency``)."""
        with collection_paused():
            if columns.is_columnar(runs):
                batch = columns.from_columns(runs)
            else:
                batch = columns.from_records(validate_many(StudyRunRecord, runs, "study_runs"))
            with transaction(self.engine) as conn:
                with idempotency.once(conn, idempotency_key, [batch.values, batch.named]) as once:
                    if not once.done:
                        once.result = writer.insert_study_runs(conn, batch)
                return once.result

    def log_intermediate_values(self, study_id: str, run_id: str, values: Any) -> int:
        """A run's learning curve: ``[(step, value), ...]`` (or ``{step: value}``), the values it
        reported while running (Optuna's ``trial.report``). NaN is kept (stored as NULL); a step
        reported before is refused. Returns how many points were written."""
        return self.log_learning_curves(study_id, {run_id: values})

    def log_learning_curves(self, study_id: str, curves: Mapping[str, Any]) -> int:
        """Learning curves of many runs of one study in one transaction: ``{run_id: [(step, value),
        ...]}`` (importers use it). All are written, or none."""
        if not isinstance(curves, Mapping):
            raise ValidationError(f"curves: expected {{run_id: [(step, value), ...]}}, got {type(curves).__name__}")
        rows = []
        for run_id, values in curves.items():
            record = validate_one(IntermediateValuesKey, {"study_id": study_id, "run_id": run_id}, "intermediate_values")
            rows.extend((record["run_id"], step, value) for step, value in validate_intermediate_values(values))
        with transaction(self.engine) as conn:
            return writer.insert_intermediate_values(conn, study_id, rows)

    def log_simulation_run(self, simulation_result: Any) -> str:
        """The old service's call: one simulation's metadata and KPIs. Accepts a dict or an object
        (dataclass or plain attributes) with the old columns; ``study_id`` / ``study_run_id`` link it."""
        record = validate_one(SimulationRunRecord, _as_record(simulation_result), "simulation_run")
        with transaction(self.engine) as conn:
            return writer.insert_simulation_run(conn, record)

    # --------------------------------------------------------------------------- analysis results

    def log_convergence_metrics(self, metrics: Mapping[str, Any] | list[Mapping[str, Any]]) -> int:
        """One generation's convergence row (or a list of them); returns how many were written."""
        many = isinstance(metrics, list)
        records = (
            validate_many(ConvergenceRecord, metrics, "convergence_metrics")
            if many
            else [validate_one(ConvergenceRecord, metrics, "convergence_metrics")]
        )
        with transaction(self.engine) as conn:
            return writer.insert_convergence_metrics(conn, records)

    def log_pareto_front(self, front_record: Mapping[str, Any]) -> int:
        """A front (``run_ids`` of runs of the study, optional ``generation_number``); returns its
        ``pareto_id``. The hypervolume is computed from the runs' objectives when not given."""
        record = validate_one(ParetoFrontRecord, front_record, "pareto_front")
        with transaction(self.engine) as conn:
            hypervolume = None
            if "hypervolume" not in record:
                hypervolume = _front_hypervolume(conn, record["study_id"], record["run_ids"])
            return writer.insert_pareto_front(conn, record, hypervolume)

    def log_uncertainty_analysis(self, analysis_record: Mapping[str, Any]) -> int:
        """One objective's distribution statistics and risk metrics; returns its ``analysis_id``."""
        record = validate_one(UncertaintyRecord, analysis_record, "uncertainty_analysis")
        with transaction(self.engine) as conn:
            return writer.insert_uncertainty(conn, record)

    def log_sensitivity_analysis(self, sensitivity: Mapping[str, Any] | list[Mapping[str, Any]]) -> list[int]:
        """One parameter's sensitivity row (or a list); returns the new ``sensitivity_id`` values."""
        many = isinstance(sensitivity, list)
        records = (
            validate_many(SensitivityRecord, sensitivity, "sensitivity_analysis")
            if many
            else [validate_one(SensitivityRecord, sensitivity, "sensitivity_analysis")]
        )
        with transaction(self.engine) as conn:
            return writer.insert_sensitivity(conn, records)


    def record_decision(self, decision: Mapping[str, Any]) -> int:
        """The design a team chose on a study's front: ``{"study_id", "run_id", "method", "settings",
        "rationale", "decided_by"}``. ``method`` is how the front was ranked (knee, pseudo_weights,
        asf, topsis, or manual), ``settings`` its weights / reference point (a JSON object). The run
        must be a successful run of the study and, for a multi-objective study, on its current front.
        ``decided_at`` is set by the store; earlier decisions are kept (the history). Returns the
        ``decision_id``."""
        record = validate_one(DecisionRecord, decision, "decision")
        with transaction(self.engine) as conn:
            return writer.insert_decision(conn, record)

    def analyze_monte_carlo(self, study_id: str) -> dict:
        """Uncertainty (per objective: mean, median, std, percentiles, VaR95, CVaR95) and sensitivity
        (per parameter and objective: Pearson, Spearman, Sobol first-order from given data, Sobol
        total-order when the study records a Saltelli design, importance rank) of a Monte Carlo
        study's runs; stored (replacing earlier results) and returned. See ``storage.studies.monte_carlo``."""
        from . import monte_carlo  # SciPy and SALib

        return monte_carlo.analyze_monte_carlo(self, study_id)

    def analyze_parameter_importance(self, study_id: str, method: str = "ped_anova", **options: Any) -> dict:
        """Importance of each parameter for each objective of any study with parameters: ``method``
        "ped_anova" (Optuna's default evaluator), "fanova" (Optuna's fANOVA) or "sobol" (first-order
        Sobol' indices from given data, RBD-FAST), with Spearman's rank correlation beside it; stored
        (replacing this method's earlier rows) and returned. See ``storage.studies.importance``."""
        from . import importance  # Optuna, SciPy, SALib

        return importance.analyze_parameter_importance(self, study_id, method, **options)

    # -------------------------------------------------------------------------------- queries
    # The seed's query API; each returns a list of dicts (DataFrames: ``storage.studies.queries``).

    def query_study_runs(
        self,
        study_id: str,
        generation: int | None = None,
        fitness_min: float | None = None,
        fitness_max: float | None = None,
        simulation_status: str | None = None,
        sort: str = "evaluation_number",
        descending: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict]:
        from . import queries

        queries.study_state(self.reader, study_id)
        filters = queries.RunFilter(generation, fitness_min, fitness_max, simulation_status)
        return _records(queries.query_study_runs(self.reader, study_id, filters, sort, descending, limit, offset))

    def get_best_designs(self, study_id: str, limit: int = 10) -> list[dict]:
        from . import queries

        return _records(queries.get_best_designs(self.reader, study_id, limit))

    def compare_studies(self, study_ids: list[str]) -> list[dict]:
        from . import queries

        return _records(queries.compare_studies(self.reader, study_ids))

    def get_pareto_front(self, study_id: str) -> list[dict]:
        from . import queries

        return _records(queries.get_pareto_front(self.reader, study_id))

    def get_convergence_history(self, study_id: str) -> list[dict]:
        from . import queries

        return _records(queries.get_convergence_history(self.reader, study_id))

    def get_uncertainty_summary(self, study_id: str) -> list[dict]:
        from . import queries

        return _records(queries.get_uncertainty_summary(self.reader, study_id))

    def get_sensitivity_rankings(self, study_id: str, limit: int = 10) -> list[dict]:
        from . import queries

        return _records(queries.get_sensitivity_rankings(self.reader, study_id, limit))

    def export_study_table(self, study_id: str, table: str, path: str | os.PathLike, output_format: str = "csv") -> int:
        """Write one of a study's tables (``runs``, ``convergence``, ``pareto``, ``uncertainty``,
        ``sensitivity``) to ``path`` as ``csv``, ``json`` or ``parquet``, the files ``hive-cli export``
        writes; returns the number of rows. Written beside ``path`` and renamed at the end, so a
        failed export leaves no file. Through a server, the file is written on this machine."""
        from . import exports

        return exports.export_study_table(self.reader, study_id, table, output_format, path)

    def list_studies(self, **filters: Any) -> list[dict]:
        from . import queries

        return _records(queries.list_studies(self.reader, **filters))

    def get_study(self, study_id: str) -> dict:
        from . import queries

        return queries.get_study(self.reader, study_id)

    def get_decisions(self, study_id: str) -> list[dict]:
        """A study's decisions, the latest first (its history), each with the chosen run's values."""
        from . import queries

        return _records(queries.get_decisions(self.reader, study_id))

    def list_experiments(self) -> list[dict]:
        from . import queries

        return _records(queries.list_experiments(self.reader))


def _records(frame) -> list[dict]:
    """DataFrame -> plain dicts with Python scalars; a missing value (NaN, NA, NaT) becomes None.
    The whole frame in a few calls: per-column pandas work cost the seed's queries more than the
    queries themselves."""
    values = frame.to_numpy(dtype=object)
    missing = frame.isna().to_numpy()
    if missing.any():
        values[missing] = None
    names = list(frame.columns)
    return [dict(zip(names, row)) for row in values.tolist()]


def _as_record(value: Any) -> Any:
    """The old service passed result objects; take their known attributes."""
    if isinstance(value, Mapping):
        return dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: v for k, v in dataclasses.asdict(value).items() if k in SimulationRunRecord.__annotations__}
    if hasattr(value, "__dict__"):
        return {k: v for k, v in vars(value).items() if k in SimulationRunRecord.__annotations__}
    return value


def _front_hypervolume(conn, study_id: str, run_ids: list[str]) -> float | None:
    from . import derive

    study = writer.lock_studies(conn, [study_id])[study_id]
    if study.n_objectives < 2 or not run_ids:
        return None
    runs = derive.load_study_runs(conn, study)
    valid = runs.valid
    if not valid.any():
        return None
    points = derive.pareto.to_minimization(runs.objectives[valid], study.directions)
    wanted = set(run_ids)
    chosen = [run_id in wanted for run_id, ok in zip(runs.run_ids, valid) if ok]
    reference = derive.reference_point_min(study, points)
    return float(derive.pareto.hypervolume(points[chosen], reference))
