"""Entry point of ``hive-cli``: the command groups, and one place that turns errors into one line.

Every failure the user can cause (unknown study, unreachable database, schema behind, bad
arguments) prints a single ``error: ...`` line on stderr and exits non-zero, never a traceback.
"""
from __future__ import annotations

import sys

import click

from storage.errors import HiveError

from .db import db
from .demo import demo
from .imports import import_group
from .query import export, query
from .runs import runs


class HiveGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except HiveError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(1)
        except OSError as error:  # a file the user named cannot be written or read
            target = f" {error.filename}" if getattr(error, "filename", None) else ""
            click.echo(f"error: cannot access{target}: {error.strerror or error}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(cls=HiveGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db_url",
    envvar="HIVE_DB_URL",
    default=None,
    metavar="URL",
    help="Database URL or SQLite file (default: $HIVE_DB_URL, else ~/.hive/hive.db).",
)
@click.pass_context
def cli(ctx: click.Context, db_url: str | None) -> None:
    """Optimization results: GA, Monte Carlo, MILP and prompt-optimization studies."""
    ctx.obj = {"db_url": db_url}


cli.add_command(db)
cli.add_command(demo)
cli.add_command(import_group)
cli.add_command(query)
cli.add_command(export)
cli.add_command(runs)


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="hive-cli", standalone_mode=True)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
