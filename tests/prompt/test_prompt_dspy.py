"""The DSPy importer against real DSPy optimizers (DSPy's offline DummyLM, no network): every stored
field is compared with DSPy's own objects (``trial_logs``, ``candidate_programs``, the candidates
MIPROv2 proposed, the LM's history), on SQLite and PostgreSQL; bad logs are refused with the field
named and nothing in the store afterwards."""
from __future__ import annotations

import copy
import functools
import json
import logging
import math
import random
import re

import pytest

from integrations.dspy_import import (
    DSPyRecorder,
    import_miprov2,
    import_random_search,
    recognize_optimizer,
    samples_from_evaluation,
)
from prompt_fixtures import sql  # noqa: F401
from storage.errors import ValidationError
from storage.prompts.store import PromptOptimizationStore

dspy = pytest.importorskip("dspy")  # a dev requirement: CI has it (requirements-dev.txt)
from dspy.teleprompt.mipro_optimizer_v2 import AUTO_RUN_SETTINGS  # noqa: E402
from dspy.utils import DummyLM  # noqa: E402
from dspy_runs import MeteredLM, TwoStep, answers, calls_during  # noqa: E402  (tests/dspy_runs.py)

logging.getLogger("dspy").setLevel(logging.ERROR)
logging.getLogger("optuna").setLevel(logging.ERROR)

DATA = [dspy.Example(question=f"What is 2+2 ({i})?", answer="4").with_inputs("question") for i in range(30)]
TRAIN, VAL = DATA[:20], DATA[20:]


def exact_match(example, prediction, trace=None):
    return example.answer == prediction.answer


STUDENTS = {"predict": lambda: dspy.Predict("question -> answer"), "cot": lambda: dspy.ChainOfThought("question -> answer"),
            "two": TwoStep}
CALLS_PER_EXAMPLE = {"predict": 1, "cot": 1, "two": 2}
MB = dict(minibatch=True, minibatch_size=4, minibatch_full_eval_steps=2)
# name: (student, MIPROv2 arguments, compile arguments, proposals share one text)
CONFIGS = {
    "predict-minibatch": ("predict", {}, dict(num_trials=6, **MB), False),
    "predict-no-minibatch": ("predict", {}, dict(num_trials=5, minibatch=False), False),
    "cot-minibatch": ("cot", {}, dict(num_trials=5, **MB), False),
    "two-predictors": ("two", {}, dict(num_trials=6, **MB), False),
    "zero-shot": ("predict", {}, dict(num_trials=5, max_bootstrapped_demos=0, max_labeled_demos=0, **MB), False),
    "duplicate-texts": ("predict", {}, dict(num_trials=8, **MB), True),
    "minibatch-is-valset": ("predict", {}, dict(num_trials=4, minibatch=True, minibatch_size=len(VAL),
                                                minibatch_full_eval_steps=2), False),
    "auto-light": ("predict", {"auto": "light", "num_candidates": None}, {}, False),
    "two-threads": ("cot", {"num_threads": 2}, dict(num_trials=5, **MB), False),  # the recorder across threads
}


@functools.lru_cache(maxsize=None)
def mipro_run(config: str):
    """One real MIPROv2 compile per configuration (shared by both backends): its objects, the
    recorder, the LM history of the compile and an evaluation of the returned program."""
    student_kind, optimizer_args, compile_args, duplicates = CONFIGS[config]
    compile_args = {"max_bootstrapped_demos": 2, "max_labeled_demos": 2, **compile_args}
    lm = MeteredLM(answers(7, duplicates))
    student = STUDENTS[student_kind]()
    with dspy.context(lm=lm):
        optimizer = dspy.MIPROv2(metric=exact_match, prompt_model=lm, task_model=lm, verbose=False, seed=1,
                                 **{"auto": None, "num_candidates": 3, "num_threads": 1, **optimizer_args})
        recorder = DSPyRecorder(optimizer)
        with recorder:
            program, history = calls_during(lambda: optimizer.compile(student, trainset=TRAIN, valset=VAL,
                                                                      **compile_args))
        evaluation = dspy.Evaluate(devset=VAL, metric=exact_match, num_threads=1, display_progress=False)(program)
    return dict(config=config, student=student, student_kind=student_kind, optimizer=optimizer, recorder=recorder,
                program=program, history=history, evaluation=evaluation, compile_args=compile_args)


