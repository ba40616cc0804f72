"""Demo prompt-optimization runs: two projects, several optimizers, realistic iterations and samples.

``add_prompt_demo(url_or_path)`` adds (once: run ids are fixed, a second call changes nothing):

- project ``support-bot`` (a customer-support intent classifier): MIPROv2 runs on gpt-4o-mini and
  gpt-4o (minibatch trials with a full evaluation every few trials), a BootstrapFewShot and a
  BootstrapFewShotWithRandomSearch run, a failed COPRO run, a MIPROv2 run still running;
- project ``research-qa`` (multi-hop question answering): MIPROv2, GEPA and a cancelled run.

Each iteration carries the candidate instruction and demo set it evaluated, tokens, cost and
latency; the final full evaluation of each finished run has per-example samples, a few of which
failed (timeouts, unparseable answers). Numbers come from a seeded generator: the same every time.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

from storage.errors import NotFoundError
from storage.prompts.store import PromptOptimizationStore

PROJECTS = {
    "support-bot": "Customer-support intent classifier",
    "research-qa": "Multi-hop research QA",
}
INSTRUCTIONS = [
    "Classify the customer's message into one of the support intents.",
    "Read the message carefully. Decide which intent best matches the customer's goal and answer with its label only.",
    "You are a senior support agent. Identify the customer's primary intent; if several apply, pick the one that needs action first.",
    "Think step by step about what the customer wants, then output the single most specific intent label.",
    "Given the conversation, answer with the intent label. Prefer 'billing' over 'account' when money is mentioned.",
]
QA_INSTRUCTIONS = [
    "Answer the question using the retrieved passages.",
    "Find the two passages that together answer the question, reason over them, then answer in a few words.",
    "Decompose the question into hops, answer each hop from the passages, and give the final short answer.",
]
INTENTS = ["billing", "refund", "shipping", "account", "technical", "cancel"]
QUESTIONS = [
    ("Which river flows through the capital of the country that hosted the 1992 Summer Olympics?", "Manzanares"),
    ("Who directed the film that won Best Picture the year Titanic's director was born?", "Delbert Mann"),
    ("What is the atomic number of the element named after the scientist who proposed the periodic law?", "101"),
]

# (run id, project, name, optimizer, status, model, trials, minibatch size, full every, baseline, ceiling, tags)
RUNS = [
    ("demo-support-mipro-mini", "support-bot", "intent v3 / MIPROv2 light", "miprov2", "completed", "gpt-4o-mini",
     18, 25, 5, 0.62, 0.81, ["intent", "prod-candidate"]),
    ("demo-support-mipro-4o", "support-bot", "intent v3 / MIPROv2 medium", "miprov2", "completed", "gpt-4o",
     24, 35, 6, 0.70, 0.88, ["intent", "prod"]),
    ("demo-support-bfs", "support-bot", "intent v3 / BootstrapFewShot", "bootstrap_fewshot", "completed",
     "gpt-4o-mini", 4, None, None, 0.62, 0.72, ["intent", "baseline"]),
    ("demo-support-bfrs", "support-bot", "intent v3 / random search", "bootstrap_fewshot_random_search", "completed",
     "gpt-4o-mini", 10, None, None, 0.62, 0.77, ["intent"]),
    ("demo-support-copro", "support-bot", "intent v3 / COPRO", "copro", "failed", "gpt-4o-mini",
     6, None, None, 0.62, 0.66, ["intent", "experiment"]),
    ("demo-support-mipro-live", "support-bot", "intent v4 / MIPROv2 heavy", "miprov2", "running", "gpt-4o",
     30, 35, 5, 0.71, 0.84, ["intent", "v4"]),
    ("demo-qa-mipro", "research-qa", "hotpot / MIPROv2 medium", "miprov2", "completed", "gpt-4o",
     20, 30, 5, 0.41, 0.58, ["multihop", "prod"]),
    ("demo-qa-gepa", "research-qa", "hotpot / GEPA", "gepa", "completed", "gpt-4o", 12, None, None, 0.41, 0.61,
     ["multihop", "experiment"]),
    ("demo-qa-cancelled", "research-qa", "hotpot / MIPROv2 (stopped)", "miprov2", "cancelled", "gpt-4o-mini",
     16, 30, 5, 0.38, 0.47, ["multihop"]),
]
VALSET_SIZE = {"support-bot": 60, "research-qa": 40}
PRICE_PER_1K = {"gpt-4o-mini": (0.00015, 0.0006), "gpt-4o": (0.0025, 0.01)}


def add_prompt_demo(url_or_path: Any = None) -> list[str]:
    """Add the demo runs to the database at ``url_or_path`` (any URL or path the store accepts);
    returns the ids of the runs it added (empty when they were all there already)."""
    added = []
    stores = {p: PromptOptimizationStore(url_or_path, project_id=p, project_name=n) for p, n in PROJECTS.items()}
    try:
        start = datetime(2025, 11, 3, 9, 0, tzinfo=timezone.utc)
        for number, spec in enumerate(RUNS):
            run_id, project = spec[0], spec[1]
            store = stores[project]
            try:
                store.get_run(run_id)
                continue
            except NotFoundError:
                pass
            _add_run(store, spec, start + timedelta(hours=7 * number), random.Random(number))
            added.append(run_id)
    finally:
        for store in stores.values():
            store.close()
    return added


def _add_run(store: PromptOptimizationStore, spec: tuple, started: datetime, rng: random.Random) -> None:
    (run_id, project, name, optimizer, status, model, trials, minibatch, full_every, baseline, ceiling, tags) = spec
    valset = VALSET_SIZE[project]
    instructions = INSTRUCTIONS if project == "support-bot" else QA_INSTRUCTIONS
    config: dict[str, Any] = {"model": model, "prompt_model": "gpt-4o", "task_model": model, "seed": 7,
                              "metric": "exact_match" if project == "support-bot" else "answer_f1"}
    if optimizer == "miprov2":
        config.update(auto="medium" if trials > 18 else "light", num_candidates=len(instructions), num_trials=trials,
                      minibatch=True, minibatch_size=minibatch, minibatch_full_eval_steps=full_every,
                      max_bootstrapped_demos=4, max_labeled_demos=4)
    elif optimizer in ("bootstrap_fewshot", "bootstrap_fewshot_random_search"):
        config.update(max_bootstrapped_demos=4, max_labeled_demos=16, max_rounds=1)
        if optimizer == "bootstrap_fewshot_random_search":
            config.update(num_candidate_programs=trials, num_threads=8)
    else:
        config.update(breadth=6, depth=3) if optimizer == "copro" else config.update(reflection_lm="gpt-4o", budget="light")
    store.create_run({
        "id": run_id, "name": name, "optimizer_type": optimizer, "status": "running", "config": config,
        "tags": tags, "task_name": "intent-classification" if project == "support-bot" else "multi-hop-qa",
        "dataset_name": "support-tickets-2025q3" if project == "support-bot" else "hotpotqa-dev-distractor",
        "model_name": model, "prompt_model_name": "gpt-4o", "baseline_score": baseline, "iterations_planned": trials,
        "start_time": started, "metadata": {"git_commit": f"{rng.getrandbits(28):07x}", "owner": "demo"},
    })
    prompt_price, completion_price = PRICE_PER_1K[model]
    iterations, clock, best_full = [], 0.0, baseline
    stop = trials if status in ("completed", "running") else max(3, trials // 2)
    if status == "running":
        stop = trials * 2 // 3
    number = 1
    iterations.append(_iteration(1, "full", baseline, valset, 0, 0, rng, prompt_price, completion_price, instructions))
    for trial in range(1, stop + 1):
        progress = trial / trials
        expected = baseline + (ceiling - baseline) * (1 - (1 - progress) ** 2)
        kind = "minibatch" if minibatch else "full"
        size = minibatch or valset
        score = min(1.0, max(0.0, expected + rng.gauss(0, 0.06 if minibatch else 0.025)))
        number += 1
        choice = rng.randrange(len(instructions))
        iterations.append(_iteration(number, kind, score, size, choice, rng.randrange(6), rng, prompt_price,
                                     completion_price, instructions))
        if minibatch and trial % full_every == 0:
            number += 1
            full = min(1.0, max(0.0, expected + rng.gauss(0, 0.015)))
            best_full = max(best_full, full)
            iterations.append(_iteration(number, "full", full, valset, choice, rng.randrange(6), rng, prompt_price,
                                         completion_price, instructions))
        clock += size * rng.uniform(0.4, 0.9)
    store.add_iterations(run_id, iterations)
    last_full = max((it for it in iterations if it["evaluation_kind"] == "full"), key=lambda it: it["iteration"])
    if status in ("completed", "cancelled", "failed"):
        store.add_samples(run_id, _samples(project, last_full["iteration"], valset, last_full["score"], rng))
    end = started + timedelta(seconds=clock)
    if status == "completed":
        store.complete_run(run_id, end_time=end)
    elif status == "failed":
        store.update_run(run_id, {"status": "failed", "end_time": end,
                                  "error_message": "RateLimitError: 429 from the prompt model after 5 retries"})
    elif status == "cancelled":
        store.update_run(run_id, {"status": "cancelled", "end_time": end})


def _iteration(number, kind, score, size, instruction, demo_set, rng, prompt_price, completion_price, instructions):
    prompt_tokens = int(size * rng.uniform(380, 520))
    completion_tokens = int(size * rng.uniform(8, 40))
    return {
        "iteration": number,
        "evaluation_kind": kind,
        "score": round(score, 4),
        "instructions": [instructions[instruction]],
        "demo_set_ids": [demo_set],
        "params": {"instruction_ids": {"0": instruction}, "demo_ids": {"0": demo_set}},
        "batch_size": size,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cost": round(prompt_tokens / 1000 * prompt_price + completion_tokens / 1000 * completion_price, 6),
        "latency_ms": round(size * rng.uniform(350, 900), 1),
    }


def _samples(project: str, iteration: int, count: int, accuracy: float, rng: random.Random) -> list[dict]:
    samples = []
    for index in range(count):
        if project == "support-bot":
            expected = rng.choice(INTENTS)
            question = {"message": f"Ticket #{4100 + index}: customer writes about {expected} ({rng.randrange(1000)})"}
            right = rng.random() < accuracy
            answer = expected if right else rng.choice([i for i in INTENTS if i != expected])
            expected_value = {"intent": expected}
            output = {"intent": answer}
        else:
            text, gold = QUESTIONS[index % len(QUESTIONS)]
            question = {"question": text, "passages": 2}
            right = rng.random() < accuracy
            expected_value = {"answer": gold}
            output = {"answer": gold if right else "unknown"}
        failure = rng.random() < 0.04
        samples.append({
            "iteration": iteration,
            "sample_index": index,
            "input": question,
            "output": None if failure else output,
            "expected": expected_value,
            "score": None if failure else (1.0 if right else 0.0),
            "success": not failure,
            "error": rng.choice(["TimeoutError: LM call exceeded 30 s", "AdapterParseError: no [[ ## intent ## ]] field"])
            if failure else None,
            "latency_ms": round(rng.uniform(300, 1400), 1),
            "prompt_tokens": rng.randrange(380, 520),
            "completion_tokens": rng.randrange(8, 40),
        })
    return samples
