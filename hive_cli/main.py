"""Entry point of ``hive-cli``: the command groups, and one place that turns errors into one line.

Every failure the user can cause prints a single ``error: ...`` line on stderr and exits non-zero,
never a traceback: a refusal of the store (unknown study, unreachable database, schema behind) exits
1; a bad command line (unknown option, a value that is not allowed) exits 2, and its line names the
option, the value and what is allowed.

Start-up imports click and the command definitions only; each command imports what it uses
(pandas, plotly, SQLAlchemy...) when it runs, so ``hive-cli --help`` answers at once.
"""
from __future__ import annotations

import sys

import click

from storage.errors import HiveError

from . import experiments  # noqa: F401  (registers query experiments / experiment / decisions)
from .common import settings
from .dashboard import dashboard
from .db import db
from .keys import keys
from .projects import projects
from .serve import serve
from .demo import demo
from .imports import import_group
from .query import export, query
from .report import report
from .runs import runs
from .watch import watch


class HiveGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except HiveError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(1)
        except BrokenPipeError:  # `hive-cli ... | head`: click leaves quietly
            raise
        except OSError as error:  # a file the user named cannot be written or read
            target = f" {error.filename}" if getattr(error, "filename", None) else ""
            click.echo(f"error: cannot access{target}: {error.strerror or error}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:  # `hive-cli query`: the group's help
            error.show()
            sys.exit(error.exit_code)
        except click.UsageError as error:
            sys.exit(_usage_error(error))
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("interrupted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


def _usage_error(error: click.UsageError) -> int:
    """One line instead of click's usage block: the message names the option and value."""
    message = " ".join(error.format_message().split())
    hint = f" (see '{error.ctx.command_path} --help')" if error.ctx is not None else ""
    click.echo(f"error: {message}{hint}", err=True)
    return error.exit_code


@click.group(cls=HiveGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db_url",
    envvar="HIVE_DB_URL",
    default=None,
    metavar="URL",
    help="Database URL or SQLite file (default: $HIVE_DB_URL, else ~/.hive/hive.db). "
         "Also accepted after the subcommand.",
)
@click.option(
    "--project",
    envvar="HIVE_PROJECT",
    default=None,
    metavar="ID",
    help="Project whose studies and prompt-optimization runs the command works on (default: "
         "$HIVE_PROJECT, else 'default'). Also accepted after the subcommand.",
)
@click.pass_context
def cli(ctx: click.Context, db_url: str | None, project: str | None) -> None:
    """Optimization results: GA, Monte Carlo, MILP and prompt-optimization studies."""
    settings(ctx).update(db_url=db_url, project=project)


cli.add_command(dashboard)
cli.add_command(db)
cli.add_command(demo)
cli.add_command(import_group)
cli.add_command(keys)
cli.add_command(projects)
cli.add_command(serve)
cli.add_command(query)
cli.add_command(export)
cli.add_command(runs)
cli.add_command(watch)
cli.add_command(report)


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="hive-cli", standalone_mode=True)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