def _demos(predictor) -> list[dict]:
    return [dict(d.toDict()) for d in predictor.demos]


def _kind_scores(iterations, kind):
    return sorted(it["score"] for it in iterations if it["evaluation_kind"] == kind)


def _index(candidates, chosen) -> int:
    """Where DSPy's chosen object sits among its candidates (identity: duplicate texts stay apart)."""
    return next(i for i, candidate in enumerate(candidates) if candidate is chosen)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_miprov2_runs_are_imported_exactly(config, db_url):
    r = mipro_run(config)
    program, optimizer, recorder, logs = r["program"], r["optimizer"], r["recorder"], r["program"].trial_logs
    instruction_candidates, demo_candidates = recorder.instruction_candidates, recorder.demo_candidates
    with_demos = r["compile_args"]["max_bootstrapped_demos"] + r["compile_args"]["max_labeled_demos"] > 0
    with PromptOptimizationStore(db_url, project_id="dspy") as store:
        stored = import_miprov2(store, program, name=config, optimizer=optimizer, recording=recorder,
                                evaluation=r["evaluation"], tags=["dspy"])
        run = store.get_run(stored["id"])
        iterations = store.get_iterations(run["id"])
        samples = store.get_samples(run["id"], limit=None)

    # Trials, scores and their kinds, as DSPy labels its candidate_programs (full: the whole valset).
    assert [it["iteration"] for it in iterations] == sorted(logs)
    for it in iterations:
        entry = logs[it["iteration"]]
        assert it["score"] == round(entry.get("mb_score", entry.get("full_eval_score")) / 100, 4)
    assert _kind_scores(iterations, "full") == sorted(round(c["score"] / 100, 4) for c in program.candidate_programs)
    assert _kind_scores(iterations, "minibatch") == sorted(round(c["score"] / 100, 4)
                                                           for c in program.mb_candidate_programs)

    # The candidate of every trial: its indices, instruction texts and demos, per predictor.
    predictors = [name for name, _ in program.named_predictors()]
    assert run["metadata"]["dspy"]["predictors"] == predictors
    for it in iterations:
        entry = logs[it["iteration"]]
        evaluated = entry.get("mb_program") or entry["full_eval_program"]
        if it["iteration"] == 1:
            expected = {str(i): (0, 0 if with_demos else None) for i in range(len(predictors))}
        elif "0_predictor_instruction" in entry:
            expected = {str(i): (entry[f"{i}_predictor_instruction"], entry.get(f"{i}_predictor_demos"))
                        for i in range(len(predictors))}
        else:  # a full re-evaluation: the very candidate objects DSPy put into the program it re-scored
            expected = {str(i): (_index(instruction_candidates[i], p.signature.instructions),
                                 _index(demo_candidates[i], p.demos) if with_demos else None)
                        for i, p in enumerate(evaluated.predictors())}
        assert it["params"]["instruction_ids"] == {k: v[0] for k, v in expected.items()}, it["iteration"]
        assert it["params"]["demo_ids"] == {k: v[1] for k, v in expected.items() if v[1] is not None}
        assert it["demo_set_ids"] == ([v[1] for v in expected.values()] if with_demos else None)
        assert it["instructions"] == [p.signature.instructions for p in evaluated.predictors()]
        assert it["params"]["demos"] == [_demos(p) for p in evaluated.predictors()]
        for i, (instruction, _) in expected.items():
            assert instruction_candidates[int(i)][instruction] == it["instructions"][int(i)]
        if "rescored_trial" in it["params"]:
            first = logs[it["params"]["rescored_trial"]]
            assert [first[f"{i}_predictor_instruction"] for i in range(len(predictors))] == \
                [v[0] for v in expected.values()]

    # The program DSPy returned, the samples of its evaluation, the run's scores and counts.
    returned = run["metadata"]["dspy"]["returned_iteration"]
    chosen = logs[returned]["full_eval_program"]
    assert logs[returned]["full_eval_score"] == program.score
    assert [p.signature.instructions for p in chosen.predictors()] == [p.signature.instructions
                                                                      for p in program.predictors()]
    assert [_demos(p) for p in chosen.predictors()] == [_demos(p) for p in program.predictors()]
    assert {s["iteration"] for s in samples} == {returned} and len(samples) == len(VAL)
    assert [s["score"] for s in samples] == [float(score) for _, _, score in r["evaluation"].results]
    assert run["status"] == "completed" and run["tags"] == ["dspy"]
    assert run["baseline_score"] == round(logs[1]["full_eval_score"] / 100, 4)
    assert run["final_score"] == round(program.score / 100, 4)
    assert run["iterations_planned"] == run["iterations_completed"] == len(logs)
    assert run["samples_evaluated"] == len(VAL)
    fulls = [it for it in iterations if it["evaluation_kind"] == "full"]
    top = max(it["score"] for it in fulls)
    assert [it["iteration"] for it in iterations if it["is_best"]] == [min(it["iteration"] for it in fulls
                                                                          if it["score"] == top)]

    # Settings: as given, and as DSPy made them under auto.
    effective = run["metadata"]["dspy"]["effective_settings"]
    if optimizer.auto:
        n = AUTO_RUN_SETTINGS[optimizer.auto]["n"]
        assert effective["num_trials"] == optimizer._set_num_trials_from_num_candidates(r["student"], False, n)
        assert effective["valset_size"] == min(len(VAL), AUTO_RUN_SETTINGS[optimizer.auto]["val_size"])
        assert effective["minibatch"] is (effective["valset_size"] > 50)
        assert run["config"]["auto"] == "light" and "num_trials" not in run["config"]
    else:
        assert effective["num_trials"] == r["compile_args"]["num_trials"] == run["config"]["num_trials"]
        assert effective["valset_size"] == len(VAL)
        assert effective["minibatch"] is r["compile_args"]["minibatch"]
        if effective["minibatch"]:
            assert effective["minibatch_size"] == r["compile_args"]["minibatch_size"]
        assert run["config"]["num_candidates"] == optimizer.num_candidates == 3
    assert run["config"]["seed"] == optimizer.seed and run["model_name"] == "dummy"
    stored_candidates = run["metadata"]["dspy"]["instruction_candidates"]
    assert stored_candidates == {str(i): list(texts) for i, texts in instruction_candidates.items()}
    assert [texts[0] for texts in stored_candidates.values()] == [p.signature.instructions
                                                                  for p in r["student"].predictors()]
    demo_key = "demo_candidates" if with_demos else "proposal_demo_candidates"
    assert run["metadata"]["dspy"][demo_key] == {str(i): [[dict(d.toDict()) for d in s] for s in sets]
                                                 for i, sets in demo_candidates.items()}

    # Tokens and cost: the LM history of the compile, in order; with one thread each trial's
    # calls are a block of (examples evaluated x calls per example), after the setup's calls.
    per_example = CALLS_PER_EXAMPLE[r["student_kind"]]
    blocks, end = [], len(r["history"])
    for trial in sorted(logs, reverse=True):
        size = (logs[trial]["total_eval_calls_so_far"] - logs.get(trial - 1, {}).get("total_eval_calls_so_far", 0))
        blocks.insert(0, r["history"][end - size * per_example:end])
        end -= size * per_example
    setup = r["history"][:end]
    for it, block in zip(iterations, blocks):
        assert it["prompt_tokens"] == sum(e["usage"]["prompt_tokens"] for e in block)
        assert it["completion_tokens"] == sum(e["usage"]["completion_tokens"] for e in block)
        assert it["cost"] == pytest.approx(sum(e["cost"] for e in block), abs=1e-6)
        assert it["batch_size"] == len(block) // per_example
    assert run["unattributed_prompt_tokens"] == sum(e["usage"]["prompt_tokens"] for e in setup) > 0
    assert run["prompt_tokens"] == sum(e["usage"]["prompt_tokens"] for e in r["history"])
    assert run["completion_tokens"] == sum(e["usage"]["completion_tokens"] for e in r["history"])
    assert run["cost"] == pytest.approx(sum(e["cost"] for e in r["history"]), abs=1e-5) and run["cost"] > 0
    assert run["metadata"]["dspy"]["usage"]["calls"] == len(r["history"])


