"""Real DSPy runs for the tests, offline: DSPy's DummyLM with usage a priced provider would report,
scripted answers for MIPROv2's proposer, a two-predictor program, and the LM calls of a compile
from DSPy's own global history. Shared by tests/prompt and the dashboard page tests."""
from __future__ import annotations

import dataclasses
import random

import dspy
from dspy.clients.base_lm import GLOBAL_HISTORY
from dspy.clients.engines.dummy_engine import DummyEngine
from dspy.lm15 import Usage
from dspy.utils import DummyLM

PRICE_IN, PRICE_OUT = 2e-6, 8e-6  # USD per token, as a provider would bill


class _MeteredEngine(DummyEngine):
    def _complete_messages(self, messages):
        response = super()._complete_messages(messages)
        prompt = sum(len(str(m.get("content", "")).split()) for m in messages)
        completion = len(response.message.parts[-1].text.split())
        return dataclasses.replace(response, usage=Usage(input_tokens=prompt, output_tokens=completion,
                                                          total_tokens=prompt + completion))


class MeteredLM(DummyLM):
    """DSPy's DummyLM reports 0 tokens and no cost; this one reports what a priced provider would
    (tokens = words, a price per token) through DSPy's own call path and history."""

    def __init__(self, answers):
        super().__init__(answers)
        self._engine_spec = _MeteredEngine(self)

    def copy(self, **kwargs):  # MIPROv2's proposer calls copies (other temperatures): metered too
        copied = super().copy(**kwargs)
        copied._engine_spec = _MeteredEngine(copied)
        return copied

    def update_history(self, entry):
        usage = entry.get("usage") or {}
        entry["cost"] = usage.get("prompt_tokens", 0) * PRICE_IN + usage.get("completion_tokens", 0) * PRICE_OUT
        super().update_history(entry)


def answers(seed: int, duplicate_texts: bool):
    rng = random.Random(seed)
    while True:
        text = "Answer carefully." if duplicate_texts else f"Answer carefully ({rng.randint(0, 99)})."
        yield {"answer": rng.choice(["4", "5"]), "proposed_instruction": text, "observations": "o", "summary": "s",
               "program_description": "d", "module_description": "m", "reasoning": "r"}


class TwoStep(dspy.Module):
    def __init__(self):
        super().__init__()
        self.draft = dspy.Predict("question -> answer")
        self.check = dspy.Predict("question, draft -> answer")

    def forward(self, question):
        return self.check(question=question, draft=self.draft(question=question).answer)


def calls_during(run):
    """DSPy's global history (every LM and its copies) of what ``run()`` called."""
    last = GLOBAL_HISTORY[-1] if GLOBAL_HISTORY else None
    result = run()
    calls = []
    for entry in reversed(GLOBAL_HISTORY):
        if entry is last:
            break
        calls.insert(0, entry)
    return result, calls


