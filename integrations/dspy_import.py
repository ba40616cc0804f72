"""Record a DSPy optimization as a prompt-optimization run: ``import_miprov2``, ``import_random_search``.

Two optimizers are imported, from what their ``compile`` returns:

- **MIPROv2** keeps one entry per trial in ``program.trial_logs``, numbered from 1: trial 1 is the
  full evaluation of the unoptimized program (the baseline); a minibatch trial has ``mb_score``,
  ``mb_program`` and the candidate indices it chose (``"<i>_predictor_instruction"``,
  ``"<i>_predictor_demos"``); with ``minibatch=False`` every trial is a full evaluation with its own
  indices. With minibatches, every few trials MIPROv2 re-scores on the whole valset the not yet
  re-scored candidate combination with the highest *mean* minibatch score; that entry carries no
  indices. The importer replays DSPy's own rule (``get_program_with_highest_avg_score``: means in
  first-seen order, ties to the first combination seen) over the logged minibatch scores, so each
  re-evaluation is credited to the exact combination DSPy re-scored (``params.rescored_trial``, the
  first trial that tried it, and ``params.minibatch_mean``), never to another candidate that
  happens to share its text. The returned program is the first full evaluation with the highest
  score, as in DSPy; its trial is ``metadata.dspy.returned_iteration``.
- **BootstrapFewShotWithRandomSearch** attaches ``program.candidate_programs`` (score, per-example
  ``subscores``, ``seed``, program). Each candidate becomes one full evaluation, numbered in the
  order DSPy evaluated them (by seed: -3 zero-shot, -2 labeled demos only, -1 unshuffled bootstrap,
  then shuffled ones); the zero-shot candidate's score is the baseline.

Other optimizers' results (SIMBA's ``trial_logs``, COPRO's or SIMBA's ``candidate_programs``,
GEPA's ``detailed_results``) are recognized and refused with a message naming what was found.

Everything is checked before anything is written, then the run, its iterations and samples are
written in one transaction (``PromptOptimizationStore.import_run``): a refusal
(``storage.errors.ValidationError``, naming the field and the value) leaves nothing behind. A score
that is not a finite number is refused, never stored as NULL.

What becomes what (both optimizers): each trial/candidate -> one iteration with ``score`` (DSPy's
score / ``score_scale``), ``instructions`` (the text of each predictor), ``demo_set_ids`` (the demo
candidate index of each predictor, MIPROv2), ``batch_size`` (examples evaluated) and ``params``:
``instruction_ids`` and ``demo_ids`` by predictor index, the demos themselves (``demos``: one list
of demo dicts per predictor), ``dspy_log`` (the kind DSPy logged), the saved program's path when
MIPROv2 had a ``log_dir`` (``program_path``), and for random search ``seed``, ``strategy`` and
``subscores``. ``evaluation_kind`` is ``full`` when the whole valset was evaluated (as DSPy's
``candidate_programs`` labels it: a "minibatch" as large as the valset is a full evaluation).
The run: ``config`` (the optimizer's settings and the compile arguments), ``iterations_planned``
(the trials DSPy runs, full re-evaluations included), ``baseline_score``, ``final_score`` (the
returned program's), and ``metadata.dspy``: predictor names, the returned iteration, the effective
settings (under ``auto``: num_trials, minibatch, minibatch size, valset size, candidate counts), the
instruction and demo candidates (explored or not, when recorded), and how usage was attributed.

**Tokens and cost** come from the LMs' history (``lm.history``: DSPy keeps each call's ``usage``
and ``cost``). DSPy does not say which trial made a call, so record the compile with
``DSPyRecorder``: it notes, through DSPy's callbacks, the calls made inside each evaluation (one per
trial) and those outside (bootstrapping, instruction proposals), the compile arguments with DSPy's
defaults, the start and end time, and MIPROv2's instruction and demo candidates::

    recorder = DSPyRecorder(optimizer)
    with recorder:
        program = optimizer.compile(student, trainset=train, valset=val)
    import_miprov2(store, program, name="qa v2", optimizer=optimizer, recording=recorder)

Then each iteration gets its evaluation's tokens and cost, and the run's ``unattributed_*`` usage
the calls outside the trials (the run's totals are the sum of both). Without a recorder, pass the
LMs (``lms=[lm]``): their whole history is the run's unattributed usage. A call whose cost DSPy
could not price counts 0 and is counted in ``metadata.dspy.usage.calls_without_cost``.

``samples_from_evaluation`` turns a ``dspy.Evaluate`` result into sample records; pass the result
as ``evaluation=`` and its samples are attached to the iteration whose program DSPy returned.

DSPy itself is not imported at module level: the functions read the objects DSPy hands back.
"""
from __future__ import annotations

import math
import numbers
import re
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from storage.errors import ValidationError
from storage.jsonfields import short_repr
from storage.prompts.store import PromptOptimizationStore
from storage.prompts.records import MIPROv2Config, round_score

