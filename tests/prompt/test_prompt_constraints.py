"""The database refuses bad rows whoever writes them (plain SQL here, not the store), on both
backends; scores are exact to 4 decimals; deleting a run or a project cascades."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from prompt_fixtures import plain_engine, sql, store, store_b  # noqa: F401

RUN = "INSERT INTO optimization_runs (id, project_id, name, optimizer_type{cols}) VALUES ('r2', 'A', 'n', 'miprov2'{vals})"


def run_with(**columns) -> str:
    cols = "".join(f", {k}" for k in columns)
    vals = "".join(f", {v}" for v in columns.values())
    return RUN.format(cols=cols, vals=vals)


@pytest.fixture
def run_a(store):
    return store.create_run({"id": "r1", "name": "base", "optimizer_type": "miprov2"})["id"]


REFUSED = {
    "unknown optimizer": "INSERT INTO optimization_runs (id, project_id, name, optimizer_type) VALUES ('r2', 'A', 'n', 'dspy')",
    "unknown status": run_with(status="'paused'"),
    "final score above 1": run_with(final_score="1.5"),
    "baseline score below 0": run_with(baseline_score="-0.01"),
    "end before start": run_with(start_time="'2025-01-02 00:00:00'", end_time="'2025-01-01 23:59:59.999'"),
    "timestamp not in the store's format": run_with(start_time="'2025/01/02 10:00'"),
    "impossible date": run_with(start_time="'2025-02-30 10:00:00'"),
    "fewer evaluated than successful + failed": run_with(samples_evaluated="5", samples_successful="4", samples_failed="2"),
    "negative tokens": run_with(prompt_tokens="-1"),
    "config not an object": run_with(config="'[1, 2]'"),
    "writing a derived column": run_with(duration_ms="5"),
    "iteration score above 1": "INSERT INTO optimization_iterations (run_id, project_id, iteration, score) VALUES ('r1', 'A', 1, 1.0001)",
    "unknown evaluation kind": "INSERT INTO optimization_iterations (run_id, project_id, iteration, evaluation_kind) VALUES ('r1', 'A', 1, 'partial')",
    "negative iteration": "INSERT INTO optimization_iterations (run_id, project_id, iteration) VALUES ('r1', 'A', -1)",
    "iteration of no run": "INSERT INTO optimization_iterations (run_id, project_id, iteration) VALUES ('nope', 'A', 1)",
    "sample score below 0": "INSERT INTO optimization_samples (run_id, project_id, iteration, sample_index, score) VALUES ('r1', 'A', 0, 0, -0.5)",
    "run of no project": "INSERT INTO optimization_runs (id, project_id, name, optimizer_type) VALUES ('r3', 'ghost', 'n', 'gepa')",
}


@pytest.mark.parametrize("statement", list(REFUSED.values()), ids=list(REFUSED))
def test_database_refuses(run_a, db_url, backend, statement):
    # (A run of an unknown project meets row-level security first where it applies, the foreign key otherwise.)
    engine = plain_engine(db_url)
    try:
        with pytest.raises(sa.exc.DBAPIError) as caught:
            with engine.begin() as conn:
                conn.execute(sa.text(statement))
        assert isinstance(caught.value, (sa.exc.IntegrityError, sa.exc.ProgrammingError, sa.exc.DataError, sa.exc.OperationalError))
    finally:
        engine.dispose()


def test_duplicates_are_refused(run_a, sql):
    sql("INSERT INTO optimization_iterations (run_id, project_id, iteration) VALUES ('r1', 'A', 1)")
    sql("INSERT INTO optimization_samples (run_id, project_id, iteration, sample_index) VALUES ('r1', 'A', 1, 0)")
    with pytest.raises(sa.exc.IntegrityError):
        sql("INSERT INTO optimization_iterations (run_id, project_id, iteration) VALUES ('r1', 'A', 1)")
    with pytest.raises(sa.exc.IntegrityError):
        sql("INSERT INTO optimization_samples (run_id, project_id, iteration, sample_index) VALUES ('r1', 'A', 1, 0)")


def test_a_child_row_cannot_claim_another_projects_run(run_a, store_b, db_url):
    store_b.create_run({"id": "rb", "name": "theirs", "optimizer_type": "gepa"})
    engine = plain_engine(db_url, "A")
    try:
        for statement in (
            "INSERT INTO optimization_iterations (run_id, project_id, iteration) VALUES ('rb', 'A', 1)",
            "INSERT INTO optimization_samples (run_id, project_id, iteration, sample_index) VALUES ('rb', 'A', 1, 0)",
        ):
            with pytest.raises(sa.exc.IntegrityError, match="(?i)foreign key"):
                with engine.begin() as conn:
                    conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_scores_are_exact_to_four_decimals(run_a, db_url, sql, backend):
    """Every 4-decimal score in [0, 1] is accepted and reads back exactly."""
    values = [k / 10_000 for k in range(10_001)]
    engine = plain_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO optimization_samples (run_id, project_id, iteration, sample_index, score) "
                        "VALUES ('r1', 'A', 0, :i, :s)"),
                [{"i": k, "s": v} for k, v in enumerate(values)],
            )
            back = dict(conn.execute(sa.text("SELECT sample_index, score FROM optimization_samples")).fetchall())
    finally:
        engine.dispose()
    for k, value in enumerate(values):
        if backend == "postgresql":
            assert back[k] == Decimal(k).scaleb(-4), (k, back[k])
        else:
            assert repr(back[k]) == repr(value), (k, back[k])
    if backend == "sqlite":  # more than 4 decimals: refused ...
        with pytest.raises(sa.exc.IntegrityError):
            sql("UPDATE optimization_samples SET score = 0.12345 WHERE sample_index = 1")
    else:  # ... or rounded by NUMERIC(7,4), half away from zero
        sql("UPDATE optimization_samples SET score = 0.12345 WHERE sample_index = 1")
        assert sql("SELECT score FROM optimization_samples WHERE sample_index = 1")[0]["score"] == Decimal("0.1235")


def test_deleting_a_run_or_project_cascades(store, sql, backend):
    run = store.create_run({"name": "gone", "optimizer_type": "miprov2"})
    store.add_iterations(run["id"], [{"iteration": i, "score": 0.5} for i in range(3)])
    store.add_samples(run["id"], [{"iteration": 1, "sample_index": i} for i in range(4)])
    keep = store.create_run({"name": "kept", "optimizer_type": "miprov2"})
    store.add_samples(keep["id"], [{"iteration": 0, "sample_index": 0}])
    sql("DELETE FROM optimization_runs WHERE id = :id", id=run["id"])
    assert sql("SELECT count(*) AS n FROM optimization_iterations")[0]["n"] == 0
    assert sql("SELECT count(*) AS n FROM optimization_samples")[0]["n"] == 1
    sql("DELETE FROM projects WHERE id = 'A'")
    for table in ("optimization_runs", "optimization_samples"):
        assert sql(f"SELECT count(*) AS n FROM {table}")[0]["n"] == 0
