"""MILP progress in convergence_metrics: dual bound, relative gap and elapsed time per event.

A branch-and-bound solve has no generations; each recorded progress event (a new incumbent or a
bound improvement) is one convergence row, with the incumbent in best_fitness.

Revision ID: 0003_milp_progress
Revises: 0002_optimization_studies
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0003_milp_progress"
down_revision = "0002_optimization_studies"
branch_labels = None
depends_on = None

FLOAT8 = sa.REAL().with_variant(postgresql.DOUBLE_PRECISION(), "postgresql")
NEW_COLUMNS = ("dual_bound", "relative_gap", "elapsed_seconds")


def _columns() -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns("convergence_metrics")}


def upgrade() -> None:
    existing = _columns()
    for name in NEW_COLUMNS:
        if name not in existing:
            op.add_column("convergence_metrics", sa.Column(name, FLOAT8))


def downgrade() -> None:
    existing = _columns()
    for name in reversed(NEW_COLUMNS):
        if name in existing:
            op.execute(f"ALTER TABLE convergence_metrics DROP COLUMN {name}")
