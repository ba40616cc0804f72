"""Schema versions: fresh databases at head, behind ones refused with the exact command, the old
service's databases upgraded in place with every value intact, reruns harmless."""
from __future__ import annotations

import math
import shutil
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import plain_engine

from storage import DatabaseMetadataService, SchemaBehindError, SchemaError
from storage import migrate
from storage.engine import create_engine, resolve_url

FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
from legacy_data import SIMULATION_COLUMNS, SIMULATIONS, STUDIES, STUDY_COLUMNS  # noqa: E402

HEAD = migrate.head_revision()


def hive_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hive_cli", *args], capture_output=True, text=True, timeout=120)


def snapshot(path: Path) -> dict:
    """Every old value with its SQLite storage class; floats by their 8 bytes, text by its UTF-8 bytes."""
    con = sqlite3.connect(path)
    result = {}
    for table, columns in (("studies", STUDY_COLUMNS), ("simulation_runs", SIMULATION_COLUMNS)):
        select = ", ".join(f"typeof({c}), {c}" for c in columns)
        rows = con.execute(f"SELECT {select} FROM {table} ORDER BY rowid").fetchall()
        result[table] = [
            tuple(
                (kind, struct.pack("<d", value) if kind == "real" else value.encode() if kind == "text" else value)
                for kind, value in zip(row[0::2], row[1::2])
            )
            for row in rows
        ]
    con.close()
    return result


@pytest.fixture
def legacy_file(tmp_path) -> Path:
    path = tmp_path / "old service.db"  # a space in the path: the command must quote it
    shutil.copy(FIXTURES / "legacy_v1.db", path)
    return path


def test_fixture_is_the_old_layout_without_version_table(legacy_file):
    con = sqlite3.connect(legacy_file)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"studies", "simulation_runs"}
    assert con.execute("SELECT COUNT(*) FROM simulation_runs").fetchone()[0] == len(SIMULATIONS) + 1


def test_opening_the_old_database_names_the_upgrade_command(legacy_file):
    before = legacy_file.read_bytes()
    with pytest.raises(SchemaBehindError) as caught:
        DatabaseMetadataService(legacy_file)
    assert f"hive-cli db upgrade '{legacy_file}'" in str(caught.value)
    assert legacy_file.read_bytes() == before  # opening changed nothing


def test_legacy_upgrade_keeps_every_value_and_is_idempotent(legacy_file):
    before = snapshot(legacy_file)
    # the fixture holds what legacy_data.py says (a sanity check of the fixture itself)
    assert [row[0][1].decode() for row in before["studies"]] == [s[0] for s in STUDIES]
    first = hive_cli("db", "upgrade", str(legacy_file))
    assert first.returncode == 0, first.stderr
    assert "upgraded the old service's database" in first.stdout
    assert snapshot(legacy_file) == before

    second = hive_cli("db", "upgrade", str(legacy_file))
    assert second.returncode == 0 and "nothing to do" in second.stdout
    assert snapshot(legacy_file) == before

    con = sqlite3.connect(legacy_file)
    assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    kinds = con.execute("SELECT DISTINCT study_type, status FROM studies").fetchall()
    assert kinds == [("single_simulation", "completed")]
    # every old study and simulation belongs to the project "default", which exists (migration 0011)
    for table in ("studies", "simulation_runs"):
        assert con.execute(f"SELECT DISTINCT project_id FROM {table}").fetchall() == [("default",)]
    assert con.execute("SELECT id FROM projects").fetchall() == [("default",)]
    inf_row = con.execute("SELECT execution_time_seconds, total_cost FROM simulation_runs WHERE run_id = 'run-inf'").fetchone()
    assert inf_row == (math.inf, -math.inf)
    con.close()

    with DatabaseMetadataService(legacy_file) as service:  # the upgraded file is usable as a new one
        service.log_simulation_run({"run_id": "run-new", "total_cost": 1.0, "study_id": "study-2023-baseline"})
        service.create_study({"study_id": "ga_after_upgrade", "study_type": "genetic_algorithm"})
        service.log_study_run({"study_id": "ga_after_upgrade", "parameter_vector": [1.0], "fitness": 2.0})
    assert snapshot(legacy_file)["studies"][: len(STUDIES)] == before["studies"]


