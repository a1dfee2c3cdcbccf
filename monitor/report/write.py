"""Writing the pages: each file replaced atomically, so a reader never sees half a page."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.atomic import remove_stale_temporaries, write_atomically
from monitor.errors import StateError
from monitor.report.imaging import MercatorWarp, webp_bytes, webp_data_uri, write_timelapse
from monitor.report.index import render_index_page
from monitor.report.page import aoi_page_name, latest_name, render_aoi_page, timelapse_name
from monitor.report.records import AoiReport, AoiSummary, latest_mostly_clear

__all__ = ["AoiPage", "write_aoi_page", "write_index_page", "INDEX_NAME"]

INDEX_NAME = "index.html"


@dataclass(frozen=True)
class AoiPage:
    """What :func:`write_aoi_page` wrote."""

    aoi_id: str
    page: Path
    page_bytes: int
    timelapse: Path | None
    timelapse_bytes: int
    summary: AoiSummary


def _replace(path: Path, data: bytes) -> None:
    try:
        write_atomically(path, data)
    except OSError as exc:
        raise StateError(f"{path}: cannot write the report: {exc.strerror}") from None


#: The files this stage writes (pages, timelapses, latest frames): the targets whose
#: temporary files a killed writer left are removed.
_REPORT_FILES = re.compile(r".+\.(?:html|webp)")


def _folder(out_dir: Path) -> Path:
    """The reports folder, created if needed, without the stale temporary files of report
    files a killed writer left there (each up to the page's size, 10 MB)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateError(f"{out_dir}: cannot create the reports folder: {exc.strerror}") from None
    remove_stale_temporaries(out_dir, _REPORT_FILES)
    return out_dir


def write_aoi_page(report: AoiReport, out_dir: Path) -> AoiPage:
    """Write ``<out_dir>/<aoi-id>.html`` and, when the AOI has clear months, its timelapse
    ``<aoi-id>-timelapse.webp`` beside it (written first, so the page never links a file
    that is not there) and ``<aoi-id>-latest.webp``, the latest frame that the overview
    map shows."""
    folder = _folder(Path(out_dir))
    aoi = report.aoi
    timelapse: Path | None = None
    timelapse_bytes = 0
    warp = MercatorWarp.of(aoi.grid) if report.frames else None
    if report.frames and warp is not None:
        opening = report.frames[latest_mostly_clear([f.clear_fraction for f in report.frames])]
        _replace(folder / latest_name(aoi.id), webp_bytes(warp.apply(opening.true_colour)))
        timelapse = folder / timelapse_name(aoi.id)
        frames = [(f"{frame.date:%Y-%m-%d}", frame.true_colour) for frame in report.frames]
        try:
            write_timelapse(frames, timelapse, simulated=report.simulated, title=aoi.id)
        except OSError as exc:
            raise StateError(f"{timelapse}: cannot write the timelapse: {exc.strerror}") from None
        timelapse_bytes = timelapse.stat().st_size
    html = render_aoi_page(report, timelapse=timelapse.name if timelapse else None, warp=warp)
    page = folder / aoi_page_name(aoi.id)
    data = html.encode("utf-8")
    del html  # 2 bytes a character as str (the page has non-Latin-1 characters)
    _replace(page, data)
    return AoiPage(
        aoi.id, page, len(data), timelapse, timelapse_bytes, AoiSummary.of(report, page.name)
    )


def write_index_page(
    summaries: Sequence[AoiSummary], out_dir: Path, *, generated_at: dt.datetime, limits_note: str
) -> Path:
    """Write ``<out_dir>/index.html``: every AOI's outline, figures and link, and the latest
    frame its page left (``<aoi-id>-latest.webp``) inline."""
    folder = _folder(Path(out_dir))
    path = folder / INDEX_NAME
    previews = {}
    for summary in summaries:
        latest = folder / latest_name(summary.aoi.id)
        if summary.page is not None and summary.latest_frame is not None and latest.is_file():
            bounds = MercatorWarp.of(summary.aoi.grid).bounds
            previews[summary.aoi.id] = (webp_data_uri(latest.read_bytes()), bounds)
    html = render_index_page(
        summaries, generated_at=generated_at, limits_note=limits_note, previews=previews
    )
    _replace(path, html.encode("utf-8"))
    return path
