"""The read layer's guarantees, on SQLite and PostgreSQL: it cannot write, the SQL box refuses what it
must, runaway queries stop at the time limit, and a long-lived Reader (and service) sees what another
process committed since (no stale snapshot)."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import exc

import readset
from storage import HiveError, StorageUnavailableError, ValidationError
from storage.studies import queries
from storage.reader import Reader, run_user_sql

pytest_plugins = ["readplugin"]
ds, svc, reader = readset.local_fixtures()

REPO = Path(__file__).resolve().parents[2]


_ENGINES: dict[str, sa.Engine] = {}
TABLES = ("studies", "study_runs", "simulation_runs", "uncertainty_analysis", "sensitivity_analysis",
          "convergence_metrics", "pareto_fronts")


def independent(url: str, statement: str):
    """Plain SQLAlchemy, outside the code under test (one pooled engine per database)."""
    if url not in _ENGINES:
        _ENGINES[url] = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1),
                                         poolclass=sa.pool.NullPool)
    with _ENGINES[url].connect() as conn:
        return conn.execute(sa.text(statement)).all()


def counts(url: str) -> tuple:
    return tuple(independent(url, "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {t})" for t in TABLES))[0])


# ------------------------------------------------------------------------------------- read-only


def test_the_point_path_cannot_write(ds, reader):
    before = counts(ds.url)
    statements = [
        "INSERT INTO studies (study_id, study_type, status) VALUES ('intruder', 'milp', 'pending')",
        "UPDATE studies SET study_name = 'hacked'",
        "DELETE FROM study_runs",
        "CREATE TABLE intruder (x INTEGER)",
    ]
    if ds.backend == "sqlite":
        statements.append("PRAGMA query_only = OFF; INSERT INTO studies (study_id, study_type, status) "
                          "VALUES ('intruder2', 'milp', 'pending')")
    for statement in statements:
        with pytest.raises((exc.DBAPIError, HiveError)):
            with reader.engine.connect() as conn:
                for part in statement.split("; "):
                    conn.execute(sa.text(part))
                conn.commit()
        with pytest.raises(HiveError):
            reader.fetch(statement.split("; ")[-1])
    assert counts(ds.url) == before
    assert independent(ds.url, "SELECT COUNT(*) FROM studies WHERE study_name = 'hacked'")[0][0] == 0
    if ds.backend == "postgresql":
        with reader.engine.connect() as conn:
            assert conn.execute(sa.text("SHOW transaction_read_only")).scalar() == "on"


def test_sql_through_fetch_cannot_make_the_point_path_writable(ds):
    # "Read-only by construction": SQL the reader runs (fetch never commits) must not turn writes back on
    # for the pooled connections that later queries get.
    flips = (["SELECT set_config('default_transaction_read_only', 'off', false) AS x",
              "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE"] if ds.backend == "postgresql"
             else ["PRAGMA query_only = OFF"])
    reader = Reader(ds.url)
    try:
        before = counts(ds.url)
        for flip in flips:
            try:
                reader.fetch(flip)
            except Exception:  # noqa: BLE001 - refusing is fine; what matters is the INSERT below
                pass
        for _ in range(3):  # whichever pooled connection comes back
            with pytest.raises((exc.DBAPIError, HiveError)):
                with reader.engine.connect() as conn:
                    conn.execute(sa.text("INSERT INTO studies (study_id, study_type, status) "
                                         "VALUES ('intruder3', 'milp', 'pending')"))
                    conn.commit()
        assert counts(ds.url) == before
    finally:
        reader.close()
        _delete_intruder(ds.url)  # keep the shared dataset as it was, should the guarantee ever break


def _delete_intruder(url: str) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM studies WHERE study_id = 'intruder3'"))
    engine.dispose()


@pytest.mark.parametrize("statement", [
    "INSERT INTO studies (study_id, study_type, status) VALUES ('intruder', 'milp', 'pending')",
    "UPDATE study_runs SET fitness = 0",
    "DELETE FROM studies",
    "DROP TABLE study_runs",
    "CREATE TABLE db.intruder AS SELECT 1 AS x",
    "SET enable_external_access = true",
    "COPY (SELECT * FROM studies) TO '{tmp}/leak.csv'",
    "ATTACH '{tmp}/other.db' AS other",
])
def test_the_duckdb_path_cannot_write_even_without_the_guard(ds, reader, tmp_path, statement):
    before = counts(ds.url)
    with pytest.raises(HiveError):
        reader.analytics(statement.format(tmp=tmp_path))
    assert counts(ds.url) == before
    assert not (tmp_path / "leak.csv").exists() and not (tmp_path / "other.db").exists()
    assert len(reader.analytics("SELECT study_id FROM studies")) == len(ds.studies)  # still usable


@pytest.fixture(scope="module")
def secret_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "secret.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE secret (value TEXT)")
    con.execute("INSERT INTO secret VALUES ('TOPSECRET')")
    con.commit()
    con.close()
    return path


@pytest.mark.parametrize("statement", [
    "INSERT INTO studies (study_id, study_type) VALUES ('x', 'milp')",
    "UPDATE studies SET status = 'failed'",
    "DELETE FROM study_runs",
    "DROP TABLE studies",
    "CREATE TABLE t AS SELECT 1",
    "ATTACH '{secret}' AS s",
    "DETACH db",
    "COPY studies TO '/tmp/hive_leak.csv'",
    "PRAGMA database_list",
    "SET threads = 1",
    "LOAD httpfs",
    "INSTALL httpfs",
    "SELECT 1; SELECT 2",
    "SELECT 1; DROP TABLE studies",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM READ_CSV_AUTO('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM '{secret}'",
    "SELECT * FROM sqlite_scan('{secret}', 'secret')",
    "SELECT * FROM studies WHERE study_id IN (SELECT value FROM sqlite_scan('{secret}', 'secret'))",
    "WITH s AS (SELECT * FROM sqlite_scan('{secret}', 'secret')) SELECT * FROM s",
    "SELECT * FROM postgres_query('db', 'SELECT 1')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT getenv('HOME')",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM query('SELECT 1')",
    "SELECT * FROM parquet_scan('/etc/passwd')",
    "",
    "   ;  ",
])
def test_the_sql_box_refuses(ds, reader, secret_db, statement):
    before = counts(ds.url)
    with pytest.raises(HiveError) as caught:
        run_user_sql(reader, statement.format(secret=secret_db))
    assert "TOPSECRET" not in str(caught.value) and "root:" not in str(caught.value)
    assert counts(ds.url) == before
    assert not Path("/tmp/hive_leak.csv").exists()


@pytest.mark.parametrize("statement", ["SELECT * FROM read_csv('/etc/passwd')", "SELECT 1; SELECT 2",
                                       "INSERT INTO studies (study_id) VALUES ('x')",
                                       "SELECT * FROM sqlite_scan('/tmp/x.db', 't')"])
def test_the_sql_box_says_why(reader, statement):
    with pytest.raises(ValidationError, match=r"not available|one statement|only SELECT"):
        run_user_sql(reader, statement)


def test_the_sql_box_answers_selects(ds, reader):
    frame, truncated = run_user_sql(
        reader, "SELECT study_id, COUNT(*) AS n, SUM(CASE WHEN simulation_status = 'success' THEN 1 ELSE 0 END) AS ok "
                "FROM study_runs WHERE study_id <> 'fresh_live' GROUP BY study_id ORDER BY study_id;")
    assert not truncated
    expected = sorted((s.study_id, len(s.runs), sum(r.status == "success" for r in s.runs))
                      for s in ds.studies.values() if s.runs and s.study_id != "fresh_live")
    assert [tuple(row) for row in frame.itertuples(index=False)] == expected
    frame, truncated = run_user_sql(reader, "SELECT r.range AS i FROM range(50) r ORDER BY i", max_rows=10)
    assert truncated and frame["i"].tolist() == list(range(10))
    frame, _ = run_user_sql(reader, "SELECT SUM(x) AS s FROM unnest([1, 2, 3]) t(x)")
    assert frame["s"].iloc[0] == 6
    frame, _ = run_user_sql(reader, "SELECT COUNT(*) AS n FROM generate_series(1, 5)")
    assert frame["n"].iloc[0] == 5


# ------------------------------------------------------------------------------------ time limits

RUNAWAY_DUCK = "SELECT SUM(a.range * b.range) AS s FROM range(1000000) a, range(1000000) b"
RUNAWAY_POINT = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c"


@pytest.fixture(scope="module")
def quick_readers():
    readers = {}
    yield readers
    for r in readers.values():
        r.close()


def _quick_reader(ds, quick_readers) -> Reader:
    if ds.backend not in quick_readers:
        quick_readers[ds.backend] = Reader(ds.url, timeout_s=1)
    return quick_readers[ds.backend]


def test_a_runaway_sql_box_query_stops_at_the_time_limit(ds, quick_readers):
    reader = _quick_reader(ds, quick_readers)
    started = time.monotonic()
    with pytest.raises(HiveError, match="time limit"):
        run_user_sql(reader, RUNAWAY_DUCK)
    assert time.monotonic() - started < 8
    frame, _ = run_user_sql(reader, "SELECT COUNT(*) AS n FROM studies")  # the reader still works
    assert frame["n"].iloc[0] == len(ds.studies)


def test_a_runaway_point_query_stops_at_the_time_limit(ds, quick_readers):
    reader = _quick_reader(ds, quick_readers)
    started = time.monotonic()
    with pytest.raises(HiveError):
        reader.fetch(RUNAWAY_POINT)
    assert time.monotonic() - started < 8
    assert reader.fetch_rows("SELECT COUNT(*) AS n FROM studies")[0]["n"] == len(ds.studies)


def test_a_stopped_point_query_says_it_hit_the_time_limit(ds, quick_readers):
    reader = _quick_reader(ds, quick_readers)
    with pytest.raises(HiveError) as caught:
        reader.fetch(RUNAWAY_POINT)
    assert not isinstance(caught.value, StorageUnavailableError)
    assert "time limit" in str(caught.value)


# -------------------------------------------------------------------------------------- freshness

WRITER = textwrap.dedent("""
    import json, sys
    from storage import DatabaseMetadataService
    url, runs = sys.argv[1], json.loads(sys.argv[2])
    with DatabaseMetadataService(url) as service:
        service.log_study_runs(runs)
        service.log_simulation_run({"run_id": "sim-" + runs[0]["run_id"], "total_cost": 42.5, "study_run_id": runs[0]["run_id"]})
