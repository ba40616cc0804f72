"""Backends for the whole suite: every contract test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``HIVE_TEST_PG_URL``: an account that may CREATE DATABASE and CREATE ROLE, is
in ``pg_signal_backend`` (to drop a test database with connections still open) and is neither
superuser nor BYPASSRLS; it owns the test databases (the migration owner). The tests that
act as a deployment does use the README's other roles: an application role made for the session
(``pg_app_role``: NOSUPERUSER NOBYPASSRLS, granted by ``hive-cli db grant``) and the backup role of
``HIVE_TEST_PG_BACKUP_URL`` (BYPASSRLS, in pg_read_all_data; a superuser makes it, as ``.ci/run``
does). Outside CI the PostgreSQL half is skipped when no server answers; in CI (``CI=true``) an
unreachable server fails the run instead, so it is never silently skipped there.
"""
from __future__ import annotations

import os
import secrets
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get("HIVE_TEST_PG_URL", "postgresql://hive:hive@localhost:5432/hive_test")
PG_BACKUP_URL = os.environ.get("HIVE_TEST_PG_BACKUP_URL", "postgresql://hive_backup:hive_backup@localhost:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_url(database: str | None = None) -> sa.URL:
    url = sa.make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg")
    return url.set(database=database) if database else url


_pg_state: dict = {}


def pg_available() -> bool:
    if "ok" not in _pg_state:
        try:
            engine = sa.create_engine(_pg_url(), connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            engine.dispose()
            _pg_state["ok"] = True
        except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
            _pg_state["ok"] = False
            _pg_state["why"] = str(exc).splitlines()[0]
    return _pg_state["ok"]


def require_pg() -> None:
    if not pg_available():
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL at {PG_ADMIN_URL} is unreachable: {_pg_state.get('why')}")
        pytest.skip(f"no PostgreSQL server ({_pg_state.get('why')}); set HIVE_TEST_PG_URL")


def _admin_execute(statement: str) -> None:
    engine = sa.create_engine(_pg_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(statement)
    engine.dispose()


def create_pg_database(template: str | None = None) -> str:
    """A new empty (or template-copied) PostgreSQL database; returns its URL text."""
    require_pg()
    name = f"hive_t_{uuid.uuid4().hex[:12]}"
    _admin_execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    _pg_state.setdefault("created", []).append(name)
    return _pg_url(name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = sa.make_url(url).database
    try:
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except sa.exc.ProgrammingError as error:
        # FORCE ends the database's other connections: the application role's (the dashboard's
        # cached readers) and autovacuum workers', which only pg_signal_backend may end.
        raise AssertionError(f"{error.orig}: the test account needs GRANT pg_signal_backend TO "
                             f"{sa.make_url(PG_ADMIN_URL).username} (as .ci/run gives it)") from None


def as_role(url: str, role: str, password: str) -> str:
    """The same database, connected as another role."""
    return sa.make_url(url).set(username=role, password=password).render_as_string(hide_password=False)


@contextmanager
def app_database(request, folder: Path):
    """An empty database on the backend ``request.param`` names, for a fixture to fill: a file in
    ``folder`` on SQLite; on PostgreSQL a new database from the template, connected as the README's
    application role (no superuser, no BYPASSRLS, not the owner), dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{folder / 'hive.db'}"
        return
    owner_url = create_pg_database(template=request.getfixturevalue("pg_template"))
    try:
        yield as_role(owner_url, *request.getfixturevalue("pg_app_role"))
    finally:
        drop_pg_database(owner_url)


@pytest.fixture(scope="session")
def pg_app_role():
    """(name, password) of an application role as the README documents it: LOGIN, NOSUPERUSER,
    NOBYPASSRLS, owning nothing. Made for the session by the test account (CREATEROLE)."""
    require_pg()
    role, password = f"hive_app_{uuid.uuid4().hex[:10]}", secrets.token_hex(12)
    _admin_execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
    yield role, password
    try:
        _admin_execute(f"DROP ROLE IF EXISTS {role}")
    except sa.exc.DBAPIError:  # a database another test left behind still grants it something
        pass


def grant_app_role(url: str, role: str) -> None:
    """What a deployment runs as the owner: ``hive-cli db grant URL --role ROLE``."""
    from storage.engine import create_engine, resolve_url, transaction
    from storage.privileges import grant_application_role

    engine = create_engine(resolve_url(url))
    try:
        with transaction(engine) as conn:
            grant_application_role(conn, role)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_template(pg_app_role):
    """One database migrated to head and granted to the session's application role, copied for each
    test (CREATE DATABASE ... TEMPLATE is fast and keeps the grants)."""
    require_pg()
    from storage import DatabaseMetadataService

    url = create_pg_database()
    DatabaseMetadataService(url).close()
    grant_app_role(url, pg_app_role[0])
    name = sa.make_url(url).database
    yield name
    drop_pg_database(url)


@pytest.fixture
def pg_backup_role() -> tuple[str, str]:
    """(name, password) of the backup role of ``HIVE_TEST_PG_BACKUP_URL``: BYPASSRLS, reads every table."""
    require_pg()
    url = sa.make_url(PG_BACKUP_URL)
    try:
        engine = sa.create_engine(url.set(drivername="postgresql+psycopg"), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            bypasses = conn.exec_driver_sql(
                "SELECT rolbypassrls AND NOT rolsuper FROM pg_roles WHERE rolname = current_user").scalar()
        engine.dispose()
    except sa.exc.DBAPIError as error:
        message = f"backup role of HIVE_TEST_PG_BACKUP_URL ({url.render_as_string()}) cannot connect: {str(error.orig).strip()}"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    assert bypasses, "the backup role must be BYPASSRLS and not a superuser, as the README documents"
    return url.username, url.password


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request) -> str:
    return request.param


@pytest.fixture
def empty_db_url(backend, tmp_path):
    """A URL to an empty database (no schema) on the backend under test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'hive.db'}"
    else:
        url = create_pg_database()
        yield url
        drop_pg_database(url)


@pytest.fixture
def empty_pg_url():
    """An empty PostgreSQL database, whatever backend the test is parametrized with."""
    url = create_pg_database()
    yield url
    drop_pg_database(url)


@pytest.fixture
def db_url(backend, tmp_path, request):
    """A URL to a database at head with no data, on the backend under test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'hive.db'}"
    else:
        template = request.getfixturevalue("pg_template")
        url = create_pg_database(template=template)
        yield url
        drop_pg_database(url)


@pytest.fixture
def service(db_url):
    from storage import DatabaseMetadataService

    svc = DatabaseMetadataService(db_url)
    yield svc
    svc.close()


def plain_engine(url: str, project: str | None = "default") -> sa.Engine:
    """A connection that is not the store's: SQLite with foreign keys on (as the store's are);
    PostgreSQL carrying ``app.project_id`` as the store's connections do (the tables FORCE row-level
    security, even on their owner: a connection without a project sees no rows)."""
    if str(url).startswith("sqlite"):
        engine = sa.create_engine(url)
        sa.event.listen(engine, "connect", lambda c, _r: c.execute("PRAGMA foreign_keys = ON"))
        return engine
    options = {"options": f"-c app.project_id={project}"} if project else {}
    return sa.create_engine(url, connect_args=options)


def query(url: str, sql: str, project: str | None = "default", **params) -> list[dict]:
    """Read back with plain SQL, independent of the code under test (in ``project`` on PostgreSQL)."""
    engine = plain_engine(url, project)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


@pytest.fixture
def sql(db_url):
    return lambda statement, **params: query(db_url, statement, **params)
