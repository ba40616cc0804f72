"""Fixtures of the prompt-optimization tests (imported by each test module: a second conftest.py
without __init__.py would clash with tests/conftest.py): a store per backend, plain SQL that
bypasses the store, and (PostgreSQL) an application role that is neither owner, superuser nor
BYPASSRLS."""
from __future__ import annotations


import secrets
import uuid

import pytest
import sqlalchemy as sa

from conftest import _admin_execute, create_pg_database, drop_pg_database, require_pg  # tests/conftest.py
from storage.prompt_optimization import PromptOptimizationStore

APP_GRANTS = [
    "GRANT SELECT, INSERT, UPDATE, DELETE ON projects, optimization_runs, optimization_iterations, "
    "optimization_samples TO {role}",
    "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}",
    "GRANT SELECT ON optimization_project_analytics, alembic_version TO {role}",
]


@pytest.fixture
def store(db_url):
    with PromptOptimizationStore(db_url, project_id="A") as s:
        yield s


@pytest.fixture
def store_b(db_url):
    with PromptOptimizationStore(db_url, project_id="B") as s:
        yield s


def plain_engine(url: str, project_id: str | None = "A") -> sa.engine.Engine:
    """A connection that is not the store's: SQLite with foreign keys on (as the store's are);
    PostgreSQL carrying the project (the tables FORCE row-level security, even on their owner)."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url)
        sa.event.listen(engine, "connect", lambda c, _r: c.execute("PRAGMA foreign_keys = ON"))
        return engine
    options = {"options": f"-c app.project_id={project_id}"} if project_id else {}
    return sa.create_engine(url, connect_args=options)


@pytest.fixture
def sql(db_url):
    """Run plain SQL in its own transaction (as project A on PostgreSQL); returns rows as dicts."""
    engine = plain_engine(db_url)

    def run(statement: str, **params):
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return [dict(r._mapping) for r in result] if result.returns_rows else result.rowcount

    yield run
    engine.dispose()


@pytest.fixture
def pg_app(pg_template):
    """(owner URL, application-role URL) of a fresh database at head: the role may read and write
    the four tables but owns nothing, is no superuser and does not bypass row-level security."""
    require_pg()
    owner_url = create_pg_database(template=pg_template)
    role = f"hive_app_{uuid.uuid4().hex[:10]}"
    password = secrets.token_hex(12)
    _admin_execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
    try:
        engine = sa.create_engine(owner_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for grant in APP_GRANTS:
                conn.exec_driver_sql(grant.format(role=role))
        engine.dispose()
        app_url = sa.make_url(owner_url).set(username=role, password=password).render_as_string(hide_password=False)
        yield owner_url, app_url
    finally:
        drop_pg_database(owner_url)
        _admin_execute(f"DROP ROLE IF EXISTS {role}")
