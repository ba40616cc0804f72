"""Backups of a live database are consistent; a full database refuses the batch cleanly."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from storage import DatabaseMetadataService, StorageUnavailableError

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
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT COUNT(*) FROM study_runs")).scalar()
    finally:
        engine.dispose()


def test_backup_while_writers_run_is_consistent_and_restores(db_url, backend, tmp_path, request):
    with DatabaseMetadataService(db_url) as service:
        service.create_study({"study_id": "live", "study_type": "genetic_algorithm"})
    writers = [_writer(db_url, 60) for _ in range(2)]
    time.sleep(1.0)
    backup_file = tmp_path / ("copy.db" if backend == "sqlite" else "copy.dump")
    result = subprocess.run([sys.executable, "-m", "hive_cli", "db", "backup", db_url, str(backup_file)],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    for writer in writers:
        assert writer.wait(timeout=240) == 0, writer.stderr.read()
    assert result.returncode == 0, result.stderr
    final = _count(db_url)
    assert final == 2 * 60 * BATCH

    target = f"sqlite:///{tmp_path / 'restored.db'}" if backend == "sqlite" else request.getfixturevalue("empty_pg_url")
    restore = subprocess.run([sys.executable, "-m", "hive_cli", "db", "restore", str(backup_file), target],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert restore.returncode == 0, restore.stderr
    engine = sa.create_engine(target)
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