_INDEX_KEY = re.compile(r"^(\d+)_predictor_(instruction|demos)$")
_MB, _FULL = "mb_score", "full_eval_score"
_NOTHING = "; nothing was written"
# MIPROv2's compile arguments and attributes that its typed config (storage.prompts.records) takes.
_MIPRO_CONFIG_KEYS = tuple(k for k in MIPROv2Config.model_fields if k not in ("model", "prompt_model", "task_model"))
_RANDOM_SEARCH_ATTRIBUTES = {  # config key -> BootstrapFewShotWithRandomSearch attribute
    "max_bootstrapped_demos": "max_num_samples", "max_labeled_demos": "max_labeled_demos",
    "max_rounds": "max_rounds", "num_candidate_programs": "num_candidate_sets", "stop_at_score": "stop_at_score",
    "metric_threshold": "metric_threshold", "num_threads": "num_threads", "max_errors": "max_errors",
}
_STRATEGIES = {-3: "zero-shot", -2: "labeled demos only", -1: "bootstrapped demos, trainset unshuffled"}


def _refuse(message: str) -> None:
    raise ValidationError(message + _NOTHING)


# ------------------------------------------------------------------------------- recognition


def recognize_optimizer(source: Any) -> str | None:
    """The DSPy optimizer whose results ``source`` (a compiled program, or a log) carries:
    ``"MIPROv2"``, ``"BootstrapFewShotWithRandomSearch"``, ``"SIMBA"``, ``"COPRO"``, ``"GEPA"``,
    or None when nothing is recognized."""
    logs = source if isinstance(source, Mapping) else getattr(source, "trial_logs", None)
    if isinstance(logs, Mapping) and logs:
        entries = [e for e in logs.values() if isinstance(e, Mapping)]
        if any(_MB in e or _FULL in e for e in entries):
            return "MIPROv2"
        if any("train_score" in e for e in entries) or min((k for k in logs if type(k) is int), default=1) <= 0:
            return "SIMBA"
    candidates = getattr(source, "candidate_programs", None)
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], Mapping):
        keys = set(candidates[0])
        if "seed" in keys:
            return "BootstrapFewShotWithRandomSearch"
        if keys & {"instruction", "prefix", "depth"}:
            return "COPRO"
        if "full_eval" in keys:
            return "MIPROv2"
        if keys <= {"score", "program"}:
            return "SIMBA"
    if getattr(source, "detailed_results", None) is not None:
        return "GEPA"
    return None


_WHAT_WAS_FOUND = {
    "MIPROv2": "MIPROv2's trial_logs: use import_miprov2",
    "BootstrapFewShotWithRandomSearch": "BootstrapFewShotWithRandomSearch's candidate_programs (with seeds): "
                                        "use import_random_search",
    "SIMBA": "SIMBA's results (trial_logs keyed from -1/0 with train_score, candidate_programs of score and "
             "program); SIMBA runs are not imported",
    "COPRO": "COPRO's candidate_programs (instruction, prefix, depth); COPRO runs are not imported",
    "GEPA": "GEPA's detailed_results; GEPA runs are not imported",
}


def _found(source: Any) -> str:
    name = recognize_optimizer(source)
    return _WHAT_WAS_FOUND[name] if name else f"a {type(source).__name__} without a known DSPy optimizer's results"


# ----------------------------------------------------------------------------------- MIPROv2


def trial_logs_of(source: Any) -> dict[int, dict]:
    """MIPROv2's per-trial log, checked: from a compiled program (``program.trial_logs``) or the log
    itself. Refuses (naming the key or field) anything else: empty logs, keys that are not trial
    numbers 1, 2, 3..., entries that are not dicts, and other optimizers' logs."""
    logs = source if isinstance(source, Mapping) else getattr(source, "trial_logs", None)
    if logs is None:
        _refuse(f"trial_logs: missing; found {_found(source)}")
    if not isinstance(logs, Mapping):
        _refuse(f"trial_logs: expected a dict of trials, got {type(logs).__name__}")
    if not logs:
        _refuse("trial_logs: empty, no trial to import")
    for key in logs:
        if type(key) is not int:
            _refuse(f"trial_logs key {key!r}: expected an int trial number, got {type(key).__name__}")
    found = recognize_optimizer(logs)
    if found != "MIPROv2":
        _refuse(f"trial_logs: not MIPROv2's (no entry has {_MB} or {_FULL}); found {_found(source)}")
    numbers_ = sorted(logs)
    if numbers_ != list(range(1, len(numbers_) + 1)):
        _refuse(f"trial_logs keys {short_repr(numbers_)}: MIPROv2 numbers its trials 1, 2, 3... without gaps")
    for key in numbers_:
        if not isinstance(logs[key], Mapping):
            _refuse(f"trial_logs[{key}]={short_repr(logs[key])}: expected a dict, got {type(logs[key]).__name__}")
    return {k: dict(logs[k]) for k in numbers_}


def iterations_from_trial_logs(trial_logs: Any, *, score_scale: float = 100.0) -> list[dict]:
    """Iteration records (``storage.prompts.records.IterationRecord`` fields) from MIPROv2's log."""
    return _replay_miprov2(trial_logs_of(trial_logs), _check_scale(score_scale))["iterations"]


