"""``hive-cli db grant``: the application role gets what the store needs and no more, and roles that
row-level security would not confine are refused (PostgreSQL; SQLite has no roles)."""
from __future__ import annotations

import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import PG_ADMIN_URL, _admin_execute, as_role, plain_engine
from storage import DatabaseMetadataService
from storage.prompts.store import PromptOptimizationStore

ROOT = Path(__file__).resolve().parents[2]


def hive_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hive_cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.fixture
def fresh_role():
    """A new LOGIN role with no privileges anywhere (NOSUPERUSER NOBYPASSRLS), dropped afterwards."""
    role, password = f"hive_r_{uuid.uuid4().hex[:10]}", secrets.token_hex(12)
    _admin_execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
    yield role, password
    _admin_execute(f"DROP ROLE IF EXISTS {role}")


@pytest.fixture
def owner_url(empty_pg_url):
    DatabaseMetadataService(empty_pg_url).close()  # the schema at head, owned by the test account
    return empty_pg_url


def privileges(url: str, role: str) -> dict[str, set[str]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT table_name, privilege_type FROM information_schema.role_table_grants WHERE grantee = :r"),
                {"r": role}).all()
    finally:
        engine.dispose()
    found: dict[str, set[str]] = {}
    for table, privilege in rows:
        found.setdefault(table, set()).add(privilege)
    return found



@pytest.mark.postgres
def test_granted_application_role_writes_and_reads_every_part_of_the_store(fresh_role, owner_url):
    role, password = fresh_role
    result = hive_cli("db", "grant", owner_url, "--role", role)
    assert result.returncode == 0, result.stderr
    assert f"granted {role} access" in result.stdout
    granted = privileges(owner_url, role)
    engine = sa.create_engine(owner_url)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    writable = tables - {"alembic_version", "api_keys", "project_members"}
    assert {t for t, p in granted.items() if p >= {"SELECT", "INSERT", "UPDATE", "DELETE"}} == writable
    assert granted["alembic_version"] == {"SELECT"}
    assert "api_keys" not in granted  # the server reads a key through hive_api_key(key_id) only
    assert "project_members" not in granted  # the dashboard reads one user's grants through hive_user_projects
    assert granted["optimization_project_analytics"] == {"SELECT"}
    assert "optimization_run_analytics" not in granted   # the cross-project matview stays the owner's

    app_url = as_role(owner_url, role, password)
    with DatabaseMetadataService(app_url) as db:
        db.create_study({"study_id": "s", "study_type": "genetic_algorithm", "optimization_objective": "f"})
        db.log_study_runs([{"study_id": "s", "parameter_vector": [float(i)], "fitness": float(i)} for i in range(5)])
        db.update_study_status("s", "completed")
        assert [r["fitness"] for r in db.get_best_designs("s", limit=2)] == [0.0, 1.0]
    with PromptOptimizationStore(app_url, project_id="P") as store:
        run = store.create_run({"name": "r", "optimizer_type": "gepa"})
        store.add_iterations(run["id"], [{"iteration": 0, "score": 0.5}])
        store.refresh_analytics()
        assert store.project_analytics()["total_runs"] == 1
        assert store.delete_run(run["id"]) is True


@pytest.mark.postgres
def test_read_only_grant_reads_and_cannot_write(fresh_role, owner_url):
    role, password = fresh_role
    with DatabaseMetadataService(owner_url) as db:
        db.create_study({"study_id": "s", "study_type": "monte_carlo"})
    assert hive_cli("db", "grant", owner_url, "--role", role, "--read-only").returncode == 0
    assert set().union(*privileges(owner_url, role).values()) == {"SELECT"}
    engine = plain_engine(as_role(owner_url, role, password))
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT study_id FROM studies")).scalars().all() == ["s"]
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            with engine.begin() as conn:
                conn.execute(sa.text("DELETE FROM studies"))
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("who", ["owner", "unknown"])
def test_roles_row_level_security_would_not_confine_are_refused(owner_url, who):
    role = sa.make_url(PG_ADMIN_URL).username if who == "owner" else "no_such_role_here"
    result = hive_cli("db", "grant", owner_url, "--role", role)
    assert result.returncode != 0 and result.stdout == ""
    expected = ("owns (or is a member of the owner of) the store's tables" if who == "owner"
                else "no such PostgreSQL role")
    assert result.stderr.startswith(f"error: role={role!r}") and expected in result.stderr


def test_grant_on_sqlite_says_roles_are_postgresql_only(tmp_path):
    path = tmp_path / "one.db"
    DatabaseMetadataService(path).close()
    result = hive_cli("db", "grant", str(path), "--role", "app")
    assert result.returncode != 0
    assert result.stderr.strip() == "error: roles and grants exist on PostgreSQL only; a SQLite file is one user's"


@pytest.mark.postgres
def test_a_bypassrls_role_is_refused(owner_url, pg_backup_role):
    result = hive_cli("db", "grant", owner_url, "--role", pg_backup_role[0])
    assert result.returncode != 0
    assert f"role={pg_backup_role[0]!r} is BYPASSRLS: row-level security would not confine it" in result.stderr
