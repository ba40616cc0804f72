"""``hive-cli runs ...``: prompt-optimization runs (DSPy MIPROv2 and others) of one project.

    hive-cli runs list [--status S] [--optimizer O] [--tag T] [--limit N]
    hive-cli runs show RUN_ID
    hive-cli runs leaderboard [--limit N] [--optimizer O]
    hive-cli runs export RUN_ID --output FILE [--what samples|iterations|run]

Every command takes ``--project ID`` (default ``$HIVE_PROJECT``, else ``default``) and ``--db``,
before or after the subcommand, and ``--format table|csv|json``: ``table`` is an aligned, readable
table (missing values blank); ``json`` is machine-readable; ``csv`` is spreadsheet-safe (a text cell
starting with = + - @, a tab or a carriage return gets a leading ', numbers are never altered).
"""
from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

import click

from .common import OutputFile, cell, db_option, format_of, project_of, project_option, settings, table

# The store (SQLAlchemy, alembic, pydantic) is imported when a command runs, not at start-up.
FORMATS = click.Choice(["table", "csv", "json"])
SUFFIX_FORMATS = {".csv": "csv", ".json": "json", ".txt": "table"}
# storage.schema.RUN_STATUSES and OPTIMIZER_TYPES, written out so that parsing and --help need no
# SQLAlchemy; tests/test_import_cost.py checks they are the same.
RUN_STATUSES = ("pending", "running", "completed", "failed", "cancelled")
OPTIMIZER_TYPES = ("miprov2", "bootstrap_fewshot", "bootstrap_fewshot_random_search", "copro", "gepa", "custom")

LIST_COLUMNS = ["id", "name", "optimizer_type", "status", "baseline_score", "final_score", "improvement",
                "iterations_completed", "cost", "created_at"]
LEADERBOARD_COLUMNS = ["rank", "id", "name", "optimizer_type", "final_score", "baseline_score", "improvement",
                       "improvement_pct", "iterations_completed", "model_name", "created_at"]
ITERATION_COLUMNS = ["iteration", "evaluation_kind", "score", "is_best", "instructions", "demo_set_ids",
                     "batch_size", "prompt_tokens", "completion_tokens", "cost", "latency_ms"]
# `runs show`: what each iteration evaluated, by predictor name (DSPy imports), instead of raw ids.
SHOW_COLUMNS = ["iteration", "evaluation_kind", "score", "is_best", "instruction", "demo_set", "rescores", "seed",
                "instructions", "batch_size", "prompt_tokens", "completion_tokens", "cost", "latency_ms"]
SAMPLE_COLUMNS = ["iteration", "sample_index", "success", "score", "input", "output", "expected", "error",
                  "latency_ms", "prompt_tokens", "completion_tokens"]

format_option = click.option("--format", "output_format", type=FORMATS, default="table", show_default=True)


def _store(ctx: click.Context):
    from storage.prompts.store import PromptOptimizationStore

    store = PromptOptimizationStore(settings(ctx).get("db_url"), project_id=project_of(ctx))
    ctx.call_on_close(store.close)
    return store


@click.group()
@project_option
@db_option
def runs() -> None:
    """Prompt-optimization runs: list, show, leaderboard, export."""


@runs.command("list")
@project_option
@click.option("--status", multiple=True, type=click.Choice(RUN_STATUSES), help="Repeatable.")
@click.option("--optimizer", multiple=True, type=click.Choice(OPTIMIZER_TYPES), help="Repeatable.")
@click.option("--tag", "tags", multiple=True, help="Runs carrying every given tag (repeatable).")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@format_option
@db_option
@click.pass_context
def list_runs(ctx, status, optimizer, tags, limit, output_format) -> None:
    """The project's runs, newest first. When the project has none, the projects that have runs are
    named (on stderr)."""
    filters: dict[str, Any] = {"limit": limit}
    if status:
        filters["status"] = list(status)
    if optimizer:
        filters["optimizer_type"] = list(optimizer)
    if tags:
        filters["tags_all"] = list(tags)
    store = _store(ctx)
    rows = store.list_runs(filters)
    emit(rows, LIST_COLUMNS if output_format == "table" else None, output_format)
    if not rows:
        click.echo(_why_no_runs(ctx, store), err=True)


