"""The main queries, exactly as the store issues them, use the indexes made for them: EXPLAIN on
PostgreSQL (13,500 runs in three projects, after ANALYZE) and EXPLAIN QUERY PLAN on SQLite.

One PostgreSQL limit shapes the tag and config searches: where row-level security applies to the
querying role (any role but a superuser or BYPASSRLS one, since the tables FORCE it), PostgreSQL
only uses a condition as an index condition when its operator is LEAKPROOF, and the array and
jsonb containment operators (@>, &&) are not. The GIN indexes then serve only roles that bypass
RLS; under RLS the same query reads the project's own range of the (project_id, created_at)
index and filters it, never the whole table. The test asserts whichever of the two applies."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from conftest import create_pg_database, drop_pg_database
from prompt_fixtures import plain_engine
from storage.prompts.store import PromptOptimizationStore
from storage.prompts.records import RunFilters

RUNS = {"A": 1500, "B": 6000, "C": 6000}  # the project queried is a small part of the table
PROJECTS = tuple(RUNS)

OPTIMIZER = ("CASE g % 6 WHEN 0 THEN 'miprov2' WHEN 1 THEN 'bootstrap_fewshot' WHEN 2 THEN "
             "'bootstrap_fewshot_random_search' WHEN 3 THEN 'copro' WHEN 4 THEN 'gepa' ELSE 'custom' END")
STATUS = ("CASE (g / 6) % 6 WHEN 0 THEN 'pending' WHEN 1 THEN 'running' WHEN 4 THEN 'failed' "
          "WHEN 5 THEN 'cancelled' ELSE 'completed' END")
BACKEND_SQL = {
    "postgresql": {
        "series": "generate_series(1, :n) g",
        "config": "jsonb_build_object('model', 'model-' || (g % 40), 'seed', g % 5)",
        "tags": "CASE WHEN g % 100 = 0 THEN ARRAY['rare', 'prod'] WHEN g % 3 = 0 THEN ARRAY['prod'] ELSE ARRAY['dev'] END",
        "created": "to_char(timestamp '2025-01-01' + g * interval '1 minute', 'YYYY-MM-DD HH24:MI:SS.MS')",
    },
    "sqlite": {
        "series": "(WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :n) SELECT g FROM s)",
        "config": "json_object('model', 'model-' || (g % 40), 'seed', g % 5)",
        "tags": "CASE WHEN g % 100 = 0 THEN '[\"rare\",\"prod\"]' WHEN g % 3 = 0 THEN '[\"prod\"]' ELSE '[\"dev\"]' END",
        "created": "strftime('%Y-%m-%d %H:%M:%f', '2025-01-01', '+' || g || ' minutes')",
    },
}


def seed_sql(backend: str) -> str:
    b = BACKEND_SQL[backend]
    return (
        "INSERT INTO optimization_runs (id, project_id, name, optimizer_type, status, config, tags, baseline_score, "
        "final_score, created_at) "
        f"SELECT :p || '-' || g, :p, 'run ' || g, {OPTIMIZER}, {STATUS}, {b['config']}, {b['tags']}, 0.5, "
        f"CASE WHEN (g / 6) % 6 IN (2, 3) THEN (g % 10000) / 10000.0 END, {b['created']} FROM {b['series']}"
    )


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def seeded(request, tmp_path_factory):
    """One database per backend for the whole module (seeding is the slow part)."""
    backend = request.param
    if backend == "sqlite":
        db_url = f"sqlite:///{tmp_path_factory.mktemp('explain') / 'hive.db'}"
    else:
        db_url = create_pg_database(template=request.getfixturevalue("pg_template"))
    PromptOptimizationStore(db_url, project_id="A").close()  # the schema
    for project in PROJECTS:
        engine = plain_engine(db_url, project)
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO projects (id, name) VALUES (:p, :p) ON CONFLICT (id) DO NOTHING"), {"p": project})
            conn.execute(sa.text(seed_sql(backend)), {"p": project, "n": RUNS[project]})
            # Iterations and samples for one run in ten (the trigger's work is per run).
            conn.execute(sa.text(
                "INSERT INTO optimization_iterations (run_id, project_id, iteration, score) "
                "SELECT id, project_id, k, 0.5 FROM optimization_runs, "
                "(SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) ks "
                "WHERE project_id = :p AND CAST(substr(id, 3) AS INTEGER) % 10 = 2"), {"p": project})
            conn.execute(sa.text(
                "INSERT INTO optimization_samples (run_id, project_id, iteration, sample_index) "
                "SELECT i.run_id, i.project_id, i.iteration, j.k FROM optimization_iterations i, "
                "(SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) j "
                "WHERE i.project_id = :p"), {"p": project})
            conn.exec_driver_sql("ANALYZE")
        engine.dispose()
    store = PromptOptimizationStore(db_url, project_id="A")
    yield backend, db_url, store
    store.close()
    if backend == "postgresql":
        drop_pg_database(db_url)


def rls_applies(db_url) -> bool:
    engine = plain_engine(db_url, "A")
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT row_security_active('optimization_runs')")).scalar()
    finally:
        engine.dispose()


def plan(db_url, backend, sql: str, params: dict) -> str:
    engine = plain_engine(db_url, "A")
    try:
        with engine.connect() as conn:
            prefix = "EXPLAIN " if backend == "postgresql" else "EXPLAIN QUERY PLAN "
            rows = conn.execute(sa.text(prefix + sql), params).fetchall()
    finally:
        engine.dispose()
    return "\n".join(str(r[-1]) for r in rows)


LIST_QUERIES = {
    "page": ({}, "idx_optimization_runs_project_created"),
    "status": ({"status": "failed"}, "idx_optimization_runs_project_status"),
    "optimizer": ({"optimizer_type": "copro"}, "idx_optimization_runs_project_optimizer"),
    "tag": ({"tags_all": ["rare"]}, "idx_optimization_runs_tags_gin"),
    "config": ({"config": {"model": "model-7", "seed": 2}}, "idx_optimization_runs_config_gin"),
}


@pytest.mark.parametrize("name", list(LIST_QUERIES))
def test_list_queries_use_their_index(seeded, name):
    backend, db_url, store = seeded
    filters, index = LIST_QUERIES[name]
    sql, params = store._list_sql(RunFilters.model_validate({**filters, "limit": 20}))
    text = plan(db_url, backend, sql, params)
    if index.endswith("_gin") and (backend == "sqlite" or rls_applies(db_url)):
        # No usable inverted index (SQLite has none; see the module docstring for PostgreSQL under
        # RLS): the project's own runs are read through its index range, never the whole table.
        index = "idx_optimization_runs_project_"
    assert index in text, text
    assert "SCAN optimization_runs" not in text and "Seq Scan" not in text, text


def test_point_queries_use_their_index(seeded):
    backend, db_url, store = seeded
    run_id = "A-42"
    store_queries = {
        "leaderboard": (
            "SELECT id FROM optimization_runs WHERE project_id = :p AND status = 'completed' "
            "AND final_score IS NOT NULL ORDER BY final_score DESC, created_at, id LIMIT :limit",
            {"p": "A", "limit": 10}, "idx_optimization_runs_leaderboard"),
        "run": ("SELECT * FROM optimization_runs WHERE id = :id AND project_id = :p", {"id": run_id, "p": "A"},
                # the primary key or the (id, project_id) key: both unique, either is one probe
                "_optimization_runs" if backend == "postgresql" else "sqlite_autoindex_optimization_runs_"),
        "iterations": ("SELECT * FROM optimization_iterations WHERE run_id = :id AND project_id = :p ORDER BY iteration",
                       {"id": run_id, "p": "A"}, "uq_optimization_iterations_run_id_iteration"
                       if backend == "postgresql" else "sqlite_autoindex_optimization_iterations_1"),
        "samples": ("SELECT * FROM optimization_samples WHERE run_id = :id AND project_id = :p "
                    "ORDER BY iteration, sample_index LIMIT 1000", {"id": run_id, "p": "A"},
                    "uq_optimization_samples_run_id_iteration_sample_index"
                    if backend == "postgresql" else "sqlite_autoindex_optimization_samples_1"),
    }
    for name, (sql, params, index) in store_queries.items():
        text = plan(db_url, backend, sql, params)
        assert index in text and "Seq Scan" not in text and "SCAN " not in text, (name, text)
    assert [r["rank"] for r in store.leaderboard(3)] == [1, 2, 3]
