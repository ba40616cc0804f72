"""PromptOptimizationStore on both backends: validated writes (nothing partial), filters and pages
checked against the runs the test made, analytics and leaderboard computed here independently,
and every query confined to the store's project."""
from __future__ import annotations

import random

import pytest

from prompt_fixtures import sql, store, store_b  # noqa: F401
from storage.errors import DuplicateError, NotFoundError, ValidationError
from storage.prompts.store import PromptOptimizationStore


def test_run_lifecycle(store):
    run = store.create_run({"name": "mipro", "optimizer_type": "miprov2", "config": {"model": "gpt-4o", "num_trials": 9},
                            "tags": ["a", "b", "a"], "baseline_score": 2 / 3})
    assert run["status"] == "pending" and run["tags"] == ["a", "b"] and run["baseline_score"] == 0.6667
    assert run["config"] == {"model": "gpt-4o", "num_trials": 9} and len(run["id"]) == 32
    started = store.start_run(run["id"])
    assert started["status"] == "running" and started["start_time"] is not None
    store.add_iterations(run["id"], [{"iteration": 1, "score": 0.8, "evaluation_kind": "minibatch"},
                                     {"iteration": 2, "score": 0.7, "evaluation_kind": "full"}])
    done = store.complete_run(run["id"])
    assert done["final_score"] == 0.7 == done["best_score"]  # from the best (full) iteration
    assert done["end_time"] >= done["start_time"] and done["improvement"] == pytest.approx(0.0333)
    assert store.update_run(run["id"], {"description": "kept"})["description"] == "kept"
    assert store.get_run(run["id"], with_iterations=True)["iterations"][1]["is_best"] is True
    assert store.delete_run(run["id"]) is True
    assert store.delete_run(run["id"]) is False
    with pytest.raises(NotFoundError, match=run["id"]):
        store.get_run(run["id"])


@pytest.mark.parametrize("record, message", [
    ({"name": "x", "optimizer_type": "mipro"}, "optimizer_type='mipro'"),
    ({"name": "x", "optimizer_type": "miprov2", "config": {"num_candiates": 3}}, "did you mean 'num_candidates'"),
    ({"name": "x", "optimizer_type": "miprov2", "config": {"num_trials": "9"}}, "config.num_trials='9'"),
    ({"name": "x", "optimizer_type": "bootstrap_fewshot", "config": {"max_rounds": 0}}, "config.max_rounds=0"),
    ({"name": "x", "optimizer_type": "gepa", "final_score": 1.2}, "final_score=1.2"),
    ({"name": "x", "optimizer_type": "gepa", "final_score": "0.5"}, "final_score='0.5'"),
    ({"name": "x", "optimizer_type": "gepa", "tags": ["ok", 3]}, "tags[1]=3"),
    ({"name": "x", "optimizer_type": "gepa", "metadata": {"x": float("nan")}}, "metadata"),
    ({"name": "x", "optimizer_type": "gepa", "start_time": "2025-01-02", "end_time": "2025-01-01"}, "end_time="),
    ({"name": "x", "optimizer_type": "gepa", "samples_evaluated": 1, "samples_failed": 2, "samples_successful": 0},
     "samples_evaluated=1"),
    ({"name": "x", "optimizer_type": "gepa", "nmae": "typo"}, "did you mean 'name'"),
])
def test_bad_runs_are_refused_by_name_and_value(store, sql, record, message):
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("(", r"\(")) as caught:
        store.create_run(record)
    assert "nothing was written" in str(caught.value)
    assert sql("SELECT count(*) AS n FROM optimization_runs")[0]["n"] == 0


def test_batches_are_all_or_nothing(store, sql):
    run = store.create_run({"name": "r", "optimizer_type": "custom"})["id"]
    good = [{"iteration": 0, "sample_index": i, "score": 0.5} for i in range(50)]
    with pytest.raises(ValidationError, match=r"samples\[37\]: score=7"):
        store.add_samples(run, good[:37] + [{"iteration": 0, "sample_index": 99, "score": 7}] + good[37:])
    assert store.add_samples(run, good[:10]) == 10
    with pytest.raises(DuplicateError, match="already exists"):
        store.add_samples(run, good[10:20] + good[5:6])  # one duplicate of a stored sample
    with pytest.raises(DuplicateError, match="appears twice"):
        store.add_iterations(run, [{"iteration": 1}, {"iteration": 1}])
    with pytest.raises(NotFoundError):
        store.add_samples("no-such-run", good)
    assert sql("SELECT count(*) AS n FROM optimization_samples")[0]["n"] == 10
    assert store.get_run(run)["samples_evaluated"] == 10
    assert sql("SELECT count(*) AS n FROM optimization_iterations")[0]["n"] == 0


