"""Record a DSPy optimizer's trials as a prompt-optimization run: ``import_miprov2``.

DSPy's MIPROv2 keeps one entry per trial in ``trial_logs`` (attached to the program ``compile``
returns, ``program.trial_logs``), keyed by trial number from 1:

- a minibatch trial: ``mb_score``, ``mb_program``, ``"<i>_predictor_instruction"`` and
  ``"<i>_predictor_demos"`` (the candidate indices chosen for predictor i) and
  ``total_eval_calls_so_far``;
- a full evaluation: ``full_eval_score`` and ``full_eval_program`` (trial 1 is the unoptimized
  program, the baseline; later full evaluations re-score the best-averaging minibatch candidate and
  carry no indices of their own: they are recovered by matching the program's instructions and
  demos against the minibatch trials').

What becomes what: each entry -> one iteration (``iteration`` = trial number,
``evaluation_kind`` minibatch/full, ``score`` = the DSPy score / ``score_scale``,
``instructions`` = the instruction text of each predictor, ``demo_set_ids`` = the chosen demo
candidate index of each predictor (None when the program had no demo candidates),
``params`` = the raw indices and ``total_eval_calls_so_far``, ``batch_size`` = the evaluation calls
this trial made). The run: ``optimizer_type`` miprov2, ``baseline_score`` = trial 1's score,
``final_score`` = the returned program's ``score`` (else the best full evaluation), status
completed. The database then marks the best iteration (full evaluations outrank minibatch ones)
and aggregates the run's statistics.

``dspy.Evaluate`` reports percentages (e.g. 67.3), hence ``score_scale=100`` by default; pass
``score_scale=1`` for a metric already in [0, 1].

``samples_from_evaluation`` turns a ``dspy.Evaluate`` result (``EvaluationResult.results``, a list
of (example, prediction, score)) into sample records for ``PromptOptimizationStore.add_samples``.

DSPy itself is not imported here: the functions read the objects DSPy hands back, so this module
imports without DSPy installed.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from storage.prompt_optimization import PromptOptimizationStore
from storage.prompt_records import round_score

_INDEX_KEY = re.compile(r"^(\d+)_predictor_(instruction|demos)$")
# MIPROv2 attributes worth keeping in the run's config (all in storage.prompt_records.MIPROv2Config).
_MIPRO_ATTRIBUTES = (
    "auto", "num_candidates", "init_temperature", "seed", "max_bootstrapped_demos", "max_labeled_demos",
    "num_threads", "max_errors", "metric_threshold",
)


def trial_logs_of(source: Any) -> dict[int, dict]:
    """The per-trial log from a compiled program (``program.trial_logs``) or the log itself."""
    logs = getattr(source, "trial_logs", source)
    if not isinstance(logs, Mapping) or not logs:
        raise ValueError("expected a MIPROv2-compiled program (with .trial_logs) or a non-empty trial log dict")
    return {int(k): dict(v) for k, v in sorted(logs.items(), key=lambda kv: int(kv[0]))}


def miprov2_config(optimizer: Any = None, **compile_kwargs: Any) -> dict:
    """The run config: MIPROv2's settings (from the optimizer object) and the compile arguments."""
    config: dict[str, Any] = {}
    if optimizer is not None:
        for name in _MIPRO_ATTRIBUTES:
            value = getattr(optimizer, name, None)
            if value is not None:
                config[name] = value
        metric = getattr(optimizer, "metric", None)
        if metric is not None:
            config["metric"] = getattr(metric, "__name__", type(metric).__name__)
        for role in ("prompt_model", "task_model"):
            model = getattr(getattr(optimizer, role, None), "model", None)
            if isinstance(model, str):
                config[role] = model
    config.update({k: v for k, v in compile_kwargs.items() if v is not None})
    return config


def iterations_from_trial_logs(trial_logs: Mapping[int, Mapping[str, Any]], *, score_scale: float = 100.0) -> list[dict]:
    """Iteration records (``storage.prompt_records.IterationRecord`` fields) from MIPROv2's log."""
    if not score_scale > 0:
        raise ValueError(f"score_scale={score_scale!r}: must be positive")
    logs = trial_logs_of(trial_logs)
    known: list[tuple[tuple, dict[int, int], dict[int, int]]] = []  # (program key, instruction ids, demo ids)
    iterations, previous_calls = [], 0
    for trial, entry in logs.items():
        minibatch = "mb_score" in entry
        score = entry.get("mb_score" if minibatch else "full_eval_score")
        program = entry.get("mb_program" if minibatch else "full_eval_program")
        instruction_ids: dict[int, int] = {}
        demo_ids: dict[int, int] = {}
        for key, value in entry.items():
            match = _INDEX_KEY.match(str(key))
            if match:
                target = instruction_ids if match.group(2) == "instruction" else demo_ids
                target[int(match.group(1))] = int(value)
        signature = _program_key(program)
        if instruction_ids:
            known.append((signature, instruction_ids, demo_ids))
        elif trial == min(logs):
            # The unoptimized program: MIPROv2 registers it as candidate 0 of every predictor.
            count = len(signature[0]) if signature else 0
            instruction_ids = {i: 0 for i in range(count)}
        else:
            for other, other_instructions, other_demos in known:
                if signature is not None and other == signature:
                    instruction_ids, demo_ids = other_instructions, other_demos
                    break
        calls = entry.get("total_eval_calls_so_far")
        batch_size = calls - previous_calls if isinstance(calls, int) and calls >= previous_calls else None
        if isinstance(calls, int):
            previous_calls = calls
        predictors = range(len(signature[0])) if signature else sorted(instruction_ids)
        iterations.append({
            "iteration": trial,
            "evaluation_kind": "minibatch" if minibatch else "full",
            "score": _scaled(score, score_scale),
            "instructions": list(signature[0]) if signature else None,
            "demo_set_ids": [demo_ids.get(i) for i in predictors] if demo_ids else None,
            "params": {
                "instruction_ids": {str(k): v for k, v in sorted(instruction_ids.items())},
                "demo_ids": {str(k): v for k, v in sorted(demo_ids.items())},
                "total_eval_calls_so_far": calls,
            },
            "batch_size": batch_size,
        })
    return iterations


