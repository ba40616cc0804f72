"""Projects own studies (migration 0011): a service, a reader and the CLI work in one project; a
study of another project answers as if it did not exist and nothing is written into it; on
PostgreSQL forced row-level security confines plain SQL and the DuckDB path over every study table
to the connection's project, for the application role as for the owner."""
from __future__ import annotations

import warnings

import pytest
import sqlalchemy as sa

from conftest import app_database, plain_engine
from storage import DatabaseMetadataService
from storage.errors import DuplicateError, UnknownStudyError, ValidationError
from storage.reader import Reader
from test_migrations import hive_cli  # tests/storage: the real entry point in a subprocess

# Every table keyed by a study, and the column that says which (simulation_runs: by its project).
STUDY_TABLES = ("studies", "study_labels", "study_runs", "intermediate_values", "pareto_fronts", "convergence_metrics",
                "uncertainty_analysis", "sensitivity_analysis", "decisions", "parameter_importance", "simulation_runs")
RUNS = 48  # enough for a Sobol' importance estimate


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shared_url(request, tmp_path):
    """One database two projects share: on PostgreSQL connected as the application role."""
    with app_database(request, tmp_path) as url:
        yield url


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres)])
def pg_shared_url(request, tmp_path):
    """The same, on PostgreSQL only (row-level security)."""
    with app_database(request, tmp_path) as url:
        yield url


def fill(url: str, project: str, study_id: str) -> None:
    """A study of ``project`` with a row in every study table."""
    with DatabaseMetadataService(url, project_id=project) as db:
        db.create_study({"study_id": study_id, "study_type": "genetic_algorithm", "optimization_objective": "cost,co2",
                         "parameter_names": ["x", "y"], "experiment": f"exp_{project}", "labels": {"seed": 1}})
        run_ids = db.log_study_runs([
            {"study_id": study_id, "generation_number": i // 8, "parameter_vector": [float(i % 7), float(i % 5)],
             "objectives": [float(i % 7), float(9 - i % 5)]} for i in range(RUNS)])
        db.log_intermediate_values(study_id, run_ids[0], [(0, 1.0), (1, 0.5)])
        db.log_simulation_run({"run_id": f"sim_{study_id}", "study_id": study_id, "total_cost": 3.0})
        db.update_study_status(study_id, "completed")
        db.log_uncertainty_analysis({"study_id": study_id, "objective_name": "cost", "mean_value": 1.0})
        db.log_sensitivity_analysis({"study_id": study_id, "parameter_name": "x", "rank_correlation": 0.5})
        db.record_decision({"study_id": study_id, "run_id": run_ids[14],  # (0, 5): on the front
                           "method": "manual", "rationale": "cheapest"})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            db.analyze_parameter_importance(study_id, "sobol")


def counts(url: str, project: str | None) -> dict[str, int]:
    engine = plain_engine(url, project)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in STUDY_TABLES}
    finally:
        engine.dispose()


def test_each_project_sees_and_touches_only_its_own_studies(shared_url):
    fill(shared_url, "A", "study_a")
    fill(shared_url, "B", "study_b")
    with DatabaseMetadataService(shared_url, project_id="B") as b:
        assert [s["study_id"] for s in b.list_studies()] == ["study_b"]
        assert [e["experiment"] for e in b.list_experiments()] == ["exp_B"]
        for read in (b.get_best_designs, b.get_pareto_front, b.get_convergence_history, b.get_study,
                     b.get_uncertainty_summary, b.get_decisions, b.query_study_runs):
            with pytest.raises(UnknownStudyError, match="study_a"):
                read("study_a")
        with pytest.raises(UnknownStudyError, match="study_a"):
            b.compare_studies(["study_b", "study_a"])
        before = counts(shared_url, "A") if shared_url.startswith("postgresql") else None
        writes = [
            lambda: b.log_study_runs([{"study_id": "study_a", "parameter_vector": [1.0, 2.0], "objectives": [1.0, 1.0]}]),
            lambda: b.update_study_status("study_a", "failed"),
            lambda: b.log_convergence_metrics({"study_id": "study_a", "generation_number": 9, "best_fitness": 0.0}),
            lambda: b.log_simulation_run({"run_id": "sim_x", "study_id": "study_a"}),
            lambda: b.log_simulation_run({"run_id": "sim_y", "study_run_id": "study_a:0"}),
        ]
        for write in writes:
            with pytest.raises((UnknownStudyError, ValidationError)):
                write()
        with pytest.raises(DuplicateError, match="study_a"):  # study ids are unique across projects
            b.create_study({"study_id": "study_a", "study_type": "milp"})
    with DatabaseMetadataService(shared_url, project_id="A") as a:
        study = a.get_study("study_a")
        assert (study["run_count"], study["status"]) == (RUNS, "completed")
        assert [s["study_id"] for s in a.list_studies()] == ["study_a"]
    if before is not None:
        assert counts(shared_url, "A") == before


