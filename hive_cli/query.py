"""``hive-cli query ...`` and ``hive-cli export``: the seed's queries, charts and exports.

Every query prints ``--format table`` (aligned, readable: objectives and parameters as named
columns, missing values blank), ``csv`` (spreadsheet-safe) or ``json`` (machine-readable; non-finite
numbers as "NaN" / "Infinity" / "-Infinity"). Chart commands take ``--output FILE.png`` (static,
kaleido + Chromium; one browser for all PNGs of a command) or ``FILE.html`` (interactive, no browser
needed); every chart has a title, axis titles and the app's theme (``charts.theme``).

Options are checked before any work (file names, axes against the study's objectives, chart options
without a chart), so a refused command prints nothing but its one ``error:`` line and writes no file.
"""
from __future__ import annotations

import json
import math
from datetime import date, datetime
from pathlib import Path

import click

from .common import OutputFile, chart_only, db_option, format_of, label_pairs, project_of, project_option, settings, table

# pandas, numpy, plotly and the analysis code are imported by the commands that use them (start-up
# stays fast); the functions below import them where they run.
FORMATS = click.Choice(["table", "csv", "json"])
CHART_FILE = OutputFile((".png", ".html", ".htm"))
EXPORT_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".json": "json"}
# storage.studies.queries.RUN_SORT_COLUMNS and storage.studies.exports.EXPORT_TABLES, written out so that parsing and
# --help need no pandas; tests/test_import_cost.py checks they are the same.
RUN_SORT_COLUMNS = ("evaluation_number", "generation_number", "fitness", "evaluation_time_seconds", "created_at")
EXPORT_TABLES = ("runs", "convergence", "pareto", "uncertainty", "sensitivity")


def _reader(ctx: click.Context):
    from storage.reader import Reader

    reader = Reader(settings(ctx).get("db_url"), project_id=project_of(ctx))
    ctx.call_on_close(reader.close)
    return reader


def _png_early(ctx: click.Context, output: Path | None) -> None:
    """Start Chromium now, in the background, while the data is read: every PNG of this command
    shares it (the browser starts once, not once per file)."""
    if output is not None and output.suffix.lower() == ".png":
        from charts.output import png_session

        ctx.with_resource(png_session())


def _rows(frame) -> list[dict]:
    """DataFrame rows as plain Python values, missing ones None."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _emit(frame, output_format: str, columns: list[str] | None = None) -> None:
    if columns:
        frame = frame[[c for c in dict.fromkeys(columns) if c in frame.columns]]
    if output_format == "json":
        click.echo(json.dumps([_json_safe(r) for r in _rows(frame)], indent=2, ensure_ascii=False, default=str))
    elif output_format == "csv":
        from storage.studies import exports

        click.echo(exports.to_safe_csv(frame).decode("utf-8"), nl=False)
    else:
        click.echo(table(_rows(frame), list(frame.columns)), nl=False)


def _json_safe(value):
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if hasattr(value, "item") and type(value).__module__ == "numpy":  # numpy scalars
        return _json_safe(value.item())
    return value


def _study_ids(ctx, param, text: str) -> list[str]:
    """Comma-separated study ids, each once, in the order given."""
    ids = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not ids:
        raise click.BadParameter(f"{text!r}: give one or more study ids separated by commas", ctx, param)
    return ids


def _output_option(function):
    return click.option("--output", type=CHART_FILE,
                        help="Write the chart to FILE.png (static) or FILE.html (interactive).")(function)


def _format_option(function):
    return click.option("--format", "output_format", type=FORMATS, default="table", show_default=True)(function)


def _fitness_label(study: dict) -> str:
    """What a study's fitness measures, e.g. ``total_cost (min)``."""
    from analysis.comparison import ObjectiveSpace
    from storage.studies import exports

    return ObjectiveSpace.of(exports.objective_names(study), study["objective_directions"]).fitness.label


@click.group()
@db_option
@project_option
def query() -> None:
    """Query studies: lists, best designs, comparisons, fronts, convergence, risk, sensitivity."""


