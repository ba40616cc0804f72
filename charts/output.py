"""Writing a figure to a file: interactive HTML (needs no browser) or a static PNG (kaleido + Chromium)."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import plotly.graph_objects as go

from storage.errors import HiveError

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


class ImageExportError(HiveError):
    """A PNG could not be made; the message says why and how to get HTML instead."""


def figure_to_html(figure: go.Figure) -> str:
    # plotly.js is embedded so the file works offline and from anywhere.
    return figure.to_html(include_plotlyjs=True, full_html=True)


PNG_TIMEOUT_S = 90.0


def figure_to_png(figure: go.Figure, width: int = 1100, height: int = 650, timeout_s: float = PNG_TIMEOUT_S) -> bytes:
    """PNG bytes through kaleido and Chromium, within ``timeout_s`` (a browser that never answers
    must not hang the caller)."""
    if not any(shutil.which(c) or Path(c).exists() for c in CHROMIUM_CANDIDATES):
        raise ImageExportError(
            "cannot make a PNG: no Chromium found (kaleido draws PNGs with it; install Debian's 'chromium'). "
            "Use an .html output instead: it needs no browser and stays interactive"
        )
    outcome: dict = {}

    def draw() -> None:
        try:
            outcome["png"] = figure.to_image(format="png", width=width, height=height)
        except Exception as error:  # kaleido / choreographer failures -> one clear message below
            outcome["error"] = error

    worker = threading.Thread(target=draw, name="png-export", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise ImageExportError(
            f"cannot make a PNG: Chromium did not answer within {timeout_s:g} s; "
            "use an .html output instead: it needs no browser"
        )
    if "error" in outcome:
        error = outcome["error"]
        raise ImageExportError(
            f"cannot make a PNG ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}); "
            "use an .html output instead: it needs no browser"
        )
    return outcome["png"]


def write_figure(figure: go.Figure, path: str | Path) -> Path:
    """Write to ``path`` by its suffix: ``.html`` or ``.png``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".html", ".htm", ".png"):
        raise HiveError(f"output={str(path)!r}: use a .png or .html file name")
    content = figure_to_png(figure) if suffix == ".png" else figure_to_html(figure).encode("utf-8")
    try:
        path.write_bytes(content)
    except OSError as error:
        raise HiveError(f"cannot write {path}: {error.strerror or error}") from None
    return path