def import_miprov2(
    store: PromptOptimizationStore,
    source: Any,
    *,
    name: str,
    optimizer: Any = None,
    compile_kwargs: Mapping[str, Any] | None = None,
    score_scale: float = 100.0,
    baseline_score: float | None = None,
    final_score: float | None = None,
    samples: Iterable[Mapping[str, Any]] | None = None,
    **run_fields: Any,
) -> dict:
    """Record a MIPROv2 optimization (its compiled program, or its ``trial_logs``) as one completed
    run with one iteration per trial; returns the stored run. ``run_fields``: any other run field
    (``tags``, ``task_name``, ``dataset_name``, ``model_name``, ``metadata``, ``start_time``...).
    Baseline and final scores default to trial 1 and the program's ``score`` (already in [0, 1] if
    given explicitly here)."""
    iterations = iterations_from_trial_logs(trial_logs_of(source), score_scale=score_scale)
    fulls = [it for it in iterations if it["evaluation_kind"] == "full" and it["score"] is not None]
    if baseline_score is None and fulls and fulls[0]["iteration"] == iterations[0]["iteration"]:
        baseline_score = fulls[0]["score"]
    if final_score is None:
        program_score = getattr(source, "score", None)
        final_score = _scaled(program_score, score_scale) if program_score is not None else (
            max(it["score"] for it in fulls) if fulls else None
        )
    config = miprov2_config(optimizer, **dict(compile_kwargs or {}))
    run_fields.setdefault("model_name", config.get("task_model"))
    run_fields.setdefault("prompt_model_name", config.get("prompt_model"))
    record = {
        "name": name,
        "optimizer_type": "miprov2",
        "status": "running",
        "config": config,
        "baseline_score": baseline_score,
        "iterations_planned": config.get("num_trials"),
        **{k: v for k, v in run_fields.items() if v is not None},
    }
    run = store.create_run({k: v for k, v in record.items() if v is not None})
    store.add_iterations(run["id"], iterations)
    if samples is not None:
        store.add_samples(run["id"], samples)
    return store.complete_run(run["id"], final_score=final_score)


def samples_from_evaluation(results: Iterable[Any], *, iteration: int, score_scale: float = 1.0,
                            failure_score: float | None = None) -> list[dict]:
    """Sample records from ``dspy.Evaluate``'s per-example results [(example, prediction, score)].

    A metric's bool becomes 1.0 / 0.0. A prediction that is empty while the score equals
    ``failure_score`` (what ``Evaluate`` substitutes for an example that raised) is recorded as a
    failed sample."""
    samples = []
    for index, (example, prediction, score) in enumerate(results):
        inputs = _as_dict(example.inputs()) if hasattr(example, "inputs") else _as_dict(example)
        labels = _as_dict(example.labels()) if hasattr(example, "labels") else None
        output = _as_dict(prediction)
        failed = not output and failure_score is not None and score == failure_score
        samples.append({
            "iteration": iteration,
            "sample_index": index,
            "input": inputs,
            "output": output or None,
            "expected": labels or None,
            "score": _scaled(float(score), score_scale) if score is not None else None,
            "success": not failed,
            "error": "evaluation raised (DSPy substituted failure_score)" if failed else None,
        })
    return samples


def _program_key(program: Any) -> tuple | None:
    """(instructions per predictor, demos per predictor) of a DSPy program, comparable by value."""
    if program is None or not hasattr(program, "predictors"):
        return None
    instructions, demos = [], []
    for predictor in program.predictors():
        signature = getattr(predictor, "signature", None)
        instructions.append(str(getattr(signature, "instructions", "")))
        demos.append(tuple(repr(_as_dict(d)) for d in getattr(predictor, "demos", []) or []))
    return tuple(instructions), tuple(demos)


def _as_dict(value: Any) -> dict:
    if value is None:
        return {}
    if hasattr(value, "toDict"):
        value = value.toDict()
    elif hasattr(value, "items"):
        value = dict(value.items())
    else:
        return {"value": _plain(value)}
    return {str(k): _plain(v) for k, v in value.items()}


def _plain(value: Any) -> Any:
    """JSON-safe: text, numbers, bools, lists and dicts pass; anything else becomes its repr."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "toDict"):
        return _plain(value.toDict())
    return repr(value)


def _scaled(score: Any, scale: float) -> float | None:
    if score is None:
        return None
    value = float(score) / scale
    if not math.isfinite(value):
        return None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"score={score!r} / score_scale={scale!r} = {value!r} is outside [0, 1]: wrong score_scale?")
    return round_score(value)
