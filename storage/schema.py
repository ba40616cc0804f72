"""The tables of the store, as SQLAlchemy Core metadata (the seed design plus what a real store needs).

This module is the single description of the current schema. Migrations never import it (they
stand alone); a test checks that running every migration yields exactly this metadata.

Conventions, the same on SQLite and PostgreSQL:
- JSON lives in TEXT columns, written canonically by the store (compact separators). TEXT rather
  than JSONB keeps values byte-for-byte and lets the old service's rows survive the upgrade intact.
- Timestamps are TEXT, ``YYYY-MM-DD HH:MM:SS`` in UTC, the format of SQLite's own
  ``CURRENT_TIMESTAMP``; they sort as text and DuckDB casts them to TIMESTAMP.
- Floating point is REAL on SQLite and DOUBLE PRECISION on PostgreSQL (never PostgreSQL's 4-byte
  REAL). See ``storage.records`` for which fields accept NaN and infinities.

Deviations from the seed, each on purpose:
- ``study_runs``: ``evaluation_number`` is NOT NULL and unique per study (the store assigns it when
  the optimizer does not); ``idx_study_runs_fitness`` leads with ``study_id`` so "top 10 of a
  study" is an index range read; ``idx_study_runs_pareto`` is partial (only front members are
  indexed, which is all the Pareto query reads).
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

STUDY_TYPES = ("genetic_algorithm", "monte_carlo", "single_simulation", "milp")
STUDY_STATUSES = ("pending", "running", "completed", "failed")
SIMULATION_STATUSES = ("success", "failed", "infeasible")
OBJECTIVE_DIRECTIONS = ("minimize", "maximize")

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
    sa.CheckConstraint(_in("study_type", STUDY_TYPES), name="study_type"),
    sa.CheckConstraint(_in("status", STUDY_STATUSES), name="status"),
    sa.CheckConstraint("progress_percent >= 0 AND progress_percent <= 100", name="progress_percent"),
    sa.Index("idx_studies_type", "study_type"),
    sa.Index("idx_studies_status", "status"),
    sa.Index("idx_studies_best_fitness", "best_fitness"),
    sa.Index("idx_studies_created_at", "created_at"),
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
    sa.Index("idx_simulation_runs_study_run_id", "study_run_id"),
    sa.Index("idx_simulation_runs_study_id", "study_id"),
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
    sa.Index(
        "idx_study_runs_pareto",
        "study_id",
        "is_pareto_optimal",
        sqlite_where=sa.text("is_pareto_optimal"),
        postgresql_where=sa.text("is_pareto_optimal"),
    ),
    sa.Index("idx_study_runs_evaluation_number", "study_id", "evaluation_number", unique=True),
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
