"""Many writers and a dashboard-style reader at once: every writer succeeds, every row lands, the
reader never errors, its counts never go down, and a Pareto front is never seen without its runs."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import plain_engine
from storage import DatabaseMetadataService

WORKER = Path(__file__).with_name("load_worker.py")
ROOT = Path(__file__).resolve().parents[2]
PER_WRITER = 2000


def _run(url: str, writers: int, tmp_path: Path) -> dict:
    shared = writers // 2
    with DatabaseMetadataService(url) as service:
        service.create_study({"study_id": "shared", "study_type": "genetic_algorithm", "objective_directions": ["minimize"] * 2})
        for i in range(writers - shared):
            service.create_study({"study_id": f"own_{i}", "study_type": "genetic_algorithm",
                                  "objective_directions": ["minimize", "maximize"]})
    stop, out = tmp_path / "stop", tmp_path / "reader.json"
    reader = subprocess.Popen([sys.executable, str(WORKER), "reader", url, str(stop), str(out)], cwd=ROOT,
                              stderr=subprocess.PIPE, text=True)
    processes = [
        subprocess.Popen([sys.executable, str(WORKER), "writer", url, "shared" if i < shared else f"own_{i - shared}",
                          str(i), str(PER_WRITER), "0" if i < shared else "1"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(writers)
    ]
    results = [(p.wait(timeout=600), p.stdout.read(), p.stderr.read()) for p in processes]
    stop.touch()
    assert reader.wait(timeout=120) == 0, reader.stderr.read()
    for code, out_text, err in results:
        assert code == 0 and out_text.strip() == "ok", err[-2000:]
    return json.loads(out.read_text())


def _check_database(url: str, writers: int) -> None:
    engine = plain_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM study_runs")).scalar() == writers * PER_WRITER
        numbers = [r[0] for r in conn.execute(sa.text("SELECT evaluation_number FROM study_runs WHERE study_id = 'shared'"))]
        assert sorted(numbers) == list(range((writers // 2) * PER_WRITER))
        assert conn.execute(sa.text("SELECT COUNT(*) FROM pareto_fronts")).scalar() == writers - writers // 2
    engine.dispose()


def _check_reader(seen: dict) -> None:
    assert seen["errors"] == []
    assert seen["orphans"] == 0
    assert len(seen["counts"]) >= 3
    assert all(a <= b for a, b in zip(seen["counts"], seen["counts"][1:])), "the reader's count went down"


@pytest.mark.slow
def test_sixteen_sqlite_writers_and_a_reader(tmp_path):
    url = f"sqlite:///{tmp_path / 'load.db'}"
    seen = _run(url, 16, tmp_path)
    _check_database(url, 16)
    _check_reader(seen)


@pytest.mark.slow
@pytest.mark.postgres
def test_thirty_two_postgresql_writers_and_a_reader(empty_pg_url, tmp_path):
    seen = _run(empty_pg_url, 32, tmp_path)
    _check_database(empty_pg_url, 32)
    _check_reader(seen)