def _study_type(ctx, param, value: str | None) -> str | None:
    from storage.errors import ValidationError
    from storage.studies.queries import normalize_study_type

    try:
        return normalize_study_type(value)
    except ValidationError as error:
        raise click.BadParameter(str(error).removeprefix("study_type="), ctx, param) from None


def _day(ctx, param, value: str | None) -> str | None:
    if value is not None:
        try:  # storage.studies.queries reads a 10-character value as a day, a longer one as a moment
            (date.fromisoformat if len(value) == 10 else datetime.fromisoformat)(value)
        except ValueError:
            raise click.BadParameter(f"{value!r}: a date, YYYY-MM-DD (or YYYY-MM-DD HH:MM:SS)", ctx, param) from None
    return value


@query.command("list-studies")
@click.option("--type", "study_type", callback=_study_type,
              help="genetic_algorithm|monte_carlo|milp|single_simulation (or ga, mc, sim)")
@click.option("--status", type=click.Choice(["pending", "running", "completed", "failed"]))
@click.option("--text", help="Substring of id, name or description.")
@click.option("--from", "created_from", callback=_day, help="Created on or after this date (YYYY-MM-DD).")
@click.option("--to", "created_to", callback=_day, help="Created on or before this date (YYYY-MM-DD).")
@click.option("--limit", type=click.IntRange(1, 100_000))
@click.option("--experiment", help="Studies of this experiment only.")
@click.option("--label", "labels", multiple=True, metavar="NAME=VALUE", callback=label_pairs,
              help="Studies with this label (repeatable: all of them), e.g. --label algorithm=NSGA-II --label seed=3.")
@_format_option
@db_option
@project_option
@click.pass_context
def list_studies(ctx, study_type, status, text, created_from, created_to, limit, experiment, labels, output_format):
    """Studies, newest first."""
    from storage.studies import queries

    frame = queries.list_studies(_reader(ctx), study_type, status, text, created_from, created_to, limit,
                                 experiment=experiment, labels=labels)
    _emit(frame, output_format, ["study_id", "study_type", "status", "progress_percent", "run_count", "best_fitness",
                                 "optimization_objective", "experiment", "labels", "created_at", "completed_at",
                                 "execution_time_seconds"] if output_format == "table" else None)


@query.command("best-designs")
@click.option("--study-id", required=True)
@click.option("--limit", type=click.IntRange(1, 100_000), default=10, show_default=True)
@_format_option
@db_option
@project_option
@click.pass_context
def best_designs(ctx, study_id, limit, output_format):
    """Top designs of a study by fitness (in the study's direction), each design once, with how often
    it was evaluated and its linked simulation KPIs. The table has one column per objective and per
    parameter (param:NAME) and, when any design has one, per simulation KPI (sim:NAME)."""
    from storage.studies import exports, queries

    reader = _reader(ctx)
    frame = queries.get_best_designs(reader, study_id, limit)
    if output_format != "table":
        _emit(frame, output_format)
        return
    study = queries.get_study(reader, study_id)
    spread = exports.spread_columns(frame, study)
    parameters = [c for c in spread.columns if c.startswith("param:")]
    kpis = [c for c in spread.columns if c.startswith("sim:") and spread[c].notna().any()]
    _emit(spread, "table", ["run_id", "evaluation_number", "generation_number", "evaluations", "fitness",
                            *exports.objective_names(study), *parameters, *kpis])


@query.command("compare")
@click.option("--study-ids", "ids", required=True, callback=_study_ids,
              help="Comma-separated study ids (2 to 5 read best).")
@_format_option
@click.option("--output", type=CHART_FILE,
              help="Write the charts as FILE.png (static) or FILE.html (interactive), one file per chart, each "
                   "named FILE's name plus what it draws: -convergence-<fitness objective> for each fitness "
                   "objective, -fronts-<objectives> and -hypervolume-<objectives> for each set of two or more "
                   "objectives (e.g. compare-fronts-cost_min-co2_min.png). The names are printed on stderr.")