def _why_no_runs(ctx: click.Context, store) -> str:
    """Filters that matched nothing, or a project without runs: then the projects that have some."""
    project = project_of(ctx)
    total = store.count_runs()
    if total:
        return f"project {project!r} has {total} run{'s' if total != 1 else ''}; none matches the filters"
    others = [f"{p} ({n} run{'s' if n != 1 else ''})" for p, n in _projects_with_runs(settings(ctx).get("db_url"))]
    if not others:
        return ("no prompt-optimization runs in this database; record them with storage.PromptOptimizationStore, "
                "or add demo runs with hive-cli demo")
    return f"no runs in project {project!r}; projects with runs: {', '.join(others)}; choose one with --project ID"


def _projects_with_runs(db_url: str | None) -> list[tuple[str, int]]:
    from storage.studies import queries
    from storage.prompts.store import PromptOptimizationStore
    from storage.reader import Reader

    reader = Reader(db_url)
    try:
        projects = queries.list_projects(reader)["id"].tolist()
    finally:
        reader.close()
    counted = []
    for project in projects:
        with PromptOptimizationStore(db_url, project_id=project) as store:
            counted.append((project, store.count_runs()))
    return [(project, count) for project, count in counted if count]


@runs.command()
@click.argument("run_id")
@project_option
@format_option
@db_option
@click.pass_context
def show(ctx, run_id, output_format) -> None:
    """One run: its fields, then its iterations (the best one marked): for an imported DSPy run, the
    instruction and demo-set index of each named predictor, the trial a full re-evaluation
    re-scored, tokens and cost; then the best iteration's instructions and demos."""
    store = _store(ctx)
    run = store.get_run(run_id, with_iterations=True)
    iterations = run.pop("iterations")
    if output_format == "json":
        click.echo(json.dumps({"run": run, "iterations": iterations}, indent=2, ensure_ascii=False, default=str))
        return
    dspy_run = (run.get("metadata") or {}).get("dspy") or {}
    predictors = dspy_run.get("predictors") or []
    described = [_described(it, predictors) for it in iterations]
    columns = [c for c in SHOW_COLUMNS if any(row.get(c) is not None for row in described)]
    if dspy_run and "instruction" in columns:
        columns.remove("instructions")  # the text is below, per predictor
    if output_format == "csv":
        emit([run], None, "csv")
        click.echo("")
        emit(described, columns, "csv")
        return
    width = max(len(k) for k in run)
    for key, value in run.items():
        click.echo(f"{key:<{width}}  {cell(value, limit=200)}".rstrip())
    click.echo(f"\niterations ({len(iterations)}; * = best)")
    emit([{**row, "is_best": "*" if row["is_best"] else ""} for row in described], columns, "table")
    if dspy_run:
        _echo_dspy(dspy_run, next((it for it in iterations if it["is_best"]), None), predictors)


@runs.command()
@project_option
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--optimizer", type=click.Choice(OPTIMIZER_TYPES), default=None)
@format_option
@db_option
@click.pass_context
def leaderboard(ctx, limit, optimizer, output_format) -> None:
    """Top completed runs by final score (ties: the earlier run)."""
    rows = _store(ctx).leaderboard(limit, optimizer_type=optimizer)
    emit(rows, LEADERBOARD_COLUMNS if output_format == "table" else None, output_format)


@runs.command()
@click.argument("run_id")
@project_option
@click.option("--output", "output", required=True, type=OutputFile(tuple(SUFFIX_FORMATS)),
              help="FILE.csv, FILE.json or FILE.txt (an aligned table).")
@click.option("--what", type=click.Choice(["samples", "iterations", "run"]), default="samples", show_default=True,
              help="Which table of the run to write.")
