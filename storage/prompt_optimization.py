"""The import path earlier READMEs documented (``from storage.prompt_optimization import
PromptOptimizationStore``), kept working; the store lives in ``storage.prompts.store``."""
from .prompts.store import PromptOptimizationStore

__all__ = ["PromptOptimizationStore"]
