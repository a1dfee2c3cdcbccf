"""The detection styles: per change type a label with a colour, per status a line.

The same styles draw the outlines on the map, the legend, the tables, the popups.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "TYPE_STYLES",
    "STATUS_STYLES",
    "STATUS_ORDER",
    "type_label",
    "type_colour",
]

#: Change type -> (label, colour). The colours of the simulator's quicklook.
TYPE_STYLES: dict[str, tuple[str, str]] = {
    "new_construction": ("New construction", "#ffd400"),
    "demolition": ("Demolition", "#ff2828"),
    "rebuilding": ("Rebuilding", "#ff8c00"),
    "roof_change": ("Roof change", "#00dcff"),
    "land_clearing": ("Land clearing", "#c85aff"),
}
#: Status -> (label, Leaflet path options, shown when the page opens).
STATUS_STYLES: dict[str, tuple[str, dict[str, Any], bool]] = {
    # Light fills: the pixels inside an outline are the evidence and must stay visible.
    "confirmed": ("Confirmed", {"weight": 3, "opacity": 1.0, "fillOpacity": 0.1}, True),
    "probable": (
        "Probable",
        {"weight": 2, "opacity": 0.95, "fillOpacity": 0.04, "dashArray": "6 4"},
        True,
    ),
    "rejected": (
        "Rejected",
        {"weight": 1.5, "opacity": 0.8, "fillOpacity": 0.0, "dashArray": "1 4"},
        False,
    ),
}
#: Status -> its rank in the tables (confirmed first).
STATUS_ORDER = {status: i for i, status in enumerate(STATUS_STYLES)}


def type_label(change_type: str) -> str:
    """The change type as people read it (its own name, capitalised, when unknown)."""
    return TYPE_STYLES.get(change_type, (change_type.replace("_", " ").capitalize(), ""))[0]


def type_colour(change_type: str) -> str:
    """The change type's colour (grey when unknown)."""
    return TYPE_STYLES.get(change_type, ("", "#888888"))[1] or "#888888"