@click.option("--format", "output_format", type=FORMATS, default=None,
              help="csv, json or table (default: from the file name; when given, it must agree with it).")
@db_option
@click.pass_context
def export(ctx, run_id, output, what, output_format) -> None:
    """Write a run's samples (or iterations, or the run itself) to FILE."""
    output_format = format_of(output, output_format, SUFFIX_FORMATS, ctx)
    store = _store(ctx)
    if what == "run":
        rows = [store.get_run(run_id)]
        columns = None
    elif what == "iterations":
        rows, columns = store.get_iterations(run_id), ITERATION_COLUMNS
    else:
        rows, columns = store.get_samples(run_id, limit=None), SAMPLE_COLUMNS
    text = render(rows, columns, output_format)
    output.write_text(text, encoding="utf-8", newline="")
    noun = {"samples": "sample", "iterations": "iteration", "run": "run"}[what]
    click.echo(f"wrote {len(rows)} {noun} row{'s' if len(rows) != 1 else ''} to {output}")


def _described(iteration: dict, predictors: list[str]) -> dict:
    from integrations.dspy_import import candidate_summary

    summary = candidate_summary(iteration, predictors)
    return {**iteration, "instruction": summary["instruction"], "demo_set": summary["demo set"],
            "rescores": summary["re-scores"], "seed": summary["seed"]}


def _echo_dspy(dspy_run: dict, best: dict | None, predictors: list[str]) -> None:
    """Predictor names, the returned iteration, where usage went, and the best iteration's candidate."""
    usage = dspy_run.get("usage") or {}
    click.echo(f"\nDSPy {dspy_run.get('optimizer', '')}: predictors {', '.join(predictors) or '-'}; "
               f"returned the program of iteration {dspy_run.get('returned_iteration')}; "
               f"LM calls {usage.get('calls', '-')} (tokens and cost attributed to: "
               f"{usage.get('attributed_to') or 'not recorded'}; calls without a price: "
               f"{usage.get('calls_without_cost', '-')})")
    settings = dspy_run.get("effective_settings") or {}
    if settings:
        click.echo("effective settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
    if best is None:
        return
    params = best.get("params") or {}
    instructions, demos = best.get("instructions") or [], params.get("demos") or []
    click.echo(f"\nbest iteration {best['iteration']}:")
    for index in range(max(len(instructions), len(demos))):
        name = predictors[index] if index < len(predictors) else f"predictor {index}"
        ids = [f"instruction {params.get('instruction_ids', {}).get(str(index), '-')}"]
        if str(index) in (params.get("demo_ids") or {}):
            ids.append(f"demo set {params['demo_ids'][str(index)]}")
        click.echo(f"  {name} ({', '.join(ids)}):")
        if index < len(instructions):
            click.echo(f"    instruction: {instructions[index]}")
        predictor_demos = demos[index] if index < len(demos) else []
        for number, demo in enumerate(predictor_demos, start=1):
            click.echo(f"    demo {number}: {json.dumps(demo, ensure_ascii=False)}")
        if not predictor_demos:
            click.echo("    no demos")


# ------------------------------------------------------------------------------------ output


def emit(rows: list[dict], columns: list[str] | None, output_format: str) -> None:
    click.echo(render(rows, columns, output_format), nl=False)


def render(rows: list[dict], columns: list[str] | None, output_format: str) -> str:
    if columns is None:
        columns = list(rows[0]) if rows else []
    if output_format == "json":
        return json.dumps([{c: _json_safe(r.get(c)) for c in columns} for r in rows], indent=2,
                          ensure_ascii=False) + "\n"
    if output_format == "csv":
        from storage.studies.exports import neutralize_cell  # imports pandas: only CSV needs it

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([neutralize_cell(c) for c in columns])
        for row in rows:
            writer.writerow([_csv_cell(row.get(c), neutralize_cell) for c in columns])
        return buffer.getvalue()
    return table(rows, columns)


def _csv_cell(value: Any, neutralize_cell) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else value  # numbers are never altered
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False)
    return neutralize_cell(str(value))


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
