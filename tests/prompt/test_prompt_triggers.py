"""What the database derives, written through plain SQL and checked against values computed here:
generated duration/improvement columns, updated_at, a run's statistics from its iterations, and
the one best iteration (full evaluations outrank minibatch ones; ties go to the earliest)."""
from __future__ import annotations

import random
import time
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest

from prompt_fixtures import sql, store  # noqa: F401


@pytest.fixture
def run_id(store):
    return store.create_run({"id": "r1", "name": "t", "optimizer_type": "miprov2"})["id"]


def dec(value, places: str) -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def test_generated_columns_follow_their_inputs(run_id, sql):
    rng = random.Random(1)
    for _ in range(25):
        start = f"2025-0{rng.randint(1, 9)}-1{rng.randint(0, 9)} 0{rng.randint(0, 9)}:{rng.randint(10, 59)}:{rng.randint(10, 59)}.{rng.randint(0, 999):03d}"
        seconds = rng.uniform(0, 90_000)
        end_dt = datetime.fromisoformat(start).timestamp() + seconds
        end = datetime.utcfromtimestamp(end_dt).strftime("%Y-%m-%d %H:%M:%S.") + f"{round((end_dt % 1) * 1000) % 1000:03d}"
        baseline, final = round(rng.uniform(0.05, 1), 4), round(rng.uniform(0, 1), 4)
        sql("UPDATE optimization_runs SET start_time = :s, end_time = :e, baseline_score = :b, final_score = :f",
            s=start, e=end, b=baseline, f=final)
        row = sql("SELECT duration_ms, improvement, improvement_pct, end_time FROM optimization_runs")[0]
        expected_ms = round((datetime.fromisoformat(row["end_time"]) - datetime.fromisoformat(start)).total_seconds() * 1000)
        assert row["duration_ms"] == expected_ms
        assert dec(row["improvement"], "0.0001") == (Decimal(repr(final)) - Decimal(repr(baseline))).quantize(Decimal("0.0001"))
        pct = ((Decimal(repr(final)) - Decimal(repr(baseline))) / Decimal(repr(baseline)) * 100)
        assert abs(Decimal(repr(float(row["improvement_pct"]))) - pct) <= Decimal("0.005") + Decimal("1e-9")
    sql("UPDATE optimization_runs SET end_time = NULL, baseline_score = 0")
    row = sql("SELECT duration_ms, improvement, improvement_pct FROM optimization_runs")[0]
    assert row["duration_ms"] is None and row["improvement_pct"] is None  # no end, no duration; no base, no ratio


def test_updated_at_is_kept_current_even_when_a_writer_sets_it(run_id, sql):
    before = sql("SELECT updated_at FROM optimization_runs")[0]["updated_at"]
    time.sleep(0.01)
    sql("UPDATE optimization_runs SET name = 'renamed', updated_at = '2000-01-01 00:00:00'")
    after = sql("SELECT updated_at FROM optimization_runs")[0]["updated_at"]
    assert after > before


def expected_stats(rows: dict[int, dict]) -> dict:
    """Independent of the triggers: what the run's statistics must be for these iterations."""
    scored = [(n, r) for n, r in rows.items() if r["score"] is not None]
    best = None
    if scored:
        fulls = [(n, r) for n, r in scored if r["kind"] == "full"]
        pool = fulls or scored
        top = max(r["score"] for _, r in pool)
        best = min(n for n, r in pool if r["score"] == top)
    latencies = [r["latency"] for r in rows.values() if r["latency"] is not None]
    return {
        "iterations_completed": len(rows),
        "best": best,
        "best_score": rows[best]["score"] if best is not None else None,
        "prompt_tokens": sum(r["pt"] for r in rows.values()),
        "cost": round(sum(r["cost"] for r in rows.values()), 6),
        "avg_latency_ms": sum(latencies) / len(latencies) if latencies else None,
    }


def check(sql, rows):
    expected = expected_stats(rows)
    run = sql("SELECT iterations_completed, best_score, prompt_tokens, cost, avg_latency_ms FROM optimization_runs")[0]
    best = [r["iteration"] for r in sql("SELECT iteration FROM optimization_iterations WHERE is_best")]
    assert best == ([expected["best"]] if expected["best"] is not None else [])
    assert run["iterations_completed"] == expected["iterations_completed"]
    assert (run["best_score"] is None) == (expected["best_score"] is None)
    if expected["best_score"] is not None:
        assert float(run["best_score"]) == expected["best_score"]
    assert run["prompt_tokens"] == expected["prompt_tokens"]
    assert float(run["cost"]) == pytest.approx(expected["cost"], abs=1e-9)
    if expected["avg_latency_ms"] is None:
        assert run["avg_latency_ms"] is None
    else:
        assert run["avg_latency_ms"] == pytest.approx(expected["avg_latency_ms"])