def _replay_miprov2(logs: dict[int, dict], scale: float) -> dict:
    """Walk the trials as MIPROv2 ran them: iterations, the returned trial, the effective settings."""
    keys = [str(k) for e in logs.values() for k in _combination_keys(e)]
    with_demos = any(k.endswith("_demos") for k in keys)
    # Predictors: as many as the candidate indices name, else as the unoptimized program has.
    predictor_count = max((int(_INDEX_KEY.match(k).group(1)) + 1 for k in keys), default=0) or max(
        len(_predictors(logs[1].get("full_eval_program"))), 1)
    param_scores: dict[tuple, list[tuple[float, int]]] = {}  # combination -> [(minibatch score, trial)]
    rescored: set[tuple] = set()
    programs: dict[int, Any] = {}
    best_score, returned = None, None
    valset_size, previous_calls, minibatch_sizes = None, 0, set()
    iterations = []
    for trial, entry in logs.items():
        where = f"trial_logs[{trial}]"
        logged = [k for k in (_MB, _FULL) if k in entry]
        if len(logged) != 1:
            _refuse(f"{where}: expected exactly one of {_MB} / {_FULL}, found "
                    f"{' and '.join(logged) or 'neither'} (keys: {short_repr(sorted(map(str, entry)))})")
        key = logged[0]
        raw = _finite(entry[key], f"{where}.{key}")
        calls = entry.get("total_eval_calls_so_far")
        if type(calls) is not int or calls < previous_calls:
            _refuse(f"{where}.total_eval_calls_so_far={calls!r}: expected an int, at least the previous "
                    f"trial's {previous_calls}")
        batch, previous_calls = calls - previous_calls, calls
        combination = _combination(entry, where)
        program = entry.get("mb_program" if key == _MB else "full_eval_program")
        params: dict[str, Any] = {"dspy_log": "minibatch" if key == _MB else "full", "total_eval_calls_so_far": calls}
        if trial == 1:
            if key != _FULL or combination:
                _refuse(f"{where}: MIPROv2's trial 1 is the full evaluation of the unoptimized program "
                        f"({_FULL}, no candidate indices); found keys {short_repr(sorted(map(str, entry)))}")
            valset_size = calls
            # MIPROv2 registers the unoptimized program as candidate 0 of everything.
            combination = tuple((i, 0, 0 if with_demos else None) for i in range(predictor_count))
        elif key == _MB:
            if not combination:
                _refuse(f"{where}: a minibatch trial without its candidate indices (<i>_predictor_instruction)")
            param_scores.setdefault(combination, []).append((raw, trial))
            minibatch_sizes.add(batch)
        elif not combination:
            # A full re-evaluation: the combination DSPy chose, by its own rule.
            choice = _highest_mean(param_scores, rescored)
            if choice is None:
                _refuse(f"{where}: a full re-evaluation, but no minibatch combination is left for MIPROv2 to "
                        "re-score before it")
            combination, mean = choice
            rescored.add(combination)
            first = param_scores[combination][0][1]
            params.update(rescored_trial=first, minibatch_mean=mean / scale)
            if program is not None and programs.get(first) is not None and \
                    _program_key(program) != _program_key(programs[first]):
                _refuse(f"{where}.full_eval_program: not the program of trial {first}, the combination "
                        "MIPROv2's rule re-scores here: a log edited or from another run?")
        if key == _FULL and (best_score is None or raw > best_score):  # DSPy keeps the first best
            best_score, returned = raw, trial
        programs[trial] = program
        full = key == _FULL or batch >= valset_size
        iterations.append(_iteration(trial, "full" if full else "minibatch", _scaled(raw, scale, f"{where}.{key}"),
                                     combination, with_demos, program, batch, params,
                                     entry.get("mb_program_path" if key == _MB else "full_eval_program_path")))
    objective_trials = sum(1 for e in logs.values() if _combination_keys(e))
    minibatch = any(_MB in e for e in logs.values())
    return {
        "iterations": iterations,
        "returned": returned,
        "best_score": best_score,
        "predictor_count": predictor_count,
        "with_demos": with_demos,
        "effective": {
            "num_trials": objective_trials,
            "minibatch": minibatch,
            "minibatch_size": min(minibatch_sizes) if minibatch_sizes else None,
            "valset_size": valset_size,
        },
    }


def _combination_keys(entry: Mapping) -> list[str]:
    return [k for k in entry if _INDEX_KEY.match(str(k))]


def _combination(entry: Mapping, where: str) -> tuple:
    """((predictor, instruction index, demo index or None), ...) by predictor: DSPy's combo key."""
    chosen: dict[int, dict[str, int]] = {}
    for key in _combination_keys(entry):
        value = entry[key]
        if type(value) is not int or value < 0:
            _refuse(f"{where}.{key}={value!r}: expected a candidate index (an int >= 0)")
        predictor, what = _INDEX_KEY.match(key).groups()
        chosen.setdefault(int(predictor), {})[what] = value
    for predictor, picked in chosen.items():
        if "instruction" not in picked:
            _refuse(f"{where}: {predictor}_predictor_demos without {predictor}_predictor_instruction")
    return tuple((p, chosen[p]["instruction"], chosen[p].get("demos")) for p in sorted(chosen))


