"""``hive-cli keys``: API keys of the HTTP server, each working in one project.

Run by whoever administers the database (on PostgreSQL the migration owner's URL): the key is printed
once, the database keeps only a salted hash of it.
"""
from __future__ import annotations

import json

import click

from .common import db_option, opened_service, table


@click.group()
def keys() -> None:
    """API keys of the HTTP server (hive-cli serve): create, list, revoke."""


@keys.command()
@click.option("--project", "project_id", required=True, metavar="ID", help="Project the key works in.")
@click.option("--name", required=True, help="What the key is for (a machine, a person, a CI job).")
@db_option
@click.pass_context
def create(ctx: click.Context, project_id: str, name: str) -> None:
    """Make a key and print it once: store it where its holder keeps secrets ($HIVE_API_KEY)."""
    from storage import keys as store

    made = store.create_key(opened_service(ctx).engine, project_id, name)
    click.echo(made["key"])
    click.echo(f"key {made['key_id']} ({made['name']!r}) works in project {made['project_id']!r}; it is shown "
               "this once: the database keeps only a salted hash", err=True)


@keys.command("list")
@click.option("--project", "project_id", default=None, metavar="ID", help="Only this project's keys.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@db_option
@click.pass_context
def list_(ctx: click.Context, project_id: str | None, fmt: str) -> None:
    """Every key, newest first: id, project, name, created, revoked. Secrets are never shown."""
    from storage import keys as store

    rows = store.list_keys(opened_service(ctx).engine, project_id)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        click.echo("no API keys" + (f" in project {project_id!r}" if project_id else "") +
                   "; make one: hive-cli keys create --project P --name NAME")
    else:
        click.echo(table(rows, ["key_id", "project_id", "name", "created_at", "revoked_at"]), nl=False)


@keys.command()
@click.argument("key_id")
@db_option
@click.pass_context
def revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke KEY_ID: every later request with that key is refused (401)."""
    from storage import keys as store

    row = store.revoke_key(opened_service(ctx).engine, key_id)
    click.echo(f"revoked key {row['key_id']} ({row['name']!r}, project {row['project_id']!r}) at {row['revoked_at']}")
