"""Migration 0004 and the model agree, on both backends; upgrade -> downgrade -> upgrade is clean,
and running the upgrade again over existing objects and data is harmless."""
from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from prompt_fixtures import store  # noqa: F401
from storage import migrate
from storage.engine import create_engine, resolve_url, transaction
from storage.prompts.store import PromptOptimizationStore
from storage.schema import metadata

TABLES = ("projects", "optimization_runs", "optimization_iterations", "optimization_samples")
PG_FUNCTIONS = {"hive_epoch_ms", "hive_touch_updated_at", "hive_sync_optimization_run",
                "hive_optimization_iterations_changed", "hive_analytics_refreshing",
                "hive_refresh_optimization_analytics"}


def _table_of(diff) -> str | None:
    if isinstance(diff, list):
        return diff[0][2]
    item = diff[1]
    return getattr(getattr(item, "table", None), "name", None) or getattr(item, "name", None)


def prompt_diffs(engine) -> list:
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    return [d for d in diffs if _table_of(d) in TABLES]


def objects(engine) -> dict:
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names()) & set(TABLES)
        if engine.dialect.name == "sqlite":
            triggers = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
            return {"tables": tables, "triggers": triggers}
        return {
            "tables": tables,
            "triggers": {r[0] for r in conn.exec_driver_sql("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")},
            "functions": {r[0] for r in conn.exec_driver_sql("SELECT proname FROM pg_proc WHERE proname LIKE 'hive\\_%%'")},
            "policies": {r[0] for r in conn.exec_driver_sql("SELECT policyname FROM pg_policies")},
            "views": {r[0] for r in conn.exec_driver_sql(
                "SELECT relname FROM pg_class WHERE relkind IN ('v', 'm') AND relname LIKE 'optimization\\_%%'")},
        }


def test_upgrade_downgrade_upgrade_and_rerun(empty_db_url, backend):
    with PromptOptimizationStore(empty_db_url, project_id="A") as s:  # creates the schema at head
        run = s.create_run({"name": "kept", "optimizer_type": "gepa"})
        s.add_iterations(run["id"], [{"iteration": 0, "score": 0.5}])
    engine = create_engine(resolve_url(empty_db_url))
    try:
        assert prompt_diffs(engine) == []
        at_head = objects(engine)
        assert at_head["tables"] == set(TABLES)
        if backend == "postgresql":
            assert at_head["functions"] >= PG_FUNCTIONS
            assert at_head["views"] == {"optimization_run_analytics", "optimization_project_analytics"}
            # the prompt tables' four, and the studies' (migration 0011)
            assert {p for p in at_head["policies"] if p.startswith(("projects", "optimization"))} == {
                f"{t}_project_isolation" for t in TABLES}
        assert len(at_head["triggers"]) >= 4

        migrate.downgrade(engine, "0003_milp_progress")
        gone = objects(engine)
        assert gone["tables"] == set() and not any(t.startswith("trg_optimization") for t in gone["triggers"])
        if backend == "postgresql":
            assert gone["functions"] == set() and gone["views"] == set() and gone["policies"] == set()

        migrate.upgrade(engine)
        assert prompt_diffs(engine) == []
        assert objects(engine) == at_head

        # Run the 0004 upgrade again over existing objects and rows: nothing fails, nothing doubles.
        with PromptOptimizationStore(empty_db_url, project_id="A") as s:
            run = s.create_run({"name": "survives", "optimizer_type": "custom"})
            s.add_iterations(run["id"], [{"iteration": 0, "score": 0.25}])
        with transaction(engine) as conn:
            command.stamp(migrate.alembic_config(conn), "0003_milp_progress")
            command.upgrade(migrate.alembic_config(conn), "head")
        assert objects(engine) == at_head
        assert prompt_diffs(engine) == []
        with PromptOptimizationStore(empty_db_url, project_id="A") as s:
            kept = s.list_runs()
            assert [r["name"] for r in kept] == ["survives"]
            assert kept[0]["best_score"] == 0.25  # the triggers still work, once each
    finally:
        engine.dispose()


def test_check_constraints_of_migration_and_model_agree(store, db_url, backend):
    engine = sa.create_engine(db_url)
    try:
        inspector = sa.inspect(engine)
        for name in TABLES:
            table = metadata.tables[name]
            model = {}
            for constraint in table.constraints:
                if isinstance(constraint, sa.CheckConstraint):
                    text = str(sa.schema.CreateTable(table).compile(dialect=engine.dialect))
                    model[constraint.name] = text
            reflected = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(name)}
            assert set(reflected) == set(model), name
            if backend == "sqlite":  # SQLite keeps the text as written: it must be the model's
                created = str(sa.schema.CreateTable(table).compile(dialect=engine.dialect))
                for constraint_name, sqltext in reflected.items():
                    assert f"CONSTRAINT {constraint_name} CHECK ({sqltext})" in created
    finally:
        engine.dispose()


def test_indexes_of_the_seed_exist(store, db_url, backend):
    engine = sa.create_engine(db_url)
    try:
        names = {i["name"] for i in sa.inspect(engine).get_indexes("optimization_runs")}
        assert {
            "idx_optimization_runs_project_created", "idx_optimization_runs_project_status",
            "idx_optimization_runs_project_optimizer", "idx_optimization_runs_leaderboard",
            "idx_optimization_runs_config_gin", "idx_optimization_runs_metadata_gin", "idx_optimization_runs_tags_gin",
        } <= names
        if backend == "postgresql":
            with engine.connect() as conn:
                methods = dict(conn.exec_driver_sql(
                    "SELECT c.relname, a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam "
                    "WHERE c.relname LIKE 'idx\\_optimization\\_runs\\_%%'").fetchall())
            assert {k for k, v in methods.items() if v == "gin"} == {
                "idx_optimization_runs_config_gin", "idx_optimization_runs_metadata_gin", "idx_optimization_runs_tags_gin"}
    finally:
        engine.dispose()
