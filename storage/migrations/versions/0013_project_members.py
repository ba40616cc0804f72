"""Who may see which project on a dashboard with sign-in: ``project_members``.

- ``project_members``: (project, user email) -> role (``viewer`` or ``editor``) and when it was
  granted. Emails are kept lower-case, as sign-in providers compare them. Managed by the migration
  owner (``hive-cli projects grant|revoke|list``).
- PostgreSQL: the application role is given no right on the table (``storage.privileges`` leaves it
  out), so no SQL box can list who may see what; the dashboard asks ``hive_user_projects(email)``,
  SECURITY DEFINER, which answers for one user only.

Revision ID: 0013_project_members
Revises: 0012_api_keys
"""
from alembic import op
import sqlalchemy as sa

revision = "0013_project_members"
down_revision = "0012_api_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if "project_members" not in sa.inspect(bind).get_table_names():
        op.create_table(
            "project_members",
            sa.Column("project_id", sa.Text,
                      sa.ForeignKey("projects.id", name="fk_project_members_project_id_projects"), nullable=False),
            sa.Column("user_email", sa.Text, nullable=False),
            sa.Column("role", sa.Text, nullable=False),
            sa.Column("granted_at", sa.Text, nullable=False),
            sa.PrimaryKeyConstraint("project_id", "user_email", name="pk_project_members"),
            sa.CheckConstraint("role IN ('viewer', 'editor')", name="ck_project_members_role"),
            sa.CheckConstraint("user_email = lower(user_email) AND length(user_email) BETWEEN 3 AND 320",
                               name="ck_project_members_user_email"),
        )
        op.create_index("idx_project_members_user", "project_members", ["user_email"])
    if bind.dialect.name == "postgresql":
        schema = bind.exec_driver_sql("SELECT current_schema()").scalar_one()
        op.execute("REVOKE ALL ON project_members FROM PUBLIC")
        op.execute(f"""
CREATE OR REPLACE FUNCTION hive_user_projects(wanted text)
RETURNS TABLE (project_id text, role text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = "{schema}", pg_temp
AS $$ SELECT m.project_id, m.role FROM project_members m WHERE m.user_email = lower(wanted) ORDER BY m.project_id $$""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS hive_user_projects(text)")
    op.execute("DROP TABLE IF EXISTS project_members")
