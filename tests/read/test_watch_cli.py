"""``hive-cli watch``: a real process following a study another process writes into, its lines
checked against the batches written and against moocore's hypervolume; and the pure progress and ETA
arithmetic against hand-computed answers."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import moocore
import numpy as np
import pytest

from analysis.progress import duration_text, eta_seconds, fraction_done
from storage import DatabaseMetadataService

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("study, expected", [
    ({"status": "running", "progress_percent": 25.0, "run_count": 999, "max_evaluations": 1000}, 0.25),
    ({"status": "running", "run_count": 30, "max_evaluations": 120}, 0.25),
    ({"status": "running", "run_count": 10, "max_generations": 10, "population_size": 4}, 0.25),
    ({"status": "running", "run_count": 500, "max_evaluations": 100}, 1.0),
    ({"status": "running", "run_count": 10}, None),
    ({"status": "running", "run_count": 10, "max_generations": 10}, None),
    ({"status": "completed", "run_count": 10}, 1.0),
])
def test_the_share_done_comes_from_progress_or_the_budget(study, expected):
    assert fraction_done(study) == expected


def test_eta_carries_the_observed_rate_to_the_end():
    assert eta_seconds((0.0, 0.1), (10.0, 0.3)) == pytest.approx(35.0)  # 0.2 in 10 s; 0.7 left
    assert eta_seconds((0.0, 0.1), (10.0, 0.1)) is None  # nothing moved
    assert eta_seconds((0.0, None), (10.0, 0.5)) is None
    assert eta_seconds((0.0, 0.5), (4.0, 1.0)) == 0.0
    assert [duration_text(s) for s in (None, 7.4, 125, 7500)] == ["unknown", "7s", "2m 05s", "2h 05m"]


def _watch(db: Path, study_id: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hive_cli", "watch", "--study-id", study_id, "--db", str(db),
                             "--interval", "0.3"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(process: subprocess.Popen, pattern: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if re.search(pattern, line):
            return line
        assert line or process.poll() is None, f"watch ended before {pattern!r}: {process.stderr.read()}"
    raise AssertionError(f"no line matching {pattern!r}")


def test_watch_follows_a_running_study_to_its_end(tmp_path):
    db_path = tmp_path / "hive.db"
    db = DatabaseMetadataService(db_path)
    db.create_study({"study_id": "live", "study_type": "genetic_algorithm", "optimization_objective": "cost,co2",
                     "max_evaluations": 40, "reference_point": [10.0, 10.0]})
    db.update_study_status("live", "running")
    rng = np.random.default_rng(7)
    points = rng.uniform(0, 9, size=(40, 2))
    batch = lambda rows, generation: [{"study_id": "live", "generation_number": generation,  # noqa: E731
                                       "parameter_vector": [float(i)], "objectives": points[i].tolist()} for i in rows]
    db.log_study_runs(batch(range(10), 0))
    watch = _watch(db_path, "live")
    try:
        first = _wait_for(watch, r"live  running  10 evaluations")
        assert "25% done" in first and "ETA unknown" in first
        db.log_study_runs(batch(range(10, 30), 1))
        second = _wait_for(watch, r"30 evaluations")
        assert "75% done" in second and re.search(r"ETA \d+s", second)
        expected_hv = moocore.hypervolume(points[:30], ref=[10.0, 10.0])
        shown = float(re.search(r"hypervolume (\S+)", second).group(1))
        assert shown == pytest.approx(expected_hv, rel=1e-5)
        best = float(re.search(r"best (\S+)", second).group(1))
        assert best == pytest.approx(points[:30, 0].min(), rel=1e-5)  # fitness: the first objective
        db.log_study_runs(batch(range(30, 40), 2))
        db.update_study_status("live", "completed")
        last = _wait_for(watch, r"completed")
        assert "40 evaluations" in last and "ETA" not in last
        assert float(re.search(r"hypervolume (\S+)", last).group(1)) == pytest.approx(
            moocore.hypervolume(points, ref=[10.0, 10.0]), rel=1e-5)
        assert watch.wait(timeout=30) == 0
    finally:
        watch.kill()
        db.close()


def test_watch_of_a_failed_or_unknown_study_exits_non_zero(tmp_path):
    db_path = tmp_path / "hive.db"
    with DatabaseMetadataService(db_path) as db:
        db.create_study({"study_id": "broken", "study_type": "genetic_algorithm"})
        db.update_study_status("broken", "failed")
    done = subprocess.run([sys.executable, "-m", "hive_cli", "watch", "--study-id", "broken", "--db", str(db_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "broken  failed  0 evaluations" in done.stdout
    done = subprocess.run([sys.executable, "-m", "hive_cli", "watch", "--study-id", "nope", "--db", str(db_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stderr.startswith("error: study_id='nope'"), done.stderr
