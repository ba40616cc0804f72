"""Project grants of the dashboard's signed-in users (``storage.members``, ``hive-cli projects``) on
SQLite and on PostgreSQL: granted by the owner through the CLI, read back with plain SQL; a user's
projects as the application role (through ``hive_user_projects`` on PostgreSQL, the table itself out
of its reach); refusals name the field and value and write nothing."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import as_role, create_pg_database, drop_pg_database
from storage import members
from storage.engine import create_engine, resolve_url
from storage.errors import NotFoundError, ValidationError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def urls(request, tmp_path):
    """(owner URL, application URL) of a database at head."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hive.db'}"
        from storage import DatabaseMetadataService

        DatabaseMetadataService(url).close()
        yield url, url
        return
    owner_url = create_pg_database(template=request.getfixturevalue("pg_template"))
    yield owner_url, as_role(owner_url, *request.getfixturevalue("pg_app_role"))
    drop_pg_database(owner_url)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hive_cli", "projects", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def stored(url: str) -> list[tuple]:
    engine = sa.create_engine(resolve_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(
                "SELECT project_id, user_email, role FROM project_members ORDER BY 1, 2"))]
    finally:
        engine.dispose()


def test_grants_through_the_cli_and_each_users_projects(urls):
    owner_url, app_url = urls
    for args in (("--project", "A", "--user", "Alice@Example.com"),
                 ("--project", "B", "--user", "alice@example.com", "--role", "editor"),
                 ("--project", "B", "--user", "bob@example.com")):
        done = cli("grant", *args, "--db", owner_url)
        assert done.returncode == 0, done.stderr
    assert stored(owner_url) == [("A", "alice@example.com", "viewer"), ("B", "alice@example.com", "editor"),
                                 ("B", "bob@example.com", "viewer")]
    listed = cli("list", "--project", "B", "--db", owner_url).stdout
    assert "alice@example.com" in listed and "bob@example.com" in listed and "A " not in listed
    app = create_engine(resolve_url(app_url))
    try:
        assert members.projects_of(app, " ALICE@example.com ") == [{"project_id": "A", "role": "viewer"},
                                                                  {"project_id": "B", "role": "editor"}]
        assert members.projects_of(app, "carol@example.com") == []
        if app.dialect.name == "postgresql":  # the table itself: out of the application role's reach
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                with app.connect() as conn:
                    conn.execute(sa.text("SELECT * FROM project_members"))
        done = cli("revoke", "--project", "B", "--user", "alice@example.com", "--db", owner_url)
        assert done.returncode == 0, done.stderr
        assert members.projects_of(app, "alice@example.com") == [{"project_id": "A", "role": "viewer"}]
    finally:
        app.dispose()


def test_bad_grants_are_refused_by_name_and_write_nothing(urls):
    owner_url, _ = urls
    owner = create_engine(resolve_url(owner_url))
    try:
        for call, message in (
            (lambda: members.grant(owner, "A", "not-an-email"), "user='not-an-email'"),
            (lambda: members.grant(owner, "A", "a@b.c", "owner"), "role='owner': one of viewer, editor"),
            (lambda: members.grant(owner, "bad project!", "a@b.c"), "project_id='bad project!'"),
        ):
            with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
                call()
        with pytest.raises(NotFoundError, match="user='a@b.c' has no grant on project='A'"):
            members.revoke(owner, "A", "a@b.c")
    finally:
        owner.dispose()
    assert stored(owner_url) == []
    done = cli("grant", "--project", "A", "--user", "x@y.z", "--role", "owner", "--db", owner_url)
    assert done.returncode == 2 and "'owner' is not one of 'viewer', 'editor'" in done.stderr
