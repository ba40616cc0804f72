"""Bad input: one exception type, a message naming the field and the value, and nothing written."""
from __future__ import annotations

import pytest

from storage import DuplicateError, HiveError, ValidationError
from storage.jsonfields import MAX_JSON_BYTES

DROP = "<drop this field>"


def _nested(depth):
    value = [1]
    for _ in range(depth - 1):
        value = [value]
    return value


GOOD = {"study_id": "s", "parameter_vector": [1.0, 2.0], "parameter_names": ["a", "b"], "fitness": 1.0}


def _counts(sql):
    return (
        sql("SELECT COUNT(*) AS n FROM studies")[0]["n"],
        sql("SELECT COUNT(*) AS n FROM study_runs")[0]["n"],
        sql("SELECT run_count FROM studies WHERE study_id = 's'")[0]["run_count"],
    )


@pytest.fixture
def study(service):
    service.create_study({
        "study_id": "s", "study_type": "genetic_algorithm", "objective_directions": ["minimize", "maximize"],
    })
    service.log_study_run({**GOOD, "objectives": [1.0, 2.0], "evaluation_number": 0})
    return service


RUN_CASES = [
    ("missing field", {"parameter_vector": None}, ValidationError, ["parameter_vector"]),
    ("a name twice", {"parameter_names": ["a", "a"]}, ValidationError, ["parameter_names names 'a' twice"]),
    ("objective names short", {"objectives": {"x": 1.0}}, ValidationError, ["objectives names ['x']", "declares 2"]),
    ("run state too long", {"run_state": "x" * 41}, ValidationError, ["run_state='xxx"]),
    ("number as text", {"fitness": "1.5"}, ValidationError, ["fitness='1.5'"]),
    ("bool as number", {"fitness": True}, ValidationError, ["fitness=True"]),
    ("bool as count", {"evaluation_number": True}, ValidationError, ["evaluation_number=True"]),
    ("negative count", {"generation_number": -1}, ValidationError, ["generation_number=-1"]),
    ("text in vector", {"parameter_vector": [1.0, "x"]}, ValidationError, ["parameter_vector[1]='x'"]),
    ("unknown field", {"fitnes": 2.0}, ValidationError, ["fitnes=2.0", "did you mean 'fitness'"]),
    ("duplicate number", {"evaluation_number": 0}, DuplicateError, ["evaluation_number=0", "'s'"]),
    ("names length", {"parameter_names": ["a"]}, ValidationError, ["parameter_vector has 2 values", "1 names"]),
    ("objectives length", {"objectives": [1.0, 2.0, 3.0]}, ValidationError, ["objectives=[1.0, 2.0, 3.0]", "declares 2"]),
    ("bad simulation status", {"simulation_status": "exploded"}, ValidationError, ["simulation_status='exploded'"]),
    ("NUL in text", {"run_id": "a\x00b"}, ValidationError, ["run_id='a\\x00b'", "NUL"]),
    ("lone surrogate", {"run_id": "a\ud800"}, ValidationError, ["run_id=", "surrogate"]),
    ("NUL inside JSON", {"metadata_json": {"note": ["ok", "x\x00y"]}}, ValidationError, ["metadata_json", "NUL"]),
    ("surrogate inside JSON", {"metadata_json": {"k\udcff": 1}}, ValidationError, ["metadata_json", "surrogate"]),
    ("JSON over the cap", {"metadata_json": {"blob": "x" * (MAX_JSON_BYTES + 1)}}, ValidationError, ["metadata_json", "cap"]),
    ("JSON text invalid", {"constraint_violations": "{not json"}, ValidationError, ["constraint_violations", "not valid JSON"]),
    ("too deep JSON", {"metadata_json": _nested(70)}, ValidationError, ["metadata_json", "deeper"]),
    ("not a dict", "just text", ValidationError, ["study_run"]),
]


@pytest.mark.parametrize("case, change, error, fragments", RUN_CASES, ids=[c[0] for c in RUN_CASES])
def test_bad_study_run_is_refused_and_nothing_is_written(study, sql, case, change, error, fragments):
    before = _counts(sql)
    if isinstance(change, dict):
        record = {k: v for k, v in {**GOOD, "objectives": [3.0, 4.0], **change}.items() if v != DROP}
    else:
        record = change
    with pytest.raises(error) as caught:
        study.log_study_run(record)
    assert isinstance(caught.value, HiveError)
    for fragment in fragments:
        assert fragment in str(caught.value)
    # the same record inside a batch of good ones: the whole batch is refused
    if isinstance(change, dict):
        batch = [{**GOOD, "objectives": [1.0, 1.0]} for _ in range(5)] + [record]
        with pytest.raises(error):
            study.log_study_runs(batch)
    assert _counts(sql) == before


STUDY_CASES = [
    ("study type outside the enum", {"study_type": "annealing"}, ["study_type='annealing'"]),
    ("status outside the enum", {"status": "paused"}, ["status='paused'"]),
    ("progress over 100", {"progress_percent": 100.01}, ["progress_percent=100.01"]),
    ("progress below 0", {"progress_percent": -3}, ["progress_percent=-3"]),
    ("direction word", {"objective_directions": ["minimise"]}, ["objective_directions[0]='minimise'"]),
    ("reference point length", {"objective_directions": ["minimize"] * 2, "reference_point": [1.0]}, ["reference_point=[1.0]"]),
    ("objective names and directions", {"optimization_objective": "a,b,c", "objective_directions": ["minimize"]}, ["optimization_objective='a,b,c'"]),
    ("missing study_type", {"study_type": DROP}, ["study_type: required field missing"]),
    ("empty id", {"study_id": ""}, ["study_id=''"]),
    ("id too long", {"study_id": "x" * 201}, ["study_id='xxxxx", "200"]),
    ("NUL in name", {"study_name": "a\x00"}, ["study_name='a\\x00'"]),
    ("NaN in constraints", {"optimization_constraints": {"limit": float("nan")}}, ["optimization_constraints"]),
]


@pytest.mark.parametrize("case, change, fragments", STUDY_CASES, ids=[c[0] for c in STUDY_CASES])
def test_bad_study_is_refused(service, sql, case, change, fragments):
    record = {"study_id": "new", "study_type": "monte_carlo", **change}
    record = {k: v for k, v in record.items() if v != DROP}
    with pytest.raises(ValidationError) as caught:
        service.create_study(record)
    for fragment in fragments:
        assert fragment in str(caught.value)
    assert sql("SELECT COUNT(*) AS n FROM studies")[0]["n"] == 0


def test_duplicate_study_and_duplicate_run_id(study, sql):
    with pytest.raises(DuplicateError, match="study_id='s' already exists"):
        study.create_study({"study_id": "s", "study_type": "milp"})
    with pytest.raises(DuplicateError, match="run_id='s:0' already exists"):
        study.log_study_run({**GOOD, "run_id": "s:0", "objectives": [1.0, 1.0]})
    assert _counts(sql)[1] == 1