""")


def test_a_long_lived_reader_sees_what_another_process_wrote(ds, svc, reader):
    s = ds["fresh_live"]
    # Warm every path first, so a cached snapshot or attached copy would show stale data afterwards.
    assert len(svc.query_study_runs("fresh_live")) == len(s.runs)
    assert {r["run_id"] for r in svc.get_pareto_front("fresh_live")} == readset.brute_front(s)
    assert [r["generation_number"] for r in svc.get_convergence_history("fresh_live")] == [0]
    count_sql = "SELECT COUNT(*) AS n FROM study_runs WHERE study_id = 'fresh_live'"
    assert reader.analytics(count_sql)["n"].iloc[0] == len(s.runs)
    assert run_user_sql(reader, count_sql)[0]["n"].iloc[0] == len(s.runs)
    assert svc.compare_studies(["fresh_live"])[0]["run_count"] == len(s.runs)

    new = [readset.Run("fresh_live:new0", 10, 1, [1.0], 1.0, [1.0, 9.0]),
           readset.Run("fresh_live:new1", 11, 1, [2.0], 3.0, [3.0, 3.0]),  # dominates (4,6), (5,5), (6,4), (7,7)
           readset.Run("fresh_live:new2", 12, 1, [3.0], 8.0, [8.0, 8.0], status="failed")]
    payload = [{"study_id": "fresh_live", "run_id": r.run_id, "evaluation_number": r.evaluation_number,
                "generation_number": r.generation, "parameter_vector": r.params, "fitness": r.fitness,
                "objectives": r.objectives, "simulation_status": r.status} for r in new]
    proc = subprocess.run([sys.executable, "-c", WRITER, ds.url, json.dumps(payload)], capture_output=True,
                          text=True, timeout=120, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    s.runs.extend(new)
    new[0].sim = {"total_cost": 42.5}

    rows = svc.query_study_runs("fresh_live")
    assert [r["run_id"] for r in rows] == [r.run_id for r in s.runs]
    assert {r["run_id"] for r in svc.get_pareto_front("fresh_live")} == readset.brute_front(s) \
        == {"fresh_live:new0", "fresh_live:new1"}
    history = svc.get_convergence_history("fresh_live")
    assert [r["generation_number"] for r in history] == [0, 1]
    assert history[1]["best_fitness"] == 1.0 and history[1]["evaluations_in_generation"] == 3
    assert reader.analytics(count_sql)["n"].iloc[0] == len(s.runs)
    assert run_user_sql(reader, count_sql)[0]["n"].iloc[0] == len(s.runs)
    best = svc.get_best_designs("fresh_live", limit=1)[0]
    assert best["run_id"] == "fresh_live:new0" and best["total_cost"] == 42.5
    summary = svc.compare_studies(["fresh_live"])[0]
    assert summary["run_count"] == len(s.runs) and summary["pareto_count"] == 2
    assert {r["study_id"]: r["run_count"] for r in svc.list_studies(text="fresh")} == {"fresh_live": len(s.runs)}
    assert queries.count_study_runs(reader, "fresh_live") == len(s.runs)
    # A second round: after further DuckDB queries, the point path must still see a new commit (with
    # DuckDB's SQLite copy in this process it went on reading the old snapshot from here on).
    more = [{"study_id": "fresh_live", "run_id": "fresh_live:new3", "evaluation_number": 13,
             "generation_number": 2, "parameter_vector": [4.0], "fitness": 0.5, "objectives": [0.5, 0.5]}]
    proc = subprocess.run([sys.executable, "-c", WRITER, ds.url, json.dumps(more)], capture_output=True,
                          text=True, timeout=120, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    assert queries.count_study_runs(reader, "fresh_live") == len(s.runs) + 1
    assert reader.analytics(count_sql)["n"].iloc[0] == len(s.runs) + 1
    assert svc.get_best_designs("fresh_live", limit=1)[0]["run_id"] == "fresh_live:new3"


def test_a_writer_beside_duckdb_analytics_in_one_process_keeps_the_file_whole(tmp_path):
    # Analytics and writes in one optimizer process: DuckDB's own SQLite copy must not share it.
    from storage import DatabaseMetadataService

    path = tmp_path / "beside.db"
    with DatabaseMetadataService(str(path)) as service:
        service.create_study({"study_id": "s", "study_type": "genetic_algorithm"})
        reader = Reader(str(path))
        try:
            for batch in range(5):
                service.log_study_runs([{"study_id": "s", "evaluation_number": batch * 100 + k,
                                         "generation_number": batch, "parameter_vector": [float(k)],
                                         "fitness": float(k)} for k in range(100)])
                assert reader.analytics("SELECT COUNT(*) AS n FROM study_runs")["n"].iloc[0] == (batch + 1) * 100
                assert queries.count_study_runs(reader, "s") == (batch + 1) * 100
        finally:
            reader.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM study_runs").fetchone()[0] == 500


def test_duckdb_on_a_sqlite_file_runs_in_another_process(tmp_path):
    from storage import DatabaseMetadataService

    path = tmp_path / "child.db"
    with DatabaseMetadataService(str(path)) as service:
        service.create_study({"study_id": "s", "study_type": "milp"})
    reader = Reader(str(path))
    try:
        assert reader.analytics("SELECT study_id FROM studies")["study_id"].tolist() == ["s"]
        maps = Path(f"/proc/{os.getpid()}/maps").read_text()
        assert "sqlite_scanner" not in maps  # DuckDB's SQLite copy was never loaded here
    finally:
        reader.close()


def test_a_killed_duckdb_child_is_reported_and_replaced(tmp_path):
    import threading

    from storage import DatabaseMetadataService

    path = tmp_path / "child.db"
    with DatabaseMetadataService(str(path)) as service:
        service.create_study({"study_id": "s", "study_type": "milp"})
    reader = Reader(str(path))
    count = "SELECT COUNT(*) AS n FROM studies"
    try:
        assert reader.analytics(count)["n"].iloc[0] == 1
        first = reader._duck._child[0]
        first.kill()                                   # between queries: the next one starts a new child
        first.wait(timeout=10)
        assert reader.analytics(count)["n"].iloc[0] == 1
        second = reader._duck._child[0]
        assert second.pid != first.pid
        outcome = {}

        def runaway():
            try:
                reader.analytics("SELECT COUNT(*) FROM range(100000000000) a")
            except HiveError as error:
                outcome["error"] = str(error)

        thread = threading.Thread(target=runaway)
        thread.start()
        time.sleep(1.0)
        second.kill()                                  # during a query: a clear error, then a new child
        thread.join(timeout=30)
        assert "ended unexpectedly" in outcome["error"]
        assert reader.analytics(count)["n"].iloc[0] == 1
    finally:
        reader.close()
