"""The schema holds the seed design (every table, column and index it names) and enforces itself."""
from __future__ import annotations

import sqlalchemy as sa
from conftest import plain_engine
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage import DatabaseMetadataService
from storage.schema import metadata

# Transcribed from ../shared/seeds/ga-mc-milp-results-schema.md.
SEED_COLUMNS = {
    "studies": """study_id study_type study_name description base_system_config_path optimization_objective
        optimization_constraints population_size max_generations max_evaluations status progress_percent
        run_count best_fitness best_solution_id created_at updated_at completed_at execution_time_seconds
        metadata_json""",
    "study_runs": """run_id study_id evaluation_number generation_number parameter_vector parameter_names fitness
        objectives constraint_violations simulation_run_id simulation_status evaluation_time_seconds
        solver_time_seconds is_pareto_optimal domination_count created_at metadata_json""",
    "pareto_fronts": "pareto_id study_id generation_number front_size hypervolume run_ids created_at",
    "convergence_metrics": """metric_id study_id generation_number best_fitness average_fitness worst_fitness
        fitness_std_dev population_diversity stagnation_count generation_time_seconds evaluations_in_generation
        created_at""",
    "uncertainty_analysis": """analysis_id study_id target_solution_id objective_name mean_value median_value std_dev
        percentile_5 percentile_25 percentile_50 percentile_75 percentile_95 var_95 cvar_95 created_at""",
    "sensitivity_analysis": """sensitivity_id study_id analysis_id parameter_name parameter_index
        correlation_coefficient rank_correlation sobol_first_order sobol_total importance_rank created_at""",
    "simulation_runs": """run_id run_name system_config_path status start_time end_time execution_time_seconds
        total_cost co2_emissions renewable_fraction self_sufficiency_rate results_path created_at metadata_json
        study_run_id study_id""",
}
SEED_INDEXES = {
    "studies": {"idx_studies_type", "idx_studies_status", "idx_studies_best_fitness"},
    "study_runs": {
        "idx_study_runs_study_id", "idx_study_runs_generation", "idx_study_runs_fitness",
        "idx_study_runs_pareto", "idx_study_runs_evaluation_number",
    },
    "pareto_fronts": {"idx_pareto_fronts_study_id", "idx_pareto_fronts_generation"},
    "convergence_metrics": {"idx_convergence_study_gen"},
    "uncertainty_analysis": {"idx_uncertainty_study"},
    "sensitivity_analysis": {"idx_sensitivity_study", "idx_sensitivity_rank"},
    "simulation_runs": {"idx_simulation_runs_study_run_id"},
}
ADDED_STUDY_COLUMNS = {"objective_directions", "reference_point", "parameter_names"}


def _inspector(url):
    engine = plain_engine(url)
    return engine, sa.inspect(engine)


def test_every_seed_table_column_and_index_exists(service, db_url):
    engine, inspector = _inspector(db_url)
    try:
        assert set(SEED_COLUMNS) <= set(inspector.get_table_names())
        for table, names in SEED_COLUMNS.items():
            columns = {c["name"] for c in inspector.get_columns(table)}
            missing = set(names.split()) - columns
            assert not missing, f"{table} lacks {missing}"
            indexes = {i["name"] for i in inspector.get_indexes(table)}
            assert SEED_INDEXES[table] <= indexes, f"{table} lacks {SEED_INDEXES[table] - indexes}"
        assert ADDED_STUDY_COLUMNS <= {c["name"] for c in inspector.get_columns("studies")}
        unique = {
            i["name"]: i["column_names"] for i in inspector.get_indexes("study_runs") if i.get("unique")
        }
        assert unique.get("idx_study_runs_evaluation_number") == ["study_id", "evaluation_number"]
    finally:
        engine.dispose()