@db_option
@project_option
@click.pass_context
def compare(ctx, ids, output_format, output):
    """Side by side: type, best, runs, average fitness, Pareto count, execution time, objective space.

    Charts compare only what is comparable: fronts and hypervolume per objective space (same objective
    names and directions), the hypervolumes of a space on one common reference point; best so far per
    fitness objective (a study's first objective)."""
    from analysis.comparison import ObjectiveSpace
    from charts.output import write_figure
    from storage.studies import exports, queries

    reader = _reader(ctx)
    frame = queries.compare_studies(reader, ids)
    studies = {sid: queries.get_study(reader, sid) for sid in ids}
    _png_early(ctx, output)
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


def _comparison_charts(reader, studies: dict[str, dict], spaces: dict) -> tuple[list, list[str]]:
    """The Compare page's charts, grouped the same way: ``[(file-name part, figure)]`` and the notes
    (reference points, studies left out and why)."""
    from analysis.comparison import (best_so_far_curves, compare_hypervolumes, group_by_space, left_out_line,
                                     why_left_out)
    from charts.convergence import convergence_figure, hypervolume_comparison_figure
    from charts.pareto import fronts_overlay_figure
    from charts.style import study_colors
    from storage.studies import exports, queries

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
    for _, figure in figures:
        figure.update_layout(showlegend=True)  # a chart of one study still names it
    return figures, [note for note in notes if note]


@query.command("pareto-front")
@click.option("--study-id", required=True)
@click.option("--x", "x_objective", help="Objective on the chart's x axis (with --output; default: the first).")
@click.option("--y", "y_objective", help="Objective on the chart's y axis (with --output; default: the second).")
@click.option("--z", "z_objective", help="A third objective, for a 3-D chart (with --output).")
@_format_option
@_output_option
@db_option
@project_option
@click.pass_context
def pareto_front(ctx, study_id, x_objective, y_objective, z_objective, output_format, output):
    """The non-dominated runs of a multi-objective study (also while it runs)."""
    chart_only(ctx, output, "x_objective", "y_objective", "z_objective")
    from storage.studies import exports, queries

    reader = _reader(ctx)
    study = queries.get_study(reader, study_id)
    names = exports.objective_names(study)
    front = queries.get_pareto_front(reader, study_id)  # refuses a study of one objective
    axes = _axes(study_id, names, x_objective, y_objective, z_objective, ctx) if output else None
    _png_early(ctx, output)
    spread = exports.spread_columns(front, study) if not front.empty else front
    if output_format == "table":
        _emit(spread, output_format, ["run_id", "evaluation_number", "generation_number", *names])
    else:
        _emit(spread, output_format)
    if output:
        _done(_write_pareto(reader, study_id, study, names, spread, axes, output))


def _axes(study_id: str, names: list[str], x: str | None, y: str | None, z: str | None, ctx) -> tuple:
    """The chart's axes: given names checked against the study's objectives, defaults filled in."""
    for flag, chosen in (("--x", x), ("--y", y), ("--z", z)):
        if chosen is not None and chosen not in names:
            raise click.BadParameter(f"{chosen!r} is not an objective of {study_id} (its objectives: "
                                     f"{', '.join(names)})", ctx, param_hint=f"'{flag}'")
    x = x or names[0]
    y = y or next((n for n in names if n != x), names[-1])
    chosen = [a for a in (x, y, z) if a is not None]
    if len(set(chosen)) < len(chosen):
        raise click.UsageError(f"--x, --y and --z name the same objective ({', '.join(chosen)}): "
                               "give each axis its own", ctx)
    return x, y, z


def _write_pareto(reader, study_id: str, study: dict, names: list[str], spread, axes: tuple, output: Path) -> Path:
    from analysis import pareto as pareto_math
    from charts.output import write_figure
    from charts.pareto import pareto_figure
    from storage.studies import exports, queries

    cloud = exports.spread_columns(queries.sample_study_runs(reader, study_id, 5000), study)
    knee = None
    if len(spread) >= 1:
        points = pareto_math.to_minimization(spread[names].to_numpy(float), study["objective_directions"])
        knee = spread["run_id"].iloc[pareto_math.knee_point_index(points)]
    cloud = cloud[~cloud["run_id"].isin(spread["run_id"])] if not cloud.empty else cloud
    x, y, z = axes
    return write_figure(pareto_figure(spread, cloud, x, y, z, knee, title=f"Pareto front of {study_id}"), output)


