"""Isolation between projects on PostgreSQL, as an application role that is neither owner nor
superuser nor BYPASSRLS: the other project's rows cannot be read, changed, deleted or written, a
connection without a project sees nothing, and DuckDB's parallel postgres scan sees one project."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from prompt_fixtures import pg_app, plain_engine  # noqa: F401
from storage.errors import HiveError
from storage.prompts.store import PromptOptimizationStore
from storage.reader import Reader

pytestmark = pytest.mark.postgres
TABLES = ("projects", "optimization_runs", "optimization_iterations", "optimization_samples")
STUDY_TABLES = ("studies", "simulation_runs", "study_labels", "study_runs", "intermediate_values", "pareto_fronts",
                "convergence_metrics", "uncertainty_analysis", "sensitivity_analysis", "decisions", "parameter_importance")


def seed(url: str, project: str, runs: int = 2) -> list[str]:
    with PromptOptimizationStore(url, project_id=project) as store:
        ids = []
        for i in range(runs):
            run = store.create_run({"name": f"{project}{i}", "optimizer_type": "miprov2", "status": "running"})
            store.add_iterations(run["id"], [{"iteration": 1, "score": 0.5}, {"iteration": 2, "score": 0.75}])
            store.add_samples(run["id"], [{"iteration": 2, "sample_index": s, "score": 1.0} for s in range(3)])
            store.complete_run(run["id"])
            ids.append(run["id"])
        return ids


def test_every_table_with_a_project_enables_and_forces_rls(pg_app):
    owner_url, _ = pg_app
    engine = sa.create_engine(owner_url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
                "(SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() "
                "AND (EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid "
                "AND a.attname IN ('project_id', 'study_id') AND NOT a.attisdropped) OR c.relname = 'projects')"
            ).fetchall()
    finally:
        engine.dispose()
    # every table that says which project or which study a row belongs to: prompt runs, studies with
    # everything keyed by them (migration 0011), idempotency records and API keys (migration 0012), and
    # the dashboard's project grants (migration 0013)
    assert {r[0] for r in rows} == set(TABLES) | set(STUDY_TABLES) | {"idempotent_requests", "api_keys",
                                                                      "project_members"}
    unprotected = sorted(r[0] for r in rows if not (r[1] and r[2] and r[3] == 1))
    # API keys and grants are not confined by project: the application role has no right on these tables
    # at all (tests/storage/test_privileges.py); the server reads one key through hive_api_key(key_id),
    # the dashboard one user's projects through hive_user_projects(email).
    assert unprotected == ["api_keys", "project_members"], f"without enabled + forced RLS and one policy: {unprotected}"


def test_the_other_projects_rows_are_out_of_reach(pg_app):
    owner_url, app_url = pg_app
    b_runs = seed(app_url, "B")
    seed(app_url, "A")
    engine = plain_engine(app_url, "A")
    try:
        with engine.begin() as conn:
            for table in TABLES:
                column = "id" if table == "projects" else "project_id"
                assert conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {column} = 'B'")).scalar() == 0
                assert conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {column} <> 'A'")).scalar() == 0
                assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() > 0
                assert conn.execute(sa.text(f"UPDATE {table} SET {column} = {column} WHERE {column} = 'B'")).rowcount == 0
                assert conn.execute(sa.text(f"DELETE FROM {table} WHERE {column} = 'B'")).rowcount == 0
            assert conn.execute(sa.text("UPDATE optimization_runs SET name = 'x' WHERE id = :id"), {"id": b_runs[0]}).rowcount == 0
        for statement in (
            "INSERT INTO optimization_runs (id, project_id, name, optimizer_type) VALUES ('x', 'B', 'n', 'gepa')",
            "INSERT INTO projects (id, name) VALUES ('C', 'c')",
            f"INSERT INTO optimization_iterations (run_id, project_id, iteration) VALUES ('{b_runs[0]}', 'B', 9)",
            f"INSERT INTO optimization_samples (run_id, project_id, iteration, sample_index) VALUES ('{b_runs[0]}', 'B', 9, 0)",
            "UPDATE optimization_runs SET project_id = 'B'",  # moving own rows out is refused as well
        ):
            with pytest.raises(sa.exc.DBAPIError, match="row-level security"):
                with engine.begin() as conn:
                    conn.execute(sa.text(statement))
    finally:
        engine.dispose()
    with PromptOptimizationStore(app_url, project_id="A") as store:  # the API, too, cannot reach them
        with pytest.raises(HiveError):
            store.get_run(b_runs[0])
        assert store.delete_run(b_runs[0]) is False
    with PromptOptimizationStore(app_url, project_id="B") as store:
        assert sorted(r["id"] for r in store.list_runs()) == sorted(b_runs)


def test_a_connection_without_a_project_sees_nothing(pg_app):
    owner_url, app_url = pg_app
    seed(app_url, "A")
    engine = plain_engine(app_url, None)
    try:
        with engine.begin() as conn:
            for table in TABLES:
                assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == 0
            # the analytics refresh flag gives a non-owner nothing
            conn.execute(sa.text("SELECT set_config('hive.analytics_refresh', 'on', true)"))
            assert conn.execute(sa.text("SELECT count(*) FROM optimization_runs")).scalar() == 0
            assert conn.execute(sa.text("SELECT has_table_privilege('optimization_run_analytics', 'SELECT')")).scalar() is False
    finally:
        engine.dispose()


def test_analytics_refresh_sees_every_project_and_each_reads_its_own(pg_app):
    _, app_url = pg_app
    seed(app_url, "A", runs=2)
    seed(app_url, "B", runs=3)
    with PromptOptimizationStore(app_url, project_id="A") as a, PromptOptimizationStore(app_url, project_id="B") as b:
        a.refresh_analytics()  # refreshed by A, as a non-owner: must still aggregate B's runs
        assert a.project_analytics()["total_runs"] == 2
        assert b.project_analytics()["total_runs"] == 3
        assert b.project_analytics()["runs_by_status"]["completed"] == 3


def test_duckdb_parallel_scan_shows_only_its_project(pg_app, monkeypatch):
    owner_url, app_url = pg_app
    per_project = 100_000
    for project in ("A", "B"):
        run = seed(app_url, project, runs=1)[0]
        engine = plain_engine(app_url, project)
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO optimization_samples (run_id, project_id, iteration, sample_index, input, score, success) "
                "SELECT :run, :p, 5, g, jsonb_build_object('q', repeat('x', 40) || g), (g % 10000) / 10000.0, g % 7 <> 0 "
                "FROM generate_series(1, :n) g"), {"run": run, "p": project, "n": per_project})
            conn.exec_driver_sql("ANALYZE optimization_samples")
        engine.dispose()
    import duckdb

    connect = duckdb.connect
    monkeypatch.setattr(duckdb, "connect", lambda database=":memory:", config=None, **kw: connect(
        database, config={**(config or {}), "threads": 8}, **kw))
    reader = Reader(app_url, project_id="A")
    try:
        assert reader.analytics("SELECT current_setting('threads') AS t")["t"][0] == 8
        frame = reader.analytics(
            "SELECT project_id, count(*) AS n, count(DISTINCT run_id) AS runs FROM db.optimization_samples GROUP BY ALL")
        assert frame.to_dict("records") == [{"project_id": "A", "n": per_project + 3, "runs": 1}]
        other = reader.analytics("SELECT count(*) AS n FROM db.optimization_runs WHERE project_id = ?", ["B"])
        assert other["n"][0] == 0
    finally:
        reader.close()


def test_the_project_directory_lists_every_project_and_nothing_inside(pg_app):
    """The dashboard's project picker on PostgreSQL as the application role: every project's id and
    name, while plain queries still see no project without one set (the SQL box included)."""
    from storage.studies import queries

    _, app_url = pg_app
    seed(app_url, "B")
    seed(app_url, "A")
    reader = Reader(app_url, project_id=None)  # no project: plain queries see nothing
    try:
        assert queries.list_projects(reader).to_dict("records") == [  # "default": made by migration 0011
            {"id": "A", "name": "A"}, {"id": "B", "name": "B"}, {"id": "default", "name": "default"}]
        assert reader.fetch("SELECT count(*) AS n FROM projects")["n"][0] == 0
    finally:
        reader.close()
    scoped = Reader(app_url, project_id="A")
    try:
        assert scoped.analytics("SELECT id FROM db.projects")["id"].tolist() == ["A"]
    finally:
        scoped.close()
    engine = plain_engine(app_url, None)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT set_config('hive.project_directory', 'on', true)"))  # not the owner: no effect
            assert conn.execute(sa.text("SELECT count(*) FROM projects")).scalar() == 0
            listed = conn.execute(sa.text("SELECT id FROM hive_project_directory()")).scalars().all()
            assert listed == ["A", "B", "default"]
            # the function's flag is over when it returns: the table is confined again
            assert conn.execute(sa.text("SELECT count(*) FROM projects")).scalar() == 0
            assert conn.execute(sa.text("SELECT count(*) FROM optimization_runs")).scalar() == 0
    finally:
        engine.dispose()
