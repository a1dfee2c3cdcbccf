"""Escaping: outside strings are text, links are http(s) only, script JSON cannot break out."""

from __future__ import annotations

import json

import pytest

from monitor.report.safe import http_url, link, script_json, text

EVIL = "<img src=x onerror=alert(1)>"


def test_text_escapes_markup_and_quotes() -> None:
    assert text(EVIL) == "&lt;img src=x onerror=alert(1)&gt;"
    assert text("a \"b\" 'c' & d") == "a &quot;b&quot; &#x27;c&#x27; &amp; d"
    assert text(None) == ""


@pytest.mark.parametrize(
    "href",
    [
        "https://earth-search.aws.element84.com/v1/collections/x/items/y",
        "http://127.0.0.1:8000/items/a.json",
        "HTTPS://example.org/a?b=1&c=2",
    ],
)
def test_http_urls_are_kept(href: str) -> None:
    assert http_url(href) == href


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "/data/items/a.json",
        "items/a.json",
        "//example.org/x",
        "https://",
        "vbscript:msgbox(1)",
        "https://exa mple.org/",
        "",
        None,
        42,
    ],
)
def test_anything_else_is_not_a_link(href: object) -> None:
    assert http_url(href) is None
    html = link("item", href)
    assert "<a " not in html and "href" not in html


def test_link_escapes_label_and_href() -> None:
    html = link(EVIL, "https://example.org/?a=1&b=<2>")
    assert html.startswith('<a href="https://example.org/?a=1&amp;b=&lt;2&gt;"')
    assert 'rel="noopener noreferrer"' in html
    assert "&lt;img src=x onerror=alert(1)&gt;</a>" in html
    assert "<img" not in html


def test_a_local_item_shows_its_id_and_path_as_text() -> None:
    html = link(EVIL, "/archive/items/<evil>.json")
    assert "<a" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "/archive/items/&lt;evil&gt;.json" in html


def test_script_json_cannot_end_the_script_and_round_trips() -> None:
    data = {
        "id": "</script><script>alert(1)</script>",
        "note": "a & b <!-- c -->",
        "sep": "line\u2028para\u2029end",
        "uri": "data:image/webp;base64,AAA=",
    }
    raw = script_json(data)
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in raw
    assert json.loads(raw) == data
