"""Optimization studies: GA / Monte Carlo / MILP columns on studies, study_runs and the analysis tables.

The old tables are extended in place with ALTER TABLE ADD COLUMN (no copy, so every old value stays
byte for byte); the old service's studies become ``single_simulation`` studies marked ``completed``.
Every step checks whether it already happened, so running the upgrade again is harmless.

Downgrade drops the new tables and columns: the optimization data in them is lost (the old
service's rows and columns are kept).

Revision ID: 0002_optimization_studies
Revises: 0001_legacy_baseline
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0002_optimization_studies"
down_revision = "0001_legacy_baseline"
branch_labels = None
depends_on = None

FLOAT8 = sa.REAL().with_variant(postgresql.DOUBLE_PRECISION(), "postgresql")
NOW = sa.text("CURRENT_TIMESTAMP")

STUDY_TYPES = "'genetic_algorithm', 'monte_carlo', 'single_simulation', 'milp'"
STUDY_STATUSES = "'pending', 'running', 'completed', 'failed'"
SIMULATION_STATUSES = "'success', 'failed', 'infeasible'"


def _study_columns(real: str) -> list[tuple[str, str]]:
    return [
        ("study_type", f"TEXT NOT NULL DEFAULT 'single_simulation' CONSTRAINT ck_studies_study_type CHECK (study_type IN ({STUDY_TYPES}))"),
        ("optimization_objective", "TEXT"),
        ("optimization_constraints", "TEXT"),
        ("population_size", "INTEGER"),
        ("max_generations", "INTEGER"),
        ("max_evaluations", "INTEGER"),
        ("status", f"TEXT NOT NULL DEFAULT 'pending' CONSTRAINT ck_studies_status CHECK (status IN ({STUDY_STATUSES}))"),
        ("progress_percent", f"{real} CONSTRAINT ck_studies_progress_percent CHECK (progress_percent >= 0 AND progress_percent <= 100)"),
        ("best_fitness", real),
        ("best_solution_id", "TEXT"),
        ("completed_at", "TEXT"),
        ("execution_time_seconds", real),
        ("objective_directions", "TEXT"),
        ("reference_point", "TEXT"),
        ("parameter_names", "TEXT"),
    ]


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def _tables() -> set[str]:
    return set(sa.inspect(op.get_bind()).get_table_names())


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    real = "REAL" if dialect == "sqlite" else "DOUBLE PRECISION"

    existing = _columns("studies")
    legacy_rows_need_status = "status" not in existing
    for name, definition in _study_columns(real):
        if name not in existing:
            op.execute(f"ALTER TABLE studies ADD COLUMN {name} {definition}")
    if legacy_rows_need_status:
        # Rows present before this column existed are the old service's finished studies.
        op.execute("UPDATE studies SET status = 'completed'")

    tables = _tables()
    if "study_runs" not in tables:
        op.create_table(
            "study_runs",
            sa.Column("run_id", sa.Text, nullable=False),
            sa.Column("study_id", sa.Text, nullable=False),
            sa.Column("evaluation_number", sa.Integer, nullable=False),
            sa.Column("generation_number", sa.Integer),
            sa.Column("parameter_vector", sa.Text, nullable=False),
            sa.Column("parameter_names", sa.Text),
            sa.Column("fitness", FLOAT8, nullable=False),
            sa.Column("objectives", sa.Text),
            sa.Column("constraint_violations", sa.Text),
            sa.Column("simulation_run_id", sa.Text),
            sa.Column("simulation_status", sa.Text, nullable=False, server_default="success"),
            sa.Column("evaluation_time_seconds", FLOAT8),
            sa.Column("solver_time_seconds", FLOAT8),
            sa.Column("is_pareto_optimal", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("domination_count", sa.Integer, server_default=sa.text("0")),
            sa.Column("created_at", sa.Text, server_default=NOW),
            sa.Column("metadata_json", sa.Text),
            sa.PrimaryKeyConstraint("run_id", name="pk_study_runs"),
            sa.ForeignKeyConstraint(
                ["study_id"], ["studies.study_id"], ondelete="CASCADE", name="fk_study_runs_study_id_studies"
            ),
            sa.ForeignKeyConstraint(
                ["simulation_run_id"],
                ["simulation_runs.run_id"],
                ondelete="SET NULL",
                name="fk_study_runs_simulation_run_id_simulation_runs",
            ),
            sa.CheckConstraint(
                # op.f: the name is final (the naming convention would prefix it a second time)
                f"simulation_status IN ({SIMULATION_STATUSES})", name=op.f("ck_study_runs_simulation_status")
            ),
        )
    op.create_index(
        "idx_study_runs_study_id",
        "study_runs",
        ["study_id"],
        sqlite_where=sa.text("simulation_status <> 'success'"),
        postgresql_where=sa.text("simulation_status <> 'success'"),
        if_not_exists=True,
    )
    op.create_index("idx_study_runs_generation", "study_runs", ["study_id", "generation_number"], if_not_exists=True)
    op.create_index("idx_study_runs_fitness", "study_runs", ["study_id", "fitness"], if_not_exists=True)
    op.create_index(
        "idx_study_runs_pareto",
        "study_runs",
        ["study_id", "is_pareto_optimal"],
        sqlite_where=sa.text("is_pareto_optimal"),
        postgresql_where=sa.text("is_pareto_optimal"),
        if_not_exists=True,
    )
    op.create_index(
        "idx_study_runs_evaluation_number",
        "study_runs",
        ["study_id", "evaluation_number"],
        unique=True,
        if_not_exists=True,
    )

    existing = _columns("simulation_runs")
    for name, target in (("study_run_id", "study_runs (run_id)"), ("study_id", "studies (study_id)")):
        if name in existing:
            continue
        referred = target.split(" ")[0]
        op.execute(
            f"ALTER TABLE simulation_runs ADD COLUMN {name} TEXT "
            f"CONSTRAINT fk_simulation_runs_{name}_{referred} REFERENCES {target} ON DELETE SET NULL"
        )
    op.create_index("idx_simulation_runs_study_run_id", "simulation_runs", ["study_run_id"], if_not_exists=True)
    op.create_index("idx_simulation_runs_study_id", "simulation_runs", ["study_id"], if_not_exists=True)

    op.create_index("idx_studies_type", "studies", ["study_type"], if_not_exists=True)
    op.create_index("idx_studies_status", "studies", ["status"], if_not_exists=True)
    op.create_index("idx_studies_best_fitness", "studies", ["best_fitness"], if_not_exists=True)
    op.create_index("idx_studies_created_at", "studies", ["created_at"], if_not_exists=True)

    _create_analysis_tables(_tables())


def _study_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["study_id"], ["studies.study_id"], ondelete="CASCADE", name=f"fk_{table}_study_id_studies"
    )


def _create_analysis_tables(tables: set[str]) -> None:
    if "pareto_fronts" not in tables:
        op.create_table(
            "pareto_fronts",
            sa.Column("pareto_id", sa.Integer, autoincrement=True, nullable=False),
            sa.Column("study_id", sa.Text, nullable=False),
            sa.Column("generation_number", sa.Integer),
            sa.Column("front_size", sa.Integer),
            sa.Column("hypervolume", FLOAT8),
            sa.Column("run_ids", sa.Text, nullable=False),
            sa.Column("created_at", sa.Text, server_default=NOW),
            sa.PrimaryKeyConstraint("pareto_id", name="pk_pareto_fronts"),
            _study_fk("pareto_fronts"),
            sqlite_autoincrement=True,
        )
    op.create_index("idx_pareto_fronts_study_id", "pareto_fronts", ["study_id"], if_not_exists=True)
    op.create_index(
        "idx_pareto_fronts_generation", "pareto_fronts", ["study_id", "generation_number"], if_not_exists=True
    )

    if "convergence_metrics" not in tables:
        op.create_table(
            "convergence_metrics",
            sa.Column("metric_id", sa.Integer, autoincrement=True, nullable=False),
            sa.Column("study_id", sa.Text, nullable=False),
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
            sa.PrimaryKeyConstraint("metric_id", name="pk_convergence_metrics"),
            _study_fk("convergence_metrics"),
            sqlite_autoincrement=True,
        )
    op.create_index(
        "idx_convergence_study_gen",
        "convergence_metrics",
        ["study_id", "generation_number"],
        unique=True,
        if_not_exists=True,
    )

    if "uncertainty_analysis" not in tables:
        op.create_table(
            "uncertainty_analysis",
            sa.Column("analysis_id", sa.Integer, autoincrement=True, nullable=False),
            sa.Column("study_id", sa.Text, nullable=False),
            sa.Column("target_solution_id", sa.Text),
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
            sa.PrimaryKeyConstraint("analysis_id", name="pk_uncertainty_analysis"),
            _study_fk("uncertainty_analysis"),
            sa.ForeignKeyConstraint(
                ["target_solution_id"],
                ["study_runs.run_id"],
                ondelete="SET NULL",
                name="fk_uncertainty_analysis_target_solution_id_study_runs",
            ),
            sqlite_autoincrement=True,
        )
    op.create_index("idx_uncertainty_study", "uncertainty_analysis", ["study_id"], if_not_exists=True)

    if "sensitivity_analysis" not in tables:
        op.create_table(
            "sensitivity_analysis",
            sa.Column("sensitivity_id", sa.Integer, autoincrement=True, nullable=False),
            sa.Column("study_id", sa.Text, nullable=False),
            sa.Column("analysis_id", sa.Integer),
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
            sa.PrimaryKeyConstraint("sensitivity_id", name="pk_sensitivity_analysis"),
            _study_fk("sensitivity_analysis"),
            sa.ForeignKeyConstraint(
                ["analysis_id"],
                ["uncertainty_analysis.analysis_id"],
                ondelete="CASCADE",
                name="fk_sensitivity_analysis_analysis_id_uncertainty_analysis",
            ),
            sqlite_autoincrement=True,
        )
    op.create_index("idx_sensitivity_study", "sensitivity_analysis", ["study_id"], if_not_exists=True)
    op.create_index("idx_sensitivity_rank", "sensitivity_analysis", ["study_id", "importance_rank"], if_not_exists=True)


def downgrade() -> None:
    for table in ("sensitivity_analysis", "uncertainty_analysis", "convergence_metrics", "pareto_fronts"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    for index in ("idx_simulation_runs_study_run_id", "idx_simulation_runs_study_id"):
        op.drop_index(index, table_name="simulation_runs", if_exists=True)
    with op.batch_alter_table("simulation_runs") as batch:
        for name in ("study_run_id", "study_id"):
            if name in _columns("simulation_runs"):
                batch.drop_column(name)
    op.execute("DROP TABLE IF EXISTS study_runs")
    for index in ("idx_studies_type", "idx_studies_status", "idx_studies_best_fitness", "idx_studies_created_at"):
        op.drop_index(index, table_name="studies", if_exists=True)
    # Each added column carries only its own CHECK, so DROP COLUMN works in place on both backends
    # (SQLite 3.35+), leaving the old service's columns and rows untouched.
    existing = _columns("studies")
    for name, _definition in reversed(_study_columns("REAL")):
        if name in existing:
            op.execute(f"ALTER TABLE studies DROP COLUMN {name}")
