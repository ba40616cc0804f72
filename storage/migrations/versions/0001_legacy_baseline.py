"""The old service's layout: simulation_runs and studies, exactly as it created them.

A fresh database passes through this revision on its way to head. A database made by the old
service (which has these two tables but no alembic_version table) is stamped at this revision by
``storage.migrate`` and then upgraded, so its rows are never copied or rewritten.

Revision ID: 0001_legacy_baseline
Revises:
"""
from alembic import op

revision = "0001_legacy_baseline"
down_revision = None
branch_labels = None
depends_on = None

# Verbatim from the old service, so a fresh SQLite file is indistinguishable from an upgraded one.
SQLITE_DDL = [
    """CREATE TABLE IF NOT EXISTS simulation_runs (run_id TEXT PRIMARY KEY, run_name TEXT, system_config_path TEXT,
    status TEXT, start_time TEXT, end_time TEXT, execution_time_seconds REAL, total_cost REAL,
    co2_emissions REAL, renewable_fraction REAL, self_sufficiency_rate REAL, results_path TEXT,
    created_at TEXT DEFAULT CURRENT_TIMESTAMP, metadata_json TEXT)""",
    """CREATE TABLE IF NOT EXISTS studies (study_id TEXT PRIMARY KEY, study_name TEXT, description TEXT,
    base_system_config_path TEXT, run_count INTEGER DEFAULT 0,
    created_at TEXT DEFAULT CURRENT_TIMESTAMP, updated_at TEXT DEFAULT CURRENT_TIMESTAMP,
    metadata_json TEXT)""",
]

# PostgreSQL never ran the old service; the same columns, with 8-byte floats.
POSTGRESQL_DDL = [
    """CREATE TABLE IF NOT EXISTS simulation_runs (run_id TEXT NOT NULL, run_name TEXT, system_config_path TEXT,
    status TEXT, start_time TEXT, end_time TEXT, execution_time_seconds DOUBLE PRECISION,
    total_cost DOUBLE PRECISION, co2_emissions DOUBLE PRECISION, renewable_fraction DOUBLE PRECISION,
    self_sufficiency_rate DOUBLE PRECISION, results_path TEXT,
    created_at TEXT DEFAULT CURRENT_TIMESTAMP, metadata_json TEXT,
    CONSTRAINT pk_simulation_runs PRIMARY KEY (run_id))""",
    """CREATE TABLE IF NOT EXISTS studies (study_id TEXT NOT NULL, study_name TEXT, description TEXT,
    base_system_config_path TEXT, run_count INTEGER DEFAULT 0,
    created_at TEXT DEFAULT CURRENT_TIMESTAMP, updated_at TEXT DEFAULT CURRENT_TIMESTAMP,
    metadata_json TEXT, CONSTRAINT pk_studies PRIMARY KEY (study_id))""",
]


def upgrade() -> None:
    ddl = SQLITE_DDL if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_DDL
    for statement in ddl:
        op.execute(statement)


def downgrade() -> None:
    # Removes the old service's data too: there is nothing older to go back to.
    op.execute("DROP TABLE IF EXISTS studies")
    op.execute("DROP TABLE IF EXISTS simulation_runs")
