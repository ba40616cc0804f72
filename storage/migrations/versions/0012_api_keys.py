"""API keys of the HTTP server, each working in one project; batches written once per idempotency key.

- ``api_keys``: ``key_id`` (the public part of a key, shown by ``hive-cli keys list``), the project,
  a name, ``key_hash`` (scrypt of the secret part with a salt of its own, parameters in the text:
  ``scrypt$n$r$p$salt$hash``; the key itself is printed once and kept nowhere), created and revoked
  times. A revoked key stays listed.
- PostgreSQL: the application role is given no right on the table (``storage.privileges`` leaves it
  out), so no SQL box and no server query can read the hashes; the server looks a key up through
  ``hive_api_key(key_id)``, SECURITY DEFINER, which answers for one key id only.
- ``idempotent_requests``: (project, idempotency key) -> a fingerprint of the batch and what its
  write returned, written in the batch's own transaction (``storage.idempotency``): a retried batch
  returns the first answer and writes nothing. Row-level security on PostgreSQL, as for studies.

Revision ID: 0012_api_keys
Revises: 0011_projects_own_studies
"""
from alembic import op
import sqlalchemy as sa

revision = "0012_api_keys"
down_revision = "0011_projects_own_studies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    if "api_keys" not in sa.inspect(bind).get_table_names():
        op.create_table(
            "api_keys",
            sa.Column("key_id", sa.Text, nullable=False),
            sa.Column("project_id", sa.Text, sa.ForeignKey("projects.id", name="fk_api_keys_project_id_projects"),
                      nullable=False),
            sa.Column("name", sa.Text, nullable=False),
            sa.Column("key_hash", sa.Text, nullable=False),
            sa.Column("created_at", sa.Text, nullable=False),
            sa.Column("revoked_at", sa.Text),
            sa.PrimaryKeyConstraint("key_id", name="pk_api_keys"),
            sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name="ck_api_keys_name"),
        )
        op.create_index("idx_api_keys_project", "api_keys", ["project_id", "created_at"])
    if "idempotent_requests" not in sa.inspect(bind).get_table_names():
        op.create_table(
            "idempotent_requests",
            sa.Column("project_id", sa.Text, nullable=False),
            sa.Column("idempotency_key", sa.Text, nullable=False),
            sa.Column("fingerprint", sa.Text, nullable=False),
            sa.Column("response", sa.Text, nullable=False),
            sa.Column("created_at", sa.Text, nullable=False),
            sa.PrimaryKeyConstraint("project_id", "idempotency_key", name="pk_idempotent_requests"),
        )
    if postgresql:
        op.execute("ALTER TABLE idempotent_requests ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE idempotent_requests FORCE ROW LEVEL SECURITY")
        op.execute("DROP POLICY IF EXISTS idempotent_requests_project_isolation ON idempotent_requests")
        op.execute("CREATE POLICY idempotent_requests_project_isolation ON idempotent_requests "
                   "USING (project_id = current_setting('app.project_id', true)) "
                   "WITH CHECK (project_id = current_setting('app.project_id', true))")
        schema = bind.exec_driver_sql("SELECT current_schema()").scalar_one()
        op.execute("REVOKE ALL ON api_keys FROM PUBLIC")
        op.execute(f"""
CREATE OR REPLACE FUNCTION hive_api_key(wanted text)
RETURNS TABLE (project_id text, key_hash text, revoked boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = "{schema}", pg_temp
AS $$ SELECT k.project_id, k.key_hash, k.revoked_at IS NOT NULL FROM api_keys k WHERE k.key_id = wanted $$""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS hive_api_key(text)")
    op.execute("DROP TABLE IF EXISTS api_keys")
    op.execute("DROP TABLE IF EXISTS idempotent_requests")
