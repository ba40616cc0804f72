"""Writing a figure to a file: interactive HTML (needs no browser) or a static PNG (kaleido + Chromium)."""
from __future__ import annotations

import shutil
from pathlib import Path

import plotly.graph_objects as go

from storage.errors import HiveError

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


class ImageExportError(HiveError):
    """A PNG could not be made; the message says why and how to get HTML instead."""


def figure_to_html(figure: go.Figure) -> str:
    # plotly.js is embedded so the file works offline and from anywhere.
    return figure.to_html(include_plotlyjs=True, full_html=True)


def figure_to_png(figure: go.Figure, width: int = 1100, height: int = 650) -> bytes:
    if not any(shutil.which(c) or Path(c).exists() for c in CHROMIUM_CANDIDATES):
        raise ImageExportError(
            "cannot make a PNG: no Chromium found (kaleido draws PNGs with it; install Debian's 'chromium'). "
            "Use an .html output instead: it needs no browser and stays interactive"
        )
    try:
        return figure.to_image(format="png", width=width, height=height)
    except Exception as error:  # kaleido / choreographer failures -> one clear message
        raise ImageExportError(
            f"cannot make a PNG ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}); "
            "use an .html output instead: it needs no browser"
        ) from None


def write_figure(figure: go.Figure, path: str | Path) -> Path:
    """Write to ``path`` by its suffix: ``.html`` or ``.png``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        path.write_text(figure_to_html(figure), encoding="utf-8")
    elif suffix == ".png":
        path.write_bytes(figure_to_png(figure))
    else:
        raise HiveError(f"output={str(path)!r}: use a .png or .html file name")
    return path
