"""``hive-cli projects``: who may see which project on a dashboard with sign-in.

Run by whoever administers the database (on PostgreSQL the migration owner's URL), as keys are.
"""
from __future__ import annotations

import json

import click

from .common import db_option, opened_service, table

ROLES = ("viewer", "editor")  # storage.members.ROLES, written out so that --help imports no storage


@click.group()
def projects() -> None:
    """Project grants of the dashboard's signed-in users: grant, revoke, list."""


@projects.command()
@click.option("--project", "project_id", required=True, metavar="ID", help="The project to grant.")
@click.option("--user", "email", required=True, metavar="EMAIL", help="The user's email, as the sign-in provider gives it.")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@db_option
@click.pass_context
def grant(ctx: click.Context, project_id: str, email: str, role: str) -> None:
    """Let EMAIL see PROJECT's studies and prompt runs on the dashboard (granting again changes the role)."""
    from storage import members

    row = members.grant(opened_service(ctx).engine, project_id, email, role)
    click.echo(f"granted {row['user_email']} {row['role']} on project {row['project_id']!r}")


@projects.command()
@click.option("--project", "project_id", required=True, metavar="ID")
@click.option("--user", "email", required=True, metavar="EMAIL")
@db_option
@click.pass_context
def revoke(ctx: click.Context, project_id: str, email: str) -> None:
    """EMAIL no longer sees PROJECT, from the next page they open."""
    from storage import members

    members.revoke(opened_service(ctx).engine, project_id, email)
    click.echo(f"revoked {email.strip().lower()} on project {project_id!r}")


@projects.command("list")
@click.option("--project", "project_id", default=None, metavar="ID", help="Only this project's grants.")
@click.option("--user", "email", default=None, metavar="EMAIL", help="Only this user's grants.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@db_option
@click.pass_context
def list_(ctx: click.Context, project_id: str | None, email: str | None, fmt: str) -> None:
    """Every grant, by project and user."""
    from storage import members

    rows = members.list_members(opened_service(ctx).engine, project_id, email)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        click.echo("no grants; make one: hive-cli projects grant --project P --user EMAIL")
    else:
        click.echo(table(rows, ["project_id", "user_email", "role", "granted_at"]), nl=False)