def test_duplicate_candidate_texts_are_told_apart():
    """The case text matching got wrong: two instruction candidates with one text."""
    r = mipro_run("duplicate-texts")
    texts = r["recorder"].instruction_candidates[0]
    assert texts[1] == texts[2] and texts[1] is not texts[2]
    logs = r["program"].trial_logs
    rescored = [t for t, e in logs.items() if t > 1 and "0_predictor_instruction" not in e]
    chosen = [_index(texts, logs[t]["full_eval_program"].predictors()[0].signature.instructions) for t in rescored]
    assert 2 in chosen or 1 in chosen  # the ambiguity is really there to be resolved (checked above per trial)


def test_a_recording_without_trials_aligned_keeps_usage_on_the_run(tmp_path):
    r = mipro_run("predict-minibatch")
    with PromptOptimizationStore(tmp_path / "u.db", project_id="p") as store:
        run = import_miprov2(store, r["program"], name="lm only", optimizer=r["optimizer"],
                             lms=[r["optimizer"].task_model, r["optimizer"].prompt_model])
        iterations = store.get_iterations(run["id"])
    history = r["optimizer"].task_model.history  # the whole history: the compile and the evaluation after it
    assert {it["prompt_tokens"] for it in iterations} == {0} and {it["cost"] for it in iterations} == {0.0}
    assert run["prompt_tokens"] == run["unattributed_prompt_tokens"] == sum(e["usage"]["prompt_tokens"] for e in history)
    assert run["cost"] == pytest.approx(sum(e["cost"] for e in history), abs=1e-5)
    assert run["metadata"]["dspy"]["usage"]["attributed_to"] == "run"


