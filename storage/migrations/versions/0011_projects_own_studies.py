"""Projects own studies, as they own prompt-optimization runs.

- ``studies.project_id`` and ``simulation_runs.project_id``: NOT NULL, default ``default``; every
  existing study and simulation (the old service's too) belongs to the project ``default``, which
  is created. ``idx_studies_project_created`` serves a project's study list, newest first.
- PostgreSQL: both columns reference ``projects``; row-level security, enabled and FORCED (the
  owner too), confines ``studies`` and ``simulation_runs`` to ``current_setting('app.project_id')``
  and every table keyed by a study (runs, fronts, convergence, analyses, labels, decisions,
  importance) to the studies of that project. No setting, no rows, as for prompt runs.
- SQLite: ADD COLUMN cannot carry a REFERENCES clause with a non-NULL default while foreign keys are
  enforced, so the column has a CHECK instead and the writer creates the project row with the
  study (one transaction). A SQLite file is one user's: the store's API scopes by project, there
  is no row-level security.

Downgrade drops the policies and the columns (all studies then share one namespace again).

Revision ID: 0011_projects_own_studies
Revises: 0010_parameter_importance
"""
from alembic import op
import sqlalchemy as sa

revision = "0011_projects_own_studies"
down_revision = "0010_parameter_importance"
branch_labels = None
depends_on = None

PROJECT_SETTING = "current_setting('app.project_id', true)"
OWN_PROJECT = f"project_id = {PROJECT_SETTING}"
OF_OWN_STUDY = f"study_id IN (SELECT s.study_id FROM studies s WHERE s.project_id = {PROJECT_SETTING})"
# Every table that says which study a row belongs to; their rows are visible with their study.
STUDY_TABLES = ("study_labels", "study_runs", "intermediate_values", "pareto_fronts", "convergence_metrics",
                "uncertainty_analysis", "sensitivity_analysis", "decisions", "parameter_importance")
POLICIES = {"studies": OWN_PROJECT, "simulation_runs": OWN_PROJECT, **{t: OF_OWN_STUDY for t in STUDY_TABLES}}


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    if postgresql:  # projects is confined to the connection's project: say which one this is
        op.execute("SELECT set_config('app.project_id', 'default', true)")
    op.execute("INSERT INTO projects (id, name) VALUES ('default', 'default') ON CONFLICT (id) DO NOTHING")
    for table in ("studies", "simulation_runs"):
        if "project_id" in _columns(table):
            continue
        reference = (f"CONSTRAINT fk_{table}_project_id_projects REFERENCES projects (id)" if postgresql
                     else f"CONSTRAINT ck_{table}_project_id CHECK (length(project_id) BETWEEN 1 AND 200)")
        op.execute(f"ALTER TABLE {table} ADD COLUMN project_id TEXT NOT NULL DEFAULT 'default' {reference}")
    op.create_index("idx_studies_project_created", "studies", ["project_id", "created_at", "study_id"],
                    if_not_exists=True)
    op.create_index("idx_simulation_runs_project_id", "simulation_runs", ["project_id"], if_not_exists=True)
    if postgresql:
        for table, condition in POLICIES.items():
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"DROP POLICY IF EXISTS {table}_project_isolation ON {table}")
            op.execute(f"CREATE POLICY {table}_project_isolation ON {table} USING ({condition}) WITH CHECK ({condition})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in POLICIES:
            op.execute(f"DROP POLICY IF EXISTS {table}_project_isolation ON {table}")
            op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP INDEX IF EXISTS idx_studies_project_created")
    op.execute("DROP INDEX IF EXISTS idx_simulation_runs_project_id")
    for table in ("studies", "simulation_runs"):
        if "project_id" in _columns(table):
            op.execute(f"ALTER TABLE {table} DROP COLUMN project_id")
