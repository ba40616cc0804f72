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
from analysis.comparison import (ObjectiveSpace, best_so_far_curves, compare_hypervolumes, group_by_space,
                                 left_out_line, why_left_out)
from charts.convergence import convergence_figure, hypervolume_comparison_figure
from charts.output import write_figure
from charts.pareto import fronts_overlay_figure, pareto_figure
from charts.sensitivity import sensitivity_heatmap
from charts.style import study_colors
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
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the charts as FILE.png (static) or FILE.html (interactive), one file per chart, each "
                   "named FILE's name plus what it draws: -convergence-<fitness objective> for each fitness "
                   "objective, -fronts-<objectives> and -hypervolume-<objectives> for each set of two or more "
                   "objectives (e.g. compare-fronts-cost_min-co2_min.png). The names are printed on stderr.")
@click.pass_context
def compare(ctx, study_ids, output_format, output):
    """Side by side: type, best, runs, average fitness, Pareto count, execution time, objective space.

    Charts compare only what is comparable: fronts and hypervolume per objective space (same objective
    names and directions), the hypervolumes of a space on one common reference point; best so far per
    fitness objective (a study's first objective)."""
    reader = _reader(ctx)
    ids = list(dict.fromkeys(_split_ids(study_ids)))
    frame = queries.compare_studies(reader, ids)
    studies = {sid: queries.get_study(reader, sid) for sid in ids}
    spaces = {sid: ObjectiveSpace.of(exports.objective_names(study), study["objective_directions"])
              for sid, study in studies.items()}
    frame["objective_space"] = [spaces[sid].label for sid in frame["study_id"]]
    _emit(frame, output_format)
    if output:
        figures, notes = _comparison_charts(reader, studies, spaces)
        written: set[str] = set()
        for part, figure in figures:
            name = f"{output.stem}-{part}"
            while name in written:  # two objective spaces whose names read alike as file names
                name += "_"
            written.add(name)
            _done(write_figure(figure, output.with_name(name + output.suffix)))
        for note in notes:
            click.echo(note, err=True)


def _comparison_charts(reader: Reader, studies: dict[str, dict], spaces: dict) -> tuple[list, list[str]]:
    """The Compare page's charts, grouped the same way: ``[(file-name part, figure)]`` and the notes
    (reference points, studies left out and why)."""
    ids = list(studies)
    colors = study_colors(ids)
    kinds = {sid: s["study_type"] for sid, s in studies.items()}
    run_counts = {sid: int(s["run_count"] or 0) for sid, s in studies.items()}
    figures, notes = [], []
    for fitness, group in group_by_space({sid: spaces[sid].fitness for sid in ids}):
        histories = {sid: queries.get_convergence_history(reader, sid) for sid in group}
        curves, left_out = best_so_far_curves(histories, kinds, run_counts)
        if curves:
            figures.append((f"convergence-{fitness.slug}", convergence_figure(
                curves, show=("best_so_far",), band=False, colors=colors, value_title=fitness.label,
                title=f"Best {fitness.label} so far")))
        notes.append(left_out_line(f"best-so-far chart of {fitness.label}", left_out))
    for space, group in group_by_space({sid: spaces[sid] for sid in ids if len(spaces[sid].names) >= 2}):
        fronts = {sid: exports.spread_columns(queries.get_pareto_front(reader, sid), studies[sid]) for sid in group}
        drawn = {sid: front for sid, front in fronts.items() if not front.empty}
        if drawn:
            figures.append((f"fronts-{space.slug}", fronts_overlay_figure(
                drawn, space.names[0], space.names[1], colors, title=f"Pareto fronts: {space.label}",
                staircase=len(space.names) == 2)))
        notes.append(left_out_line(f"front overlay of {space.label}", {
            sid: why_left_out(kinds[sid], run_counts[sid]) for sid in group if sid not in drawn}))
        hv = compare_hypervolumes(space, {sid: queries.study_objectives(reader, sid) for sid in group},
                                  {sid: studies[sid]["reference_point"] for sid in group}, kinds, run_counts)
        if hv.curves:
            figures.append((f"hypervolume-{space.slug}", hypervolume_comparison_figure(
                hv.curves, space.label, hv.reference.describe(), colors)))
            notes.append(f"Hypervolume of {space.label}: {hv.reference.describe()}")
        notes.append(left_out_line(f"hypervolume chart of {space.label}", hv.left_out))
    return figures, [note for note in notes if note]


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
