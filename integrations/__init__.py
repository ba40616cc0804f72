"""Bridges from optimization and sampling tools into the store, each in its own module.

- ``integrations.pymoo_recorder``: ``HiveRecorder``, a pymoo callback that logs every generation of
  any pymoo algorithm, and ``HiveRecorder.complete`` to finish the study.
- ``integrations.monte_carlo``: ``run_monte_carlo`` samples uncertain inputs (random or a Saltelli
  design), evaluates a function on them, records every sample and stores the analysis.
- ``integrations.highs_milp``: ``solve_and_record`` solves a HiGHS MILP and records its progress
  (incumbent, dual bound, gap) and final solution as a ``milp`` study.
- ``integrations.optuna_import``: ``import_optuna_study`` copies an Optuna study into the store
  (``hive-cli import optuna``).
- ``integrations.microgrid`` and ``integrations.demo``: the demo data set (``hive-cli demo``),
  produced by the integrations above on a microgrid design problem.

Each module imports its tool (pymoo, SALib, highspy, optuna) itself, so using one integration does
not require the others' packages to import.
"""
