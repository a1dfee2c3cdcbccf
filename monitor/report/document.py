"""The page document: folium's Figure with our own head, the blocks put into it, the map.

folium builds the map (panes, outlines, layers, the layer control); its default template
would load ten scripts and styles from CDNs, so every page is a :class:`Page`, whose head
carries Leaflet and our own script inline instead (see :mod:`monitor.report.assets`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from monitor.report.assets import inline_head, report_css, report_js

if TYPE_CHECKING:
    import folium

__all__ = ["Page", "HtmlBlock", "InitCall", "new_map", "geojson"]


class Page(Figure):
    """folium's Figure with our own document: a language, a title we escaped, and a head
    that loads nothing (the assets are added inline)."""

    _template = Template(
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>{{ this.page_title }}</title>\n"
        "{{ this.header.render(**kwargs) }}\n</head>\n<body>\n"
        "{{ this.html.render(**kwargs) }}\n"
        "<script>\n{{ this.script.render(**kwargs) }}\n</script>\n</body>\n</html>\n"
    )

    def __init__(self, title_html: str) -> None:
        super().__init__()
        self.page_title = title_html
        # Leaflet, our style and script, inline: no CDN, no file beside the page.
        self.header.add_child(Element(inline_head(report_css(), report_js())), name="mr_assets")


class HtmlBlock(MacroElement):
    """A block of page HTML (already escaped) placed in the body where it is added."""

    _template = Template("{% macro html(this, kwargs) %}{{ this.body }}{% endmacro %}")

    def __init__(self, body: str) -> None:
        super().__init__()
        self._name = "PageHtml"
        self.body = body


class InitCall(MacroElement):
    """The call into our script once the map and its layers exist."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "MonitorReport.{{ this.function }}({{ this._parent.get_name() }}, "
        "{{ this.data }}, {{ this.layers }});{% endmacro %}"
    )

    def __init__(self, function: str, data_json: str, layers_js: str) -> None:
        super().__init__()
        self._name = "MonitorInit"
        self.function = function
        self.data = data_json
        self.layers = layers_js


def new_map(figure: Page, bounds: Sequence[Sequence[float]], height: str) -> folium.Map:
    """A folium map in ``figure`` fitted to ``bounds`` (south-west, north-east), with the
    online basemap as a layer that is off."""
    import folium

    fmap = folium.Map(
        location=[(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2],
        zoom_start=14,
        tiles=None,
        control_scale=True,
        height=height,
        max_zoom=19,
        font_size="13px",
        zoom_snap=0.25,
        zoom_delta=0.5,
    )
    # No CDN scripts or styles: Leaflet is inline in the head; nothing else is needed.
    fmap.default_js = []
    fmap.default_css = []
    figure.add_child(fmap)
    # An online basemap the analyst may switch on; off by default and never needed.
    folium.TileLayer(
        "OpenStreetMap",
        name="Online basemap (OpenStreetMap, needs a network)",
        overlay=True,
        show=False,
        control=True,
        max_zoom=19,
    ).add_to(fmap)
    fmap.fit_bounds([list(bounds[0]), list(bounds[1])])
    return fmap


def geojson(geometry: Any) -> dict[str, Any]:
    """A shapely geometry as GeoJSON, degrees rounded to 7 decimals (about 1 cm): full
    doubles would make up a third of a page with hundreds of pixel outlines."""
    import numpy as np
    import shapely
    from shapely.geometry import mapping

    return dict(mapping(shapely.transform(geometry, lambda xy: np.round(xy, 7))))