def _highest_mean(param_scores: dict[tuple, list], rescored: set) -> tuple[tuple, float] | None:
    """DSPy's ``get_program_with_highest_avg_score``: the best mean not yet re-scored; a stable sort
    in first-seen order, so ties go to the combination tried first."""
    means = [(combination, sum(s for s, _ in scores) / len(scores)) for combination, scores in param_scores.items()]
    for combination, mean in sorted(means, key=lambda item: item[1], reverse=True):
        if combination not in rescored:
            return combination, mean
    return None


def _iteration(trial: int, kind: str, score: float, combination: tuple, with_demos: bool, program: Any,
               batch: int, params: dict, program_path: Any) -> dict:
    instructions, demos = _program_parts(program)
    params = {
        "instruction_ids": {str(p): i for p, i, _ in combination},
        "demo_ids": {str(p): d for p, _, d in combination if d is not None},
        **params,
    }
    if demos is not None:
        params["demos"] = demos
    if program_path is not None:
        params["program_path"] = str(program_path)
    return {
        "iteration": trial,
        "evaluation_kind": kind,
        "score": score,
        "instructions": instructions,
        "demo_set_ids": [d for _, _, d in combination] if with_demos else None,
        "params": params,
        "batch_size": batch,
    }


def miprov2_records(
    source: Any,
    *,
    name: str,
    optimizer: Any = None,
    compile_kwargs: Mapping[str, Any] | None = None,
    recording: DSPyRecorder | None = None,
    lms: Iterable[Any] | None = None,
    score_scale: float = 100.0,
    baseline_score: float | None = None,
    final_score: float | None = None,
    samples: Iterable[Mapping[str, Any]] | None = None,
    evaluation: Any = None,
    **run_fields: Any,
) -> tuple[dict, list[dict], list[dict]]:
    """(run, iterations, samples) of a MIPROv2 optimization, checked, ready for ``import_run``."""
    scale = _check_scale(score_scale)
    logs = trial_logs_of(source)
    replay = _replay_miprov2(logs, scale)
    iterations = replay["iterations"]
    program_score = None if isinstance(source, Mapping) else getattr(source, "score", None)
    if program_score is not None:
        program_score = _finite(program_score, "program.score")
        if program_score != replay["best_score"]:
            _refuse(f"program.score={program_score!r}: the best full evaluation in trial_logs scored "
                    f"{replay['best_score']!r} (trial {replay['returned']}): logs of another program?")
    if baseline_score is None:
        baseline_score = iterations[0]["score"]
    if final_score is None:
        final_score = _scaled(replay["best_score"], scale, "program.score")

    config = miprov2_config(optimizer, **{**_recorded_arguments(recording, _MIPRO_CONFIG_KEYS), **dict(compile_kwargs or {})})
    effective = dict(replay["effective"])
    steps = config.get("minibatch_full_eval_steps")
    if effective["minibatch"] and isinstance(steps, int) and steps > 0:
        effective["minibatch_full_eval_steps"] = steps
    candidates = _recorded_candidates(recording)
    if "demo_candidates" in candidates and not replay["with_demos"]:
        # Zero-shot: MIPROv2 bootstrapped demos only to inform its instruction proposals.
        candidates["proposal_demo_candidates"] = candidates.pop("demo_candidates")
    if candidates.get("instruction_candidates"):
        effective["num_instruct_candidates"] = max(len(v) for v in candidates["instruction_candidates"].values())
    if candidates.get("demo_candidates"):
        effective["num_fewshot_candidates"] = max(len(v) for v in candidates["demo_candidates"].values())
    planned = _planned_trials(effective, len(logs))
    program = source if not isinstance(source, Mapping) else None
    dspy = {
        "optimizer": "MIPROv2",
        "predictors": _predictor_names(program or logs[1].get("full_eval_program"), replay["predictor_count"]),
        "returned_iteration": replay["returned"],
        "effective_settings": effective,
        **candidates,
    }
    if optimizer is not None and getattr(optimizer, "log_dir", None):
        dspy["log_dir"] = str(optimizer.log_dir)
    return _assemble(name, "miprov2", config, dspy, iterations, replay["returned"], planned, baseline_score,
                     final_score, recording, lms, samples, evaluation, run_fields)


def import_miprov2(store: PromptOptimizationStore, source: Any, *, name: str, **options: Any) -> dict:
    """Record a MIPROv2 optimization (its compiled program, or its ``trial_logs``) as one completed
    run with one iteration per trial, in one transaction; returns the stored run. Options: see
    ``miprov2_records`` (``optimizer``, ``compile_kwargs``, ``recording``, ``lms``, ``score_scale``,
    ``baseline_score``/``final_score`` in [0, 1], ``samples``, ``evaluation``) and any other run
    field (``tags``, ``task_name``, ``dataset_name``, ``model_name``, ``metadata``...)."""
    return store.import_run(*miprov2_records(source, name=name, **options))


def miprov2_config(optimizer: Any = None, **compile_kwargs: Any) -> dict:
    """The run config: MIPROv2's settings (from the optimizer object) and the compile arguments."""
    config: dict[str, Any] = {}
    if optimizer is not None:
        for key in _MIPRO_CONFIG_KEYS:
            value = getattr(optimizer, key, None)
            if _scalar(value):
                config[key] = value
        _describe_models(optimizer, config)
    config.update({k: v for k, v in compile_kwargs.items() if v is not None})
    return config


