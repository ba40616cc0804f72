"""``hive-cli dashboard``: the Streamlit dashboard, started with what its pages import already loaded.

``streamlit run app.py`` starts a server that imports nothing of the app until the first browser
session arrives, so the first visit pays seconds of imports (pandas, plotly, DuckDB, SQLAlchemy and
the app's own modules). This command imports them before the server answers, then runs Streamlit in
the same process: the server takes a few seconds longer to come up and the first page does not
wait for them. Pages and options are the same as ``streamlit run app.py``'s.
"""
from __future__ import annotations

import ast
import gc
import importlib
import logging
import os
import sys
from pathlib import Path

import click

from .common import db_option, settings

APP_DIR = Path(__file__).resolve().parent.parent  # the repository root: app.py, pages/, .streamlit/
# Imported on first use, beyond the pages' own imports: DuckDB (when the read layer opens), PIL's PNG
# reader (the page icon), the parts of Streamlit, pandas and pyarrow that turn a table into Arrow or
# CSV, and the names of the sidebar's icons.
FIRST_USE = ["duckdb", "PIL.Image", "PIL.PngImagePlugin", "sqlite3", "pandas.io.formats.csvs", "pyarrow.pandas_compat",
             "streamlit.dataframe.lazy_df_adapters", "streamlit.material_icon_names"]


def page_modules(app_dir: Path = APP_DIR) -> list[str]:
    """Every module ``app.py`` and ``pages/*.py`` import, in the order they first name them, read from
    their syntax trees (a page's new import is preloaded without a list to keep in step). ``from X
    import a`` names ``X`` and ``X.a``: ``a`` may be a submodule (``from storage import queries``)."""
    names: dict[str, None] = {}
    for path in [app_dir / "app.py", *sorted((app_dir / "pages").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(dict.fromkeys(alias.name for alias in node.names))
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.update(dict.fromkeys([node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]))
    return list(names)


def preload(modules: list[str]) -> list[str]:
    """Import ``modules`` (a name that is an attribute of its loaded parent, not a module, is skipped);
    the names that failed (the page that needs one reports the problem)."""
    failed = []
    # A module-level st.cache_data checks its settings against the runtime's cache store, which does
    # not exist before the server starts; Streamlit logs a warning and the cache, made on first call,
    # is the runtime's all the same. Quiet for the imports only.
    caching_log = logging.getLogger("streamlit.runtime.caching.cache_data_api")
    level = caching_log.level
    caching_log.setLevel(logging.ERROR)
    try:
        for name in modules:
            parent, _, attribute = name.rpartition(".")
            if name in sys.modules or (parent in sys.modules and hasattr(sys.modules[parent], attribute)):
                continue
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - a page shows its own import error, with its context
                failed.append(name)
    finally:
        caching_log.setLevel(level)
    return failed


def database_argument(url: str) -> str:
    """A SQLite file named relative to where the user stands keeps naming that file once the server
    runs from the app's folder; URLs pass unchanged."""
    return url if "://" in url else str(Path(url).expanduser().resolve())


@click.command("dashboard")
@click.argument("url", required=False)
@db_option
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True, help="Port to listen on.")
@click.option("--host", default=None, metavar="ADDRESS",
              help="Address to listen on (default: .streamlit/config.toml's, this machine only).")
@click.option("--secrets", type=click.Path(exists=True, dir_okay=False, resolve_path=True), default=None,
              metavar="FILE", help="A secrets.toml to read instead of .streamlit/secrets.toml: the database URL "
                                   "([connections.studies]) and sign-in ([auth]).")
@click.pass_context
def dashboard(ctx: click.Context, url: str | None, port: int, host: str | None, secrets: str | None) -> None:
    """Open the dashboard on the database at URL (or --db / $HIVE_DB_URL / the embedded default,
    filled with demo studies on first start) at http://localhost:PORT."""
    url = url or settings(ctx).get("db_url")
    if url:
        os.environ["HIVE_DB_URL"] = database_argument(url)
    app = APP_DIR / "app.py"
    if not app.is_file():
        raise click.ClickException(f"the dashboard's app.py is not at {app}: install the repository with "
                                   "'pip install -e .' from its root")
    os.chdir(APP_DIR)  # Streamlit reads .streamlit/config.toml from the working directory
    sys.path.insert(0, str(APP_DIR))
    click.echo("loading the dashboard's libraries...")
    from ui.warmup import MODULES  # what the pages import on first use, beyond their own imports

    preload(page_modules() + list(MODULES) + FIRST_USE)
    from streamlit import delta_generator
    from streamlit.web import cli as streamlit_cli

    # Streamlit's first element of a process checks whether it runs in a REPL by inspecting every
    # frame's module (0.5 s with the libraries above loaded); this process is Streamlit's server.
    delta_generator._use_warning_has_been_displayed = True
    # Streamlit collects garbage after every script run (gc.collect(2), holding the interpreter while
    # the page's last messages wait to be sent): 0.2 s over the libraries' objects, which live as long
    # as the process. Frozen, they are left out of every collection.
    gc.freeze()

    options = ["--server.port", str(port)] + (["--server.address", host] if host else [])
    options += ["--secrets.files", secrets] if secrets else []
    sys.argv = ["streamlit", "run", str(app), *options]
    streamlit_cli.main()
