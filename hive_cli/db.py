"""``hive-cli db``: create, upgrade and describe a database's schema."""
from __future__ import annotations

import json

import click

from .common import db_option, settings

# storage.migrate (alembic) and storage.engine (SQLAlchemy) are imported by the commands that use them.


def _engine(ctx: click.Context, url: str | None):
    from storage.engine import create_engine, resolve_url

    engine = create_engine(resolve_url(url or settings(ctx).get("db_url")))
    ctx.call_on_close(engine.dispose)
    return engine


@click.group()
def db() -> None:
    """Schema: upgrade (including databases of the old service) and inspect."""


@db.command()
@click.argument("url", required=False)
@db_option
@click.pass_context
def upgrade(ctx: click.Context, url: str | None) -> None:
    """Bring the database at URL (or --db / $HIVE_DB_URL / the default file) to the latest schema.

    Recognises databases made by the old service and upgrades them in place; running it again
    changes nothing."""
    from storage import migrate
    from storage.engine import display_url

    engine = _engine(ctx, url)
    before, after = migrate.upgrade(engine)
    where = display_url(engine.url)
    if before.kind == "current":
        click.echo(f"{where}: already at {after.revision}; nothing to do")
    elif before.kind == "legacy":
        click.echo(f"{where}: upgraded the old service's database to {after.revision} (every old row kept)")
    elif before.kind == "empty":
        click.echo(f"{where}: created the schema at {after.revision}")
    else:
        click.echo(f"{where}: upgraded from {before.revision} to {after.revision}")


@db.command()
@click.argument("url", required=False)
@click.argument("revision")
@db_option
@click.pass_context
def downgrade(ctx: click.Context, url: str | None, revision: str) -> None:
    """Step the schema back to REVISION ('base' removes everything). Data in dropped tables is lost."""
    from storage import migrate
    from storage.engine import display_url

    engine = _engine(ctx, url)
    before, after = migrate.downgrade(engine, revision)
    click.echo(f"{display_url(engine.url)}: downgraded from {before.revision} to {after.revision or 'base'}")


@db.command()
@click.argument("url", required=False)
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table")
@db_option
@click.pass_context
def info(ctx: click.Context, url: str | None, output_format: str) -> None:
    """Where the database is, its backend, schema revision and row counts."""
    from storage import migrate

    details = migrate.describe(_engine(ctx, url))
    if output_format == "json":
        click.echo(json.dumps(details, indent=2))
        return
    state = {
        "current": "up to date",
        "empty": "empty (the schema is created on first use)",
        "legacy": "made by the old service; run `hive-cli db upgrade`",
        "behind": "behind; run `hive-cli db upgrade`",
        "unknown": "unknown revision (newer hive?)",
        "foreign": "not a hive database",
    }[details["state"]]
    click.echo(f"database   {details['database']}")
    click.echo(f"backend    {details['backend']}")
    click.echo(f"schema     {details['revision'] or '-'} (head {details['head']}): {state}")
    if "file_bytes" in details:
        click.echo(f"size       {details['file_bytes']:,} bytes")
    for table, count in details["tables"].items():
        click.echo(f"  {table:<24}{count:>12,}")


@db.command()
@click.argument("url", required=False)
@click.option("--role", required=True, help="The application role (NOSUPERUSER NOBYPASSRLS, not the owner).")
@click.option("--read-only", is_flag=True, help="SELECT only: a dashboard that never writes.")
@db_option
@click.pass_context
def grant(ctx: click.Context, url: str | None, role: str, read_only: bool) -> None:
    """Give the application ROLE what it needs on every table of the PostgreSQL store at URL.

    Run as the tables' owner (the role that ran `hive-cli db upgrade`), and again after an upgrade
    that adds tables. Row-level security still confines the role to one project per connection."""
    from storage.engine import display_url, transaction
    from storage.privileges import grant_application_role

    engine = _engine(ctx, url)
    with transaction(engine) as conn:
        statements = grant_application_role(conn, role, read_only=read_only)
    click.echo(f"{display_url(engine.url)}: granted {role} {'read-only ' if read_only else ''}access "
               f"({len(statements)} statements)")


@db.command()
@click.argument("url")
@click.argument("file", type=click.Path(dir_okay=False))
def backup(url: str, file: str) -> None:
    """A consistent copy of the live database at URL into FILE (SQLite backup API; pg_dump)."""
    from storage import backup as backups

    details = backups.backup(url, file)
    size = f" ({details['bytes']:,} bytes)" if "bytes" in details else ""
    click.echo(f"{details['database']}: backed up to {details['file']}{size}")


@db.command()
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.argument("url")
def restore(file: str, url: str) -> None:
    """Bring the backup FILE back into the database at URL (replacing what it holds)."""
    from storage import backup as backups

    details = backups.restore(file, url)
    click.echo(f"{details['database']}: restored from {details['file']}")