@query.command("convergence")
@click.option("--study-id", "ids", required=True, callback=_study_ids,
              help="One study id, or several separated by commas.")
@click.option("--log-y", is_flag=True, help="Logarithmic fitness axis (of the chart).")
@_format_option
@_output_option
@db_option
@project_option
@click.pass_context
def convergence(ctx, ids, log_y, output_format, output):
    """Best / average / worst fitness per generation, with stagnation, diversity and hypervolume."""
    chart_only(ctx, output, "log_y")
    import pandas as pd

    from storage.studies import queries

    reader = _reader(ctx)
    histories = {sid: queries.get_convergence_history(reader, sid) for sid in ids}
    _png_early(ctx, output)
    frame = pd.concat([h.assign(study_id=sid) for sid, h in histories.items()], ignore_index=True)
    _emit(frame, output_format, ["study_id", "generation_number", "best_fitness", "average_fitness", "worst_fitness",
                                 "fitness_std_dev", "best_so_far", "stagnation_count", "population_diversity",
                                 "hypervolume", "evaluations_in_generation"] if output_format == "table" else None)
    if output:
        from charts.convergence import convergence_figure
        from charts.output import write_figure

        # The y axis says what fitness measures: each study's first objective and its direction.
        labels = list(dict.fromkeys(_fitness_label(queries.get_study(reader, sid)) for sid in ids))
        figure = convergence_figure(histories, log_y=log_y, value_title=" / ".join(labels),
                                    title=f"Convergence of {', '.join(ids)}")
        _done(write_figure(figure, output))


@query.command("uncertainty")
@click.option("--study-id", required=True)
@_format_option
@db_option
@project_option
@click.pass_context
def uncertainty(ctx, study_id, output_format):
    """Per objective: mean, median, std, percentiles, VaR95 and CVaR95."""
    from storage.studies import queries

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
@db_option
@project_option
@click.pass_context
def sensitivity(ctx, study_id, limit, measure, output_format, output):
    """Parameter importance, most important first."""
    chart_only(ctx, output, "measure")
    from storage.studies import queries

    reader = _reader(ctx)
    rankings = queries.get_sensitivity_rankings(reader, study_id, limit)
    _png_early(ctx, output)
    _emit(rankings, output_format,
          ["importance_rank", "objective_name", "parameter_name", "correlation_coefficient", "rank_correlation",
           "sobol_first_order", "sobol_total"] if output_format == "table" else None)
    if output:
        from charts.output import write_figure
        from charts.sensitivity import sensitivity_heatmap

        figure = sensitivity_heatmap(queries.get_sensitivity_rankings(reader, study_id, None), measure)
        figure.update_layout(title=f"Sensitivity of {study_id}: {measure}", margin={"t": 60})
        _done(write_figure(figure, output))


@query.command("runs")
@click.option("--study-id", required=True)
@click.option("--generation", type=int)
@click.option("--sort", type=click.Choice(RUN_SORT_COLUMNS), default="evaluation_number", show_default=True)
@click.option("--desc", is_flag=True)
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@_format_option
@db_option
@project_option
@click.pass_context
def runs(ctx, study_id, generation, sort, desc, limit, offset, output_format):
    """One page of a study's runs (the table: one column per objective)."""
    from storage.studies import exports, queries

    reader = _reader(ctx)
    study = queries.get_study(reader, study_id)
    frame = queries.query_study_runs(reader, study_id, queries.RunFilter(generation=generation), sort, desc, limit, offset)
    if output_format != "table":
        _emit(frame, output_format)
        return
    _emit(exports.spread_columns(frame, study), "table",
          ["run_id", "evaluation_number", "generation_number", "fitness", *exports.objective_names(study),
           "simulation_status", "is_pareto_optimal"])


@click.command("export")
@click.option("--study-id", required=True)
@click.option("--table", type=click.Choice(EXPORT_TABLES), default="runs", show_default=True)
@click.option("--format", "output_format", type=click.Choice(list(EXPORT_SUFFIXES.values())), default=None,
              help="csv, parquet or json (default: from the file name; when given, it must agree with it).")
@click.option("--output", type=OutputFile(tuple(EXPORT_SUFFIXES)), required=True,
              help="FILE.csv (spreadsheet-safe), FILE.parquet or FILE.json.")
