"""``hive-cli serve``: the HTTP API (``server.app``) for optimizers and clients on other machines."""
from __future__ import annotations

import click

from .common import db_option, settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@db_option
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve the store's API over HTTP: studies and prompt-optimization runs, each request in the
    project of its API key (hive-cli keys create). On PostgreSQL, connect as the application role."""
    import uvicorn

    from server.app import create_app
    from storage.engine import display_url, resolve_url

    url = resolve_url(settings(ctx).get("db_url"))
    app = create_app(url)
    click.echo(f"serving {display_url(url)} on http://{host}:{port} (docs: /docs, health: /healthz)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
