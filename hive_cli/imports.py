"""``hive-cli import``: copy studies from other optimization tools into the store."""
from __future__ import annotations

import click

from .common import db_option, label_pairs, project_of, project_option, settings


@click.group("import")
@db_option
@project_option
def import_group() -> None:
    """Copy studies made by other tools (Optuna) into the database given by --db."""


@import_group.command("optuna")
@click.option("--storage", "storage_url", required=True, metavar="URL",
              help="The Optuna storage, e.g. sqlite:///optuna.db or postgresql://user@host/db.")
@click.option("--study", "study_name", required=True, metavar="NAME", help="The Optuna study's name.")
@click.option("--study-id", default=None, metavar="ID", help="Our study id (default: optuna_<NAME>).")
@click.option("--sampler", default=None, metavar="CLASS",
              help="The sampler's class name (e.g. RandomSampler) when it cannot be recognised from the storage.")
@click.option("--experiment", default=None, metavar="NAME",
              help="The experiment the study belongs to (studies of one problem: several samplers, several seeds).")
@click.option("--label", "labels", multiple=True, metavar="NAME=VALUE", callback=label_pairs,
              help="A label of the study, e.g. --label algorithm=TPE --label seed=3 (repeatable; numbers stay numbers).")
@db_option
@project_option
@click.pass_context
def optuna_command(ctx: click.Context, storage_url: str, study_name: str, study_id: str | None, sampler: str | None,
                   experiment: str | None, labels: dict | None) -> None:
    """Copy Optuna study NAME (trials, parameters, values, states, constraints, intermediate
    values, user attributes, datetimes) and complete it.

    Feasible COMPLETE trials become successful runs, infeasible ones infeasible runs, FAIL and
    PRUNED failed runs (run_state keeps Optuna's state); the study type follows the sampler
    (NSGA-II/III: genetic_algorithm; CMA-ES: evolution_strategy; TPE, GP: bayesian_optimization;
    Random, QMC, Grid, BruteForce: monte_carlo; other: other)."""
    # Imported here so `hive-cli --help` does not pay for importing Optuna.
    from integrations.optuna_import import import_optuna_study
    from storage import DatabaseMetadataService

    with DatabaseMetadataService(settings(ctx).get("db_url"), project_id=project_of(ctx)) as service:
        summary = import_optuna_study(service, storage_url, study_name, study_id, sampler=sampler,
                                      experiment=experiment, labels=labels)
    click.echo(
        f"imported Optuna study {summary['optuna_study_name']!r} as {summary['study_id']!r} "
        f"({summary['study_type']}, sampler {summary['sampler']}): {summary['runs']} runs "
        f"({summary['complete']} complete, {summary['failed']} failed, {summary['pruned']} pruned; "
        f"{summary['infeasible']} of the complete infeasible), {summary['intermediate_values']} intermediate values; "
        f"{summary['skipped']} unfinished trials skipped"
    )