def _planned_trials(effective: dict, logged: int) -> int:
    """The trials MIPROv2 runs: its ``adjusted_num_trials`` with minibatches (full re-evaluations
    included), the baseline plus num_trials without."""
    trials = effective["num_trials"]
    steps = effective.get("minibatch_full_eval_steps")
    if not effective["minibatch"]:
        return trials + 1
    if steps:
        return trials + trials // steps + 1 + (1 if trials % steps else 0)
    return logged


# ------------------------------------------------------------------- BootstrapFewShotWithRandomSearch


def random_search_records(
    program: Any,
    *,
    name: str,
    optimizer: Any = None,
    recording: DSPyRecorder | None = None,
    lms: Iterable[Any] | None = None,
    score_scale: float = 100.0,
    samples: Iterable[Mapping[str, Any]] | None = None,
    evaluation: Any = None,
    **run_fields: Any,
) -> tuple[dict, list[dict], list[dict]]:
    """(run, iterations, samples) of a BootstrapFewShotWithRandomSearch optimization, checked."""
    scale = _check_scale(score_scale)
    candidates = getattr(program, "candidate_programs", None)
    if recognize_optimizer(program) != "BootstrapFewShotWithRandomSearch" or not isinstance(candidates, list):
        _refuse(f"candidate_programs: not BootstrapFewShotWithRandomSearch's (a list of score, subscores, "
                f"seed, program); found {_found(program)}")
    seen: dict[int, int] = {}
    for index, candidate in enumerate(candidates):
        where = f"candidate_programs[{index}]"
        if not isinstance(candidate, Mapping):
            _refuse(f"{where}={short_repr(candidate)}: expected a dict, got {type(candidate).__name__}")
        missing = [k for k in ("score", "subscores", "seed", "program") if k not in candidate]
        if missing:
            _refuse(f"{where}: missing {', '.join(missing)}")
        seed = candidate["seed"]
        if type(seed) is not int or seed < -3:
            _refuse(f"{where}.seed={seed!r}: expected an int >= -3")
        if seed in seen:
            _refuse(f"{where}.seed={seed}: also the seed of candidate_programs[{seen[seed]}]")
        seen[seed] = index
    ordered = sorted(candidates, key=lambda c: c["seed"])  # the order DSPy evaluated them in
    iterations, best, returned = [], None, None
    for number, candidate in enumerate(ordered, start=1):
        where = f"candidate_programs[{seen[candidate['seed']]}]"
        raw = _finite(candidate["score"], f"{where}.score")
        subscores = candidate["subscores"]
        if not isinstance(subscores, (list, tuple)):
            _refuse(f"{where}.subscores={short_repr(subscores)}: expected a list of per-example scores")
        subscores = [_finite(float(s) if isinstance(s, bool) else s, f"{where}.subscores[{i}]")
                     for i, s in enumerate(subscores)]
        if best is None or raw > best:  # DSPy keeps the first best, in evaluation order
            best, returned = raw, number
        instructions, demos = _program_parts(candidate["program"])
        params: dict[str, Any] = {"seed": candidate["seed"],
                                  "strategy": _STRATEGIES.get(candidate["seed"], "bootstrapped demos, trainset shuffled"),
                                  "dspy_log": "full", "subscores": subscores}
        if demos is not None:
            params["demos"] = demos
        iterations.append({"iteration": number, "evaluation_kind": "full",
                           "score": _scaled(raw, scale, f"{where}.score"), "instructions": instructions,
                           "params": params, "batch_size": len(subscores)})
    baseline = next((it["score"] for it in iterations if it["params"]["seed"] == -3), None)
    config: dict[str, Any] = {}
    if optimizer is not None:
        for key, attribute in _RANDOM_SEARCH_ATTRIBUTES.items():
            value = getattr(optimizer, attribute, None)
            if _scalar(value):
                config[key] = value
        _describe_models(optimizer, config)
    if recording is not None and recording.models:
        config.setdefault("model", recording.models[0])
    planned = len(iterations)
    if optimizer is not None and type(getattr(optimizer, "num_candidate_sets", None)) is int:
        seeds = set(range(-3, optimizer.num_candidate_sets))
        restrict = (recording.compile_inputs or {}).get("restrict") if recording is not None else None
        planned = len(seeds & set(restrict)) if restrict is not None else len(seeds)
    dspy = {
        "optimizer": "BootstrapFewShotWithRandomSearch",
        "predictors": _predictor_names(program, len(iterations[0]["instructions"] or [])),
        "returned_iteration": returned,
        "returned_seed": iterations[returned - 1]["params"]["seed"],
        "effective_settings": {"num_candidates": len(iterations), "valset_size": iterations[0]["batch_size"]},
    }
    return _assemble(name, "bootstrap_fewshot_random_search", config, dspy, iterations, returned, planned,
                     baseline, _scaled(best, scale, "score"), recording, lms, samples, evaluation, run_fields)


def import_random_search(store: PromptOptimizationStore, program: Any, *, name: str, **options: Any) -> dict:
    """Record a BootstrapFewShotWithRandomSearch optimization (the program ``compile`` returned) as
    one completed run with one full evaluation per candidate program, in one transaction."""
    return store.import_run(*random_search_records(program, name=name, **options))


# ------------------------------------------------------------------------------ run assembly


