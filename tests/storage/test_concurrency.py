"""Many optimizer processes on one database: nothing lost, nothing duplicated, schema made once,
a killed writer leaves no trace of its batch."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import query

from storage import DatabaseMetadataService, migrate

WORKER = Path(__file__).with_name("concurrency_worker.py")
ROOT = Path(__file__).resolve().parents[2]


def start(mode: str, url: str, start_at: float, *args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(WORKER), mode, url, str(start_at), *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def finish(processes, timeout=240):
    results = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        results.append((process.returncode, out.strip(), err.strip()))
    return results


@pytest.mark.slow
def test_eight_writers_one_study_lose_nothing(db_url, sql):
    with DatabaseMetadataService(db_url) as service:
        service.create_study({"study_id": "shared", "study_type": "genetic_algorithm", "objective_directions": ["minimize"] * 2})
    start_at = time.time() + 3
    results = finish([start("log", db_url, start_at, "shared", 2000, seed) for seed in range(8)])
    for code, out, err in results:
        assert code == 0 and out == "ok", err[-2000:]
    numbers = [r["evaluation_number"] for r in sql("SELECT evaluation_number FROM study_runs WHERE study_id = 'shared'")]
    assert len(numbers) == 16_000
    assert sorted(numbers) == list(range(16_000))
    per_worker = sql("SELECT generation_number AS w, COUNT(*) AS n FROM study_runs GROUP BY generation_number ORDER BY 1")
    assert [(r["w"], r["n"]) for r in per_worker] == [(w, 2000) for w in range(8)]
    assert sql("SELECT run_count FROM studies WHERE study_id = 'shared'")[0]["run_count"] == 16_000


@pytest.mark.slow
def test_eight_processes_opening_an_empty_database_create_the_schema_once(empty_db_url):
    start_at = time.time() + 3
    results = finish([start("open", empty_db_url, start_at) for _ in range(8)])
    assert all(code == 0 for code, _, _ in results), [err for _, _, err in results]
    assert sorted(out for _, out, _ in results) == ["created"] + ["existing"] * 7
    assert query(empty_db_url, "SELECT version_num FROM alembic_version") == [{"version_num": migrate.head_revision()}]


def test_concurrent_duplicate_evaluation_numbers_are_refused(db_url, sql):
    with DatabaseMetadataService(db_url) as service:
        service.create_study({"study_id": "dup", "study_type": "monte_carlo"})
    start_at = time.time() + 2
    results = finish([start("explicit", db_url, start_at, "dup", 0, 500) for _ in range(2)])
    assert all(code == 0 for code, _, _ in results), results
    outcomes = sorted(out.split(":")[0] for _, out, _ in results)
    assert outcomes == ["duplicate", "ok"]
    assert "evaluation_number=" in [out for _, out, _ in results if out.startswith("duplicate")][0]
    assert sql("SELECT COUNT(*) AS n FROM study_runs")[0]["n"] == 500


@pytest.mark.slow
def test_writer_killed_mid_batch_leaves_an_intact_file_without_the_batch(tmp_path):
    path = tmp_path / "killed.db"
    with DatabaseMetadataService(path) as service:
        service.create_study({"study_id": "k", "study_type": "genetic_algorithm"})
        service.log_study_runs([{"study_id": "k", "parameter_vector": [1.0, 2.0], "fitness": 1.0} for _ in range(100)])
    wal = Path(f"{path}-wal")
    size_before = wal.stat().st_size if wal.exists() else 0
    process = start("bigbatch", str(path), 0, "k", 400_000)
    assert process.stdout.readline().strip() == "ready"
    deadline = time.time() + 120
    # Kill only once the INSERT is writing pages into the WAL: the batch is half-way in.
    while (wal.stat().st_size if wal.exists() else 0) <= size_before + 512 * 1024:
        assert process.poll() is None, process.stderr.read()
        assert time.time() < deadline, "the batch never started writing"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert con.execute("SELECT COUNT(*) FROM study_runs").fetchone() == (100,)
    assert con.execute("SELECT run_count FROM studies").fetchone() == (100,)
    con.close()
    with DatabaseMetadataService(path) as service:  # the study accepts new writes
        ids = service.log_study_runs([{"study_id": "k", "parameter_vector": [3.0, 4.0], "fitness": 2.0}] * 3)
    assert ids == ["k:100", "k:101", "k:102"]
