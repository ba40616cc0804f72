"""``hive-cli report``: one self-contained HTML file about one or more studies, that opens offline."""
from __future__ import annotations

import click

from .common import OutputFile, db_option, project_of, project_option, settings

REPORT_FILE = OutputFile((".html", ".htm"))


def _ids(ctx, param, values: tuple[str, ...]) -> list[str]:
    """``--study-id`` repeated, or comma-separated; each once, in the order given."""
    ids = list(dict.fromkeys(part.strip() for value in values for part in value.split(",") if part.strip()))
    if not ids:
        raise click.BadParameter("give one or more study ids", ctx, param)
    return ids


@click.command("report")
@click.option("--study-id", "study_ids", multiple=True, required=True, callback=_ids,
              help="A study to report on; repeat it (or separate ids by commas) for several, compared first.")
@click.option("--output", type=REPORT_FILE, required=True, help="The report: FILE.html.")
@db_option
@project_option
@click.pass_context
def report(ctx, study_ids, output):
    """Write an offline HTML report: per study its summary, convergence, the front with the recorded
    decision and its history, uncertainty and sensitivity where they exist; for several studies their
    comparison first. plotly.js is inside the file (once), so it opens with no network; large studies
    are thinned, and the report says where."""
    from reports.study_report import study_report
    from storage.reader import Reader

    reader = Reader(settings(ctx).get("db_url"), project_id=project_of(ctx))
    ctx.call_on_close(reader.close)
    result = study_report(reader, study_ids)
    data = result.html.encode("utf-8")
    output.write_bytes(data)
    click.echo(f"wrote {output} ({len(data) / 1e6:.1f} MB, {result.charts} charts"
               + (f"; thinned: {len(result.thinned)} views, see its last section" if result.thinned else "") + ")",
               err=True)