@functools.lru_cache(maxsize=None)
def random_search_run():
    lm = MeteredLM(answers(3, False))
    with dspy.context(lm=lm):
        optimizer = dspy.BootstrapFewShotWithRandomSearch(metric=exact_match, max_bootstrapped_demos=2,
                                                          max_labeled_demos=2, num_candidate_programs=3, num_threads=1)
        recorder = DSPyRecorder(optimizer)
        with recorder:
            program, history = calls_during(lambda: optimizer.compile(dspy.Predict("question -> answer"),
                                                                      trainset=TRAIN, valset=VAL))
    return optimizer, recorder, program, history


def test_random_search_is_imported_exactly(db_url):
    optimizer, recorder, program, history = random_search_run()
    candidates = sorted(program.candidate_programs, key=lambda c: c["seed"])  # the order DSPy evaluated them
    with PromptOptimizationStore(db_url, project_id="dspy") as store:
        stored = import_random_search(store, program, name="rs", optimizer=optimizer, recording=recorder)
        run = store.get_run(stored["id"])
        iterations = store.get_iterations(run["id"])
    assert [c["seed"] for c in candidates] == list(range(-3, 3))
    assert len(iterations) == len(candidates) == run["iterations_planned"] == run["iterations_completed"]
    for it, candidate in zip(iterations, candidates):
        assert it["evaluation_kind"] == "full" and it["score"] == round(candidate["score"] / 100, 4)
        assert it["params"]["seed"] == candidate["seed"]
        assert it["params"]["subscores"] == [float(s) for s in candidate["subscores"]]
        assert it["params"]["demos"] == [_demos(p) for p in candidate["program"].predictors()]
        assert it["instructions"] == [p.signature.instructions for p in candidate["program"].predictors()]
        assert it["batch_size"] == len(VAL)
    returned = run["metadata"]["dspy"]["returned_iteration"]
    assert candidates[returned - 1]["program"] is program  # DSPy returns that candidate's very object
    assert run["final_score"] == round(candidates[returned - 1]["score"] / 100, 4)
    assert run["baseline_score"] == round(next(c["score"] for c in candidates if c["seed"] == -3) / 100, 4)
    assert run["optimizer_type"] == "bootstrap_fewshot_random_search"
    assert run["config"]["num_candidate_programs"] == 3 and run["config"]["max_bootstrapped_demos"] == 2
    # Every evaluation is len(VAL) calls of the history; bootstrapping between them is the run's.
    assert sum(it["prompt_tokens"] for it in iterations) + run["unattributed_prompt_tokens"] == run["prompt_tokens"] \
        == sum(e["usage"]["prompt_tokens"] for e in history)
    assert run["cost"] == pytest.approx(sum(e["cost"] for e in history), abs=1e-5)
    assert run["metadata"]["dspy"]["usage"]["calls"] == len(history)
    assert all(it["prompt_tokens"] > 0 for it in iterations)


# ----------------------------------------------------------------------------------- refusals