def _assemble(name: str, optimizer_type: str, config: dict, dspy: dict, iterations: list[dict], returned: int,
              planned: int, baseline: float | None, final: float | None, recording: DSPyRecorder | None,
              lms: Iterable[Any] | None, samples: Iterable[Mapping[str, Any]] | None, evaluation: Any,
              run_fields: dict) -> tuple[dict, list[dict], list[dict]]:
    unattributed, dspy["usage"] = _attribute_usage(iterations, recording, lms)
    sample_records = list(samples) if samples is not None else []
    if evaluation is not None:
        sample_records += samples_from_evaluation(evaluation, iteration=returned)
    metadata = dict(run_fields.pop("metadata", None) or {})
    metadata["dspy"] = dspy
    model = config.get("task_model") or config.get("model")
    record = {
        "name": name,
        "optimizer_type": optimizer_type,
        "status": "completed",
        "config": config,
        "metadata": metadata,
        "baseline_score": baseline,
        "final_score": final,
        "iterations_planned": planned,
        "model_name": run_fields.pop("model_name", None) or model,
        "prompt_model_name": run_fields.pop("prompt_model_name", None) or config.get("prompt_model"),
        **unattributed,
    }
    if recording is not None and recording.started_at and recording.ended_at:
        record["start_time"], record["end_time"] = recording.started_at, recording.ended_at
    record.update(run_fields)
    return {k: v for k, v in record.items() if v is not None}, iterations, sample_records


def _attribute_usage(iterations: list[dict], recording: DSPyRecorder | None,
                     lms: Iterable[Any] | None) -> tuple[dict, dict]:
    """Tokens and cost per iteration where the recording tells which evaluation made each call;
    the rest (or everything, without a recording) is the run's unattributed usage."""
    if recording is not None:
        evaluations = recording.evaluations
        if len(evaluations) == len(iterations):
            for iteration, entries in zip(iterations, evaluations):
                usage = _usage(entries)
                iteration.update(prompt_tokens=usage["prompt_tokens"], completion_tokens=usage["completion_tokens"],
                                 cost=usage["cost"])
            outside, per = _usage(recording.outside), [_usage(e) for e in evaluations]
            note = {"attributed_to": "iterations", "calls": outside["calls"] + sum(u["calls"] for u in per),
                    "calls_outside_trials": outside["calls"],
                    "calls_without_cost": outside["calls_without_cost"] + sum(u["calls_without_cost"] for u in per)}
        else:
            outside = _usage(recording.outside + [e for entries in evaluations for e in entries])
            note = {"attributed_to": "run", "calls": outside["calls"], "calls_without_cost": outside["calls_without_cost"],
                    "why": f"{len(evaluations)} evaluations recorded for {len(iterations)} iterations"}
        if recording.history_truncated:
            note["history_truncated"] = True
    elif lms is not None:
        entries, seen = [], set()
        for lm in lms:
            if id(lm) not in seen:
                seen.add(id(lm))
                entries += list(getattr(lm, "history", None) or [])
        outside = _usage(entries)
        note = {"attributed_to": "run", "calls": outside["calls"], "calls_without_cost": outside["calls_without_cost"],
                "why": "no DSPyRecorder: the LMs' whole history"}
    else:
        return {}, {"attributed_to": None, "why": "neither a DSPyRecorder nor the LMs were given"}
    unattributed = {"unattributed_prompt_tokens": outside["prompt_tokens"],
                    "unattributed_completion_tokens": outside["completion_tokens"],
                    "unattributed_cost": outside["cost"]}
    return unattributed, note