def test_migrations_produce_exactly_the_model(service, db_url, backend):
    engine = plain_engine(db_url)
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
            fk_actions = (
                {tuple(r[2:5]) + (r[6],) for r in conn.exec_driver_sql("PRAGMA foreign_key_list(simulation_runs)")}
                if backend == "sqlite"
                else set()
            )
    finally:
        engine.dispose()
    if backend == "sqlite":
        # Two limits of SQLite reflection, not differences: (1) the old service declared its primary
        # keys "TEXT PRIMARY KEY", which SQLite leaves nullable, and the upgrade keeps those tables in
        # place; (2) foreign keys added by ALTER TABLE ADD COLUMN reflect without name or ON DELETE,
        # so they are checked here through PRAGMA foreign_key_list instead.
        assert fk_actions == {
            ("studies", "study_id", "study_id", "SET NULL"),
            ("study_runs", "study_run_id", "run_id", "SET NULL"),
        }
        diffs = [
            d for d in diffs
            if not (isinstance(d, list) and d[0][0] == "modify_nullable" and (d[0][2], d[0][3]) in
                    {("studies", "study_id"), ("simulation_runs", "run_id")})
            and not (isinstance(d, tuple) and d[0] in ("add_fk", "remove_fk") and d[1].table.name == "simulation_runs")
            # (3) ADD COLUMN cannot add a REFERENCES clause with a default (migration 0011): the
            # project columns carry a CHECK on SQLite, a foreign key on PostgreSQL.
            and not (isinstance(d, tuple) and d[0] == "add_fk" and [c.name for c in d[1].columns] == ["project_id"])
        ]
    assert diffs == []


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO studies (study_id, study_type) VALUES ('s', 'annealing')",
        "INSERT INTO studies (study_id, study_type, status) VALUES ('s', 'milp', 'paused')",
        "INSERT INTO studies (study_id, study_type, progress_percent) VALUES ('s', 'milp', 100.5)",
        "INSERT INTO studies (study_id, study_type, progress_percent) VALUES ('s', 'milp', -1)",
        "INSERT INTO study_runs (run_id, study_id, evaluation_number, parameter_vector, fitness) "
        "VALUES ('r', 'no_such_study', 0, '[]', 1.0)",
    ],
)
def test_database_refuses_bad_rows_whoever_writes(service, db_url, statement):
    engine = plain_engine(db_url)
    try:
        # PostgreSQL: a run of a study that does not exist is not a run of the connection's project
        # either, and row-level security may refuse it before the foreign key does.
        with pytest.raises((sa.exc.IntegrityError, sa.exc.ProgrammingError) if "study_runs" in statement
                           else sa.exc.IntegrityError):
            with engine.begin() as conn:
                if engine.dialect.name == "sqlite":
                    conn.exec_driver_sql("PRAGMA foreign_keys = ON")
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def test_milp_is_a_study_type_and_duplicates_are_refused_by_the_database(service, db_url):
    service.create_study({"study_id": "m", "study_type": "milp"})
    engine = plain_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO study_runs (run_id, study_id, evaluation_number, parameter_vector, fitness) "
                "VALUES ('a', 'm', 0, '[]', 1.0)"
            )
        with pytest.raises(sa.exc.IntegrityError):
            with engine.begin() as conn:
                conn.exec_driver_sql(
                    "INSERT INTO study_runs (run_id, study_id, evaluation_number, parameter_vector, fitness) "
                    "VALUES ('b', 'm', 0, '[]', 2.0)"
                )
    finally:
        engine.dispose()


def test_deleting_a_study_cascades_to_its_runs_and_analyses(service, sql, db_url):
    service.create_study({"study_id": "s", "study_type": "monte_carlo"})
    service.log_study_runs([{"study_id": "s", "parameter_vector": [i], "fitness": float(i)} for i in range(3)])
    service.log_uncertainty_analysis({"study_id": "s", "objective_name": "fitness", "mean_value": 1.0})
    engine = plain_engine(db_url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys = ON")
            conn.exec_driver_sql("DELETE FROM studies WHERE study_id = 's'")
    finally:
        engine.dispose()
    assert sql("SELECT COUNT(*) AS n FROM study_runs")[0]["n"] == 0
    assert sql("SELECT COUNT(*) AS n FROM uncertainty_analysis")[0]["n"] == 0


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path):
    svc = DatabaseMetadataService(tmp_path / "fk.db")
    try:
        with svc.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
            with pytest.raises(sa.exc.IntegrityError):
                conn.exec_driver_sql(
                    "INSERT INTO study_runs (run_id, study_id, evaluation_number, parameter_vector, fitness) "
                    "VALUES ('r', 'missing', 0, '[]', 1.0)"
                )
    finally:
        svc.close()


def test_check_constraints_carry_their_intended_names(service, db_url, backend):
    """Refusals name the rule that refused: ck_<table>_<rule>, exactly once."""
    engine = plain_engine(db_url)
    try:
        with pytest.raises(sa.exc.IntegrityError) as caught:
            with engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO studies (study_id, study_type) VALUES ('s', 'milp')")
                conn.exec_driver_sql(
                    "INSERT INTO study_runs (run_id, study_id, evaluation_number, parameter_vector, fitness, simulation_status) "
                    "VALUES ('r', 's', 0, '[]', 1.0, 'exploded')"
                )
    finally:
        engine.dispose()
    message = str(caught.value.orig)
    if backend == "postgresql":
        assert '"ck_study_runs_simulation_status"' in message
    else:
        assert "CHECK constraint failed" in message
