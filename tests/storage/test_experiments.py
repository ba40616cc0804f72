"""Experiments, labels and decisions in the store, on SQLite and PostgreSQL.

What is written is read back with plain SQL (``sql`` fixture), never through the code under test;
every refusal names the field and the value and leaves the database as it was.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from storage import NotFoundError, UnknownStudyError, ValidationError


def _study(study_id: str, experiment: str | None = "zdt1", labels=None, objectives=("f1", "f2")) -> dict:
    record = {"study_id": study_id, "study_type": "genetic_algorithm", "optimization_objective": ",".join(objectives),
              "objective_directions": ["minimize"] * len(objectives)}
    if experiment is not None:
        record["experiment"] = experiment
    if labels is not None:
        record["labels"] = labels
    return record


def test_experiment_and_labels_are_stored_as_given_and_indexed_by_canonical_value(service, sql):
    service.create_study(_study("a", labels={"algorithm": "NSGA-II", "pop": 80.0, "seed": 3, "rate": 0.25}))
    row = sql("SELECT experiment, labels FROM studies WHERE study_id = 'a'")[0]
    assert row["experiment"] == "zdt1"
    assert json.loads(row["labels"]) == {"algorithm": "NSGA-II", "pop": 80.0, "seed": 3, "rate": 0.25}
    assert list(json.loads(row["labels"])) == ["algorithm", "pop", "seed", "rate"]           # order as given
    assert "80.0" in row["labels"]                                                            # as given
    labels = {r["name"]: r["value"] for r in sql("SELECT name, value FROM study_labels WHERE study_id = 'a'")}
    # canonical JSON text: a whole number as an integer, text quoted
    assert labels == {"algorithm": '"NSGA-II"', "pop": "80", "seed": "3", "rate": "0.25"}


def test_labels_as_json_text_and_no_labels(service, sql):
    service.create_study(_study("t", labels='{"algorithm": "SMS-EMOA", "seed": 1}'))
    service.create_study(_study("none", experiment=None))
    assert json.loads(sql("SELECT labels FROM studies WHERE study_id = 't'")[0]["labels"]) == {"algorithm": "SMS-EMOA",
                                                                                               "seed": 1}
    assert sql("SELECT experiment, labels FROM studies WHERE study_id = 'none'") == [{"experiment": None, "labels": None}]
    assert sql("SELECT COUNT(*) AS n FROM study_labels WHERE study_id = 'none'")[0]["n"] == 0


def test_list_studies_filters_by_experiment_and_labels(service):
    service.create_study(_study("n1", labels={"algorithm": "NSGA-II", "pop": 80, "seed": 1}))
    service.create_study(_study("n2", labels={"algorithm": "NSGA-II", "pop": 80.0, "seed": 2}))
    service.create_study(_study("s1", labels={"algorithm": "SMS-EMOA", "pop": "80", "seed": 1}))
    service.create_study(_study("other", experiment="dtlz2", labels={"algorithm": "NSGA-II"}))

    def ids(**filters):
        return sorted(r["study_id"] for r in service.list_studies(**filters))

    assert ids(experiment="zdt1") == ["n1", "n2", "s1"]
    assert ids(labels={"algorithm": "NSGA-II"}) == ["n1", "n2", "other"]
    assert ids(experiment="zdt1", labels={"algorithm": "NSGA-II"}) == ["n1", "n2"]
    assert ids(labels={"pop": 80}) == ["n1", "n2"]          # 80 and 80.0 are one value...
    assert ids(labels={"pop": 80.0}) == ["n1", "n2"]
    assert ids(labels={"pop": "80"}) == ["s1"]              # ...the text "80" is another
    assert ids(labels={"algorithm": "NSGA-II", "seed": 1}) == ["n1"]
    assert ids(labels={"seed": 7}) == [] and ids(experiment="nope") == []
    rows = {r["study_id"]: r for r in service.list_studies(experiment="zdt1")}
    assert rows["n2"]["experiment"] == "zdt1" and rows["n2"]["labels"] == {"algorithm": "NSGA-II", "pop": 80.0, "seed": 2}
    from storage.studies import queries

    assert queries.count_studies(service.reader, labels={"algorithm": "NSGA-II"}, experiment="zdt1") == 2
    with pytest.raises(ValidationError, match=r"labels\['seed'\]=True"):
        service.list_studies(labels={"seed": True})


def test_experiments_are_listed_with_their_labels_and_studies(service):
    service.create_study(_study("n1", labels={"algorithm": "NSGA-II", "seed": 1}))
    service.create_study(_study("n2", labels={"algorithm": "NSGA-II", "seed": 2.0}))
    service.create_study(_study("s1", labels={"algorithm": "SMS-EMOA", "seed": 1}))
    service.create_study(_study("loose", experiment=None, labels={"algorithm": "x"}))
    service.log_study_runs([{"study_id": "n1", "objectives": [1.0, 2.0]}, {"study_id": "s1", "objectives": [2.0, 1.0]}])
    experiments = service.list_experiments()
    assert experiments == [{"experiment": "zdt1", "studies": 3, "runs": 2, "updated_at": experiments[0]["updated_at"],
                            "labels": {"algorithm": 2, "seed": 2}}]
    from storage.studies import queries

    frame = queries.experiment_studies(service.reader, "zdt1")
    assert frame["study_id"].tolist() == ["n1", "n2", "s1"]
    assert frame["labels"].tolist() == [{"algorithm": "NSGA-II", "seed": 1}, {"algorithm": "NSGA-II", "seed": 2},
                                        {"algorithm": "SMS-EMOA", "seed": 1}]
    with pytest.raises(NotFoundError, match=r"experiment='zdt2': no such experiment \(experiments here: 'zdt1'\)"):
        queries.experiment_studies(service.reader, "zdt2")


@pytest.mark.parametrize("field, value, message", [
    ("labels", {"seed": True}, r"labels\['seed'\]=True: a label value is short text or a number, not true/false"),
    ("labels", {"tags": ["a", "b"]}, r"labels\['tags'\]=\['a', 'b'\]: a label value is short text or a number, not list"),
    ("labels", {"cfg": {"a": 1}}, r"labels\['cfg'\]=\{'a': 1\}: .* not dict"),
    ("labels", {"rate": float("nan")}, r"labels\['rate'\]=nan: a label value is a finite number"),
    ("labels", {"rate": float("inf")}, r"labels\['rate'\]=inf: a label value is a finite number"),
    ("labels", {"note": None}, r"labels\['note'\]=None: .* not NoneType"),
    ("labels", {"note": ""}, r"labels\['note'\]='': a text label holds 1 to 200 characters"),
    ("labels", {"note": "x" * 201}, r"labels\['note'\]='xxx.*: a text label holds 1 to 200 characters"),
    ("labels", {"big": 2**60}, r"labels\['big'\]=1152921504606846976: numbers beyond 2\*\*53"),
    ("labels", {"": 1}, r"labels name '': expected non-empty text"),
    ("labels", {"a\x00b": 1}, r"contains a NUL character"),
    ("labels", ["algorithm", "NSGA-II"], r"labels=\['algorithm', 'NSGA-II'\]: expected an object"),
    ("labels", "{not json", r"labels='\{not json': not valid JSON"),
    ("labels", {f"l{i}": i for i in range(33)}, r"labels has 33 labels; at most 32"),
    ("experiment", "", r"experiment='': expected non-empty text"),
    ("experiment", 7, r"experiment=7: expected non-empty text"),
    ("experiment", "e" * 201, r"experiment='eee.*: at most 200 characters"),
    ("experiment", "a\x00", r"contains a NUL character"),
])
def test_bad_experiment_or_labels_are_refused_naming_field_and_value_and_nothing_is_written(service, sql, field, value,
                                                                                           message):
    record = _study("bad", labels={"algorithm": "NSGA-II"})
    record[field] = value
    with pytest.raises(ValidationError, match=message) as caught:
        service.create_study(record)
    assert str(caught.value).startswith("study: ") and str(caught.value).endswith("nothing was written")
    assert sql("SELECT COUNT(*) AS n FROM studies")[0]["n"] == 0
    assert sql("SELECT COUNT(*) AS n FROM study_labels")[0]["n"] == 0


# ------------------------------------------------------------------------------------ decisions

# cost, co2 (both minimized); by hand: (1,9) (2,6) (4,4) (7,2) are the front; (5,7) is dominated by (4,4);
# run 5 is the design of run 2 evaluated again; run 6 would dominate everything but failed.
RUNS = [([1.0], [1.0, 9.0], "success"), ([2.0], [2.0, 6.0], "success"), ([3.0], [4.0, 4.0], "success"),
        ([4.0], [7.0, 2.0], "success"), ([5.0], [5.0, 7.0], "success"), ([3.0], [4.0, 4.0], "success"),
        ([6.0], [0.0, 0.0], "failed")]


def _front_study(service, study_id: str = "moo", complete: bool = True) -> None:
    service.create_study({"study_id": study_id, "study_type": "genetic_algorithm", "optimization_objective": "cost,co2",
                          "objective_directions": ["minimize", "minimize"], "parameter_names": ["x"]})
    service.log_study_runs([{"study_id": study_id, "generation_number": 0, "parameter_vector": p, "objectives": o,
                             "simulation_status": s, **({"fitness": float("inf")} if s == "failed" else {})}
                            for p, o, s in RUNS])
    if complete:
        service.update_study_status(study_id, "completed")


def _utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)


@pytest.mark.parametrize("complete", [True, False], ids=["completed", "running"])
def test_a_decision_is_written_with_the_stores_time_and_history_is_kept(service, sql, complete):
    _front_study(service, complete=complete)
    first = service.record_decision({"study_id": "moo", "run_id": "moo:2", "method": "topsis",
                                     "settings": {"weights": [0.7, 0.3]}, "rationale": "balanced; cheap enough",
                                     "decided_by": "Ana"})
    # the same design evaluated again (run 5) is on the front too
    second = service.record_decision({"study_id": "moo", "run_id": "moo:5", "method": "manual"})
    rows = sql("SELECT * FROM decisions ORDER BY decision_id")
    assert [r["decision_id"] for r in rows] == [first, second]
    assert rows[0] | {"decided_at": None} == {
        "decision_id": first, "study_id": "moo", "run_id": "moo:2", "method": "topsis",
        "settings": '{"weights":[0.7,0.3]}', "rationale": "balanced; cheap enough", "decided_by": "Ana",
        "decided_at": None}
    assert rows[1]["settings"] is None and rows[1]["rationale"] is None and rows[1]["decided_by"] is None
    now = datetime.now(timezone.utc)
    assert all(now - timedelta(minutes=2) <= _utc(r["decided_at"]) <= now + timedelta(seconds=1) for r in rows)

    history = service.get_decisions("moo")
    assert [h["decision_id"] for h in history] == [second, first]      # the latest first
    assert history[1]["settings"] == {"weights": [0.7, 0.3]} and history[1]["objectives"] == [4.0, 4.0]
    assert history[1]["parameter_vector"] == [3.0] and history[1]["evaluation_number"] == 2


@pytest.mark.parametrize("complete", [True, False], ids=["completed", "running"])
@pytest.mark.parametrize("decision, message", [
    ({"run_id": "moo:4"}, r"run_id='moo:4' is not on the current front of study_id='moo' \(another design dominates it\)"),
    ({"run_id": "moo:6"}, r"run_id='moo:6' did not succeed \(simulation_status='failed'\)"),
    ({"run_id": "other:0"}, r"run_id='other:0' is not a run of study_id='moo'"),
    ({"run_id": "nope"}, r"run_id='nope' is not a run of study_id='moo'"),
    ({"method": "vibes"}, r"decision: method='vibes': Input should be 'knee', 'pseudo_weights', 'asf', 'topsis' or 'manual'"),
    ({"settings": [0.5, 0.5]}, r"decision: settings=\[0.5, 0.5\]: Input should be a valid dictionary"),
    ({"settings": {"w": float("nan")}}, r"decision: settings=\{'w': nan\}: Out of range float values are not JSON"),
    ({"decided_at": "2020-01-01"}, r"decision: decided_at='2020-01-01': unknown field"),
    ({"decided_by": 7}, r"decision: decided_by=7: Input should be a valid string"),
    ({"rationale": "a\x00b"}, r"rationale='a\\x00b': text contains a NUL character"),
    ({"rationale": "\ud800"}, r"decision: rationale='\\ud800': text is not valid Unicode \(lone surrogate\)"),
])
def test_a_bad_decision_is_refused_naming_field_and_value_and_nothing_is_written(service, sql, complete, decision,
                                                                                  message):
    _front_study(service, complete=complete)
    _front_study(service, "other")
    record = {"study_id": "moo", "run_id": "moo:1", "method": "knee", **decision}
    with pytest.raises(ValidationError, match=message):
        service.record_decision(record)
    assert sql("SELECT COUNT(*) AS n FROM decisions")[0]["n"] == 0


def test_decisions_of_an_unknown_study_and_of_a_single_objective_study(service, sql):
    with pytest.raises(UnknownStudyError, match=r"study_id='ghost': no such study"):
        service.record_decision({"study_id": "ghost", "run_id": "x", "method": "manual"})
    with pytest.raises(UnknownStudyError):
        service.get_decisions("ghost")
    service.create_study({"study_id": "single", "study_type": "genetic_algorithm", "objective_directions": ["maximize"]})
    service.log_study_runs([{"study_id": "single", "fitness": v} for v in (1.0, 5.0, 3.0)])
    # one objective: any successful run may be chosen (there is no front to be on)
    decision_id = service.record_decision({"study_id": "single", "run_id": "single:2", "method": "manual",
                                           "rationale": "third is cheaper to build"})
    assert sql("SELECT run_id FROM decisions WHERE decision_id = :d", d=decision_id) == [{"run_id": "single:2"}]