def test_row_level_security_confines_plain_sql_on_every_study_table(pg_shared_url):
    shared_url = pg_shared_url
    fill(shared_url, "A", "study_a")
    fill(shared_url, "B", "study_b")
    fill(shared_url, "B", "study_b2")
    a, b, none = counts(shared_url, "A"), counts(shared_url, "B"), counts(shared_url, None)
    assert all(n > 0 for n in a.values()), a  # the fixture reaches every table
    assert b == {t: 2 * n for t, n in a.items()}  # B's two studies hold twice what A's one does
    assert none == {t: 0 for t in STUDY_TABLES}  # no project set: no rows
    engine = plain_engine(shared_url, "B")
    try:
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            with engine.begin() as conn:  # writing into A's study from B's connection
                conn.execute(sa.text("INSERT INTO study_runs (run_id, study_id, evaluation_number, parameter_vector, "
                                     "fitness) VALUES ('x', 'study_a', 99, '[1]', 1.0)"))
        with engine.begin() as conn:  # and changing or deleting A's rows touches nothing
            assert conn.execute(sa.text("UPDATE studies SET status = 'failed' WHERE study_id = 'study_a'")).rowcount == 0
            assert conn.execute(sa.text("DELETE FROM study_runs WHERE study_id = 'study_a'")).rowcount == 0
    finally:
        engine.dispose()
    assert counts(shared_url, "A") == a


def test_the_duckdb_path_carries_the_project(pg_shared_url):
    shared_url = pg_shared_url
    fill(shared_url, "A", "study_a")
    fill(shared_url, "B", "study_b")
    for project, expected in (("A", ["study_a"]), ("B", ["study_b"])):
        reader = Reader(shared_url, project_id=project)
        try:
            frame = reader.analytics("SELECT DISTINCT study_id FROM db.study_runs ORDER BY study_id")
            assert frame["study_id"].tolist() == expected
            assert reader.analytics("SELECT count(*) AS n FROM db.studies")["n"][0] == 1
        finally:
            reader.close()


def test_the_cli_works_in_the_project_it_is_given(shared_url):
    fill(shared_url, "A", "study_a")
    fill(shared_url, "B", "study_b")
    listed = hive_cli("query", "list-studies", "--db", shared_url, "--project", "B", "--format", "csv")
    assert listed.returncode == 0, listed.stderr
    assert "study_b" in listed.stdout and "study_a" not in listed.stdout
    refused = hive_cli("query", "best-designs", "--study-id", "study_a", "--db", shared_url, "--project", "B")
    assert refused.returncode != 0 and "study_a" in refused.stderr and refused.stdout == ""
    default = hive_cli("query", "list-studies", "--db", shared_url, "--format", "csv")
    assert default.returncode == 0 and "study_a" not in default.stdout and "study_b" not in default.stdout


def test_a_project_id_that_cannot_be_one_is_refused(tmp_path):
    with pytest.raises(ValidationError, match="project_id='a b'"):
        DatabaseMetadataService(tmp_path / "x.db", project_id="a b")
