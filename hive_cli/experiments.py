"""``hive-cli query experiments``, ``query experiment`` and ``query decisions``: algorithms compared
across seeds, and the decisions recorded on a study's front.

``query experiment`` prints, for ``--format table``, the reference point, one row per study, one per
group and one per pair of groups; ``--table`` picks one of them (and is what ``csv`` prints: the
studies unless told otherwise); ``json`` holds everything. ``--output`` writes the charts, one file
each: ``-groups`` (box and strip), ``-convergence`` (median and IQR across seeds) and, for two
objectives, ``-attainment`` (best/median/worst surfaces) and ``-attainment-difference`` of two groups
(``--diff A,B``; default the first two).
"""
from __future__ import annotations

import json

import click

from .common import db_option, project_option
from .query import CHART_FILE, _done, _emit, _format_option, _json_safe, _png_early, _reader, _rows, query

TABLES = ("studies", "groups", "pairs", "convergence")


def _pair(ctx, param, text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
        raise click.BadParameter(f"{text!r}: give two different groups separated by a comma, e.g. NSGA-II,SMS-EMOA",
                                 ctx, param)
    return parts[0], parts[1]


@query.command("experiments")
@_format_option
@db_option
@project_option
@click.pass_context
def experiments(ctx, output_format):
    """Every experiment: its studies, runs and labels (name: how many values)."""
    from storage.studies import queries

    frame = queries.list_experiments(_reader(ctx))
    if output_format == "table":
        frame["labels"] = [", ".join(f"{k} ({v})" for k, v in labels.items()) for labels in frame["labels"]]
    _emit(frame, output_format)


@query.command("experiment")
@click.option("--experiment", required=True, help="The experiment's name (see `hive-cli query experiments`).")
@click.option("--by", help="The label to group studies by (default: algorithm when the studies have it, else the "
                           "first label whose values differ).")
@click.option("--table", "which", type=click.Choice(TABLES),
              help="One table only (csv prints the studies unless told otherwise; json everything).")
@click.option("--diff", "diff", callback=_pair, metavar="A,B",
              help="The two groups of the attainment-difference chart (with --output; default: the first two).")
@_format_option
@click.option("--output", type=CHART_FILE,
              help="Write the charts as FILE.png or FILE.html, one file per chart named FILE's name plus -groups, "
                   "-convergence and, for two objectives, -attainment and -attainment-difference. The names are "
                   "printed on stderr.")
@db_option
@project_option
@click.pass_context
def experiment(ctx, experiment, by, which, diff, output_format, output):
    """Algorithms compared across seeds: per study the final hypervolume on one reference point common to
    the experiment (stated) or, with one objective, the best fitness; per group n, median and IQR; every
    pair of groups: two-sided Mann-Whitney U p-value, Holm-corrected, and Vargha-Delaney A12 with the
    group that is better."""
    if diff is not None and output is None:
        raise click.UsageError("--diff changes the chart only: add --output FILE.png or FILE.html", ctx)
    from storage.studies import queries
    from storage.studies.experiments import experiment_analysis

    reader = _reader(ctx)
    studies = queries.experiment_studies(reader, experiment)   # an unknown experiment: one error line, exit 1
    names = list(dict.fromkeys(name for labels in studies["labels"] for name in labels))
    if by is not None and by not in names:
        raise click.BadParameter(f"{by!r} is not a label of experiment {experiment!r} (its labels: "
                                 f"{', '.join(names) or 'none'})", ctx, param_hint="'--by'")
    _png_early(ctx, output)
    analysis = experiment_analysis(reader, experiment, by)
    if diff is not None:
        unknown = [g for g in diff if g not in analysis.group_names]
        if unknown:
            raise click.BadParameter(f"{unknown[0]!r} is not a group of {analysis.by} (groups: "
                                     f"{', '.join(analysis.group_names)})", ctx, param_hint="'--diff'")
    frames = {"studies": analysis.studies, "groups": analysis.groups, "pairs": analysis.pairs,
              "convergence": analysis.convergence}
    if output_format == "json":
        click.echo(json.dumps(_json_safe(_everything(analysis, frames) if which is None else _rows(frames[which])),
                              indent=2, ensure_ascii=False, default=str))
    elif output_format == "csv" or which is not None:
        _emit(frames[which or "studies"], output_format)
    else:
        _print_tables(analysis)
    if output:
        _write_charts(analysis, output, diff)


def _direction_words(analysis) -> str:
    return "larger is better" if analysis.larger_is_better else "smaller is better"


def _everything(analysis, frames: dict) -> dict:
    result = {"experiment": analysis.experiment, "by": analysis.by, "measure": analysis.measure,
              "measure_title": analysis.measure_title, "larger_is_better": analysis.larger_is_better,
              "objectives": [{"name": n, "direction": d} for n, d in zip(analysis.space.names, analysis.space.directions)],
              "reference_point": None, "reference_point_text": analysis.reference_text,
              **{name: _rows(frame) for name, frame in frames.items()}, "left_out": analysis.left_out}
    if analysis.reference is not None:
        result["reference_point"] = dict(zip(analysis.space.names,
                                             analysis.space.to_units(analysis.reference.point_min).tolist()))
    if analysis.surfaces_min:
        result["attainment_surfaces"] = {group: {level: analysis.surface(group, level).tolist() for level in surfaces}
                                         for group, surfaces in analysis.surfaces_min.items()}
    return result


def _print_tables(analysis) -> None:
    click.echo(f"Experiment {analysis.experiment}: {len(analysis.studies)} studies grouped by {analysis.by}; "
               f"measure: {analysis.measure_title} ({_direction_words(analysis)}).")
    if analysis.reference_text:
        click.echo(analysis.reference_text)
    for title, frame in (("Studies", analysis.studies), ("Groups (quartiles by linear interpolation)", analysis.groups)):
        click.echo(f"\n{title}")
        _emit(frame, "table")
    pairs = len(analysis.pairs)
    click.echo(f"\nPairs: two-sided Mann-Whitney U, p-values Holm-corrected over {pairs} pair{'s' if pairs != 1 else ''}; "
               "A12 = P(a study of group_a has the larger measure); better: by A12 and the direction")
    _emit(analysis.pairs, "table")
    if analysis.left_out:
        click.echo("\nLeft out: " + "; ".join(f"{sid} ({why})" for sid, why in analysis.left_out.items()))


def _write_charts(analysis, output, diff) -> None:
    from charts.experiments import (attainment_difference_figure, attainment_surfaces_figure, convergence_band_figure,
                                    group_colors, measure_by_group_figure)
    from charts.output import write_figure

    colors = group_colors(analysis.group_names)
    figures = []
    if not analysis.studies.empty:
        figures.append(("groups", measure_by_group_figure(
            analysis.studies, analysis.measure, analysis.measure_title, analysis.by, colors,
            title=f"{analysis.measure_title} per study of {analysis.experiment}, by {analysis.by}")))
    if not analysis.convergence.empty:
        figures.append(("convergence", convergence_band_figure(analysis.convergence, analysis.convergence_title, colors)))
    if analysis.sets_min:
        names, directions = analysis.space.names, analysis.space.directions
        figures.append(("attainment", attainment_surfaces_figure(analysis.sets_min, names, directions, colors)))
        pair = diff or tuple(analysis.group_names[:2])
        if len(pair) == 2:
            from storage.errors import HiveError

            try:
                difference = analysis.difference_min(*pair)
            except HiveError as error:   # groups of unequal size: the other charts are still written
                click.echo(f"no attainment-difference chart: {error}", err=True)
            else:
                figures.append(("attainment-difference", attainment_difference_figure(
                    difference, analysis.sets_min[pair[0]], analysis.sets_min[pair[1]], pair[0], pair[1], names,
                    directions, colors)))
    for part, figure in figures:
        _done(write_figure(figure, output.with_name(f"{output.stem}-{part}{output.suffix}")))
    if analysis.reference_text:
        click.echo(analysis.reference_text, err=True)


@query.command("decisions")
@click.option("--study-id", required=True)
@_format_option
@db_option
@project_option
@click.pass_context
def decisions(ctx, study_id, output_format):
    """The decisions recorded on a study's front, the latest first: the chosen design with its objectives,
    the method and settings that ranked it, the rationale, who decided and when (UTC)."""
    from storage.studies import exports, queries

    reader = _reader(ctx)
    study = queries.get_study(reader, study_id)
    frame = queries.get_decisions(reader, study_id)
    if output_format != "table":
        _emit(exports.spread_columns(frame, study) if len(frame) else frame, output_format)
        return
    if frame.empty:
        click.echo(f"No decision recorded for {study_id} yet.")
        return
    latest = frame.iloc[0]
    click.echo(f"Latest decision: {latest['run_id']} by {latest['method']}"
               + (f", {latest['decided_by']}" if latest["decided_by"] else "") + f", {latest['decided_at']} UTC"
               + (f": {latest['rationale']}" if latest["rationale"] else ""))
    spread = exports.spread_columns(frame, study)
    _emit(spread, "table", ["decided_at", "run_id", "method", "decided_by", "rationale", "settings",
                            *exports.objective_names(study)])


__all__ = ["decisions", "experiment", "experiments"]
