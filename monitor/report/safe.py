"""Escaping: every string from a catalog, an AOI file or an analyst is text, never markup.

Item ids, AOI names, descriptions, hrefs, review notes and STAC properties can hold anything
(``<img src=x onerror=alert(1)>``). They reach a page only through these helpers:
:func:`text` for HTML text and attribute values, :func:`link` for links (http and https
only; anything else, a local path or a ``javascript:`` URL, is shown as text), and
:func:`script_json` for data embedded in a ``<script>`` element.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import urlsplit

__all__ = ["text", "http_url", "link", "script_json"]

_SCRIPT_ESCAPES = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)


def text(value: object) -> str:
    """``value`` as HTML text, safe in element content and in quoted attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def http_url(value: object) -> str | None:
    """``value`` when it is an absolute http(s) URL with a host, else None.

    Control characters and whitespace inside are refused too: browsers strip some of them
    (``java\\tscript:``), and a real catalog URL never holds them.
    """
    if not isinstance(value, str):
        return None
    candidate = value.strip()
    if not candidate or any(ord(c) < 33 or ord(c) == 127 for c in candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return candidate


def link(label: object, href: object, *, title: object | None = None) -> str:
    """An ``<a>`` to ``href`` when it is http(s) (opening in a new tab, no referrer),
    else ``label`` as text followed by the href as text (a local path stays readable)."""
    url = http_url(href)
    extra = f' title="{text(title)}"' if title else ""
    if url is not None:
        return (
            f'<a href="{text(url)}" target="_blank" rel="noopener noreferrer"{extra}>'
            f"{text(label)}</a>"
        )
    if href:
        return f'{text(label)} <span class="path">({text(href)})</span>'
    return text(label)


def script_json(data: Any) -> str:
    """``data`` as JSON that is safe inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` become ``\\u`` escapes (so ``</script>`` or ``<!--`` in a string
    cannot end or alter the script), and so do U+2028 and U+2029 (line terminators in older
    JavaScript). The result parses to the same value.
    """
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return raw.translate(_SCRIPT_ESCAPES)
