"""What every ``hive-cli`` command shares: the global options, option checks, and the table format.

Only click and the standard library are imported here (and by the command modules at import time),
so ``hive-cli --help`` and the start of every command do not pay for pandas, SciPy or plotly.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

MAX_CELL = 48


def settings(ctx: click.Context) -> dict:
    """The values the global options set: ``db_url`` and ``project``."""
    return ctx.ensure_object(dict)


def _remember(key: str):
    def callback(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value is not None:  # given here, after the subcommand: it wins over the group's and $HIVE_*
            settings(ctx)[key] = value
    return callback


def db_option(function):
    """``--db`` after the subcommand too (``hive-cli query ... --db results.db``)."""
    return click.option("--db", "db_here", metavar="URL", expose_value=False, callback=_remember("db_url"),
                        help="Database URL or SQLite file (also accepted before the subcommand; "
                             "default: $HIVE_DB_URL, else ~/.hive/hive.db).")(function)


def project_option(function):
    """``--project`` after the subcommand too."""
    return click.option("--project", "project_here", metavar="ID", expose_value=False,
                        callback=_remember("project"),
                        help="Project whose studies or prompt-optimization runs to use (also accepted "
                             "before the subcommand; default: $HIVE_PROJECT, else 'default').")(function)


def opened_service(ctx: click.Context):
    """The database of ``--db`` with its schema at head (created in a new SQLite file), closed when the
    command ends: for the owner's commands (keys, project grants)."""
    from storage import DatabaseMetadataService

    service = DatabaseMetadataService(settings(ctx).get("db_url"))
    ctx.call_on_close(service.close)
    return service


def project_of(ctx: click.Context) -> str:
    return settings(ctx).get("project") or "default"


class OutputFile(click.ParamType):
    """A file to write, checked before any work: its suffix is one the command writes and its folder
    exists; a PNG also needs Chromium. Nothing is created here."""

    name = "file"

    def __init__(self, suffixes: Sequence[str]):
        self.suffixes = tuple(suffixes)

    def convert(self, value, param, ctx) -> Path:
        path = Path(value)
        if path.suffix.lower() not in self.suffixes:
            self.fail(f"{str(value)!r}: use a file name ending in {_or(self.suffixes)}", param, ctx)
        if path.is_dir():
            self.fail(f"{str(value)!r} is a folder; give a file name ending in {_or(self.suffixes)}", param, ctx)
        folder = path.parent
        if not folder.is_dir():
            self.fail(f"{str(value)!r}: the folder {str(folder)!r} does not exist", param, ctx)
        if path.suffix.lower() == ".png":
            from charts.output import chromium_missing  # no plotly, no kaleido: a file check

            problem = chromium_missing()
            if problem:
                self.fail(f"{str(value)!r}: {problem}", param, ctx)
        return path


def _or(values: Sequence[str]) -> str:
    return ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else values[0]


def format_of(path: Path, chosen: str | None, by_suffix: dict[str, str], ctx: click.Context) -> str:
    """The format a file is written in: its suffix says which; ``--format``, when given, must agree."""
    implied = by_suffix[path.suffix.lower()]
    if chosen is not None and chosen != implied:
        raise click.BadParameter(f"{chosen!r} does not match the file name {str(path)!r} ({implied}); "
                                 "change one of them", ctx, param_hint="'--format'")
    return implied


def given(ctx: click.Context, name: str) -> bool:
    """Whether the user gave option ``name`` (not its default)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def chart_only(ctx: click.Context, output: Path | None, *names: str) -> None:
    """Options that only change the chart are refused without ``--output`` (they would do nothing)."""
    if output is not None:
        return
    for name in names:
        if given(ctx, name):
            flag = next(p.opts[0] for p in ctx.command.params if p.name == name)
            raise click.UsageError(f"{flag} changes the chart only: add --output FILE.png or FILE.html", ctx)


# ------------------------------------------------------------------------------------- tables


def cell(value: Any, limit: int = MAX_CELL) -> str:
    """One table cell: blank when missing, numbers to 6 significant digits, one line, at most ``limit``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, dict)):
        text = json.dumps(value, ensure_ascii=False, default=_short)
    else:
        text = str(value)
    text = " ".join(text.split())  # one line per row
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(value: Any) -> Any:
    return float(value) if hasattr(value, "__float__") else str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def table(rows: list[dict], columns: list[str]) -> str:
    """An aligned text table: numbers right-aligned, text left-aligned, a rule under the header."""
    if not rows:
        return "(no rows)\n"
    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    numeric = [all(_is_number(r.get(c)) or cell(r.get(c)) == "" for r in rows) for c in columns]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    out = [line(columns), line(["-" * w for w in widths])]
    out += [line(row) for row in cells]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------- labels


def label_pairs(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict | None:
    """``--label NAME=VALUE`` (repeatable) -> ``{NAME: VALUE}``; a value that reads as a number is one
    (``seed=3`` is the number 3, ``algorithm=NSGA-II`` text), as ``create_study`` stores labels."""
    if not values:
        return None
    labels: dict = {}
    for text in values:
        name, sep, value = text.partition("=")
        if not sep or not name.strip() or not value:
            raise click.BadParameter(f"{text!r}: give NAME=VALUE, e.g. algorithm=NSGA-II or seed=3", ctx, param)
        if name in labels:
            raise click.BadParameter(f"{text!r}: label {name!r} is given twice", ctx, param)
        labels[name] = _number_or_text(value)
    return labels


def _number_or_text(value: str):
    try:
        number = json.loads(value)
    except ValueError:
        return value
    return number if isinstance(number, (int, float)) and not isinstance(number, bool) and math.isfinite(number) else value