def test_run_statistics_and_best_iteration_follow_plain_sql(run_id, sql):
    rng = random.Random(7)
    rows: dict[int, dict] = {}
    insert = ("INSERT INTO optimization_iterations (run_id, project_id, iteration, score, evaluation_kind, "
              "prompt_tokens, cost, latency_ms) VALUES ('r1', 'A', :n, :score, :kind, :pt, :cost, :latency)")
    for step in range(40):
        action = rng.random()
        if action < 0.6 or not rows:
            n = max(rows, default=0) + rng.randint(1, 2)
            row = {"score": rng.choice([None, round(rng.choice([0.5, 0.75, 0.9, rng.random()]), 4)]),
                   "kind": rng.choice(["full", "minibatch", "minibatch"]), "pt": rng.randint(0, 500),
                   "cost": round(rng.uniform(0, 0.05), 6), "latency": rng.choice([None, rng.uniform(5, 900)])}
            rows[n] = row
            sql(insert, n=n, score=row["score"], kind=row["kind"], pt=row["pt"], cost=row["cost"], latency=row["latency"])
        elif action < 0.85:
            n = rng.choice(list(rows))
            rows[n]["score"] = round(rng.random(), 4)
            rows[n]["kind"] = rng.choice(["full", "minibatch"])
            sql("UPDATE optimization_iterations SET score = :s, evaluation_kind = :k WHERE iteration = :n",
                s=rows[n]["score"], k=rows[n]["kind"], n=n)
        else:
            n = rng.choice(list(rows))
            del rows[n]
            sql("DELETE FROM optimization_iterations WHERE iteration = :n", n=n)
        check(sql, rows)


def test_full_evaluations_outrank_minibatches_and_ties_go_to_the_earliest(run_id, sql):
    def add(n, score, kind):
        sql("INSERT INTO optimization_iterations (run_id, project_id, iteration, score, evaluation_kind) "
            "VALUES ('r1', 'A', :n, :s, :k)", n=n, s=score, k=kind)

    def best():
        return [r["iteration"] for r in sql("SELECT iteration FROM optimization_iterations WHERE is_best")]

    add(1, None, "full")
    assert best() == []  # nothing scored, nothing best
    add(2, 0.99, "minibatch")
    assert best() == [2]  # only minibatches so far: the best of them
    add(3, 0.40, "full")
    assert best() == [3]  # any full evaluation beats every minibatch
    add(4, 0.70, "full")
    add(5, 0.70, "full")
    assert best() == [4]  # a tie: the earliest
    add(6, 1.0, "minibatch")
    assert best() == [4]
    sql("UPDATE optimization_iterations SET is_best = true WHERE iteration = 6")  # tampering is undone
    assert best() == [4]
    sql("DELETE FROM optimization_iterations WHERE iteration = 4")
    assert best() == [5]
    assert float(sql("SELECT best_score FROM optimization_runs")[0]["best_score"]) == 0.7


def test_unattributed_usage_is_added_to_the_iterations_sums(run_id, sql):
    """Migration 0007: run totals = unattributed usage + the iterations' sums, whichever changes."""
    def totals():
        row = sql("SELECT prompt_tokens, completion_tokens, cost FROM optimization_runs WHERE id = 'r1'")[0]
        return row["prompt_tokens"], row["completion_tokens"], float(row["cost"])

    sql("UPDATE optimization_runs SET unattributed_prompt_tokens = 100, unattributed_completion_tokens = 7, "
        "unattributed_cost = 0.25 WHERE id = 'r1'")
    assert totals() == (100, 7, 0.25)
    for n, (pt, ct, cost) in enumerate([(10, 1, 0.5), (20, 2, 0.125)]):
        sql("INSERT INTO optimization_iterations (run_id, project_id, iteration, prompt_tokens, completion_tokens, cost) "
            "VALUES ('r1', 'A', :n, :pt, :ct, :cost)", n=n, pt=pt, ct=ct, cost=cost)
    assert totals() == (130, 10, 0.875)
    sql("UPDATE optimization_runs SET unattributed_prompt_tokens = 0, unattributed_cost = 0 WHERE id = 'r1'")
    assert totals() == (30, 10, 0.625)
    sql("DELETE FROM optimization_iterations WHERE iteration = 0")
    assert totals() == (20, 9, 0.125)
    sql("INSERT INTO optimization_runs (id, project_id, name, optimizer_type, unattributed_prompt_tokens, "
        "unattributed_cost) VALUES ('r2', 'A', 'n', 'miprov2', 5, 0.5)")
    assert sql("SELECT prompt_tokens, cost FROM optimization_runs WHERE id = 'r2'")[0]["prompt_tokens"] == 5
    with pytest.raises(Exception, match="ck_optimization_runs_unattributed_cost"):
        sql("UPDATE optimization_runs SET unattributed_cost = -1 WHERE id = 'r1'")
