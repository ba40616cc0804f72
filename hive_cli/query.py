"""``hive-cli query ...`` and ``hive-cli export``: the seed's queries, charts and exports.

Every query prints ``--format table`` (aligned, readable), ``csv`` (spreadsheet-safe) or ``json``
(machine-readable; non-finite numbers as "NaN" / "Infinity" / "-Infinity"). Chart commands take
``--output FILE.png`` (static, kaleido + Chromium) or ``FILE.html`` (interactive, no browser needed).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import click
import numpy as np
import pandas as pd

from analysis import pareto as pareto_math
from charts.convergence import convergence_figure
from charts.output import write_figure
from charts.pareto import pareto_figure
from charts.sensitivity import sensitivity_heatmap
from storage import exports, queries
from storage.reader import Reader

FORMATS = click.Choice(["table", "csv", "json"])


def _reader(ctx: click.Context) -> Reader:
    reader = Reader(ctx.obj.get("db_url"))
    ctx.call_on_close(reader.close)
    return reader


def _emit(frame: pd.DataFrame, output_format: str, columns: list[str] | None = None) -> None:
    if columns:
        frame = frame[[c for c in columns if c in frame.columns]]
    if output_format == "json":
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        click.echo(json.dumps([_json_safe(r) for r in records], indent=2, ensure_ascii=False, default=str))
    elif output_format == "csv":
        click.echo(exports.to_safe_csv(frame).decode("utf-8"), nl=False)
    else:
        if frame.empty:
            click.echo("(no rows)")
            return
        shown = frame.copy()
        for column in shown.columns:
            shown[column] = [_cell(v) for v in shown[column]]
        click.echo(shown.to_string(index=False))


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ", ".join(_cell(v) for v in value) + "]"
    text = str(value)
    return text if len(text) <= 48 else text[:45] + "..."


def _json_safe(value):
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return _json_safe(value.item())
    return value


def _split_ids(text: str) -> list[str]:
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids:
        raise click.BadParameter("give one or more study ids separated by commas")
    return ids


def _output_option(function):
    return click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
                        help="Write the chart to FILE.png (static) or FILE.html (interactive).")(function)


def _format_option(function):
    return click.option("--format", "output_format", type=FORMATS, default="table", show_default=True)(function)


@click.group()
def query() -> None:
    """Query studies: lists, best designs, comparisons, fronts, convergence, risk, sensitivity."""


@query.command("list-studies")
@click.option("--type", "study_type", help="genetic_algorithm|monte_carlo|milp|single_simulation (or ga, mc, sim)")
@click.option("--status", type=click.Choice(["pending", "running", "completed", "failed"]))
@click.option("--text", help="Substring of id, name or description.")
@click.option("--from", "created_from", help="Created on or after this date (YYYY-MM-DD).")
@click.option("--to", "created_to", help="Created on or before this date (YYYY-MM-DD).")
@click.option("--limit", type=click.IntRange(1, 100_000))
@_format_option
@click.pass_context
def list_studies(ctx, study_type, status, text, created_from, created_to, limit, output_format):
    """Studies, newest first."""
    try:
        frame = queries.list_studies(_reader(ctx), study_type, status, text, created_from, created_to, limit)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    _emit(frame, output_format, ["study_id", "study_type", "status", "progress_percent", "run_count", "best_fitness",
                                 "optimization_objective", "created_at", "completed_at", "execution_time_seconds"]
          if output_format == "table" else None)


@query.command("best-designs")
@click.option("--study-id", required=True)
@click.option("--limit", type=click.IntRange(1, 100_000), default=10, show_default=True)
@_format_option
@click.pass_context
def best_designs(ctx, study_id, limit, output_format):
    """Top designs of a study by fitness (in the study's direction), with linked simulation KPIs."""
    frame = queries.get_best_designs(_reader(ctx), study_id, limit)
    _emit(frame, output_format, ["run_id", "evaluation_number", "generation_number", "fitness", "objectives",
                                 "parameter_vector", "total_cost", "renewable_fraction", "self_sufficiency_rate"]
          if output_format == "table" else None)


@query.command("compare")
@click.option("--study-ids", required=True, help="Comma-separated study ids (2 to 5 read best).")
@_format_option
@_output_option
@click.pass_context
def compare(ctx, study_ids, output_format, output):
    """Side by side: type, best, runs, average fitness, Pareto count, execution time."""
    reader = _reader(ctx)
    ids = _split_ids(study_ids)
    _emit(queries.compare_studies(reader, ids), output_format)
    if output:
        histories = {sid: queries.get_convergence_history(reader, sid) for sid in ids}
        _done(write_figure(convergence_figure(histories, show=("best_so_far",), band=False), output))


@query.command("pareto-front")
@click.option("--study-id", required=True)
@click.option("--x", "x_objective", help="Objective on the x axis (default: the first).")
@click.option("--y", "y_objective", help="Objective on the y axis (default: the second).")
@click.option("--z", "z_objective", help="A third objective for a 3-D chart.")
@_format_option
@_output_option
@click.pass_context
def pareto_front(ctx, study_id, x_objective, y_objective, z_objective, output_format, output):
    """The non-dominated runs of a multi-objective study (also while it runs)."""
    reader = _reader(ctx)
    study = queries.get_study(reader, study_id)
    front = queries.get_pareto_front(reader, study_id)
    names = exports.objective_names(study)
    spread = exports.spread_columns(front, study) if not front.empty else front
    if output_format == "table":
        _emit(spread, output_format, ["run_id", "evaluation_number", "generation_number", *names])
    else:
        _emit(spread, output_format)
    if output:
        x = x_objective or names[0]
        y = y_objective or names[1]
        for chosen in (x, y, z_objective):
            if chosen is not None and chosen not in names:
                raise click.BadParameter(f"{chosen!r} is not an objective of {study_id} ({', '.join(names)})")
        cloud = exports.spread_columns(queries.sample_study_runs(reader, study_id, 5000), study)
        knee = None
        if len(spread) >= 1:
            points = pareto_math.to_minimization(spread[names].to_numpy(float), study["objective_directions"])
            knee = spread["run_id"].iloc[pareto_math.knee_point_index(points)]
        cloud = cloud[~cloud["run_id"].isin(spread["run_id"])] if not cloud.empty else cloud
        _done(write_figure(pareto_figure(spread, cloud, x, y, z_objective, knee, title=f"{study_id}: Pareto front"), output))


@query.command("convergence")
@click.option("--study-id", required=True, help="One study id, or several separated by commas.")
@click.option("--log-y", is_flag=True, help="Logarithmic fitness axis.")
@_format_option
@_output_option
@click.pass_context
def convergence(ctx, study_id, log_y, output_format, output):
    """Best / average / worst fitness per generation, with stagnation, diversity and hypervolume."""
    reader = _reader(ctx)
    ids = _split_ids(study_id)
    histories = {sid: queries.get_convergence_history(reader, sid) for sid in ids}
    frame = pd.concat([h.assign(study_id=sid) for sid, h in histories.items()], ignore_index=True)
    _emit(frame, output_format, ["study_id", "generation_number", "best_fitness", "average_fitness", "worst_fitness",
                                 "fitness_std_dev", "best_so_far", "stagnation_count", "population_diversity",
                                 "hypervolume", "evaluations_in_generation"] if output_format == "table" else None)
    if output:
        _done(write_figure(convergence_figure(histories, log_y=log_y), output))


@query.command("uncertainty")
@click.option("--study-id", required=True)
@_format_option
@click.pass_context
def uncertainty(ctx, study_id, output_format):
    """Per objective: mean, median, std, percentiles, VaR95 and CVaR95."""
    _emit(queries.get_uncertainty_summary(_reader(ctx), study_id), output_format,
          ["objective_name", "mean_value", "median_value", "std_dev", "percentile_5", "percentile_50",
           "percentile_95", "var_95", "cvar_95", "sample_count"] if output_format == "table" else None)


@query.command("sensitivity")
@click.option("--study-id", required=True)
@click.option("--limit", type=click.IntRange(1, 100_000), default=10, show_default=True)
@click.option("--measure", type=click.Choice(["Pearson", "Spearman", "Sobol first-order", "Sobol total"]),
              default="Sobol total", show_default=True, help="Measure drawn by --output.")
@_format_option
@_output_option
@click.pass_context
def sensitivity(ctx, study_id, limit, measure, output_format, output):
    """Parameter importance, most important first."""
    reader = _reader(ctx)
    _emit(queries.get_sensitivity_rankings(reader, study_id, limit), output_format,
          ["importance_rank", "objective_name", "parameter_name", "correlation_coefficient", "rank_correlation",
           "sobol_first_order", "sobol_total"] if output_format == "table" else None)
    if output:
        _done(write_figure(sensitivity_heatmap(queries.get_sensitivity_rankings(reader, study_id, None), measure), output))


@query.command("runs")
@click.option("--study-id", required=True)
@click.option("--generation", type=int)
@click.option("--sort", type=click.Choice(list(queries.RUN_SORT_COLUMNS)), default="evaluation_number", show_default=True)
@click.option("--desc", is_flag=True)
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@_format_option
@click.pass_context
def runs(ctx, study_id, generation, sort, desc, limit, offset, output_format):
    """One page of a study's runs."""
    reader = _reader(ctx)
    queries.get_study(reader, study_id)
    frame = queries.query_study_runs(reader, study_id, queries.RunFilter(generation=generation), sort, desc, limit, offset)
    _emit(frame, output_format, ["run_id", "evaluation_number", "generation_number", "fitness", "objectives",
                                 "simulation_status", "is_pareto_optimal"] if output_format == "table" else None)


@click.command("export")
@click.option("--study-id", required=True)
@click.option("--table", type=click.Choice(list(exports.EXPORT_TABLES)), default="runs", show_default=True)
@click.option("--format", "output_format", type=click.Choice(list(exports.EXPORT_FORMATS)), default="csv", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.pass_context
def export(ctx, study_id, table, output_format, output):
    """Write one of a study's tables to a file (CSV is spreadsheet-safe)."""
    reader = _reader(ctx)
    total = queries.count_study_runs(reader, study_id) if table == "runs" else None
    with click.progressbar(length=total or 1, label=f"exporting {table}", file=click.get_text_stream("stderr"),
                           show_pos=True) as bar:
        rows = exports.export_study_table(reader, study_id, table, output_format, output,
                                          progress=(lambda n: bar.update(n)) if total else None)
    click.echo(f"wrote {rows:,} rows to {output}")


def _done(path: Path) -> None:
    click.echo(f"wrote {path}", err=True)