def make_runs(store, n=40, seed=3):
    rng = random.Random(seed)
    made = []
    for i in range(n):
        status = rng.choice(["pending", "running", "completed", "completed", "failed", "cancelled"])
        optimizer = rng.choice(["miprov2", "bootstrap_fewshot", "gepa"])
        config = {"model": rng.choice(["gpt-4o", "gpt-4o-mini"]), "seed": rng.randint(0, 3)}
        if optimizer == "gepa":
            config["search"] = {"depth": rng.randint(1, 3), "greedy": rng.random() < 0.5}
        record = {"name": f"run{i}", "optimizer_type": optimizer, "status": status, "config": config,
                  "tags": rng.sample(["prod", "qa", "v2", "exp"], rng.randint(0, 3)),
                  "baseline_score": round(rng.uniform(0.2, 0.6), 4), "prompt_model_name": "gpt-4o"}
        if status == "completed":
            record["final_score"] = round(rng.uniform(0.3, 1.0), 4)
        run = store.create_run(record)
        run["_config"] = config
        made.append(run)
    return made


def test_filters_and_pages(store, store_b):
    made = make_runs(store)
    make_runs(store_b, 5, seed=9)  # another project's runs never show
    newest_first = sorted(made, key=lambda r: (r["created_at"], r["id"]), reverse=True)

    def ids(**filters):
        return [r["id"] for r in store.list_runs(limit=1000, **filters)]

    def expect(predicate):
        return [r["id"] for r in newest_first if predicate(r)]

    assert ids() == expect(lambda r: True)
    assert ids(status="completed") == expect(lambda r: r["status"] == "completed")
    assert ids(status=["failed", "cancelled"]) == expect(lambda r: r["status"] in ("failed", "cancelled"))
    assert ids(optimizer_type="gepa") == expect(lambda r: r["optimizer_type"] == "gepa")
    assert ids(tags_all=["prod", "qa"]) == expect(lambda r: {"prod", "qa"} <= set(r["tags"]))
    assert ids(tags_any=["v2", "exp"]) == expect(lambda r: {"v2", "exp"} & set(r["tags"]))
    assert ids(config={"model": "gpt-4o"}) == expect(lambda r: r["_config"]["model"] == "gpt-4o")
    assert ids(config={"seed": 2}) == expect(lambda r: r["_config"]["seed"] == 2)
    assert ids(config={"search.depth": 2}) == expect(lambda r: r["_config"].get("search", {}).get("depth") == 2)
    assert ids(config={"search.greedy": True}) == expect(lambda r: r["_config"].get("search", {}).get("greedy") is True)
    assert ids(config={"model": "gpt-4o", "seed": 1}) == expect(
        lambda r: r["_config"]["model"] == "gpt-4o" and r["_config"]["seed"] == 1)
    assert ids(score_min=0.5, score_max=0.8) == expect(lambda r: r["final_score"] is not None and 0.5 <= r["final_score"] <= 0.8)
    middle = newest_first[20]["created_at"]
    assert ids(created_before=middle) == expect(lambda r: r["created_at"] < middle)
    assert ids(created_after=middle, status="completed") == expect(lambda r: r["created_at"] >= middle and r["status"] == "completed")
    # pages: offset and keyset cursor walk the same newest-first order
    assert [r["id"] for r in store.list_runs(limit=7, offset=14)] == [r["id"] for r in newest_first[14:21]]
    seen, cursor = [], None
    while True:
        page = store.list_runs_page(limit=9, cursor=cursor)
        seen += [r["id"] for r in page["runs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [r["id"] for r in newest_first]
    assert store.count_runs(status="completed") == len(expect(lambda r: r["status"] == "completed"))
    with pytest.raises(ValidationError, match="limit=0"):
        store.list_runs(limit=0)
    with pytest.raises(ValidationError, match="config.bad key"):
        store.list_runs(config={"bad key": 1})


def test_analytics_and_leaderboard(store, store_b):
    made = make_runs(store)
    make_runs(store_b, 7, seed=5)
    for run in made[:6]:
        store.add_iterations(run["id"], [{"iteration": 1, "score": 0.5, "prompt_tokens": 100, "completion_tokens": 7, "cost": 0.25}])
    expected_status = {s: sum(r["status"] == s for r in made) for s in ("pending", "running", "completed", "failed", "cancelled")}
    finished = expected_status["completed"] + expected_status["failed"] + expected_status["cancelled"]
    completed = [r for r in made if r["status"] == "completed"]
    improvements = [round(r["final_score"] - r["baseline_score"], 4) for r in completed]
    stats = store.project_analytics(refresh=True)
    assert stats["total_runs"] == len(made)
    assert stats["runs_by_status"] == expected_status
    assert stats["runs_by_optimizer"] == {o: sum(r["optimizer_type"] == o for r in made)
                                          for o in sorted({r["optimizer_type"] for r in made})}
    assert stats["success_rate"] == pytest.approx(expected_status["completed"] / finished)
    assert stats["avg_improvement"] == pytest.approx(sum(improvements) / len(improvements), abs=1e-6)
    assert stats["prompt_tokens"] == 600 and stats["total_tokens"] == 642
    assert stats["total_cost"] == pytest.approx(1.5)
    board = store.leaderboard(5)
    expected = sorted(completed, key=lambda r: (-r["final_score"], r["created_at"], r["id"]))[:5]
    assert [r["id"] for r in board] == [r["id"] for r in expected] and board[0]["rank"] == 1
    gepa = store.leaderboard(3, optimizer_type="gepa")
    assert all(r["optimizer_type"] == "gepa" for r in gepa)
    assert store_b.project_analytics(refresh=True)["total_runs"] == 7


def test_samples_and_summary(store):
    run = store.create_run({"name": "s", "optimizer_type": "miprov2", "status": "running"})["id"]
    store.add_iterations(run, [{"iteration": 1, "score": 0.9, "evaluation_kind": "minibatch"},
                               {"iteration": 2, "score": 0.6, "evaluation_kind": "full"},
                               {"iteration": 3, "score": 0.8, "evaluation_kind": "full"}])
    samples = [{"iteration": 3, "sample_index": i, "input": {"q": f"question {i}"}, "output": {"a": str(i)},
                "expected": {"a": "0"}, "score": 1.0 if i % 4 else 0.0, "success": i % 5 != 0,
                "error": None if i % 5 else "timeout", "latency_ms": 100.0 + i} for i in range(20)]
    store.add_samples(run, samples)
    back = store.get_samples(run)
    assert [s["sample_index"] for s in back] == list(range(20)) and back[3]["input"] == {"q": "question 3"}
    failed = store.get_samples(run, success=False)
    assert [s["sample_index"] for s in failed] == [0, 5, 10, 15] and failed[0]["error"] == "timeout"
    assert len(store.get_samples(run, limit=5, offset=18)) == 2
    summary = store.run_summary(run)
    assert summary["best_iteration"]["iteration"] == 3
    assert summary["iterations_by_kind"] == {"minibatch": {"count": 1, "best_score": 0.9},
                                             "full": {"count": 2, "best_score": 0.8}}
    assert [p["best_so_far"] for p in summary["full_eval_trajectory"]] == [0.6, 0.8]
    assert summary["samples"]["failed"] == 4 and summary["samples"]["avg_latency_ms"] == pytest.approx(109.5)
    run_row = store.get_run(run)
    assert (run_row["samples_evaluated"], run_row["samples_successful"], run_row["samples_failed"]) == (20, 16, 4)
    assert store.update_progress(run, samples_evaluated=25, samples_successful=20, samples_failed=5)["samples_evaluated"] == 25


def test_every_query_stays_in_its_project(store, store_b):
    theirs = store_b.create_run({"name": "b", "optimizer_type": "gepa"})["id"]
    mine = store.create_run({"name": "a", "optimizer_type": "gepa"})["id"]
    assert [r["id"] for r in store.list_runs()] == [mine]
    for call in (lambda: store.get_run(theirs), lambda: store.update_run(theirs, {"name": "x"}),
                 lambda: store.add_iterations(theirs, [{"iteration": 1}]),
                 lambda: store.add_samples(theirs, [{"iteration": 1, "sample_index": 0}]),
                 lambda: store.get_samples(theirs), lambda: store.run_summary(theirs)):
        with pytest.raises(NotFoundError):
            call()
    assert store.delete_run(theirs) is False
    assert store_b.get_run(theirs)["name"] == "b"
    with pytest.raises(ValidationError, match="project_id"):
        PromptOptimizationStore(":memory:", project_id="a b")


def test_import_run_writes_everything_or_nothing(store, sql):
    def counts():
        return [sql(f"SELECT count(*) AS n FROM {t}")[0]["n"]
                for t in ("optimization_runs", "optimization_iterations", "optimization_samples")]

    store.create_run({"id": "taken", "name": "x", "optimizer_type": "custom"})
    iterations = [{"iteration": 1, "score": 0.5}, {"iteration": 2, "score": 0.7, "prompt_tokens": 10, "cost": 0.5}]
    samples = [{"iteration": 2, "sample_index": 0, "success": False}, {"iteration": 2, "sample_index": 1}]
    with pytest.raises(DuplicateError, match="nothing was written"):  # refused by the database, mid-way
        store.import_run({"id": "taken", "name": "again", "optimizer_type": "custom"}, iterations, samples)
    with pytest.raises(ValidationError, match=r"iterations\[1\]: score=1\.5"):
        store.import_run({"name": "bad", "optimizer_type": "custom"}, [iterations[0], {"iteration": 2, "score": 1.5}])
    with pytest.raises(DuplicateError, match=r"samples\[1\]: \(iteration, sample_index\)=\(2, 0\) appears twice"):
        store.import_run({"name": "bad", "optimizer_type": "custom"}, iterations, [samples[0], samples[0]])
    assert counts() == [1, 0, 0]
    run = store.import_run({"name": "ok", "optimizer_type": "custom", "status": "completed",
                            "unattributed_prompt_tokens": 5, "unattributed_cost": 0.25}, iterations, samples)
    assert (run["final_score"], run["best_score"], run["iterations_completed"]) == (0.7, 0.7, 2)
    assert (run["samples_evaluated"], run["samples_successful"], run["samples_failed"]) == (2, 1, 1)
    assert (run["prompt_tokens"], run["cost"]) == (15, 0.75)
    assert counts() == [2, 2, 2]
