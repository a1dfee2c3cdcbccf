"""The look of detections: QGIS (QML), other GIS (SLD), Google Earth (KML colours).

One colour per change type (ColorBrewer's Dark2, distinguishable for most colour-blind
readers); fill translucent so the imagery below stays visible.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from monitor.export.fields import CHANGE_LABELS, CHANGE_TYPES

__all__ = ["CHANGE_COLOURS", "FILL_ALPHA", "kml_colour", "qml_style", "sld_style"]

#: Outline colour of each change type, ``#rrggbb``.
CHANGE_COLOURS: dict[str, str] = {
    "new_construction": "#d95f02",
    "demolition": "#7570b3",
    "rebuilding": "#1b9e77",
    "roof_change": "#e7298a",
    "land_clearing": "#a6761d",
}
#: Opacity of the fill (0-255); outlines are opaque.
FILL_ALPHA = 110


def _rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def kml_colour(colour: str, alpha: int = 255) -> str:
    """KML's ``aabbggrr`` from ``#rrggbb``."""
    r, g, b = _rgb(colour)
    return f"{alpha:02x}{b:02x}{g:02x}{r:02x}"


def _option_map(parent: ET.Element, values: dict[str, str]) -> None:
    # QGIS >= 3.26 reads the <Option> map; older releases the <prop k v> pairs.
    options = ET.SubElement(parent, "Option", type="Map")
    for key, value in values.items():
        ET.SubElement(options, "Option", type="QString", name=key, value=value)
    for key, value in values.items():
        ET.SubElement(parent, "prop", k=key, v=value)


def qml_style(field: str = "change_type", *, date_field: str = "first_seen") -> str:
    """A QGIS layer style: polygons categorised by ``field``, one colour per change type,
    and temporal properties (each detection shown from its ``date_field`` on, accumulated).

    QGIS applies the temporal part when the style is loaded onto a layer (Load Style,
    Restore Default); on adding a layer it resets temporal settings after the default
    style, so the colours apply at once and the animation after one click."""
    root = ET.Element("qgis", version="3.34.0", styleCategories="Symbology|Temporal")
    # Mode 1: instant from a field; accumulate: a change stays visible once seen.
    temporal = ET.SubElement(
        root,
        "temporal",
        enabled="1",
        mode="1",
        startField=date_field,
        endField="",
        startExpression="",
        endExpression="",
        durationField="",
        durationUnit="d",
        fixedDuration="0",
        accumulate="1",
        limitMode="0",
    )
    fixed = ET.SubElement(temporal, "fixedRange")
    ET.SubElement(fixed, "start")
    ET.SubElement(fixed, "end")
    renderer = ET.SubElement(
        root,
        "renderer-v2",
        type="categorizedSymbol",
        attr=field,
        forceraster="0",
        symbollevels="0",
        enableorderby="0",
        referencescale="-1",
    )
    categories = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    for index, name in enumerate(CHANGE_TYPES):
        ET.SubElement(
            categories,
            "category",
            symbol=str(index),
            value=name,
            label=CHANGE_LABELS[name],
            render="true",
            type="string",
        )
        r, g, b = _rgb(CHANGE_COLOURS[name])
        symbol = ET.SubElement(
            symbols,
            "symbol",
            type="fill",
            name=str(index),
            alpha="1",
            clip_to_extent="1",
            force_rhr="0",
            frame_rate="10",
            is_animated="0",
        )
        layer = ET.SubElement(
            symbol, "layer", {"class": "SimpleFill", "enabled": "1", "pass": "0", "locked": "0"}
        )
        _option_map(
            layer,
            {
                "color": f"{r},{g},{b},{FILL_ALPHA}",
                "style": "solid",
                "outline_color": f"{r},{g},{b},255",
                "outline_style": "solid",
                "outline_width": "0.66",
                "outline_width_unit": "MM",
                "joinstyle": "miter",
            },
        )
    ET.SubElement(root, "layerGeometryType").text = "2"  # polygons
    ET.indent(root)
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        + ET.tostring(root, encoding="unicode")
        + "\n"
    )


_SLD = "http://www.opengis.net/sld"
_SE = "http://www.opengis.net/se"
_OGC = "http://www.opengis.net/ogc"


def sld_style(layer_name: str = "detections", field: str = "change_type") -> str:
    """The same colours as an SLD 1.1 (Symbology Encoding) document, for GIS other than QGIS."""
    ET.register_namespace("", _SLD)
    ET.register_namespace("se", _SE)
    ET.register_namespace("ogc", _OGC)
    root = ET.Element(f"{{{_SLD}}}StyledLayerDescriptor", version="1.1.0")
    named = ET.SubElement(root, f"{{{_SLD}}}NamedLayer")
    ET.SubElement(named, f"{{{_SE}}}Name").text = layer_name
    user = ET.SubElement(named, f"{{{_SLD}}}UserStyle")
    ET.SubElement(user, f"{{{_SE}}}Name").text = "by change type"
    feature_style = ET.SubElement(user, f"{{{_SE}}}FeatureTypeStyle")
    for name in CHANGE_TYPES:
        rule = ET.SubElement(feature_style, f"{{{_SE}}}Rule")
        ET.SubElement(rule, f"{{{_SE}}}Name").text = name
        description = ET.SubElement(rule, f"{{{_SE}}}Description")
        ET.SubElement(description, f"{{{_SE}}}Title").text = CHANGE_LABELS[name]
        filt = ET.SubElement(rule, f"{{{_OGC}}}Filter")
        equal = ET.SubElement(filt, f"{{{_OGC}}}PropertyIsEqualTo")
        ET.SubElement(equal, f"{{{_OGC}}}PropertyName").text = field
        ET.SubElement(equal, f"{{{_OGC}}}Literal").text = name
        polygon = ET.SubElement(rule, f"{{{_SE}}}PolygonSymbolizer")
        fill = ET.SubElement(polygon, f"{{{_SE}}}Fill")
        ET.SubElement(fill, f"{{{_SE}}}SvgParameter", name="fill").text = CHANGE_COLOURS[name]
        ET.SubElement(
            fill, f"{{{_SE}}}SvgParameter", name="fill-opacity"
        ).text = f"{FILL_ALPHA / 255:.2f}"
        stroke = ET.SubElement(polygon, f"{{{_SE}}}Stroke")
        ET.SubElement(stroke, f"{{{_SE}}}SvgParameter", name="stroke").text = CHANGE_COLOURS[name]
        ET.SubElement(stroke, f"{{{_SE}}}SvgParameter", name="stroke-width").text = "2"
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
