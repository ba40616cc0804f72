"""Prompt-optimization runs: the seed's test dataset and its query targets, on SQLite and PostgreSQL.

Dataset (the seed's): per project 1,000 runs, 10,000 iterations (10 per run, minibatch and full
evaluations) and 100,000 samples (100 per run); two projects of that size. Everything is written
through ``PromptOptimizationStore`` (validation, triggers and all), then each query is timed through
the same public API (SQL, fetch and decoding into dicts), warm, as the median of many calls.

    python bench/bench_prompt_runs.py                       # SQLite (a temporary file)
    python bench/bench_prompt_runs.py --pg-url postgresql://user:pw@localhost/db   # both backends
    python bench/bench_prompt_runs.py --runs 200            # a smaller dataset

The PostgreSQL URL must name an empty database (or one made by hive); the benchmark's projects
are deleted at the end.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.prompts.store import PromptOptimizationStore  # noqa: E402

PROJECTS = ("bench-a", "bench-b")
OPTIMIZERS = ("miprov2", "bootstrap_fewshot", "bootstrap_fewshot_random_search", "copro", "gepa", "custom")
STATUSES = ("completed", "completed", "completed", "failed", "running", "pending", "cancelled")
MODELS = ("gpt-4o", "gpt-4o-mini", "gpt-4", "claude-3-5-sonnet", "llama-3.1-70b")
TAGS = ("prod", "staging", "experiment", "v1", "v2", "v3", "regression", "nightly")

# (label, target ms, what it calls)
QUERIES = [
    ("list runs (page of 20)", 50),
    ("filter by status", 50),
    ("filter by optimizer", 50),
    ("filter by tags (all of 2)", 100),
    ("filter by tags (any of 2)", 100),
    ("search config (2 keys)", 150),
    ("leaderboard (top 10)", 30),
    ("run + its iterations", 50),
    ("a run's samples (100)", 100),
    ("project analytics", 20),
]


def load(url: str, project: str, runs: int, seed: int) -> tuple[list[str], float]:
    rng = random.Random(seed)
    started = time.perf_counter()
    ids = []
    with PromptOptimizationStore(url, project_id=project) as store:
        for r in range(runs):
            optimizer = OPTIMIZERS[r % len(OPTIMIZERS)]
            status = rng.choice(STATUSES)
            config = {"model": rng.choice(MODELS), "seed": rng.randrange(10)}
            if optimizer == "miprov2":
                config.update(num_candidates=rng.choice([5, 10, 15]), num_trials=30, minibatch_size=35)
            baseline = round(rng.uniform(0.3, 0.6), 4)
            run = store.create_run({
                "name": f"{optimizer} run {r}", "optimizer_type": optimizer, "status": "running", "config": config,
                "tags": rng.sample(TAGS, rng.randint(1, 3)), "baseline_score": baseline, "model_name": config["model"],
                "task_name": rng.choice(["qa", "classification", "extraction"]),
            })
            ids.append(run["id"])
            iterations = []
            for i in range(10):
                kind = "full" if i % 4 == 0 else "minibatch"
                iterations.append({
                    "iteration": i, "evaluation_kind": kind, "batch_size": 100 if kind == "full" else 35,
                    "score": round(min(1.0, baseline + rng.uniform(-0.05, 0.35)), 4),
                    "instructions": [f"Instruction candidate {rng.randrange(10)}"], "demo_set_ids": [rng.randrange(6)],
                    "prompt_tokens": rng.randrange(2000, 9000), "completion_tokens": rng.randrange(100, 900),
                    "cost": round(rng.uniform(0.001, 0.05), 6), "latency_ms": rng.uniform(200, 4000),
                })
            store.add_iterations(run["id"], iterations)
            samples = [{
                "iteration": 8, "sample_index": s, "input": {"question": f"question {s} of run {r}"},
                "output": {"answer": f"answer {rng.randrange(100)}"}, "expected": {"answer": "answer 7"},
                "score": 1.0 if rng.random() < 0.7 else 0.0, "success": rng.random() > 0.03,
                "latency_ms": rng.uniform(100, 2000), "prompt_tokens": rng.randrange(200, 900),
                "completion_tokens": rng.randrange(5, 60),
            } for s in range(100)]
            store.add_samples(run["id"], samples)
            if status != "running":
                fields = {"status": status}
                if status == "failed":
                    fields["error_message"] = "RateLimitError"
                store.update_run(run["id"], fields)
        store.refresh_analytics()
    return ids, time.perf_counter() - started


def time_queries(url: str, project: str, ids: list[str], repeat: int) -> dict[str, list[float]]:
    rng = random.Random(1)
    timings: dict[str, list[float]] = {label: [] for label, _ in QUERIES}
    with PromptOptimizationStore(url, project_id=project) as store:
        calls = {
            "list runs (page of 20)": lambda: store.list_runs(limit=20),
            "filter by status": lambda: store.list_runs(status="completed", limit=20),
            "filter by optimizer": lambda: store.list_runs(optimizer_type="gepa", limit=20),
            "filter by tags (all of 2)": lambda: store.list_runs(tags_all=["prod", "v2"], limit=20),
            "filter by tags (any of 2)": lambda: store.list_runs(tags_any=["regression", "nightly"], limit=20),
            "search config (2 keys)": lambda: store.list_runs(config={"model": "gpt-4", "num_candidates": 10}, limit=20),
            "leaderboard (top 10)": lambda: store.leaderboard(10),
            "run + its iterations": lambda: store.get_run(rng.choice(ids), with_iterations=True),
            "a run's samples (100)": lambda: store.get_samples(rng.choice(ids)),
            "project analytics": lambda: store.project_analytics(),
        }
        for label, call in calls.items():
            for _ in range(3):
                call()  # warm: connection pool, DuckDB attach, caches
            for _ in range(repeat):
                started = time.perf_counter()
                call()
                timings[label].append((time.perf_counter() - started) * 1000)
    return timings


def cleanup(url: str) -> None:
    for project in PROJECTS:
        with PromptOptimizationStore(url, project_id=project) as store:
            with store.engine.begin() as conn:
                conn.exec_driver_sql("DELETE FROM projects WHERE id = %s" if store._pg else "DELETE FROM projects WHERE id = ?",
                                     (project,))


def bench(url: str, label: str, runs: int, repeat: int) -> list[tuple]:
    print(f"\n[{label}] loading {len(PROJECTS)} projects x {runs:,} runs, {runs * 10:,} iterations, "
          f"{runs * 100:,} samples ...", flush=True)
    ids = {}
    for n, project in enumerate(PROJECTS):
        ids[project], seconds = load(url, project, runs, seed=n)
        print(f"  {project}: {seconds:.1f} s ({runs * 111 / seconds:,.0f} rows/s through the API)", flush=True)
    timings = time_queries(url, PROJECTS[0], ids[PROJECTS[0]], repeat)
    rows = []
    for query, target in QUERIES:
        values = timings[query]
        median = statistics.median(values)
        p95 = sorted(values)[int(0.95 * (len(values) - 1))]
        rows.append((label, query, median, p95, target, "yes" if median < target else "NO"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", help="also run on this PostgreSQL database")
    parser.add_argument("--runs", type=int, default=1000, help="runs per project (default 1000, the seed's)")
    parser.add_argument("--repeat", type=int, default=50, help="timed calls per query")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    rows = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            rows += bench(os.path.join(folder, "bench.db"), "SQLite", args.runs, args.repeat)
    if args.pg_url:
        try:
            rows += bench(args.pg_url, "PostgreSQL", args.runs, args.repeat)
        finally:
            cleanup(args.pg_url)
    print("\n| backend | query | median ms | p95 ms | target ms | met |")
    print("|---|---|---:|---:|---:|:---:|")
    for backend, query, median, p95, target, met in rows:
        print(f"| {backend} | {query} | {median:.2f} | {p95:.2f} | < {target} | {met} |")


if __name__ == "__main__":
    main()
