"""``log_study_runs`` given columns (a dict of lists / numpy arrays, a DataFrame, a pyarrow Table):
the same stored rows as the same runs given as records, byte for byte, and the same refusals.

Each test logs one batch as records into study ``rec`` and the same batch as columns into study
``col`` (declared alike), then compares every stored column of the two studies with plain SQL."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from storage import ValidationError
from storage.errors import DuplicateError

N = 40
NAMES = ["a", "b", "c"]
# Every stored column but the two that name the study.
COMPARED = ("evaluation_number, generation_number, parameter_vector, parameter_names, fitness, objectives, "
            "constraint_violations, simulation_status, evaluation_time_seconds, solver_time_seconds, "
            "is_pareto_optimal, domination_count, created_at, metadata_json, run_state, design_key")


def declare(service, study_id: str) -> None:
    service.create_study({"study_id": study_id, "study_type": "genetic_algorithm", "optimization_objective": "cost,co2",
                          "objective_directions": ["minimize", "maximize"], "parameter_names": NAMES})


def batch(study_id: str) -> dict[str, list]:
    """N runs as columns of Python values, using every field a run record has (but simulation_run_id)."""
    rng = np.random.default_rng(7)
    X = rng.uniform(-5, 5, (N, 3))
    X[3] = [-0.0, 0.0, 2.0]                         # -0.0 is kept in the vector, 0.0 in the design key
    F = rng.normal(size=(N, 2))
    F[5, 1], F[6, 0], F[7, 1] = math.nan, math.inf, -math.inf
    start = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
    status = ["success", "failed", "infeasible", "success"]
    return {
        "study_id": [study_id] * N,
        "run_id": [f"{study_id}-own-{i}" if i % 5 == 0 else None for i in range(N)],
        "evaluation_number": [2 * i for i in range(N)],
        "generation_number": [i // 10 for i in range(N)],
        "parameter_vector": X.tolist(),
        "fitness": [None if i % 3 else float(F[i, 0]) - 1 for i in range(N)],
        "objectives": F.tolist(),
        "constraint_violations": [{"g": [float(i) - 20]} if i % 4 == 0 else None for i in range(N)],
        "simulation_status": [status[i % 4] for i in range(N)],
        "evaluation_time_seconds": [0.25 * i for i in range(N)],
        "solver_time_seconds": [None] * (N - 1) + [1.5],
        "is_pareto_optimal": [i % 7 == 0 for i in range(N)],
        "domination_count": [i % 3 for i in range(N)],
        "metadata_json": [{"seed": i} if i % 2 else None for i in range(N)],
        "run_state": ["complete" if i % 2 else "pruned" for i in range(N)],
        "created_at": [start + timedelta(seconds=i) for i in range(N)],
    }


def records(columns: dict[str, list]) -> list[dict]:
    """The same runs as records; a record leaves out what it has no value for (None)."""
    return [{k: v[i] for k, v in columns.items() if v[i] is not None} for i in range(len(columns["study_id"]))]


def stored(sql, study_id: str) -> list[dict]:
    rows = sql(f"SELECT run_id, {COMPARED} FROM study_runs WHERE study_id = :s ORDER BY evaluation_number",
               s=study_id)
    for row in rows:
        row["run_id"] = row["run_id"].replace(study_id, "<study>", 1)
    return rows


def study_summary(sql, study_id: str) -> dict:
    row = sql("SELECT run_count, best_fitness, best_solution_id, status FROM studies WHERE study_id = :s",
              s=study_id)[0]
    row["best_solution_id"] = row["best_solution_id"].replace(study_id, "<study>", 1)
    return row


def as_numpy(columns: dict[str, list]) -> dict:
    """Numeric columns as numpy arrays, vectors as 2-D arrays; the rest stays lists."""
    given = dict(columns)
    given["parameter_vector"] = np.array(columns["parameter_vector"])
    given["objectives"] = np.array(columns["objectives"])
    given["evaluation_number"] = np.array(columns["evaluation_number"], dtype=np.int64)
    given["generation_number"] = np.array(columns["generation_number"], dtype=np.int32)
    given["evaluation_time_seconds"] = np.array(columns["evaluation_time_seconds"])
    given["is_pareto_optimal"] = np.array(columns["is_pareto_optimal"])
    given["domination_count"] = np.array(columns["domination_count"], dtype=np.uint16)
    return given


def as_dataframe(columns: dict[str, list]) -> pd.DataFrame:
    """A DataFrame as an analyst builds it: one column per named parameter and objective."""
    frame = pd.DataFrame({k: v for k, v in columns.items() if k not in ("parameter_vector", "objectives")})
    frame[NAMES] = np.array(columns["parameter_vector"])
    frame[["cost", "co2"]] = np.array(columns["objectives"])
    frame["fitness"] = frame["fitness"].astype(object).where(frame["fitness"].notna(), None)
    frame["solver_time_seconds"] = frame["solver_time_seconds"].astype(object).where(
        frame["solver_time_seconds"].notna(), None)
    frame["created_at"] = pd.to_datetime(frame["created_at"])
    return frame


def as_arrow(columns: dict[str, list]) -> pa.Table:
    plain = {k: v for k, v in columns.items() if k not in ("constraint_violations", "metadata_json")}
    table = pa.table(plain)
    # JSON fields travel as JSON text in Arrow (a column of dicts of different shapes has no Arrow type).
    import json
    for name in ("constraint_violations", "metadata_json"):
        table = table.append_column(name, pa.array([None if v is None else json.dumps(v) for v in columns[name]]))
    return table


@pytest.mark.parametrize("shape", ["lists", "numpy", "dataframe", "arrow"])
def test_columns_store_the_same_rows_as_records(service, sql, shape):
    declare(service, "rec")
    declare(service, "col")
    rec_ids = service.log_study_runs(records(batch("rec")))
    columns = batch("col")
    given = {"lists": lambda c: c, "numpy": as_numpy, "dataframe": as_dataframe, "arrow": as_arrow}[shape](columns)
    col_ids = service.log_study_runs(given)

    assert [i.replace("col", "<study>", 1) for i in col_ids] == [i.replace("rec", "<study>", 1) for i in rec_ids]
    expected, got = stored(sql, "rec"), stored(sql, "col")
    assert len(got) == N
    for want, have in zip(expected, got):
        assert have == want
    assert study_summary(sql, "col") == study_summary(sql, "rec")
    # Known answers, independent of either path: -0.0 stays in the vector, the NaN objective is kept,
    # fitness falls back to the first objective.
    row3 = sql("SELECT parameter_vector, fitness FROM study_runs WHERE study_id = 'col' AND evaluation_number = 6")[0]
    assert row3["parameter_vector"].startswith("[-0.0,0.0,2.0")
    objectives = batch("x")["objectives"]
    assert row3["fitness"] == objectives[3][0] - 1  # given
    row4 = sql("SELECT fitness FROM study_runs WHERE study_id = 'col' AND evaluation_number = 8")[0]
    assert row4["fitness"] == objectives[4][0]      # not given: the first objective
    assert sql("SELECT objectives FROM study_runs WHERE study_id = 'col' AND evaluation_number = 10")[0][
        "objectives"].endswith('"NaN"]')


def test_parameters_and_objectives_by_name_in_any_column_order(service, sql):
    declare(service, "rec")
    declare(service, "col")
    X = np.arange(12, dtype=float).reshape(4, 3)
    F = np.arange(8, dtype=float).reshape(4, 2) / 8
    service.log_study_runs([{"study_id": "rec", "parameter_vector": x, "objectives": f} for x, f in zip(X.tolist(), F.tolist())])
    service.log_study_runs({"co2": F[:, 1], "c": X[:, 2], "study_id": ["col"] * 4, "a": X[:, 0], "cost": F[:, 0],
                            "b": X[:, 1]})
    assert [r["parameter_vector"] for r in stored(sql, "col")] == ["[0.0,1.0,2.0]", "[3.0,4.0,5.0]",
                                                                  "[6.0,7.0,8.0]", "[9.0,10.0,11.0]"]
    assert [r["objectives"] for r in stored(sql, "col")] == [r["objectives"] for r in stored(sql, "rec")]


def test_integer_arrays_are_stored_as_the_records_integers_are(service, sql):
    declare(service, "rec")
    declare(service, "col")
    X = np.array([[1, 2, 3], [4, 5, 6]])
    service.log_study_runs([{"study_id": "rec", "parameter_vector": x, "fitness": 1} for x in X.tolist()])
    service.log_study_runs({"study_id": ["col", "col"], "parameter_vector": X, "fitness": np.array([1, 1])})
    assert stored(sql, "col") == stored(sql, "rec")
    assert stored(sql, "col")[0]["parameter_vector"] == "[1.0,2.0,3.0]"


def refusal(call) -> str:
    with pytest.raises(ValidationError) as error:
        call()
    return str(error.value)


BAD_CELLS = [
    ("parameter_vector", 2, [1.0, math.nan, 3.0]),
    ("parameter_vector", 4, [1.0, math.inf, 3.0]),
    ("evaluation_number", 1, -3),
    ("generation_number", 3, 1.5),
    ("simulation_status", 2, "crashed"),
    ("fitness", 3, "0.5"),
    ("fitness", 1, math.nan),
    ("evaluation_time_seconds", 2, -1.0),
    ("run_state", 1, "a\x00b"),
    ("study_id", 2, ""),
    ("is_pareto_optimal", 2, 1),
    ("objectives", 3, [1.0]),
]


@pytest.mark.parametrize("field, row, value", BAD_CELLS, ids=[f"{f}-{r}" for f, r, _ in BAD_CELLS])
def test_a_bad_cell_is_refused_as_the_record_path_refuses_it_and_nothing_is_written(service, sql, field, row, value):
    declare(service, "s")
    columns = {"study_id": ["s"] * 5, "parameter_vector": [[1.0, 2.0, 3.0]] * 5, "objectives": [[1.0, 2.0]] * 5,
               "evaluation_number": list(range(5))}
    columns.setdefault(field, [None] * 5)
    columns[field] = list(columns[field])
    columns[field][row] = value
    from_records = refusal(lambda: service.log_study_runs(records(columns)))
    from_columns = refusal(lambda: service.log_study_runs(columns))
    assert from_columns == from_records
    assert f"study_runs[{row}]" in from_columns and field in from_columns
    assert sql("SELECT COUNT(*) AS n FROM study_runs")[0]["n"] == 0
    assert sql("SELECT run_count FROM studies WHERE study_id = 's'")[0]["run_count"] == 0


def test_the_first_bad_row_is_named_whichever_column_holds_it(service):
    declare(service, "s")
    columns = {"study_id": ["s"] * 6, "parameter_vector": [[1.0, 2.0, 3.0]] * 6,
               "evaluation_number": [0, 1, 2, 3, 4, -1], "run_state": ["ok", "ok", "", "ok", "ok", "ok"]}
    message = refusal(lambda: service.log_study_runs(columns))
    assert message == refusal(lambda: service.log_study_runs(records(columns)))
    assert message.startswith("study_runs[2]: run_state=''")


def test_a_nan_parameter_in_a_named_column_is_refused_naming_row_and_column(service, sql):
    declare(service, "s")
    frame = pd.DataFrame({"study_id": ["s"] * 3, "a": [1.0, 2.0, 3.0], "b": [1.0, np.nan, 3.0], "c": [0.0] * 3,
                          "fitness": [1.0] * 3})
    assert refusal(lambda: service.log_study_runs(frame)).startswith("study_runs[1]: b=nan")
    assert sql("SELECT COUNT(*) AS n FROM study_runs")[0]["n"] == 0


@pytest.mark.parametrize("columns, expected", [
    ({"study_id": "s", "fitness": [1.0]}, "column study_id='s': a column is a list or array of values"),
    ({"study_id": ["s"], "fitness": np.array(1.0)}, "column fitness=array(1.): a column is a list or array"),
    ({"study_id": ["s"], "fitness": 1.0}, "column fitness=1.0: a column is a list or array"),
    ({"study_id": ["s", "s"], "fitness": [1.0]}, "column 'fitness' has 1 values but column 'study_id' has 2"),
    ({"fitness": [1.0]}, "study_runs[0]: study_id: required field missing"),
    ({"study_id": ["s"], "fitnes": [1.0]}, "column 'fitnes' is neither a field of a study run nor a parameter"),
    ({"study_id": ["s"], "a": [1.0], "b": [2.0], "fitness": [1.0]}, "no column 'c': study 's' names its parameters"),
    ({"study_id": ["s"], "parameter_vector": [[1.0, 2.0, 3.0]], "a": [1.0], "b": [2.0], "c": [3.0], "fitness": [1.0]},
     "parameter_vector is given twice"),
    ({"study_id": ["s"], "parameter_vector": np.zeros((1, 3, 1))}, "is a 3-D array"),
    ({"study_id": ["s"], "evaluation_number": np.zeros((1, 2), dtype=int)}, "only parameter_vector and objectives may be 2-D"),
])
def test_a_malformed_batch_is_refused_naming_the_column(service, sql, columns, expected):
    declare(service, "s")
    assert expected in refusal(lambda: service.log_study_runs(columns))
    assert sql("SELECT COUNT(*) AS n FROM study_runs")[0]["n"] == 0


def test_named_columns_need_the_batch_studies_to_name_the_same_parameters(service, sql):
    declare(service, "s")
    service.create_study({"study_id": "t", "study_type": "genetic_algorithm", "parameter_names": ["p", "q", "r"]})
    columns = {"study_id": ["s", "t"], "a": [1.0, 1.0], "b": [1.0, 1.0], "c": [1.0, 1.0], "fitness": [1.0, 1.0]}
    assert "name different ones" in refusal(lambda: service.log_study_runs(columns))
    assert sql("SELECT COUNT(*) AS n FROM study_runs")[0]["n"] == 0


def test_duplicates_and_an_empty_batch(service, sql):
    declare(service, "s")
    assert service.log_study_runs({"study_id": [], "fitness": []}) == []
    assert service.log_study_runs(pd.DataFrame({"study_id": [], "fitness": []})) == []
    service.log_study_runs({"study_id": ["s"], "evaluation_number": [0], "fitness": [1.0]})
    with pytest.raises(DuplicateError, match="evaluation_number=0 is already taken"):
        service.log_study_runs({"study_id": ["s", "s"], "evaluation_number": np.array([1, 0]), "fitness": [1.0, 2.0]})
    assert sql("SELECT COUNT(*) AS n FROM study_runs")[0]["n"] == 1


def test_missing_values_of_pandas_are_missing(service, sql):
    declare(service, "s")
    frame = pd.DataFrame({"study_id": ["s"] * 3, "fitness": [1.0, 2.0, 3.0],
                          "generation_number": pd.array([0, None, 2], dtype="Int64"),
                          "simulation_status": pd.array(["success", None, "failed"], dtype="string"),
                          "created_at": pd.to_datetime(["2026-01-01 10:00:00+02:00", None, "2026-01-01 11:00:00+02:00"])})
    service.log_study_runs(frame)
    rows = sql("SELECT generation_number, simulation_status, created_at FROM study_runs ORDER BY evaluation_number")
    assert [r["generation_number"] for r in rows] == [0, None, 2]
    assert [r["simulation_status"] for r in rows] == ["success", "success", "failed"]
    assert str(rows[0]["created_at"]).startswith("2026-01-01 08:00:00")
    assert rows[1]["created_at"] is not None  # no time given: the time of logging, as for a record