def _usage(entries: Iterable[Mapping[str, Any]]) -> dict:
    """Sums of DSPy history entries: tokens (``usage``) and cost (None = DSPy could not price it)."""
    total = {"prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0, "calls": 0, "calls_without_cost": 0}
    for entry in entries:
        usage = entry.get("usage") or {}
        total["calls"] += 1
        total["prompt_tokens"] += int(usage.get("prompt_tokens", usage.get("input_tokens")) or 0)
        total["completion_tokens"] += int(usage.get("completion_tokens", usage.get("output_tokens")) or 0)
        cost = entry.get("cost")
        if isinstance(cost, numbers.Real) and math.isfinite(cost) and cost >= 0:
            total["cost"] += float(cost)
        else:
            total["calls_without_cost"] += 1
    total["cost"] = round(total["cost"], 6)
    return total


# ---------------------------------------------------------------------------------- recording


class DSPyRecorder:
    """What DSPy does not keep, noted while an optimizer compiles (use it as a context manager
    around ``compile``): the LM history entries made inside each ``Evaluate`` call (one per trial),
    those made outside any (bootstrapping, instruction proposals), the outermost compile's
    arguments (DSPy's defaults included), its start and end time, the models called, and, given a
    MIPROv2 optimizer, its instruction and demo candidates (which DSPy discards after compile).

    It adds a DSPy callback for the duration (``dspy.context(callbacks=...)``; threads of
    ``Evaluate`` inherit it) and, for the candidates, wraps two of the optimizer's own steps on this
    instance only, restored on exit."""

    def __init__(self, optimizer: Any = None):
        self.optimizer = optimizer
        self.compile_inputs: dict | None = None
        self.started_at: str | None = None
        self.ended_at: str | None = None
        self.evaluations: list[list[dict]] = []
        self.outside: list[dict] = []
        self.models: list[str] = []
        self.instruction_candidates: Any = None
        self.demo_candidates: Any = None
        self.history_truncated = False
        self._lock = threading.RLock()
        self._marks: dict[int, list] = {}  # id(lm) -> [lm, the last history entry seen]
        self._calls: dict[str, Any] = {}
        self._compiles = 0
        self._evaluating = 0
        self._context = None
        self._wrapped: list[str] = []

    def __enter__(self) -> DSPyRecorder:
        import dspy
        from dspy.utils.callback import BaseCallback

        self._context = dspy.context(callbacks=[*(dspy.settings.get("callbacks") or []), _callback(self, BaseCallback)])
        self._context.__enter__()
        if self.optimizer is not None:
            self._wrap("_bootstrap_fewshot_examples", "demo_candidates")
            self._wrap("_propose_instructions", "instruction_candidates")
        return self

    def __exit__(self, *exc_info) -> None:
        for name in self._wrapped:
            delattr(self.optimizer, name)  # the class's method again
        self._wrapped.clear()
        self._context.__exit__(*exc_info)

    def _wrap(self, method: str, attribute: str) -> None:
        original = getattr(self.optimizer, method, None)
        if original is None or method in vars(self.optimizer):
            return

        def keep(*args, **kwargs):
            result = original(*args, **kwargs)
            setattr(self, attribute, result)
            return result

        setattr(self.optimizer, method, keep)
        self._wrapped.append(method)

    # Called by the DSPy callback (any thread).
    def _compile_start(self, inputs: dict) -> None:
        with self._lock:
            if self._compiles == 0:
                self.compile_inputs = dict(inputs)
                self.started_at = _now()
            self._compiles += 1

    def _compile_end(self) -> None:
        with self._lock:
            self._collect_all()
            self._compiles -= 1
            if self._compiles == 0:
                self.ended_at = _now()

    def _evaluate(self, step: int) -> None:
        with self._lock:
            self._collect_all()
            if step > 0 and self._compiles and self._evaluating == 0:
                self.evaluations.append([])
            self._evaluating = max(0, self._evaluating + step)

    def _lm_start(self, call_id: str, lm: Any) -> None:
        with self._lock:
            if id(lm) not in self._marks:
                history = getattr(lm, "history", None) or []
                self._marks[id(lm)] = [lm, history[-1] if history else None]
                model = getattr(lm, "model", None)
                if isinstance(model, str) and model not in self.models:
                    self.models.append(model)
            self._calls[call_id] = lm

    def _lm_end(self, call_id: str) -> None:
        with self._lock:
            lm = self._calls.pop(call_id, None)
            if lm is not None:
                self._collect(self._marks[id(lm)])

    def _collect_all(self) -> None:
        for mark in self._marks.values():
            self._collect(mark)

    def _collect(self, mark: list) -> None:
        """The entries the LM added since last seen, to the open evaluation or to 'outside'."""
        history = getattr(mark[0], "history", None) or []
        new = []
        for entry in reversed(history):
            if entry is mark[1]:
                break
            new.append(entry)
        else:
            if mark[1] is not None:  # DSPy dropped entries (max_history_size) before we saw them
                self.history_truncated = True
        mark[1] = history[-1] if history else None
        if not self._compiles:
            return
        (self.evaluations[-1] if self._evaluating and self.evaluations else self.outside).extend(reversed(new))


def _callback(recorder: DSPyRecorder, base: type) -> Any:
    class _Recording(base):
        def on_compile_start(self, call_id, instance, inputs):
            recorder._compile_start(inputs)

        def on_compile_end(self, call_id, outputs, exception=None):
            recorder._compile_end()

        def on_evaluate_start(self, call_id, instance, inputs):
            recorder._evaluate(+1)

        def on_evaluate_end(self, call_id, outputs, exception=None):
            recorder._evaluate(-1)

        def on_lm_start(self, call_id, instance, inputs):
            recorder._lm_start(call_id, instance)

        def on_lm_end(self, call_id, outputs, exception=None):
            recorder._lm_end(call_id)

    return _Recording()


def _recorded_arguments(recording: DSPyRecorder | None, keys: Iterable[str]) -> dict:
    inputs = (recording.compile_inputs or {}) if recording is not None else {}
    return {k: inputs[k] for k in keys if _scalar(inputs.get(k))}


def _recorded_candidates(recording: DSPyRecorder | None) -> dict:
    """MIPROv2's candidates by predictor index: instruction texts and demo sets (lists of demos)."""
    if recording is None:
        return {}
    out = {}
    if isinstance(recording.instruction_candidates, Mapping):
        out["instruction_candidates"] = {str(p): [str(t) for t in texts]
                                         for p, texts in sorted(recording.instruction_candidates.items())}
    if isinstance(recording.demo_candidates, Mapping):
        out["demo_candidates"] = {str(p): [[_as_dict(d) for d in demo_set] for demo_set in sets]
                                  for p, sets in sorted(recording.demo_candidates.items())}
    return out


# ----------------------------------------------------------------------------------- samples


def samples_from_evaluation(results: Any, *, iteration: int, score_scale: float = 1.0,
                            failure_score: float | None = None) -> list[dict]:
    """Sample records from ``dspy.Evaluate``'s result (an ``EvaluationResult``, or its ``results``:
    a list of (example, prediction, score)).

    A metric's bool becomes 1.0 / 0.0. A prediction that is empty while the score equals
    ``failure_score`` (what ``Evaluate`` substitutes for an example that raised) is recorded as a
    failed sample. Token counts come from the prediction's usage when DSPy tracked it
    (``dspy.configure(track_usage=True)``)."""
    results = getattr(results, "results", results)
    samples = []
    for index, (example, prediction, score) in enumerate(results):
        inputs = _as_dict(example.inputs()) if hasattr(example, "inputs") else _as_dict(example)
        labels = _as_dict(example.labels()) if hasattr(example, "labels") else None
        output = _as_dict(prediction)
        failed = not output and failure_score is not None and score == failure_score
        value = None
        if score is not None:
            value = _scaled(_finite(float(score) if isinstance(score, bool) else score, f"results[{index}].score"),
                            score_scale, f"results[{index}].score")
        sample = {
            "iteration": iteration,
            "sample_index": index,
            "input": inputs,
            "output": output or None,
            "expected": labels or None,
            "score": value,
            "success": not failed,
            "error": "evaluation raised (DSPy substituted failure_score)" if failed else None,
        }
        usage = prediction.get_lm_usage() if hasattr(prediction, "get_lm_usage") else None
        if isinstance(usage, Mapping) and usage:
            sample["prompt_tokens"] = sum(int((u or {}).get("prompt_tokens") or 0) for u in usage.values())
            sample["completion_tokens"] = sum(int((u or {}).get("completion_tokens") or 0) for u in usage.values())
        samples.append(sample)
    return samples


# ------------------------------------------------------------------------- for page and CLI


def candidate_summary(iteration: Mapping[str, Any], predictors: list[str] | None = None) -> dict:
    """What a DSPy iteration evaluated, for people: the instruction and demo-set index of each
    predictor (named), and for a MIPROv2 re-evaluation the trial it re-scored."""
    params = iteration.get("params") or {}
    names = list(predictors or [])

    def named(ids: Mapping) -> str | None:
        if not ids:
            return None
        return ", ".join(f"{names[int(p)] if int(p) < len(names) else p}: {i}" for p, i in ids.items())

    rescored = params.get("rescored_trial")
    return {
        "instruction": named(params.get("instruction_ids") or {}),
        "demo set": named(params.get("demo_ids") or {}),
        "re-scores": None if rescored is None else
        f"trial {rescored} (minibatch mean {params.get('minibatch_mean', float('nan')):.4f})",
        "seed": params.get("seed"),
    }


# ----------------------------------------------------------------------------------- helpers


def _program_parts(program: Any) -> tuple[list[str] | None, list[list[dict]] | None]:
    """(instruction text per predictor, demos per predictor as dicts) of a DSPy program."""
    if program is None or not hasattr(program, "predictors"):
        return None, None
    instructions, demos = [], []
    for predictor in program.predictors():
        signature = getattr(predictor, "signature", None)
        instructions.append(str(getattr(signature, "instructions", "")))
        demos.append([_as_dict(d) for d in getattr(predictor, "demos", None) or []])
    return instructions, demos


def _program_key(program: Any) -> tuple:
    instructions, demos = _program_parts(program)
    return tuple(instructions or ()), repr(demos)


def _predictors(program: Any) -> list:
    return list(program.predictors()) if hasattr(program, "predictors") else []


def _predictor_names(program: Any, count: int) -> list[str]:
    if program is not None and hasattr(program, "named_predictors"):
        names = [str(name) for name, _ in program.named_predictors()]
        if len(names) == count:
            return names
    return [f"predictor {i}" for i in range(count)]


def _describe_models(optimizer: Any, config: dict) -> None:
    metric = getattr(optimizer, "metric", None)
    if metric is not None:
        config["metric"] = getattr(metric, "__name__", type(metric).__name__)
    for role in ("prompt_model", "task_model"):
        model = getattr(getattr(optimizer, role, None), "model", None)
        if isinstance(model, str):
            config[role] = model


def _check_scale(score_scale: Any) -> float:
    if isinstance(score_scale, bool) or not isinstance(score_scale, numbers.Real) or not (
            math.isfinite(score_scale) and score_scale > 0):
        _refuse(f"score_scale={score_scale!r}: expected a positive number (100 for dspy.Evaluate's percentages)")
    return float(score_scale)


def _finite(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        _refuse(f"{field}={short_repr(value)}: expected a number, got {type(value).__name__}")
    if not math.isfinite(value):
        _refuse(f"{field}={value!r}: not a finite number")
    return float(value)


def _scaled(value: float, scale: float, field: str) -> float:
    scaled = value / scale
    if not 0.0 <= scaled <= 1.0:
        _refuse(f"{field}={value!r}: / score_scale={scale:g} = {scaled!r} is outside [0, 1]: wrong score_scale?")
    return round_score(scaled)


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, bool, int)) or (isinstance(value, float) and math.isfinite(value))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


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