def _counts(sql) -> list[int]:
    return [sql(f"SELECT count(*) AS n FROM {t}")[0]["n"]
            for t in ("optimization_runs", "optimization_iterations", "optimization_samples")]


def _logs_with(change):
    logs = {t: dict(e) for t, e in mipro_run("predict-minibatch")["program"].trial_logs.items()}
    change(logs)
    return logs


def _program_with(**attributes):
    program = copy.copy(mipro_run("predict-minibatch")["program"])
    for key, value in attributes.items():
        setattr(program, key, value)
    return program


@functools.lru_cache(maxsize=None)
def simba_program():
    rng = random.Random(5)
    lm = DummyLM(iter(lambda: {"answer": rng.choice(["4", "5"]), "discussion": "d", "module_advice": "{}"}, None))
    with dspy.context(lm=lm):
        return dspy.SIMBA(metric=lambda e, p, trace=None: float(exact_match(e, p)), bsize=4, num_candidates=2,
                          max_steps=1, num_threads=1).compile(dspy.Predict("question -> answer"), trainset=DATA[:8])


def _mipro(store, source, **options):
    return import_miprov2(store, source, name="bad", **options)


REFUSALS = {
    "empty log": (lambda: {}, {}, "trial_logs: empty"),
    "negative trial number": (lambda: {-1: {"full_eval_score": 50.0}}, {}, "trial_logs keys [-1]"),
    "text keys": (lambda: {str(t): e for t, e in _logs_with(lambda logs: None).items()}, {},
                  "trial_logs key '1': expected an int"),
    "nan baseline": (lambda: _logs_with(lambda logs: logs[1].update(full_eval_score=float("nan"))), {},
                     "trial_logs[1].full_eval_score=nan"),
    "nan minibatch": (lambda: _logs_with(lambda logs: logs[2].update(mb_score=float("inf"))), {},
                      "trial_logs[2].mb_score=inf"),
    "text score": (lambda: _logs_with(lambda logs: logs[3].update(mb_score="50")), {},
                   "trial_logs[3].mb_score='50': expected a number"),
    "index not an int": (lambda: _logs_with(lambda logs: logs[2].update({"0_predictor_instruction": 1.5})), {},
                         "trial_logs[2].0_predictor_instruction=1.5"),
    "nan program score": (lambda: _program_with(score=float("nan")), {}, "program.score=nan"),
    "wrong score_scale": (lambda: mipro_run("predict-minibatch")["program"], {"score_scale": 1},
                          re.compile(r"trial_logs\[1\]\.full_eval_score=[0-9.]+: / score_scale=1 = ")),
    "simba": (simba_program, {}, "SIMBA"),
    "random search": (lambda: random_search_run()[2], {}, "BootstrapFewShotWithRandomSearch"),
    "sample of no trial": (lambda: mipro_run("predict-minibatch")["program"],
                           {"samples": [{"iteration": 99, "sample_index": 0, "score": 0.5}]}, "samples[0]: iteration=99"),
    "sample score": (lambda: mipro_run("predict-minibatch")["program"],
                     {"samples": [{"iteration": 1, "sample_index": 0, "score": float("nan")}]}, "samples[0]"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_bad_logs_are_refused_and_nothing_is_written(case, db_url, sql):
    source, options, message = REFUSALS[case]
    with PromptOptimizationStore(db_url, project_id="A") as store:
        with pytest.raises(ValidationError) as refused:
            _mipro(store, source(), **options)
    text = str(refused.value)
    assert (message.search(text) if isinstance(message, re.Pattern) else message in text), text
    assert text.endswith("; nothing was written"), text
    assert _counts(sql) == [0, 0, 0]


def test_other_optimizers_are_named_when_refused(db_url, sql):
    with PromptOptimizationStore(db_url, project_id="A") as store:
        with pytest.raises(ValidationError, match="MIPROv2's trial_logs: use import_miprov2"):
            import_random_search(store, mipro_run("predict-minibatch")["program"], name="x")
        with pytest.raises(ValidationError, match="SIMBA runs are not imported"):
            import_random_search(store, simba_program(), name="x")
        bad = copy.copy(random_search_run()[2])
        bad.candidate_programs = [dict(c) for c in bad.candidate_programs]
        bad.candidate_programs[1]["score"] = float("nan")
        with pytest.raises(ValidationError, match=r"candidate_programs\[1\]\.score=nan"):
            import_random_search(store, bad, name="x")
    assert _counts(sql) == [0, 0, 0]
    assert recognize_optimizer(simba_program()) == "SIMBA"
    assert recognize_optimizer(mipro_run("predict-minibatch")["program"]) == "MIPROv2"
    assert recognize_optimizer(random_search_run()[2]) == "BootstrapFewShotWithRandomSearch"


def test_samples_from_evaluation_refuse_a_nan_score():
    r = mipro_run("predict-minibatch")
    example, prediction, _ = r["evaluation"].results[0]
    with pytest.raises(ValidationError, match=r"results\[0\]\.score=nan"):
        samples_from_evaluation([(example, prediction, math.nan)], iteration=1)
    assert json.dumps(samples_from_evaluation(r["evaluation"], iteration=1)[0]["input"]) == json.dumps(
        dict(example.inputs().toDict()))


def test_cli_shows_what_each_iteration_evaluated(tmp_path):
    from click.testing import CliRunner

    from hive_cli.main import cli

    r = mipro_run("two-predictors")
    path = str(tmp_path / "cli.db")
    with PromptOptimizationStore(path, project_id="dspy") as store:
        run = import_miprov2(store, r["program"], name="cli", optimizer=r["optimizer"], recording=r["recorder"])
        stored = store.get_iterations(run["id"])
    result = CliRunner().invoke(cli, ["--db", path, "runs", "show", run["id"], "--project", "dspy"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("iteration "))
    assert header + 2 + len(stored) <= len(lines)
    for line, it in zip(lines[header + 2:], stored):
        ids, demo_ids = it["params"]["instruction_ids"], it["params"]["demo_ids"]
        assert f"draft: {ids['0']}, check: {ids['1']}" in line and f"draft: {demo_ids['0']}, check: {demo_ids['1']}" in line
        assert str(it["prompt_tokens"]) in line and (" * " in f" {line} ") == it["is_best"]
    assert "DSPy MIPROv2: predictors draft, check; returned the program of iteration " \
           f"{run['metadata']['dspy']['returned_iteration']};" in result.output
    best = next(it for it in stored if it["is_best"])
    assert f"best iteration {best['iteration']}:" in result.output
    for index, name in enumerate(["draft", "check"]):
        assert f"  {name} (instruction {best['params']['instruction_ids'][str(index)]}, demo set " \
               f"{best['params']['demo_ids'][str(index)]}):" in lines
        assert f"    instruction: {best['instructions'][index]}" in lines
        for number, demo in enumerate(best["params"]["demos"][index], start=1):
            assert f"    demo {number}: {json.dumps(demo, ensure_ascii=False)}" in lines
    csv_rows = CliRunner().invoke(cli, ["--db", path, "runs", "show", run["id"], "--project", "dspy", "--format",
                                        "csv"]).output.split("\n\n", 1)[1]
    assert "instruction,demo_set" in csv_rows.splitlines()[0]


def test_saved_program_paths_are_kept(tmp_path):
    """With a log_dir MIPROv2 saves every evaluated program; each iteration keeps its file's path."""
    lm = MeteredLM(answers(7, False))
    with dspy.context(lm=lm):
        optimizer = dspy.MIPROv2(metric=exact_match, prompt_model=lm, task_model=lm, auto=None, num_candidates=3,
                                 num_threads=1, seed=1, log_dir=str(tmp_path / "logs"))
        program = optimizer.compile(dspy.Predict("question -> answer"), trainset=TRAIN, valset=VAL, num_trials=4,
                                    max_bootstrapped_demos=2, max_labeled_demos=2, **MB)
    logs = program.trial_logs
    with PromptOptimizationStore(tmp_path / "p.db", project_id="p") as store:
        run = import_miprov2(store, program, name="saved", optimizer=optimizer)
        iterations = store.get_iterations(run["id"])
    for it in iterations:
        entry = logs[it["iteration"]]
        path = entry.get("mb_program_path", entry.get("full_eval_program_path"))
        assert path and it["params"]["program_path"] == path
        with open(path) as saved:
            assert json.load(saved)  # the program DSPy saved is there to be loaded again
    assert run["metadata"]["dspy"]["log_dir"] == optimizer.log_dir
