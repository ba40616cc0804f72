"""Backups of a live database are consistent and complete; a full database refuses the batch cleanly.

On PostgreSQL the backup runs as the README's backup role (BYPASSRLS, pg_read_all_data) and the
restore as the owner: every row of every table comes back, in every project. Any other role is refused
before pg_dump starts, naming the privilege it lacks."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from conftest import as_role, plain_engine
from storage import DatabaseMetadataService, StorageUnavailableError
from storage.studies.importance import analyze_parameter_importance
from storage import members
from storage.keys import create_key
from storage.prompts.store import PromptOptimizationStore

ROOT = Path(__file__).resolve().parents[2]
BATCH = 100


def _writer(url: str, batches: int) -> subprocess.Popen:
    script = (
        "import sys; from storage import DatabaseMetadataService\n"
        "s = DatabaseMetadataService(sys.argv[1])\n"
        f"for b in range({batches}):\n"
        f"    s.log_study_runs([{{'study_id': 'live', 'parameter_vector': [float(b)], 'fitness': float(i)}} for i in range({BATCH})])\n"
    )
    return subprocess.Popen([sys.executable, "-c", script, url], cwd=ROOT, stderr=subprocess.PIPE, text=True)


def _count(url: str) -> int:
    engine = plain_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT COUNT(*) FROM study_runs")).scalar()
    finally:
        engine.dispose()


def _hive_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hive_cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def _backup_url(db_url: str, backend: str, request) -> str:
    """Who takes the backup: the file's reader on SQLite, the backup role on PostgreSQL."""
    return db_url if backend == "sqlite" else as_role(db_url, *request.getfixturevalue("pg_backup_role"))


def test_backup_while_writers_run_is_consistent_and_restores(db_url, backend, tmp_path, request):
    with DatabaseMetadataService(db_url) as service:
        service.create_study({"study_id": "live", "study_type": "genetic_algorithm"})
    writers = [_writer(db_url, 60) for _ in range(2)]
    deadline = time.monotonic() + 120
    while _count(db_url) == 0:  # the backup is to be taken while they write (their start-up varies with load)
        assert time.monotonic() < deadline and all(w.poll() is None for w in writers), "the writers did not start"
        time.sleep(0.05)
    backup_file = tmp_path / ("copy.db" if backend == "sqlite" else "copy.dump")
    result = _hive_cli("db", "backup", _backup_url(db_url, backend, request), str(backup_file))
    for writer in writers:
        assert writer.wait(timeout=240) == 0, writer.stderr.read()
    assert result.returncode == 0, result.stderr
    final = _count(db_url)
    assert final == 2 * 60 * BATCH

    target = f"sqlite:///{tmp_path / 'restored.db'}" if backend == "sqlite" else request.getfixturevalue("empty_pg_url")
    restore = _hive_cli("db", "restore", str(backup_file), target)
    assert restore.returncode == 0, restore.stderr
    engine = plain_engine(target)
    with engine.connect() as conn:
        copied = conn.execute(sa.text("SELECT COUNT(*) FROM study_runs")).scalar()
        run_count = conn.execute(sa.text("SELECT run_count FROM studies WHERE study_id = 'live'")).scalar()
        if backend == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    engine.dispose()
    assert 0 < copied < final or copied == final  # taken while the writers ran
    assert copied % BATCH == 0  # whole batches only: a consistent snapshot
    assert run_count == copied  # the study summary matches the rows of the same snapshot
    with DatabaseMetadataService(target) as restored:  # a usable database again
        restored.log_study_run({"study_id": "live", "parameter_vector": [0.0], "fitness": 0.0})


def _fill_every_table(url: str) -> None:
    """At least one row in every table of the schema, and prompt runs in two projects."""
    with DatabaseMetadataService(url) as db:
        db.create_study({"study_id": "ga", "study_type": "genetic_algorithm", "optimization_objective": "cost,co2",
                         "objective_directions": ["minimize", "minimize"], "parameter_names": ["a", "b"],
                         "experiment": "seeds", "labels": {"seed": 1}})
        run_ids = db.log_study_runs([{"study_id": "ga", "generation_number": g, "parameter_vector": [float(g), float(i)],
                                      "objectives": [float(i), float(4 - i)]} for g in range(3) for i in range(5)])
        db.log_intermediate_values("ga", run_ids[0], [(0, 2.0), (1, 1.0)])
        db.record_decision({"study_id": "ga", "run_id": run_ids[0], "method": "manual", "rationale": "cheapest"})
        analyze_parameter_importance(db, "ga", "ped_anova")
        db.log_simulation_run({"run_name": "re-run of ga:0", "total_cost": 1.5, "study_run_id": "ga:0"})
        db.update_study_status("ga", "completed")
        db.create_study({"study_id": "mc", "study_type": "monte_carlo", "parameter_names": ["fuel"]})
        db.log_study_runs([{"study_id": "mc", "parameter_vector": [float(i)], "fitness": float(i)} for i in range(10)],
                          idempotency_key="mc-batch-0")
        create_key(db.engine, "A", "backup test")
        members.grant(db.engine, "A", "alice@example.com", "editor")
        db.log_uncertainty_analysis({"study_id": "mc", "objective_name": "cost", "mean_value": 4.5, "std_dev": 2.9})
        db.log_sensitivity_analysis([{"study_id": "mc", "parameter_name": "fuel", "parameter_index": 0,
                                      "objective_name": "cost", "sobol_total": 1.0, "importance_rank": 1}])
    for project, runs in (("A", 2), ("B", 3)):
        with PromptOptimizationStore(url, project_id=project) as store:
            for r in range(runs):
                run = store.create_run({"name": f"{project}{r}", "optimizer_type": "miprov2", "status": "running"})
                store.add_iterations(run["id"], [{"iteration": i, "score": 0.1 * i} for i in range(3)])
                store.add_samples(run["id"], [{"iteration": 2, "sample_index": s, "score": 1.0} for s in range(4)])
                store.complete_run(run["id"], final_score=0.3)


