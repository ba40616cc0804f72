"""Parameter importance of any study, computed on demand and kept.

- ``parameter_importance``: one row per (study, objective, parameter, method) of the last analysis
  by that method: the importance (fANOVA's share of variance, normalized to sum 1 as Optuna's
  ``get_param_importances`` does, or a first-order Sobol' index from given data with its 95 %
  confidence half-width), Spearman's rank correlation beside it as the quick measure, the rank, how
  many evaluations it used and the study's run count when it was computed (a later view can tell
  that the study has grown since). Kept apart from ``sensitivity_analysis``, which holds a Monte
  Carlo study's analyses and is replaced whenever that is rerun.

Downgrade drops the table (the analyses can be computed again from the runs).

Revision ID: 0010_parameter_importance
Revises: 0009_experiments_and_decisions
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0010_parameter_importance"
down_revision = "0009_experiments_and_decisions"
branch_labels = None
depends_on = None

FLOAT8 = sa.REAL().with_variant(postgresql.DOUBLE_PRECISION(), "postgresql")


def upgrade() -> None:
    if "parameter_importance" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "parameter_importance",
        sa.Column("importance_id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("study_id", sa.Text, sa.ForeignKey("studies.study_id", ondelete="CASCADE",
                                                     name="fk_parameter_importance_study_id_studies"), nullable=False),
        sa.Column("objective_name", sa.Text, nullable=False),
        sa.Column("parameter_name", sa.Text, nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("importance", FLOAT8),
        sa.Column("importance_conf", FLOAT8),
        sa.Column("spearman", FLOAT8),
        sa.Column("importance_rank", sa.Integer),
        sa.Column("evaluations_used", sa.Integer, nullable=False),
        sa.Column("study_run_count", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Text, server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.PrimaryKeyConstraint("importance_id", name="pk_parameter_importance"),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_parameter_importance_study", "parameter_importance", ["study_id", "method"])


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS parameter_importance")
