"""One self-contained HTML file: text, tables and plotly charts that open from disk with no network.

plotly.js is included once, gzip-compressed (4.8 MB of JavaScript become 2.0 MB of base64), and
unpacked by the browser itself (``DecompressionStream``, in every browser since 2023) before the
charts are drawn; the figures travel as JSON. Every piece of user text (names, descriptions,
rationales) is HTML-escaped; the figures' JSON is escaped so it cannot close its script element.
Tables hold the numbers, so a reader without JavaScript still has them.
"""
from __future__ import annotations

import base64
import gzip
import html
import json
import math
from functools import lru_cache
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from charts.output import themed

STYLE = """
body { font-family: "Source Sans Pro", "Source Sans 3", "DejaVu Sans", sans-serif; color: #31333f; margin: 0 auto;
       max-width: 1180px; padding: 24px 32px 64px; line-height: 1.45; }
h1 { font-size: 28px; margin-bottom: 4px; } h2 { font-size: 22px; margin-top: 40px; border-bottom: 1px solid #ddd; }
h3 { font-size: 17px; margin-top: 24px; } .meta, .note { color: #666; font-size: 14px; }
.text { white-space: pre-wrap; } .chart { width: 100%; min-height: 460px; margin: 8px 0 4px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0 16px; }
th, td { border-bottom: 1px solid #e4e4e8; padding: 3px 10px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } th { background: #f0f2f6; }
.summary th { width: 220px; } .wide { overflow-x: auto; max-width: 100%; } nav ul { columns: 2; } #chart-status { color: #a33; }
@media print { .chart { break-inside: avoid; } }
"""

LOADER = """
(async () => {
  const status = document.getElementById('chart-status');
  try {
    if (!('DecompressionStream' in window)) {
      throw new Error('this browser cannot unpack the charting library embedded in the file ' +
                      '(Chrome 80, Firefox 113, Safari 16.4 or later can); the tables hold the numbers');
    }
    const packed = document.getElementById('plotly-gzip').textContent.trim();
    const bytes = Uint8Array.from(atob(packed), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    const code = await new Response(stream).text();
    const script = document.createElement('script');
    script.textContent = code;
    document.head.appendChild(script);
    const figures = JSON.parse(document.getElementById('figures').textContent);
    for (const [id, figure] of Object.entries(figures)) {
      await Plotly.newPlot(id, figure.data, figure.layout, {responsive: true, displaylogo: false});
    }
    document.body.dataset.chartsDrawn = String(Object.keys(figures).length);
  } catch (error) {
    status.textContent = 'The charts could not be drawn: ' + error.message;
    document.body.dataset.chartsDrawn = 'failed';
  }
})();
"""


@lru_cache(maxsize=1)
def packed_plotly_js() -> str:
    """plotly.js (the version plotly.py ships), gzip-compressed and base64-encoded."""
    from plotly.offline import get_plotlyjs

    return base64.b64encode(gzip.compress(get_plotlyjs().encode("utf-8"), compresslevel=9, mtime=0)).decode("ascii")


def text(value: Any) -> str:
    """User text as HTML text: escaped, never markup."""
    return html.escape("" if value is None else str(value), quote=True)


def _cell(value: Any) -> tuple[str, bool]:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "", False
    if isinstance(value, bool):
        return ("yes" if value else "no"), False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (f"{value:.6g}" if isinstance(value, float) else f"{value:,}" if abs(value) >= 10_000 else str(value)), True
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        return _cell(value.item())
    if isinstance(value, (list, dict)):
        return text(json.dumps(value, ensure_ascii=False, default=str)), False
    return text(value), False


def table(frame: pd.DataFrame, css: str = "") -> str:
    """A DataFrame as an HTML table: every cell escaped, numbers right-aligned to 6 significant digits."""
    head = "".join(f"<th>{text(c)}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for value in record:
            shown, numeric = _cell(value)
            cells.append(f'<td class="num">{shown}</td>' if numeric else f"<td>{shown}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    # a wide table scrolls inside the page instead of widening it
    return (f'<div class="wide"><table class="{css}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
            "</table></div>")


def key_values(pairs: list[tuple[str, Any]]) -> str:
    """A two-column summary table (field, value); empty values left out."""
    rows = []
    for key, value in pairs:
        shown, numeric = _cell(value)
        if shown:
            css = ' class="num"' if numeric else ""
            rows.append(f"<tr><th>{text(key)}</th><td{css}>{shown}</td></tr>")
    return f'<table class="summary"><tbody>{"".join(rows)}</tbody></table>'


class Document:
    """An HTML report being written: ``add`` markup, ``chart`` figures; ``html()`` the finished file."""

    def __init__(self, title: str):
        self.title = title
        self.parts: list[str] = []
        self.figures: dict[str, dict] = {}

    def add(self, markup: str) -> None:
        self.parts.append(markup)

    def heading(self, level: int, words: str, anchor: str | None = None) -> None:
        ident = f' id="{text(anchor)}"' if anchor else ""
        self.add(f"<h{level}{ident}>{text(words)}</h{level}>")

    def paragraph(self, words: str, css: str = "") -> None:
        self.add(f'<p class="{css}">{text(words)}</p>')

    def chart(self, figure: go.Figure, caption: str | None = None) -> None:
        """A chart drawn in SVG (WebGL traces become their SVG twins: a report's points are thinned, and
        SVG prints) in the app's theme."""
        spec = json.loads(pio.to_json(themed(figure), validate=False))
        for trace in spec.get("data", []):
            if trace.get("type") == "scattergl":
                trace["type"] = "scatter"
        ident = f"chart-{len(self.figures) + 1}"
        self.figures[ident] = spec
        self.add(f'<div class="chart" id="{ident}"></div>')
        if caption:
            self.paragraph(caption, "note")

    def html(self) -> str:
        # "<" only appears inside JSON strings; as \\u003c no "</script>" can end the element early.
        figures = json.dumps(self.figures, separators=(",", ":"), ensure_ascii=False).replace("<", "\\u003c")
        return (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{text(self.title)}</title><style>{STYLE}</style></head><body>"
            + "".join(self.parts)
            + '<p id="chart-status" class="note"></p>'
            + "<noscript><p>The charts need JavaScript; the tables hold the numbers.</p></noscript>"
            + f'<script type="application/json" id="figures">{figures}</script>'
            + f'<script type="application/octet-stream" id="plotly-gzip">{packed_plotly_js()}</script>'
            + f"<script>{LOADER}</script></body></html>\n"
        )