def _every_row(url: str) -> dict[str, list[tuple]]:
    """Every table's rows, in a stable order, read past row-level security."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            tables = sorted(sa.inspect(conn).get_table_names())
            return {t: sorted((tuple(r) for r in conn.execute(sa.text(f'SELECT * FROM "{t}"'))), key=repr)
                    for t in tables}
    finally:
        engine.dispose()


def _row_security(url: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(
                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, p.polname, pg_get_expr(p.polqual, p.polrelid) "
                "FROM pg_class c JOIN pg_policy p ON p.polrelid = c.oid ORDER BY c.relname, p.polname")]
    finally:
        engine.dispose()


def test_backup_holds_every_row_of_every_table_in_every_project(db_url, backend, tmp_path, request):
    _fill_every_table(db_url)
    reader_url = _backup_url(db_url, backend, request)
    before = _every_row(reader_url)
    empty = [table for table, rows in before.items() if not rows]
    assert empty == [], f"the dataset must fill every table: {empty}"
    assert {r[1] for r in before["optimization_runs"]} == {"A", "B"}
    backup_file = tmp_path / ("copy.db" if backend == "sqlite" else "copy.dump")
    result = _hive_cli("db", "backup", reader_url, str(backup_file))
    assert result.returncode == 0, result.stderr
    target = f"sqlite:///{tmp_path / 'restored.db'}" if backend == "sqlite" else request.getfixturevalue("empty_pg_url")
    restore = _hive_cli("db", "restore", str(backup_file), target)
    assert restore.returncode == 0, restore.stderr
    after = _every_row(_backup_url(target, backend, request))
    assert after == before
    if backend == "postgresql":  # and the restored tables are confined as the originals were
        assert _row_security(target) == _row_security(db_url) != []
    with PromptOptimizationStore(target, project_id="B") as store:   # analytics refreshed after the restore
        assert store.project_analytics()["total_runs"] == 3


@pytest.mark.postgres
@pytest.mark.parametrize("who", ["owner", "application"])
def test_backup_under_row_level_security_is_refused_before_pg_dump(who, pg_template, pg_app_role, tmp_path):
    from conftest import create_pg_database, drop_pg_database

    owner_url = create_pg_database(template=pg_template)
    try:
        _fill_every_table(owner_url)
        url = owner_url if who == "owner" else as_role(owner_url, *pg_app_role)
        backup_file = tmp_path / "copy.dump"
        result = _hive_cli("db", "backup", url, str(backup_file))
        role = sa.make_url(url).username
        assert result.returncode != 0
        assert result.stderr.startswith("error: backup of ")
        assert f"needs a role with BYPASSRLS: role '{role}' is subject to the row-level security of" in result.stderr
        assert "pg_read_all_data" in result.stderr and "pg_dump" not in result.stderr.split("(pg_dump refuses it)")[1]
        assert not backup_file.exists() and not list(tmp_path.iterdir())
    finally:
        drop_pg_database(owner_url)


def test_full_database_refuses_the_batch_and_stays_intact(tmp_path):
    path = tmp_path / "full.db"
    service = DatabaseMetadataService(path)
    service.create_study({"study_id": "s", "study_type": "monte_carlo"})
    service.log_study_runs([{"study_id": "s", "parameter_vector": [1.0], "fitness": 1.0}] * 10)
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]

    @event.listens_for(service.engine, "connect")
    def _cap(dbapi_connection, _record):  # a real SQLITE_FULL without filling the disk
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 2}")

    service.engine.dispose()
    big = [{"study_id": "s", "parameter_vector": [float(i)] * 50, "fitness": float(i), "metadata_json": {"pad": "x" * 500}}
           for i in range(2000)]
    with pytest.raises(StorageUnavailableError, match="full"):
        service.log_study_runs(big)
    service.close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert con.execute("SELECT COUNT(*) FROM study_runs").fetchone() == (10,)
    con.close()
    with DatabaseMetadataService(path) as reopened:  # still opens and accepts writes
        reopened.log_study_run({"study_id": "s", "parameter_vector": [2.0], "fitness": 2.0})
