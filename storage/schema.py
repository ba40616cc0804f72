"""The tables of the store, as SQLAlchemy Core metadata (the seed design plus what a real store needs).

This module is the single description of the current schema. Migrations never import it (they
stand alone); a test checks that running every migration yields exactly this metadata.

Conventions, the same on SQLite and PostgreSQL:
- JSON lives in TEXT columns, written canonically by the store (compact separators). TEXT rather
  than JSONB keeps values byte-for-byte and lets the old service's rows survive the upgrade intact.
- Timestamps are TEXT, ``YYYY-MM-DD HH:MM:SS`` in UTC, the format of SQLite's own
  ``CURRENT_TIMESTAMP``; they sort as text and DuckDB casts them to TIMESTAMP.
- Floating point is REAL on SQLite and DOUBLE PRECISION on PostgreSQL (never PostgreSQL's 4-byte
  REAL). See ``storage.studies.records`` for which fields accept NaN and infinities.

Deviations from the seed, each on purpose:
- ``study_runs``: ``evaluation_number`` is NOT NULL and unique per study (the store assigns it when
  the optimizer does not); ``idx_study_runs_fitness`` leads with ``study_id`` so "top 10 of a
  study" is an index range read; ``idx_study_runs_pareto`` is partial (only front members are
  indexed, in fitness order, which is all the Pareto query reads).
- ``studies`` gains ``objective_directions``, ``reference_point`` and ``parameter_names`` (JSON
  lists), and CHECK constraints on its enums and on ``progress_percent``.
- ``convergence_metrics`` gains ``hypervolume`` (per generation, for multi-objective studies),
  ``dual_bound`` / ``relative_gap`` / ``elapsed_seconds`` (MILP progress) and one row per
  (study, generation).
- ``uncertainty_analysis`` gains ``sample_count`` / ``excluded_count``; ``sensitivity_analysis``
  gains ``objective_name`` and the confidence intervals of the Sobol indices.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# Every refusal the database itself makes carries a predictable name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

STUDY_TYPES = ("genetic_algorithm", "monte_carlo", "single_simulation", "milp", "bayesian_optimization",
               "evolution_strategy", "other")
STUDY_STATUSES = ("pending", "running", "completed", "failed")
SIMULATION_STATUSES = ("success", "failed", "infeasible")
OBJECTIVE_DIRECTIONS = ("minimize", "maximize")
# How a decision ranked the front (analysis.decisions); "manual": picked by hand.
DECISION_METHODS = ("knee", "pseudo_weights", "asf", "topsis", "manual")

FLOAT8 = sa.REAL().with_variant(postgresql.DOUBLE_PRECISION(), "postgresql")
NOW = sa.text("CURRENT_TIMESTAMP")

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# The first seven columns' names, types and defaults are those of the old service's table,
# which the upgrade keeps in place.
studies = sa.Table(
    "studies",
    metadata,
    sa.Column("study_id", sa.Text, primary_key=True),
    sa.Column("study_name", sa.Text),
    sa.Column("description", sa.Text),
    sa.Column("base_system_config_path", sa.Text),
    sa.Column("run_count", sa.Integer, server_default=sa.text("0")),
    sa.Column("created_at", sa.Text, server_default=NOW),
    sa.Column("updated_at", sa.Text, server_default=NOW),
    sa.Column("metadata_json", sa.Text),
    sa.Column("study_type", sa.Text, nullable=False, server_default="single_simulation"),
    sa.Column("optimization_objective", sa.Text),
    sa.Column("optimization_constraints", sa.Text),
    sa.Column("population_size", sa.Integer),
    sa.Column("max_generations", sa.Integer),
    sa.Column("max_evaluations", sa.Integer),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("progress_percent", FLOAT8),
    sa.Column("best_fitness", FLOAT8),
    sa.Column("best_solution_id", sa.Text),
    sa.Column("completed_at", sa.Text),
    sa.Column("execution_time_seconds", FLOAT8),
    sa.Column("objective_directions", sa.Text),
    sa.Column("reference_point", sa.Text),
    sa.Column("parameter_names", sa.Text),
    # Labels of categorical parameters, whose values are stored as the index of the choice.
    sa.Column("parameter_choices", sa.Text),
    # No names were declared: the store keeps the union of the names the runs give (storage.studies.designs).
    sa.Column("parameter_names_from_runs", sa.Boolean, nullable=False, server_default=sa.false()),
    # Studies of one problem (algorithms x seeds) share an experiment; labels say which is which.
    sa.Column("experiment", sa.Text),
    sa.Column("labels", sa.Text),
    # The project that owns the study (migration 0011): on PostgreSQL row-level security shows a
    # connection only its project's studies and everything keyed by them.
    sa.Column("project_id", sa.Text, sa.ForeignKey("projects.id"), nullable=False, server_default="default"),
    sa.CheckConstraint(_in("study_type", STUDY_TYPES), name="study_type"),
    sa.CheckConstraint(_in("status", STUDY_STATUSES), name="status"),
    sa.CheckConstraint("progress_percent >= 0 AND progress_percent <= 100", name="progress_percent"),
    sa.Index("idx_studies_type", "study_type"),
    sa.Index("idx_studies_status", "status"),
    sa.Index("idx_studies_best_fitness", "best_fitness"),
    sa.Index("idx_studies_created_at", "created_at"),
    sa.Index("idx_studies_experiment", "experiment"),
    sa.Index("idx_studies_project_created", "project_id", "created_at", "study_id"),
)

# One row per (study, label): the value as JSON text, for filtering and grouping on any label.
study_labels = sa.Table(
    "study_labels",
    metadata,
    sa.Column("study_id", sa.Text, sa.ForeignKey("studies.study_id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("study_id", "name"),
    sa.Index("idx_study_labels_name_value", "name", "value"),
)

simulation_runs = sa.Table(
    "simulation_runs",
    metadata,
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column("run_name", sa.Text),
    sa.Column("system_config_path", sa.Text),
    sa.Column("status", sa.Text),
    sa.Column("start_time", sa.Text),
    sa.Column("end_time", sa.Text),
    sa.Column("execution_time_seconds", FLOAT8),
    sa.Column("total_cost", FLOAT8),
    sa.Column("co2_emissions", FLOAT8),
    sa.Column("renewable_fraction", FLOAT8),
    sa.Column("self_sufficiency_rate", FLOAT8),
    sa.Column("results_path", sa.Text),
    sa.Column("created_at", sa.Text, server_default=NOW),
    sa.Column("metadata_json", sa.Text),
    # use_alter: study_runs and simulation_runs point at each other.
    sa.Column(
        "study_run_id",
        sa.Text,
        sa.ForeignKey("study_runs.run_id", ondelete="SET NULL", use_alter=True),
    ),
    sa.Column("study_id", sa.Text, sa.ForeignKey("studies.study_id", ondelete="SET NULL")),
    sa.Column("project_id", sa.Text, sa.ForeignKey("projects.id"), nullable=False, server_default="default"),
    sa.Index("idx_simulation_runs_study_run_id", "study_run_id"),
    sa.Index("idx_simulation_runs_study_id", "study_id"),
    sa.Index("idx_simulation_runs_project_id", "project_id"),
)

study_runs = sa.Table(
    "study_runs",
    metadata,
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column(
        "study_id", sa.Text, sa.ForeignKey("studies.study_id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("evaluation_number", sa.Integer, nullable=False),
    sa.Column("generation_number", sa.Integer),
    sa.Column("parameter_vector", sa.Text, nullable=False),
    sa.Column("parameter_names", sa.Text),
    sa.Column("fitness", FLOAT8, nullable=False),
    sa.Column("objectives", sa.Text),
    sa.Column("constraint_violations", sa.Text),
    sa.Column(
        "simulation_run_id",
        sa.Text,
        sa.ForeignKey("simulation_runs.run_id", ondelete="SET NULL"),
    ),
    sa.Column("simulation_status", sa.Text, nullable=False, server_default="success"),
    sa.Column("evaluation_time_seconds", FLOAT8),
    sa.Column("solver_time_seconds", FLOAT8),
    sa.Column("is_pareto_optimal", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("domination_count", sa.Integer, server_default=sa.text("0")),
    sa.Column("created_at", sa.Text, server_default=NOW),
    sa.Column("metadata_json", sa.Text),
    # The optimizer's own state where it says more than simulation_status (Optuna: complete, pruned, fail).
    sa.Column("run_state", sa.Text),
    # Which design this evaluation is (storage.studies.designs): equal keys, same parameter values and names.
    sa.Column("design_key", sa.BigInteger),
    sa.CheckConstraint(_in("simulation_status", SIMULATION_STATUSES), name="simulation_status"),
    # A plain study_id index would repeat the leading column of the four below (and cost a quarter
    # of the insert speed); this one indexes what they cannot: a study's runs that did not succeed.
    sa.Index(
        "idx_study_runs_study_id",
        "study_id",
        sqlite_where=sa.text("simulation_status <> 'success'"),
        postgresql_where=sa.text("simulation_status <> 'success'"),
    ),
    sa.Index("idx_study_runs_generation", "study_id", "generation_number"),
    sa.Index("idx_study_runs_fitness", "study_id", "fitness"),
    # The front of a study in fitness order, from the index alone (migration 0005).
    sa.Index(
        "idx_study_runs_pareto",
        "study_id",
        "fitness",
        "evaluation_number",
        sqlite_where=sa.text("is_pareto_optimal"),
        postgresql_where=sa.text("is_pareto_optimal"),
    ),
    sa.Index("idx_study_runs_evaluation_number", "study_id", "evaluation_number", unique=True),
    sa.Index("idx_study_runs_design", "study_id", "design_key"),
)

# A run's learning curve: the value it reported at each step (Optuna's trial.report); NaN as NULL.
intermediate_values = sa.Table(
    "intermediate_values",
    metadata,
    sa.Column("run_id", sa.Text, sa.ForeignKey("study_runs.run_id", ondelete="CASCADE"), nullable=False),
    sa.Column("study_id", sa.Text, sa.ForeignKey("studies.study_id", ondelete="CASCADE"), nullable=False),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("value", FLOAT8),
    sa.PrimaryKeyConstraint("run_id", "step"),
    sa.Index("idx_intermediate_values_study_id", "study_id"),
)

pareto_fronts = sa.Table(
    "pareto_fronts",
    metadata,
    sa.Column("pareto_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "study_id", sa.Text, sa.ForeignKey("studies.study_id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("generation_number", sa.Integer),
    sa.Column("front_size", sa.Integer),
    sa.Column("hypervolume", FLOAT8),
    sa.Column("run_ids", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, server_default=NOW),
    sa.Index("idx_pareto_fronts_study_id", "study_id"),
    sa.Index("idx_pareto_fronts_generation", "study_id", "generation_number"),
    sqlite_autoincrement=True,
)

convergence_metrics = sa.Table(
    "convergence_metrics",
    metadata,
    sa.Column("metric_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "study_id", sa.Text, sa.ForeignKey("studies.study_id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("generation_number", sa.Integer, nullable=False),
    sa.Column("best_fitness", FLOAT8),
    sa.Column("average_fitness", FLOAT8),
    sa.Column("worst_fitness", FLOAT8),
    sa.Column("fitness_std_dev", FLOAT8),
    sa.Column("population_diversity", FLOAT8),
    sa.Column("stagnation_count", sa.Integer),
    sa.Column("generation_time_seconds", FLOAT8),
    sa.Column("evaluations_in_generation", sa.Integer),
    sa.Column("hypervolume", FLOAT8),
    sa.Column("created_at", sa.Text, server_default=NOW),
    # MILP progress: one row per solver event (incumbent in best_fitness).
    sa.Column("dual_bound", FLOAT8),
    sa.Column("relative_gap", FLOAT8),
    sa.Column("elapsed_seconds", FLOAT8),
    sa.Index("idx_convergence_study_gen", "study_id", "generation_number", unique=True),
    sqlite_autoincrement=True,
)

uncertainty_analysis = sa.Table(
    "uncertainty_analysis",
    metadata,
    sa.Column("analysis_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "study_id", sa.Text, sa.ForeignKey("studies.study_id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "target_solution_id", sa.Text, sa.ForeignKey("study_runs.run_id", ondelete="SET NULL")
    ),
    sa.Column("objective_name", sa.Text),
    sa.Column("mean_value", FLOAT8),
    sa.Column("median_value", FLOAT8),
    sa.Column("std_dev", FLOAT8),
    sa.Column("percentile_5", FLOAT8),
    sa.Column("percentile_25", FLOAT8),
    sa.Column("percentile_50", FLOAT8),
    sa.Column("percentile_75", FLOAT8),
    sa.Column("percentile_95", FLOAT8),
    sa.Column("var_95", FLOAT8),
    sa.Column("cvar_95", FLOAT8),
    sa.Column("sample_count", sa.Integer),
    sa.Column("excluded_count", sa.Integer),
    sa.Column("created_at", sa.Text, server_default=NOW),
    sa.Index("idx_uncertainty_study", "study_id"),
    sqlite_autoincrement=True,
)

sensitivity_analysis = sa.Table(
    "sensitivity_analysis",
    metadata,
    sa.Column("sensitivity_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "study_id", sa.Text, sa.ForeignKey("studies.study_id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "analysis_id",
        sa.Integer,
        sa.ForeignKey("uncertainty_analysis.analysis_id", ondelete="CASCADE"),
    ),
    sa.Column("parameter_name", sa.Text, nullable=False),
    sa.Column("parameter_index", sa.Integer),
    sa.Column("objective_name", sa.Text),
    sa.Column("correlation_coefficient", FLOAT8),
    sa.Column("rank_correlation", FLOAT8),
    sa.Column("sobol_first_order", FLOAT8),
    sa.Column("sobol_first_order_conf", FLOAT8),
    sa.Column("sobol_total", FLOAT8),
    sa.Column("sobol_total_conf", FLOAT8),
    sa.Column("importance_rank", sa.Integer),
    sa.Column("created_at", sa.Text, server_default=NOW),
    sa.Index("idx_sensitivity_study", "study_id"),
    sa.Index("idx_sensitivity_rank", "study_id", "importance_rank"),
    sqlite_autoincrement=True,
)


# =================================================================================================
# Prompt-optimization runs (issue 6): projects, optimization_runs, optimization_iterations,
# optimization_samples. Created by migration 0004_prompt_optimization, which also installs what
# this metadata cannot describe: triggers, the PostgreSQL functions, row-level security policies,
# the analytics materialized view and its per-project view. Decisions, on purpose:
#
# - Scores are exact to 4 decimals and within [0, 1] on both backends. PostgreSQL: NUMERIC(7,4).
#   SQLite has no decimal type; a score is a REAL constrained by CHECK (score = round(score, 4)),
#   i.e. the stored double is exactly the one nearest a 4-decimal number (0.8500 reads back as
#   0.85, never 0.8500000001). Not integer ten-thousandths: then the same SQL would read 8500 on
#   SQLite and 0.85 on PostgreSQL, and every dashboard query would need a per-backend divisor.
#   Derived improvements are computed with round(..., 4) so they are 4-decimal values as well.
# - duration_ms, improvement and improvement_pct are STORED generated columns (nobody can write a
#   stale value; the database recomputes them whenever start/end or the scores change).
# - Timestamps are TEXT in UTC like the rest of the store, at millisecond precision
#   ('YYYY-MM-DD HH:MM:SS.fff'; whole seconds also accepted), format-checked so text order is time
#   order. PostgreSQL's generated duration needs an IMMUTABLE parser, hive_epoch_ms(text) (see the
#   migration): immutable for every value the format CHECK lets in.
# - project_id is denormalized onto iterations and samples and tied to the run's by a composite
#   foreign key (run_id, project_id) -> optimization_runs (id, project_id): row-level security is
#   then one plain equality per table, and a child row can never claim another project's run.
# - The GIN indexes (config, metadata, tags) exist only on PostgreSQL. SQLite has no inverted
#   index; there the same names are empty partial indexes (WHERE 0: no entries, no write cost), so
#   one metadata describes both backends and migrations compare clean.
# =================================================================================================

from sqlalchemy.ext.compiler import compiles as _compiles  # noqa: E402
from sqlalchemy.sql.expression import ColumnElement as _ColumnElement  # noqa: E402

OPTIMIZER_TYPES = ("miprov2", "bootstrap_fewshot", "bootstrap_fewshot_random_search", "copro", "gepa", "custom")
RUN_STATUSES = ("pending", "running", "completed", "failed", "cancelled")
EVALUATION_KINDS = ("minibatch", "full")


class PerDialect(_ColumnElement):
    """A SQL fragment written once per backend (defaults, generated columns, CHECKs that differ)."""

    inherit_cache = False

    def __init__(self, sqlite: str, postgresql: str):
        self.texts = {"sqlite": sqlite, "postgresql": postgresql}


@_compiles(PerDialect)
def _compile_per_dialect(element: PerDialect, compiler, **_kw) -> str:
    return element.texts[compiler.dialect.name]


SCORE = sa.REAL().with_variant(sa.Numeric(7, 4, asdecimal=False), "postgresql")
PCT = sa.REAL().with_variant(sa.Numeric(10, 2, asdecimal=False), "postgresql")
MONEY = sa.REAL().with_variant(sa.Numeric(14, 6, asdecimal=False), "postgresql")
JSON_DOC = sa.Text().with_variant(postgresql.JSONB(), "postgresql")
TAGS = sa.Text().with_variant(postgresql.ARRAY(sa.Text()), "postgresql")
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # INTEGER PRIMARY KEY = SQLite rowid

NOW_MS = PerDialect(
    sqlite="(strftime('%Y-%m-%d %H:%M:%f', 'now'))",
    postgresql="to_char((now() AT TIME ZONE 'UTC'), 'YYYY-MM-DD HH24:MI:SS.MS')",
)
NEW_RUN_ID = PerDialect(
    sqlite="(lower(hex(randomblob(16))))",
    postgresql="replace((gen_random_uuid())::text, '-', '')",
)
EMPTY_OBJECT = PerDialect(sqlite="'{}'", postgresql="'{}'::jsonb")
EMPTY_TAGS = PerDialect(sqlite="'[]'", postgresql="'{}'::text[]")
DURATION_MS = PerDialect(
    sqlite="CAST(round((julianday(end_time) - julianday(start_time)) * 86400000.0) AS INTEGER)",
    postgresql="(hive_epoch_ms(end_time) - hive_epoch_ms(start_time))",
)
IMPROVEMENT = "round((final_score - baseline_score), 4)"
IMPROVEMENT_PCT = (
    "CASE WHEN (baseline_score > 0) THEN round((((final_score - baseline_score) / baseline_score) * 100), 2) "
    "ELSE NULL END"
)


def _timestamp_check(column: str) -> PerDialect:
    return PerDialect(
        sqlite=(  # '+0 days' normalizes, so an impossible date such as Feb 30 reads back different
            f"{column} IS strftime('%Y-%m-%d %H:%M:%f', {column}, '+0 days') "
            f"OR {column} IS strftime('%Y-%m-%d %H:%M:%S', {column}, '+0 days')"
        ),
        postgresql=(
            f"{column} IS NULL OR ({column} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}} [0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}([.][0-9]{{3}})?$' "
            f"AND hive_epoch_ms({column}) IS NOT NULL)"
        ),
    )


def _score_check(column: str) -> PerDialect:
    return PerDialect(
        sqlite=f"{column} >= 0 AND {column} <= 1 AND {column} = round({column}, 4)",
        postgresql=f"{column} >= 0 AND {column} <= 1",
    )


def _json_object_check(column: str) -> PerDialect:
    return PerDialect(
        sqlite=f"json_valid({column}) AND json_type({column}) = 'object'",
        postgresql=f"jsonb_typeof({column}) = 'object'",
    )


def _gin(name: str, column: str, ops: str | None = None) -> sa.Index:
    return sa.Index(
        name,
        column,
        postgresql_using="gin",
        postgresql_ops={column: ops} if ops else {},
        sqlite_where=sa.text("0"),
    )


projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False, server_default=NOW_MS),
    sa.CheckConstraint("length(id) BETWEEN 1 AND 200", name="id"),
)

optimization_runs = sa.Table(
    "optimization_runs",
    metadata,
    sa.Column("id", sa.Text, primary_key=True, server_default=NEW_RUN_ID),
    sa.Column("project_id", sa.Text, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("optimizer_type", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("config", JSON_DOC, nullable=False, server_default=EMPTY_OBJECT),
    sa.Column("metadata", JSON_DOC, nullable=False, server_default=EMPTY_OBJECT),
    sa.Column("tags", TAGS, nullable=False, server_default=EMPTY_TAGS),
    sa.Column("task_name", sa.Text),
    sa.Column("dataset_name", sa.Text),
    sa.Column("model_name", sa.Text),
    sa.Column("prompt_model_name", sa.Text),
    sa.Column("start_time", sa.Text),
    sa.Column("end_time", sa.Text),
    sa.Column("duration_ms", sa.BigInteger, sa.Computed(DURATION_MS, persisted=True)),
    sa.Column("baseline_score", SCORE),
    sa.Column("best_score", SCORE),
    sa.Column("final_score", SCORE),
    sa.Column("improvement", SCORE, sa.Computed(sa.text(IMPROVEMENT), persisted=True)),
    sa.Column("improvement_pct", PCT, sa.Computed(sa.text(IMPROVEMENT_PCT), persisted=True)),
    sa.Column("iterations_planned", sa.Integer),
    sa.Column("iterations_completed", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("samples_evaluated", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("samples_successful", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("samples_failed", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("prompt_tokens", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("completion_tokens", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("cost", MONEY, nullable=False, server_default=sa.text("0")),
    # Usage outside the iterations (migration 0007); the three totals above include it.
    sa.Column("unattributed_prompt_tokens", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("unattributed_completion_tokens", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("unattributed_cost", MONEY, nullable=False, server_default=sa.text("0")),
    sa.Column("avg_latency_ms", FLOAT8),
    sa.Column("error_message", sa.Text),
    sa.Column("created_at", sa.Text, nullable=False, server_default=NOW_MS),
    sa.Column("updated_at", sa.Text, nullable=False, server_default=NOW_MS),
    sa.UniqueConstraint("id", "project_id"),  # target of the children's composite foreign keys
    sa.CheckConstraint(_in("optimizer_type", OPTIMIZER_TYPES), name="optimizer_type"),
    sa.CheckConstraint(_in("status", RUN_STATUSES), name="status"),
    sa.CheckConstraint(_score_check("baseline_score"), name="baseline_score"),
    sa.CheckConstraint(_score_check("best_score"), name="best_score"),
    sa.CheckConstraint(_score_check("final_score"), name="final_score"),
    sa.CheckConstraint(_timestamp_check("start_time"), name="start_time"),
    sa.CheckConstraint(_timestamp_check("end_time"), name="end_time"),
    sa.CheckConstraint(_timestamp_check("created_at"), name="created_at"),
    sa.CheckConstraint(_timestamp_check("updated_at"), name="updated_at"),
    sa.CheckConstraint(
        PerDialect(
            sqlite="julianday(end_time) >= julianday(start_time)",
            postgresql="hive_epoch_ms(end_time) >= hive_epoch_ms(start_time)",
        ),
        name="time_order",
    ),
    sa.CheckConstraint(
        "samples_evaluated >= 0 AND samples_successful >= 0 AND samples_failed >= 0 "
        "AND samples_evaluated >= samples_successful + samples_failed",
        name="sample_counts",
    ),
    sa.CheckConstraint(
        "iterations_completed >= 0 AND (iterations_planned IS NULL OR iterations_planned >= 0)",
        name="iteration_counts",
    ),
    sa.CheckConstraint("prompt_tokens >= 0 AND completion_tokens >= 0 AND cost >= 0", name="usage"),
    sa.CheckConstraint("unattributed_prompt_tokens >= 0", name="unattributed_prompt_tokens"),
    sa.CheckConstraint("unattributed_completion_tokens >= 0", name="unattributed_completion_tokens"),
    sa.CheckConstraint("unattributed_cost >= 0", name="unattributed_cost"),
    sa.CheckConstraint(_json_object_check("config"), name="config"),
    sa.CheckConstraint(_json_object_check("metadata"), name="metadata"),
    sa.CheckConstraint(
        PerDialect(sqlite="json_valid(tags) AND json_type(tags) = 'array'", postgresql="array_position(tags, NULL) IS NULL"),
        name="tags",
    ),
    _gin("idx_optimization_runs_config_gin", "config", "jsonb_path_ops"),
    _gin("idx_optimization_runs_metadata_gin", "metadata", "jsonb_path_ops"),
    _gin("idx_optimization_runs_tags_gin", "tags"),
)

# Every list query of a project is "newest first"; the trailing id makes the order total, so
# keyset pagination and ties are both an index range read.
_runs = optimization_runs.c
sa.Index("idx_optimization_runs_project_created", _runs.project_id, _runs.created_at.desc(), _runs.id.desc())
sa.Index(
    "idx_optimization_runs_project_status",
    _runs.project_id, _runs.status, _runs.created_at.desc(), _runs.id.desc(),
)
sa.Index(
    "idx_optimization_runs_project_optimizer",
    _runs.project_id, _runs.optimizer_type, _runs.created_at.desc(), _runs.id.desc(),
)
# The leaderboard: completed runs of a project by final score, best first (ties: earliest).
sa.Index(
    "idx_optimization_runs_leaderboard",
    _runs.project_id, _runs.final_score.desc(), _runs.created_at, _runs.id,
    sqlite_where=sa.text("status = 'completed' AND final_score IS NOT NULL"),
    postgresql_where=sa.text("status = 'completed' AND final_score IS NOT NULL"),
)

optimization_iterations = sa.Table(
    "optimization_iterations",
    metadata,
    sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("project_id", sa.Text, nullable=False),
    sa.Column("iteration", sa.Integer, nullable=False),
    sa.Column("instructions", JSON_DOC),
    sa.Column("demo_set_ids", JSON_DOC),
    sa.Column("params", JSON_DOC),
    sa.Column("score", SCORE),
    sa.Column("evaluation_kind", sa.Text, nullable=False, server_default="full"),
    sa.Column("batch_size", sa.Integer),
    sa.Column("is_best", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("prompt_tokens", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("completion_tokens", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("cost", MONEY, nullable=False, server_default=sa.text("0")),
    sa.Column("latency_ms", FLOAT8),
    sa.Column("created_at", sa.Text, nullable=False, server_default=NOW_MS),
    sa.ForeignKeyConstraint(
        ["run_id", "project_id"],
        ["optimization_runs.id", "optimization_runs.project_id"],
        ondelete="CASCADE",
    ),
    sa.UniqueConstraint("run_id", "iteration"),
    sa.CheckConstraint("iteration >= 0", name="iteration"),
    sa.CheckConstraint(_score_check("score"), name="score"),
    sa.CheckConstraint(_in("evaluation_kind", EVALUATION_KINDS), name="evaluation_kind"),
    sa.CheckConstraint("batch_size IS NULL OR batch_size >= 0", name="batch_size"),
    sa.CheckConstraint(
        "prompt_tokens >= 0 AND completion_tokens >= 0 AND cost >= 0 AND (latency_ms IS NULL OR latency_ms >= 0)",
        name="usage",
    ),
    sa.CheckConstraint(_timestamp_check("created_at"), name="created_at"),
)

optimization_samples = sa.Table(
    "optimization_samples",
    metadata,
    sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("project_id", sa.Text, nullable=False),
    sa.Column("iteration", sa.Integer, nullable=False),
    sa.Column("sample_index", sa.Integer, nullable=False),
    sa.Column("input", JSON_DOC),
    sa.Column("output", JSON_DOC),
    sa.Column("expected", JSON_DOC),
    sa.Column("score", SCORE),
    sa.Column("success", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("error", sa.Text),
    sa.Column("latency_ms", FLOAT8),
    sa.Column("prompt_tokens", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("completion_tokens", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("created_at", sa.Text, nullable=False, server_default=NOW_MS),
    sa.ForeignKeyConstraint(
        ["run_id", "project_id"],
        ["optimization_runs.id", "optimization_runs.project_id"],
        ondelete="CASCADE",
    ),
    sa.UniqueConstraint("run_id", "iteration", "sample_index"),
    sa.CheckConstraint("iteration >= 0 AND sample_index >= 0", name="position"),
    sa.CheckConstraint(_score_check("score"), name="score"),
    sa.CheckConstraint(
        "prompt_tokens >= 0 AND completion_tokens >= 0 AND (latency_ms IS NULL OR latency_ms >= 0)", name="usage"
    ),
    sa.CheckConstraint(_timestamp_check("created_at"), name="created_at"),
)


# The design chosen on a study's front: how it was ranked, why, by whom, when; history kept.
decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("decision_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("study_id", sa.Text, sa.ForeignKey("studies.study_id", ondelete="CASCADE"), nullable=False),
    sa.Column("run_id", sa.Text, sa.ForeignKey("study_runs.run_id", ondelete="CASCADE"), nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("settings", sa.Text),
    sa.Column("rationale", sa.Text),
    sa.Column("decided_by", sa.Text),
    sa.Column("decided_at", sa.Text, nullable=False),
    sa.Index("idx_decisions_study", "study_id", "decided_at"),
    sqlite_autoincrement=True,
)


# The last parameter-importance analysis of a study by each method (migration 0010): computed on
# demand from its runs and kept, so the next view reads it instead of computing it again.
parameter_importance = sa.Table(
    "parameter_importance",
    metadata,
    sa.Column("importance_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("study_id", sa.Text, sa.ForeignKey("studies.study_id", ondelete="CASCADE"), nullable=False),
    sa.Column("objective_name", sa.Text, nullable=False),
    sa.Column("parameter_name", sa.Text, nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("importance", FLOAT8),
    sa.Column("importance_conf", FLOAT8),
    sa.Column("spearman", FLOAT8),
    sa.Column("importance_rank", sa.Integer),
    sa.Column("evaluations_used", sa.Integer, nullable=False),
    sa.Column("study_run_count", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Text, server_default=NOW),
    sa.Index("idx_parameter_importance_study", "study_id", "method"),
    sqlite_autoincrement=True,
)

# Keys of the HTTP server (migration 0012): the secret is kept only as a salted scrypt hash.
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.Text, primary_key=True),
    sa.Column("project_id", sa.Text, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("key_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("revoked_at", sa.Text),
    sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name="name"),
    sa.Index("idx_api_keys_project", "project_id", "created_at"),
)

# Who may see which project on a dashboard with sign-in (migration 0013; storage.members).
project_members = sa.Table(
    "project_members",
    metadata,
    sa.Column("project_id", sa.Text, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("user_email", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("granted_at", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("project_id", "user_email"),
    sa.CheckConstraint("role IN ('viewer', 'editor')", name="role"),
    sa.CheckConstraint("user_email = lower(user_email) AND length(user_email) BETWEEN 3 AND 320", name="user_email"),
    sa.Index("idx_project_members_user", "user_email"),
)

# What a batch written with an idempotency key returned (storage.idempotency, migration 0012).
idempotent_requests = sa.Table(
    "idempotent_requests",
    metadata,
    sa.Column("project_id", sa.Text, nullable=False),
    sa.Column("idempotency_key", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("response", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("project_id", "idempotency_key"),
)
