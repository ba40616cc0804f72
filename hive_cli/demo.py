"""``hive-cli demo``: fill a database with the demo studies (see ``integrations.demo``)."""
from __future__ import annotations

import time

import click

from .common import db_option, settings


@click.command("demo")
@click.argument("url", required=False)
@db_option
@click.pass_context
def demo(ctx: click.Context, url: str | None) -> None:
    """Fill the database at URL (or --db / $HIVE_DB_URL / the default file) with demo studies.

    Six studies on one island-microgrid design problem, made by the real integrations: two NSGA-II
    runs (population 40 and 80), a three-objective NSGA-III run, one still running, a Monte Carlo
    study with uncertainty and sensitivity results, and a HiGHS MILP, plus linked simulation runs;
    and a few prompt-optimization runs (MIPROv2 and others) in two projects.
    Deterministic; studies and runs that exist already are skipped."""
    # Imported here so `hive-cli --help` does not pay for importing pymoo, SALib and HiGHS.
    from integrations.demo import build_demo
    from integrations.prompt_demo import add_prompt_demo
    from storage import DatabaseMetadataService
    from storage.engine import display_url

    started = time.perf_counter()
    with DatabaseMetadataService(url or settings(ctx).get("db_url")) as service:
        click.echo(f"demo data into {display_url(service.url)}")
        build_demo(service, report=lambda line: click.echo(f"  {line}"))
        added = add_prompt_demo(service.url)
        click.echo(f"  prompt optimization: {len(added)} runs added")
    click.echo(f"done in {time.perf_counter() - started:.1f} s")
