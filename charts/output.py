"""Writing a figure to a file: interactive HTML (needs no browser) or a static PNG (kaleido + Chromium).

Every file gets the app's theme (``charts.theme``) on a copy of the figure. PNGs are drawn by
kaleido in Chromium; starting the browser and loading plotly.js into it is most of a PNG's time, so
``png_session()`` keeps one browser for every PNG drawn inside it (a CLI command writing several
charts starts Chromium once). Outside a session each PNG starts and stops its own browser.
"""
from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from storage.errors import HiveError

if TYPE_CHECKING:
    import plotly.graph_objects as go

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
PNG_TIMEOUT_S = 90.0
_HTML_INSTEAD = "use an .html output instead: it needs no browser"


class ImageExportError(HiveError):
    """A PNG could not be made; the message says why and how to get HTML instead."""


def chromium_missing() -> str | None:
    """Why no PNG can be drawn here (no Chromium), or None. A file check: imports nothing."""
    if any(shutil.which(c) or Path(c).exists() for c in CHROMIUM_CANDIDATES):
        return None
    return ("cannot make a PNG: no Chromium found (kaleido draws PNGs with it; install Debian's 'chromium'). "
            "Use an .html output instead: it needs no browser and stays interactive")


def themed(figure: go.Figure) -> go.Figure:
    """A copy in the app's theme; the caller's figure (drawn on a page) is left as it is."""
    import plotly.graph_objects as go

    from charts.theme import app_template

    copy = go.Figure(figure)
    copy.layout.template = app_template()
    return copy


def figure_to_html(figure: go.Figure) -> str:
    # plotly.js is embedded so the file works offline and from anywhere.
    return themed(figure).to_html(include_plotlyjs=True, full_html=True)


class _Chromium:
    """One kaleido renderer (one Chromium) on an event loop of its own thread. The browser starts at
    once, in the background; ``png`` waits for it, then draws."""

    def __init__(self):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="png-chromium", daemon=True)
        self._thread.start()
        self._opened = asyncio.run_coroutine_threadsafe(self._open(), self._loop)

    @staticmethod
    async def _open():
        import kaleido

        # No MathJax: our charts have no LaTeX, and kaleido would fetch it from a CDN.
        renderer = kaleido.Kaleido(mathjax=False, timeout=None)
        await renderer.open()
        return renderer

    def png(self, figure: dict, width: int, height: int, timeout_s: float) -> bytes:
        deadline = time.monotonic() + timeout_s
        renderer = self._opened.result(timeout=timeout_s)
        opts = {"format": "png", "width": width, "height": height, "scale": 1}
        drawing = asyncio.run_coroutine_threadsafe(renderer.calc_fig(figure, opts=opts), self._loop)
        try:
            return drawing.result(timeout=max(deadline - time.monotonic(), 0.1))
        except TimeoutError:
            drawing.cancel()
            raise

    def close(self) -> None:
        try:
            renderer = self._opened.result(timeout=PNG_TIMEOUT_S)  # a browser still starting is closed once up
            asyncio.run_coroutine_threadsafe(renderer.close(), self._loop).result(timeout=30)
        except Exception:  # noqa: BLE001 - it never opened, or will not close: nothing more to do here
            pass
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)


_lock = threading.Lock()
_browser: _Chromium | None = None
_users = 0


@contextmanager
def png_session() -> Iterator[None]:
    """One Chromium for every PNG drawn inside (nested sessions share the outer one's). It starts on
    entry, in the background, so the browser comes up while the caller reads its data."""
    global _browser, _users
    if chromium_missing():
        yield  # figure_to_png says why, when a PNG is asked for
        return
    with _lock:
        if _browser is None:
            _browser = _Chromium()
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            done, _browser = (_browser, None) if _users == 0 else (None, _browser)
        if done is not None:
            done.close()


def figure_to_png(figure: go.Figure, width: int = 1100, height: int = 650, timeout_s: float = PNG_TIMEOUT_S) -> bytes:
    """PNG bytes through kaleido and Chromium, within ``timeout_s`` (a browser that never answers
    must not hang the caller); in the session's browser when one is open."""
    problem = chromium_missing()
    if problem:
        raise ImageExportError(problem)
    content = themed(figure).to_dict()
    with png_session():
        try:
            return _browser.png(content, width, height, timeout_s)
        except TimeoutError:
            raise ImageExportError(
                f"cannot make a PNG: Chromium did not answer within {timeout_s:g} s; {_HTML_INSTEAD}") from None
        except Exception as error:  # kaleido / choreographer failures -> one clear message
            first = str(error).splitlines()[0] if str(error) else ""
            raise ImageExportError(f"cannot make a PNG ({type(error).__name__}: {first}); {_HTML_INSTEAD}") from None


def write_figure(figure: go.Figure, path: str | Path) -> Path:
    """Write to ``path`` by its suffix: ``.html`` or ``.png``, in the app's theme."""
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