@db_option
@project_option
@click.pass_context
def export(ctx, study_id, table, output_format, output):
    """Write one of a study's tables to a file (CSV is spreadsheet-safe)."""
    output_format = format_of(output, output_format, EXPORT_SUFFIXES, ctx)
    from storage.studies import exports, queries

    reader = _reader(ctx)
    total = queries.count_study_runs(reader, study_id) if table == "runs" else None
    with click.progressbar(length=total or 1, label=f"exporting {table}", file=click.get_text_stream("stderr"),
                           show_pos=True) as bar:
        rows = exports.export_study_table(reader, study_id, table, output_format, output,
                                          progress=(lambda n: bar.update(n)) if total else None)
    click.echo(f"wrote {rows:,} rows to {output}")


def _done(path: Path) -> None:
    click.echo(f"wrote {path}", err=True)


# -------------------------------------------------------- what Optuna Dashboard shows (issue 13)

IMPORTANCE_METHODS = ("ped_anova", "fanova", "sobol")  # analysis.importance.METHODS (tests/test_import_cost.py)


def _objective_of(ctx, study_id: str, study: dict, name: str | None) -> tuple[int, str]:
    """(index, label) of the objective ``--objective`` names (default: the first)."""
    from storage.studies import exports

    names = exports.objective_names(study)
    if name is not None and name not in names:
        raise click.BadParameter(f"{name!r} is not an objective of {study_id} (its objectives: {', '.join(names)})",
                                 ctx, param_hint="'--objective'")
    k = names.index(name) if name else 0
    return k, f"{names[k]} ({'max' if study['objective_directions'][k] == 'maximize' else 'min'})"


def _objective_option(function):
    return click.option("--objective", help="Objective by name (default: the study's first).")(function)


@query.command("history")
@click.option("--study-id", required=True)
@_objective_option
@click.option("--by-time", is_flag=True, help="Chart against completion time instead of evaluation number.")
@_format_option
@_output_option
@db_option
@project_option
@click.pass_context
def history(ctx, study_id, objective, by_time, output_format, output):
    """Objective value of every evaluation by evaluation number, its outcome (feasible, infeasible,
    pruned, failed) and the best feasible value so far: the convergence view of studies without
    generations (Optuna's optimization history). Above 5,000 evaluations, every k-th and each new best."""
    chart_only(ctx, output, "by_time")
    from storage.studies import queries

    reader = _reader(ctx)
    study = queries.get_study(reader, study_id)
    k, label = _objective_of(ctx, study_id, study, objective)
    _png_early(ctx, output)
    frame = queries.get_trial_history(reader, study_id, k)
    _emit(frame, output_format, ["evaluation_number", "run_id", "state", "value", "best_so_far", "created_at"]
          if output_format == "table" else None)
    if output:
        from charts.output import write_figure
        from charts.trials import history_figure

        figure = history_figure(frame, label, f"{label} by evaluation of {study_id}",
                                x="created_at" if by_time else "evaluation_number")
        _done(write_figure(figure, output))


@query.command("importance")
@click.option("--study-id", required=True)
@click.option("--method", type=click.Choice(IMPORTANCE_METHODS), default="ped_anova", show_default=True,
              help="ped_anova: Optuna's default evaluator; fanova: Optuna's fANOVA (on at most 250 evaluations, "
                   "evenly chosen); sobol: first-order Sobol' indices from given data (RBD-FAST).")
