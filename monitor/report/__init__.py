"""Offline HTML reports: an overview page with one map page per AOI.

Pure rendering: ``monitor.job`` reads the store and the chips and hands this stage records
(:class:`AoiReport`, :class:`AoiSummary`) and arrays; the stage writes HTML and images and
never searches a catalog, reads imagery or opens the store. Every script, style and image is
inline (Leaflet from the installed ``xstatic-leaflet`` package), so a page opens from a file
with no network.

Example
-------
>>> collector = EvidenceCollector(aoi.grid.shape, detections, masks, frame_ids)  # doctest: +SKIP
>>> for chip in chips:                                                           # doctest: +SKIP
...     collector.add(chip.datetime.date(), chip.scene_id, chip.reflectance, chip.valid,
...                   chip.bands, clear_fraction)
>>> report = AoiReport(aoi, observations, detections, limits, now,   # doctest: +SKIP
...                    frames=tuple(collector.frames), evidence=collector.evidence())
>>> write_aoi_page(report, Path("reports"))                                       # doctest: +SKIP
"""

from __future__ import annotations

from monitor.report.evidence import EvidenceCollector, index_images
from monitor.report.imaging import FALSE_COLOUR, TRUE_COLOUR, MercatorWarp, composite
from monitor.report.index import render_index_page
from monitor.report.page import (
    aoi_page_name,
    default_pair,
    page_data,
    render_aoi_page,
    timelapse_name,
)
from monitor.report.popup import detection_popup
from monitor.report.records import (
    INDEX_NAMES,
    AoiReport,
    AoiSummary,
    DetectionEvidence,
    Frame,
    IndexSeries,
    StatedSizes,
    Thumbnail,
    clearest_per_month,
    latest_mostly_clear,
    months_without_clear_view,
)
from monitor.report.safe import http_url, link, script_json, text
from monitor.report.styles import STATUS_STYLES, TYPE_STYLES
from monitor.report.write import INDEX_NAME, AoiPage, write_aoi_page, write_index_page

__all__ = [
    "AoiReport",
    "AoiSummary",
    "AoiPage",
    "Frame",
    "Thumbnail",
    "IndexSeries",
    "DetectionEvidence",
    "StatedSizes",
    "INDEX_NAMES",
    "clearest_per_month",
    "latest_mostly_clear",
    "months_without_clear_view",
    "INDEX_NAME",
    "EvidenceCollector",
    "index_images",
    "composite",
    "TRUE_COLOUR",
    "FALSE_COLOUR",
    "MercatorWarp",
    "TYPE_STYLES",
    "STATUS_STYLES",
    "default_pair",
    "detection_popup",
    "page_data",
    "render_aoi_page",
    "render_index_page",
    "aoi_page_name",
    "timelapse_name",
    "write_aoi_page",
    "write_index_page",
    "text",
    "link",
    "http_url",
    "script_json",
]
