"""Scripts, styles inlined into every page, read at build time from installed packages.

Leaflet comes from the ``xstatic-leaflet`` package (located with its own API,
``xstatic.pkg.leaflet.BASE_DIR``); the images its stylesheet refers to (the layer control's
icon, the default marker) become data URIs, so a page makes no request at all, not even
to a file beside it. Nothing of Leaflet is copied into the repository.

Our own script and style are package data (``monitor/report/static/report.js`` and
``report.css``), read through :mod:`importlib.resources` so that an installed wheel finds
them as an editable checkout does. The script adds, on top of the folium map: the imagery
panel (date slider, true/false colour, before/after swipe with its divider), the detection
popups and the legend. Data comes in one JSON object (``monitor.report.safe.script_json``);
every text that reaches the DOM from it goes through ``textContent`` or was escaped in
Python first (popups, legend).
"""

from __future__ import annotations

import base64
import functools
import re
from importlib.resources import files
from pathlib import Path

from monitor.errors import SetupError

__all__ = ["leaflet_js", "leaflet_css", "leaflet_version", "report_css", "report_js", "inline_head"]

_CSS_URL = re.compile(r"url\((['\"]?)(images/[A-Za-z0-9_.-]+)\1\)")
_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif"}


@functools.cache
def _leaflet_dir() -> Path:
    try:
        import xstatic.pkg.leaflet as xleaflet
    except ImportError:
        raise SetupError(
            "the reports need the xstatic-leaflet package (pip install xstatic-leaflet)"
        ) from None
    base = Path(xleaflet.BASE_DIR)
    if not (base / "leaflet.js").is_file() or not (base / "leaflet.css").is_file():
        raise SetupError(f"{base}: xstatic-leaflet holds no leaflet.js/leaflet.css")
    return base


def leaflet_version() -> str:
    """The inlined Leaflet's version, as its package states it."""
    import xstatic.pkg.leaflet as xleaflet

    return str(xleaflet.VERSION)


@functools.cache
def leaflet_js() -> str:
    """Leaflet's minified script, safe inside ``<script>`` (no ``</script`` in it)."""
    code = (_leaflet_dir() / "leaflet.js").read_text(encoding="utf-8")
    # The source map comment points to a file next to the page: drop it (no request).
    code = re.sub(r"//# sourceMappingURL=\S+", "", code)
    return code.replace("</script", "<\\/script")


@functools.cache
def leaflet_css() -> str:
    """Leaflet's stylesheet with its ``url(images/...)`` turned into data URIs."""
    base = _leaflet_dir()
    css = (base / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        path = base / match.group(2)
        mime = _MIME.get(path.suffix.lower())
        if mime is None or not path.is_file():
            return "none"  # never a request to a missing file
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"url(data:{mime};base64,{data})"

    return _CSS_URL.sub(inline, css).replace("</style", "<\\/style")


def _own(name: str) -> str:
    """One of our own files of ``static/``, exactly as written (the page inlines it)."""
    return (files("monitor.report") / "static" / name).read_bytes().decode("utf-8")


@functools.cache
def report_css() -> str:
    """Our own stylesheet for the pages."""
    return _own("report.css")


@functools.cache
def report_js() -> str:
    """Our own script for the pages: ``window.MonitorReport`` with ``initAoi``,
    ``initIndex``."""
    return _own("report.js")


def inline_head(own_css: str, own_js: str) -> str:
    """The ``<head>`` fragment with Leaflet and our own script and style, inline."""
    return (
        f"<style>{leaflet_css()}</style>\n<style>{own_css}</style>\n"
        f"<script>{leaflet_js()}</script>\n<script>{own_js}</script>\n"
    )
