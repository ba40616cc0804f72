"""What each PostgreSQL role of a deployment may do, and the checks that say so before any work.

Three roles (README, "PostgreSQL roles"):

- the **migration owner** owns the tables (``hive-cli db upgrade`` runs as it); row-level security is
  FORCED, so it too sees one project at a time;
- the **application role** (optimizers, the dashboard, the CLI) is neither owner nor superuser nor
  BYPASSRLS; ``grant_application_role`` gives it exactly what the store needs, on every table the
  schema has now (run it again after an upgrade that adds tables);
- the **backup role** bypasses row-level security (BYPASSRLS, made by a superuser) and may read
  every table (``pg_read_all_data``), because a dump taken under RLS would be silently filtered.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .errors import HiveError, ValidationError

BACKUP_ROLE_SQL = "CREATE ROLE hive_backup LOGIN BYPASSRLS PASSWORD '...' IN ROLE pg_read_all_data"

# The materialized view aggregates every project and cannot carry row-level security; applications
# read it through the security-barrier view that shows their own project (migration 0004). API keys'
# hashes are read by the server through hive_api_key(key_id) only (migration 0012).
_NEVER_GRANTED = {"optimization_run_analytics", "api_keys", "project_members"}
_READ_ONLY_TABLES = {"alembic_version"}


def _role(conn: Connection, role: str) -> sa.Row:
    found = conn.execute(
        sa.text("SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}
    ).first()
    if found is None:
        raise ValidationError(f"role={role!r}: no such PostgreSQL role (create it first: CREATE ROLE {role} LOGIN "
                              f"PASSWORD '...' NOSUPERUSER NOBYPASSRLS)")
    return found


def grant_application_role(conn: Connection, role: str, *, read_only: bool = False) -> list[str]:
    """GRANT ``role`` what the application needs on every table, view and sequence of the schema; run
    by the tables' owner. Refuses a role that row-level security would not confine. Returns the
    statements it ran."""
    if conn.dialect.name != "postgresql":
        raise HiveError("roles and grants exist on PostgreSQL only; a SQLite file is one user's")
    found = _role(conn, role)
    if found.rolsuper or found.rolbypassrls:
        raise ValidationError(
            f"role={role!r} is {'a superuser' if found.rolsuper else 'BYPASSRLS'}: row-level security would not "
            f"confine it to one project. The application role must be NOSUPERUSER NOBYPASSRLS")
    schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
    owner_of_tables = conn.execute(sa.text(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :s AND c.relkind IN ('r', 'p') AND pg_has_role(:r, c.relowner, 'USAGE')"),
        {"s": schema, "r": role}).scalar_one()
    if owner_of_tables:
        raise ValidationError(f"role={role!r} owns (or is a member of the owner of) the store's tables; the "
                              "application role must be a role of its own, not the migration owner")
    objects = conn.execute(sa.text(
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :s AND c.relkind IN ('r', 'p', 'v', 'S') ORDER BY c.relkind, c.relname"),
        {"s": schema}).all()
    quote = conn.dialect.identifier_preparer.quote
    grantee, where = quote(role), quote(schema)
    statements = [f"GRANT USAGE ON SCHEMA {where} TO {grantee}"]
    if not read_only:  # batches are copied into a temporary table first (storage.batches.bulk_insert)
        database = conn.exec_driver_sql("SELECT current_database()").scalar_one()
        statements.append(f"GRANT TEMPORARY ON DATABASE {quote(database)} TO {grantee}")
    for name, kind in objects:
        if name in _NEVER_GRANTED:
            continue
        target = f"{where}.{quote(name)}"
        if kind == "S":
            rights = "SELECT" if read_only else "USAGE, SELECT"
            statements.append(f"GRANT {rights} ON SEQUENCE {target} TO {grantee}")
        elif kind == "v" or read_only or name in _READ_ONLY_TABLES:
            statements.append(f"GRANT SELECT ON {target} TO {grantee}")
        else:
            statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {target} TO {grantee}")
    for statement in statements:
        conn.exec_driver_sql(statement)
    return statements


def require_complete_dump(conn: Connection, where: str) -> None:
    """Refuse at once, naming the privilege, a backup that row-level security would filter."""
    role = conn.execute(sa.text(
        "SELECT current_user AS name, rolsuper OR rolbypassrls AS bypasses FROM pg_roles WHERE rolname = current_user"
    )).one()
    if role.bypasses:
        return
    protected = conn.execute(sa.text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relrowsecurity AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY c.relname"
    )).scalars().all()
    if protected:
        raise HiveError(
            f"backup of {where} needs a role with BYPASSRLS: role {role.name!r} is subject to the row-level "
            f"security of {', '.join(protected)}, so its dump would be incomplete (pg_dump refuses it). A superuser "
            f"creates the backup role once ({BACKUP_ROLE_SQL}); run the backup with that role in the URL")
