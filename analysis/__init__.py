"""Pure numeric analysis of optimization and Monte Carlo results.

Arrays in, arrays out: no SQL, no Streamlit, no files. Callers import the
submodules they need (``analysis.pareto``, ``analysis.convergence``,
``analysis.uncertainty``, ``analysis.sensitivity``).
"""
