"""The project directory: which projects a connection may choose from, for roles RLS confines.

``projects`` has forced row-level security: a connection sees only the project it set in
``app.project_id``, and nothing without one. That left an application role (no superuser, no
BYPASSRLS: the documented deployment) unable to list the projects it may open, so the dashboard's
project picker was empty on PostgreSQL.

``hive_project_directory()`` returns every project's id and name. It is SECURITY DEFINER (it runs as
the tables' owner) and sets the transaction-local flag ``hive.project_directory``; the projects
policy admits every row only when that flag is on AND the current role is the table's owner
(``hive_project_directory_listing()``), the same guard as the analytics refresh. An application
role that sets the flag itself gains nothing; plain queries on ``projects`` (the SQL box included)
still see only the connection's project. Only ids and names are listed; everything inside a
project stays confined to it.

SQLite has no row-level security: the directory is the table itself.

Revision ID: 0006_project_directory
Revises: 0005_pareto_index_by_fitness
"""
from alembic import op

revision = "0006_project_directory"
down_revision = "0005_pareto_index_by_fitness"
branch_labels = None
depends_on = None

PROJECT_SETTING = "current_setting('app.project_id', true)"


def _search_path() -> str:
    schema = op.get_bind().exec_driver_sql("SELECT current_schema()").scalar_one()
    return f'"{schema}", pg_temp'


def _projects_policy(using: str) -> None:
    op.execute("DROP POLICY IF EXISTS projects_project_isolation ON projects")
    op.execute(
        f"CREATE POLICY projects_project_isolation ON projects USING ({using}) "
        f"WITH CHECK (id = {PROJECT_SETTING})"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    search_path = _search_path()
    op.execute(
        f"""
CREATE OR REPLACE FUNCTION hive_project_directory_listing() RETURNS boolean
LANGUAGE sql STABLE SET search_path = {search_path}
AS $$
    SELECT coalesce(current_setting('hive.project_directory', true), '') = 'on'
       AND pg_has_role(current_user,
                       (SELECT c.relowner FROM pg_class c WHERE c.oid = 'projects'::regclass),
                       'USAGE')
$$"""
    )
    op.execute(
        f"""
CREATE OR REPLACE FUNCTION hive_project_directory() RETURNS TABLE (id text, name text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = {search_path}
AS $$
BEGIN
    PERFORM set_config('hive.project_directory', 'on', true);
    RETURN QUERY SELECT p.id::text, p.name::text FROM projects p ORDER BY p.id;
    PERFORM set_config('hive.project_directory', '', true);
END
$$"""
    )
    _projects_policy(f"id = {PROJECT_SETTING} OR (SELECT hive_project_directory_listing())")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _projects_policy(f"id = {PROJECT_SETTING}")
    op.execute("DROP FUNCTION IF EXISTS hive_project_directory()")
    op.execute("DROP FUNCTION IF EXISTS hive_project_directory_listing()")
