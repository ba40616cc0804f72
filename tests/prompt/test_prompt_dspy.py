"""The DSPy importer: a real MIPROv2 run (DSPy's offline DummyLM, no network) recorded with one
iteration per trial; and the same mapping on a trial log shaped like MIPROv2's, without DSPy."""
from __future__ import annotations

import logging
import random
from types import SimpleNamespace

import pytest

from integrations.dspy_import import import_miprov2, iterations_from_trial_logs, samples_from_evaluation
from storage.prompt_optimization import PromptOptimizationStore


def expected_best(logs: dict) -> int:
    """Full evaluations outrank minibatch ones, then score, then the earliest trial."""
    fulls = {t: e["full_eval_score"] for t, e in logs.items() if "full_eval_score" in e}
    pool = fulls or {t: e["mb_score"] for t, e in logs.items()}
    top = max(pool.values())
    return min(t for t, s in pool.items() if s == top)


def test_a_real_miprov2_run_is_recorded(tmp_path):
    dspy = pytest.importorskip("dspy")
    from dspy.utils import DummyLM

    logging.getLogger("dspy").setLevel(logging.ERROR)
    rng = random.Random(0)

    def answers():
        while True:
            yield {"answer": rng.choice(["4", "5", "4"]), "proposed_instruction": f"Answer carefully ({rng.randint(0, 99)})",
                   "observations": "o", "summary": "s", "program_description": "d", "module_description": "m",
                   "reasoning": "r"}

    lm = DummyLM(answers())
    data = [dspy.Example(question=f"What is 2+2 ({i})?", answer="4").with_inputs("question") for i in range(30)]

    def exact_match(example, prediction, trace=None):
        return example.answer == prediction.answer

    compile_kwargs = dict(num_trials=6, minibatch=True, minibatch_size=4, minibatch_full_eval_steps=2,
                          max_bootstrapped_demos=2, max_labeled_demos=2)
    with dspy.context(lm=lm):
        optimizer = dspy.MIPROv2(metric=exact_match, prompt_model=lm, task_model=lm, auto=None, num_candidates=3,
                                 num_threads=1, verbose=False, seed=1)
        program = optimizer.compile(dspy.Predict("question -> answer"), trainset=data[:20], valset=data[20:],
                                    **compile_kwargs)
        evaluation = dspy.Evaluate(devset=data[20:], metric=exact_match, num_threads=1, display_progress=False)(program)
    logs = program.trial_logs
    last = max(logs)
    with PromptOptimizationStore(tmp_path / "d.db", project_id="dspy") as store:
        run = import_miprov2(store, program, name="toy", optimizer=optimizer, compile_kwargs=compile_kwargs,
                             samples=samples_from_evaluation(evaluation.results, iteration=last), tags=["dspy"])
        iterations = store.get_iterations(run["id"])
    assert [it["iteration"] for it in iterations] == sorted(logs)
    for it in iterations:
        entry = logs[it["iteration"]]
        kind = "minibatch" if "mb_score" in entry else "full"
        assert it["evaluation_kind"] == kind
        assert it["score"] == round(entry["mb_score" if kind == "minibatch" else "full_eval_score"] / 100, 4)
        if kind == "minibatch":
            assert it["params"]["instruction_ids"] == {"0": entry["0_predictor_instruction"]}
            assert it["instructions"] == [entry["mb_program"].predictors()[0].signature.instructions]
    assert {"minibatch", "full"} == {it["evaluation_kind"] for it in iterations}
    assert [it["iteration"] for it in iterations if it["is_best"]] == [expected_best(logs)]
    assert run["baseline_score"] == round(logs[1]["full_eval_score"] / 100, 4)
    assert run["final_score"] == round(program.score / 100, 4) and run["status"] == "completed"
    assert run["config"]["num_candidates"] == 3 and run["config"]["minibatch_size"] == 4
    assert run["samples_evaluated"] == 10 and run["samples_successful"] == 10


class FakeProgram:
    """What the importer reads of a DSPy program: predictors with a signature and demos."""

    def __init__(self, instruction: str, demos: list):
        self._predictor = SimpleNamespace(signature=SimpleNamespace(instructions=instruction), demos=demos)

    def predictors(self):
        return [self._predictor]


def test_a_trial_log_in_miprov2s_shape():
    demos = [[], [{"question": "q1", "answer": "a1"}]]
    logs = {
        1: {"full_eval_program_path": None, "full_eval_score": 50.0, "total_eval_calls_so_far": 20,
            "full_eval_program": FakeProgram("Default.", [])},
        2: {"0_predictor_instruction": 1, "0_predictor_demos": 1, "mb_score": 90.0, "total_eval_calls_so_far": 25,
            "mb_program": FakeProgram("Be brief.", demos[1])},
        3: {"0_predictor_instruction": 2, "0_predictor_demos": 0, "mb_score": 60.0, "total_eval_calls_so_far": 30,
            "mb_program": FakeProgram("Think.", demos[0])},
        4: {"total_eval_calls_so_far": 50, "full_eval_program": FakeProgram("Be brief.", demos[1]),
            "full_eval_score": 70.0},
    }
    iterations = iterations_from_trial_logs(logs)
    assert [(i["iteration"], i["evaluation_kind"], i["score"], i["batch_size"]) for i in iterations] == [
        (1, "full", 0.5, 20), (2, "minibatch", 0.9, 5), (3, "minibatch", 0.6, 5), (4, "full", 0.7, 20)]
    assert iterations[3]["params"]["instruction_ids"] == {"0": 1}  # recovered from trial 2's identical program
    assert iterations[3]["demo_set_ids"] == [1] and iterations[0]["params"]["instruction_ids"] == {"0": 0}
    store = PromptOptimizationStore(":memory:", project_id="p")
    run = import_miprov2(store, logs, name="captured")
    assert [it["iteration"] for it in store.get_iterations(run["id"]) if it["is_best"]] == [expected_best(logs)] == [4]
    assert (run["baseline_score"], run["final_score"], run["best_score"]) == (0.5, 0.7, 0.7)
    with pytest.raises(ValueError, match="score_scale"):
        iterations_from_trial_logs(logs, score_scale=1)
    store.close()
