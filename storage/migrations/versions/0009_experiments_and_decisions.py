"""Experiments and decisions.

- ``studies.experiment`` (indexed) groups studies that solve the same problem (several algorithms,
  several seeds); ``studies.labels`` keeps the labels as given (a JSON object of short text or
  numbers, e.g. ``{"algorithm": "NSGA-II", "pop": 80, "seed": 3}``) and ``study_labels`` holds one
  row per (study, label) with the value as JSON text, indexed by (name, value) for filtering and
  grouping on any label.
- ``decisions``: the design a team chose on a study's front, with the method and settings that
  ranked it, the rationale and who decided, timestamped; a study's history of decisions is kept.

Revision ID: 0009_experiments_and_decisions
Revises: 0008_designs_and_names
"""
from alembic import op
import sqlalchemy as sa

revision = "0009_experiments_and_decisions"
down_revision = "0008_designs_and_names"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    columns = {c["name"] for c in sa.inspect(bind).get_columns("studies")}
    if "experiment" not in columns:
        op.add_column("studies", sa.Column("experiment", sa.Text))
    if "labels" not in columns:
        op.add_column("studies", sa.Column("labels", sa.Text))
    op.create_index("idx_studies_experiment", "studies", ["experiment"], if_not_exists=True)
    tables = set(sa.inspect(bind).get_table_names())
    if "study_labels" not in tables:
        op.create_table(
            "study_labels",
            sa.Column("study_id", sa.Text, sa.ForeignKey("studies.study_id", ondelete="CASCADE",
                                                         name="fk_study_labels_study_id_studies"), nullable=False),
            sa.Column("name", sa.Text, nullable=False),
            sa.Column("value", sa.Text, nullable=False),
            sa.PrimaryKeyConstraint("study_id", "name", name="pk_study_labels"),
        )
        op.create_index("idx_study_labels_name_value", "study_labels", ["name", "value"])
    if "decisions" not in tables:
        op.create_table(
            "decisions",
            sa.Column("decision_id", sa.Integer, nullable=False, autoincrement=True),
            sa.Column("study_id", sa.Text, sa.ForeignKey("studies.study_id", ondelete="CASCADE",
                                                         name="fk_decisions_study_id_studies"), nullable=False),
            sa.Column("run_id", sa.Text, sa.ForeignKey("study_runs.run_id", ondelete="CASCADE",
                                                       name="fk_decisions_run_id_study_runs"), nullable=False),
            sa.Column("method", sa.Text, nullable=False),
            sa.Column("settings", sa.Text),
            sa.Column("rationale", sa.Text),
            sa.Column("decided_by", sa.Text),
            sa.Column("decided_at", sa.Text, nullable=False),
            sa.PrimaryKeyConstraint("decision_id", name="pk_decisions"),
            sqlite_autoincrement=True,
        )
        op.create_index("idx_decisions_study", "decisions", ["study_id", "decided_at"])


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS decisions")
    op.execute("DROP TABLE IF EXISTS study_labels")
    op.drop_index("idx_studies_experiment", table_name="studies", if_exists=True)
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("studies")}
    for name in ("labels", "experiment"):
        if name in columns:
            op.execute(f"ALTER TABLE studies DROP COLUMN {name}")
