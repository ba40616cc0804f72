"""The read-only SQL box cannot write, read files or other databases, and stops runaway queries;
the Streamlit configuration and version stay hardened."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from storage import DatabaseMetadataService, HiveError
from storage.reader import Reader, run_user_sql

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def reader(db_url):
    with DatabaseMetadataService(db_url) as service:
        service.create_study({"study_id": "s", "study_type": "milp"})
        service.log_study_runs([{"study_id": "s", "parameter_vector": [float(i)], "fitness": float(i)} for i in range(50)])
    r = Reader(db_url, timeout_s=2)
    yield r
    r.close()


@pytest.mark.parametrize("statement, reason", [
    ("INSERT INTO studies (study_id, study_type) VALUES ('x', 'milp')", "only SELECT"),
    ("UPDATE studies SET status = 'failed'", "only SELECT"),
    ("DELETE FROM study_runs", "only SELECT"),
    ("DROP TABLE studies", "only SELECT"),
    ("CREATE TABLE t AS SELECT 1", "only SELECT"),
    ("ATTACH '/tmp/other.db' AS other", "only SELECT"),
    ("COPY (SELECT 1) TO '/tmp/out.csv'", "only SELECT"),
    ("SET enable_external_access = true", "only SELECT"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ("SELECT * FROM read_text('/etc/passwd')", "read_text"),
    ("SELECT * FROM sqlite_scan('/etc/hive.db', 'studies')", "sqlite_scan"),
    ('SELECT * FROM "sqlite_scan"(\'/etc/hive.db\', \'studies\')', "sqlite_scan"),
    ("SELECT * FROM postgres_scan('dbname=x', 'public', 't')", "postgres_scan"),
    ("SELECT * FROM glob('/etc/*')", "glob"),
    ("SELECT * FROM query('SELECT 1')", "query"),
    ("SELECT getenv('HOME')", "getenv"),
    ("SELECT 1; SELECT 2", "one statement"),
    ("SELECT * FROM studies WHERE study_id IN (SELECT * FROM read_csv('/etc/passwd'))", "read_csv"),
])
def test_sql_box_refuses(reader, statement, reason):
    with pytest.raises(HiveError, match=re.escape(reason)):
        run_user_sql(reader, statement)


def test_sql_box_reads_and_limits_rows(reader):
    frame, truncated = run_user_sql(reader, "SELECT run_id, fitness FROM study_runs ORDER BY fitness", max_rows=10)
    assert list(frame["fitness"]) == [float(i) for i in range(10)] and truncated
    frame, truncated = run_user_sql(reader, "SELECT COUNT(*) AS n FROM study_runs")
    assert frame["n"].iloc[0] == 50 and not truncated


def test_engine_itself_refuses_what_slips_past_the_check(reader):
    # Below the SQL box: the attach is READ_ONLY, file access is off, the configuration is locked.
    for statement in ("INSERT INTO studies (study_id, study_type) VALUES ('x', 'milp')",
                      "SELECT * FROM read_csv('/etc/passwd')", "SET enable_external_access = true",
                      "ATTACH '/tmp/x.db' AS x"):
        with pytest.raises(HiveError):
            reader.analytics(statement)


def test_runaway_query_is_stopped_by_the_time_limit(reader):
    with pytest.raises(HiveError, match="time limit"):
        run_user_sql(reader, "SELECT COUNT(*) FROM range(100000000) a, range(100000000) b")


def test_streamlit_configuration_stays_hardened():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["enableStaticServing"] is False
    assert config["server"]["headless"] is True
    assert config["browser"]["gatherUsageStats"] is False


def test_streamlit_reads_a_light_and_a_dark_theme_from_the_config(monkeypatch):
    from streamlit import config as st_config

    monkeypatch.chdir(ROOT)
    try:
        st_config.get_config_options(force_reparse=True)
        assert st_config.get_option("theme.light.primaryColor") and st_config.get_option("theme.dark.primaryColor")
        assert st_config.get_option("theme.base") is None  # a fixed base would hide the viewer's choice
        assert st_config.get_option("server.enableXsrfProtection") is True
    finally:
        monkeypatch.undo()
        st_config.get_config_options(force_reparse=True)


def test_pinned_streamlit_is_past_the_path_traversal_advisory():
    pins = dict(re.findall(r"^([A-Za-z0-9_.\[\]-]+)==([0-9.]+)", (ROOT / "requirements.txt").read_text(), re.M))
    version = tuple(int(part) for part in pins["streamlit"].split("."))
    assert version >= (1, 54, 0), f"streamlit {pins['streamlit']} predates the fix of the static file path traversal"