@click.option("--recompute", is_flag=True, help="Compute again even when a stored analysis is up to date.")
@_objective_option
@_format_option
@_output_option
@db_option
@project_option
@click.pass_context
def importance(ctx, study_id, method, recompute, objective, output_format, output):
    """Parameter importance of any study with parameters, with Spearman's rank correlation as the quick
    measure. Read from the store; computed and stored first when there is none by this method, or the
    study has more evaluations than when it was computed (then a line on stderr says so)."""
    from storage.studies import queries

    reader = _reader(ctx)
    study = queries.get_study(reader, study_id)
    k, label = _objective_of(ctx, study_id, study, objective)
    _png_early(ctx, output)
    stored = queries.get_parameter_importance(reader, study_id, method)
    if recompute or stored.empty or int(stored["study_run_count"].iloc[0]) != int(study["run_count"] or 0):
        from storage import DatabaseMetadataService

        with DatabaseMetadataService(settings(ctx).get("db_url"), project_id=project_of(ctx)) as service:
            result = service.analyze_parameter_importance(study_id, method)
        click.echo(f"computed {result['method_label']} from {result['evaluations_used']:,} evaluations and stored it"
                   + (f"; left out (not in every evaluation): {', '.join(result['left_out'])}" if result["left_out"] else ""),
                   err=True)
        stored = queries.get_parameter_importance(reader, study_id, method)
    rows = stored if objective is None else stored[stored["objective_name"] == objective]
    _emit(rows, output_format, ["objective_name", "importance_rank", "parameter_name", "importance", "importance_conf",
                                "spearman", "method", "evaluations_used"] if output_format == "table" else None)
    if output:
        from analysis.importance import METHODS
        from charts.output import write_figure
        from charts.trials import importance_figure
        from storage.studies import exports

        name = exports.objective_names(study)[k]
        _done(write_figure(importance_figure(stored, name, METHODS[method],
                                             f"Parameter importance for {label} in {study_id}"), output))


@query.command("slice")
@click.option("--study-id", required=True)
@click.option("--params", help="Comma-separated parameter names (default: the study's first nine).")
@_objective_option
@_format_option
@_output_option
@db_option
@project_option
@click.pass_context
def slice_(ctx, study_id, params, objective, output_format, output):
    """The objective against each parameter, for evaluations that finished with a value (an even sample
    of at most 5,000): one row per evaluation, one column per parameter."""
    from storage.studies import exports, queries

    reader = _reader(ctx)
    study = queries.get_study(reader, study_id)
    k, label = _objective_of(ctx, study_id, study, objective)
    names = list(study.get("parameter_names") or [])
    chosen = [p.strip() for p in params.split(",") if p.strip()] if params else names[:9]
    unknown = [p for p in chosen if p not in names]
    if unknown or not chosen:
        raise click.BadParameter(f"{', '.join(unknown) or repr(params)}: not a parameter of {study_id} (its "
                                 f"parameters: {', '.join(names) or 'none'})", ctx, param_hint="'--params'")
    _png_early(ctx, output)
    runs = queries.sample_study_runs(reader, study_id, 5000)
    runs = runs[runs["simulation_status"].isin(["success", "infeasible"])]
    frame = exports.spread_columns(runs, study) if not runs.empty else runs
    value = exports.objective_names(study)[k]
    _emit(frame, output_format, ["evaluation_number", "run_id", value, *[f"param:{p}" for p in chosen]])
    if output:
        from charts.output import write_figure
        from charts.trials import slice_figure

        _done(write_figure(slice_figure(frame, chosen, value, f"Slice of {study_id}: {label} against each parameter"),
                           output))


@query.command("learning-curves")
@click.option("--study-id", required=True)
@click.option("--max-curves", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="Curves chosen evenly by evaluation number (the 10 best are added).")
@_format_option
@_output_option
@db_option
@project_option
@click.pass_context
def learning_curves(ctx, study_id, max_curves, output_format, output):
    """Intermediate values (Optuna's trial.report) by step, one row per (evaluation, step), with each
    evaluation's outcome (pruned ones say so); at most 200 points per curve."""
    from storage.studies import exports, queries

    reader = _reader(ctx)
    study = queries.get_study(reader, study_id)
    _png_early(ctx, output)
    frame = queries.get_learning_curves(reader, study_id, max_curves=max_curves)
    _emit(frame, output_format)
    if frame.attrs.get("shown_curves", 0) < frame.attrs.get("total_curves", 0):
        click.echo(f"{frame.attrs['shown_curves']:,} of {frame.attrs['total_curves']:,} curves "
                   "(evenly chosen plus the 10 best)", err=True)
    if output:
        from charts.output import write_figure
        from charts.trials import learning_curves_figure

        name = exports.objective_names(study)[0]
        _done(write_figure(learning_curves_figure(frame, f"{name} (reported)", f"Learning curves of {study_id}"),
                           output))
