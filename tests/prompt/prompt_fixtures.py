"""Fixtures of the prompt-optimization tests (imported by each test module: a second conftest.py
without __init__.py would clash with tests/conftest.py): a store per backend, plain SQL that
bypasses the store, and (PostgreSQL) an application role that is neither owner, superuser nor
BYPASSRLS."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

import conftest  # tests/conftest.py
from conftest import as_role, create_pg_database, drop_pg_database
from storage.prompts.store import PromptOptimizationStore


@pytest.fixture
def store(db_url):
    with PromptOptimizationStore(db_url, project_id="A") as s:
        yield s


@pytest.fixture
def store_b(db_url):
    with PromptOptimizationStore(db_url, project_id="B") as s:
        yield s


def plain_engine(url: str, project_id: str | None = "A") -> sa.engine.Engine:
    """conftest's plain engine, in project A by default."""
    return conftest.plain_engine(url, project_id)


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
def pg_app(pg_template, pg_app_role):
    """(owner URL, application-role URL) of a fresh database at head: the role (granted by
    ``hive-cli db grant``, as the README says) may read and write the tables but owns nothing, is no
    superuser and does not bypass row-level security."""
    owner_url = create_pg_database(template=pg_template)
    try:
        yield owner_url, as_role(owner_url, *pg_app_role)
    finally:
        drop_pg_database(owner_url)