@pytest.mark.postgres
def test_legacy_layout_on_postgresql_upgrades_too(empty_pg_url):
    url = empty_pg_url
    engine = plain_engine(url)
    spec_path = Path(migrate.MIGRATIONS_DIR) / "versions" / "0001_legacy_baseline.py"
    namespace: dict = {}
    exec(compile(spec_path.read_text(), str(spec_path), "exec"), namespace)
    with engine.begin() as conn:
        for statement in namespace["POSTGRESQL_DDL"]:
            conn.exec_driver_sql(statement)
        rows = [dict(zip(STUDY_COLUMNS, s)) for s in STUDIES]
        conn.execute(sa.text(f"INSERT INTO studies ({', '.join(STUDY_COLUMNS)}) VALUES ({', '.join(':' + c for c in STUDY_COLUMNS)})"), rows)
        sims = [dict(zip(SIMULATION_COLUMNS, s)) for s in SIMULATIONS]
        conn.execute(sa.text(f"INSERT INTO simulation_runs ({', '.join(SIMULATION_COLUMNS)}) VALUES ({', '.join(':' + c for c in SIMULATION_COLUMNS)})"), sims)
    engine.dispose()
    with pytest.raises(SchemaBehindError, match="hive-cli db upgrade 'postgresql://hive:\\*\\*\\*@"):
        DatabaseMetadataService(url)
    assert hive_cli("db", "upgrade", url).returncode == 0
    assert hive_cli("db", "upgrade", url).returncode == 0
    engine = plain_engine(url)  # in the project "default", which every old study now belongs to
    with engine.connect() as conn:
        got = [tuple(r) for r in conn.execute(sa.text(f"SELECT {', '.join(STUDY_COLUMNS)} FROM studies ORDER BY study_id"))]
        sims_got = {r[0]: tuple(r) for r in conn.execute(sa.text(f"SELECT {', '.join(SIMULATION_COLUMNS)} FROM simulation_runs"))}
    engine.dispose()
    assert got == sorted(STUDIES, key=lambda s: s[0])
    for sim in SIMULATIONS:
        assert sims_got[sim[0]] == sim


def test_database_behind_head_is_refused_with_the_command(empty_db_url):
    engine = create_engine(resolve_url(empty_db_url))
    migrate.upgrade(engine, "0001_legacy_baseline")
    engine.dispose()
    with pytest.raises(SchemaBehindError) as caught:
        DatabaseMetadataService(empty_db_url)
    assert "hive-cli db upgrade " in str(caught.value) and "0001_legacy_baseline" in str(caught.value)
    result = hive_cli("db", "upgrade", empty_db_url)
    assert result.returncode == 0 and "upgraded from 0001_legacy_baseline" in result.stdout
    DatabaseMetadataService(empty_db_url).close()


def test_fresh_database_is_created_at_head_and_downgrades_cleanly(empty_db_url):
    service = DatabaseMetadataService(empty_db_url)
    assert service.created_schema is True
    service.close()
    engine = create_engine(resolve_url(empty_db_url))
    with engine.connect() as conn:
        assert migrate.inspect_schema(conn).kind == "current"
    before, after = migrate.downgrade(engine, "base")
    assert after.tables == ("alembic_version",)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert migrate.inspect_schema(conn).revision == HEAD
    engine.dispose()


def test_foreign_and_unknown_databases_are_refused(tmp_path):
    foreign = tmp_path / "foreign.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE invoices (id INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(SchemaError, match="not a hive store"):
        DatabaseMetadataService(foreign)
    result = hive_cli("db", "upgrade", str(foreign))
    assert result.returncode == 1 and result.stderr.startswith("error:") and "Traceback" not in result.stderr
    newer = tmp_path / "newer.db"
    DatabaseMetadataService(newer).close()
    con = sqlite3.connect(newer)
    con.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    con.commit()
    con.close()
    with pytest.raises(SchemaError, match="9999_from_the_future"):
        DatabaseMetadataService(newer)


def test_db_info_reports_state_and_counts(tmp_path, legacy_file):
    result = hive_cli("db", "info", str(legacy_file))
    assert result.returncode == 0 and "made by the old service" in result.stdout
    assert f"simulation_runs{len(SIMULATIONS) + 1:>{12 + 24 - len('simulation_runs')}}" in result.stdout
