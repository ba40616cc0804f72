"""Prompt optimization (DSPy MIPROv2 and others): ``records`` validates runs, iterations and samples,
``store`` is the public ``PromptOptimizationStore`` that writes and reads them."""
