"""``hive-cli watch --study-id X``: a running study's progress, a line each time it moves, until it
finishes."""
from __future__ import annotations

import time

import click

from analysis.progress import FINISHED, duration_text, eta_seconds, fraction_done  # math only: cheap

from .common import db_option, project_of, project_option, settings


@click.command()
@click.option("--study-id", required=True)
@click.option("--interval", type=click.FloatRange(0.2, 3600), default=2.0, show_default=True,
              help="Seconds between looks at the study.")
@db_option
@project_option
@click.pass_context
def watch(ctx: click.Context, study_id: str, interval: float) -> None:
    """Print a running study's evaluations, best fitness, hypervolume (several objectives), share done
    and ETA whenever they change, until it is completed (exit 0) or failed (exit 1)."""
    from storage.reader import Reader
    from storage.studies import queries

    reader = Reader(settings(ctx).get("db_url"), project_id=project_of(ctx))
    try:
        first, shown = None, None
        while True:
            study = queries.study_progress(reader, study_id)
            now = time.monotonic()
            fraction = fraction_done(study)
            if first is None or (first[1] is None and fraction is not None):
                first = (now, fraction)
            moved = (study["status"], study.get("run_count"), study.get("best_fitness"), study.get("hypervolume"),
                     fraction)
            if moved != shown:  # a line when the study moved, not for the clock alone
                click.echo(f"{time.strftime('%H:%M:%S')}  {_line(study, fraction, eta_seconds(first, (now, fraction)))}")
                shown = moved
            if study["status"] in FINISHED:
                break
            time.sleep(interval)
    finally:
        reader.close()
    if study["status"] == "failed":
        ctx.exit(1)


def _line(study: dict, fraction: float | None, eta: float | None) -> str:
    parts = [f"{study['study_id']}  {study['status']}", f"{int(study.get('run_count') or 0):,} evaluations"]
    if study.get("best_fitness") is not None:
        parts.append(f"best {study['best_fitness']:.6g}")
    if study.get("hypervolume") is not None:
        parts.append(f"hypervolume {study['hypervolume']:.6g}")
    if study["status"] not in FINISHED:
        parts.append(f"{fraction:.0%} done" if fraction is not None else "share done unknown (no budget or progress)")
        parts.append(f"ETA {duration_text(eta)}")
    return "  ".join(parts)
