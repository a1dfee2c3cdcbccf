"""``monitor scenes``: the scenes found per AOI, with what became of each."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from monitor.catalog import SceneSearch, find_scenes
from monitor.config import Settings
from monitor.job.common import aois_of, catalog_of, no_scene_error, period_of, store_of
from monitor.models import Aoi, Observation


@dataclass(frozen=True)
class SceneRow:
    date: dt.date
    scene_id: str
    collection: str
    cloud_cover: float | None
    clear_fraction: float | None
    rule: str
    status: str
    reason: str


@dataclass(frozen=True)
class SceneListing:
    aoi_id: str
    start: dt.date
    end: dt.date
    rows: tuple[SceneRow, ...]
    n_acquisitions: int
    monthly_counts: Mapping[str, Mapping[str, int]]
    monthly_clear: Mapping[str, int | None]
    fallback_months: tuple[str, ...]
    simulated: bool

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        for row in data["rows"]:
            row["date"] = row["date"].isoformat()
        return data


def _listing(
    aoi: Aoi, search: SceneSearch, stored: Mapping[str, Observation], start: dt.date, end: dt.date
) -> SceneListing:
    rows: list[SceneRow] = []
    clear_by_month: Counter[str] = Counter()
    read_months: set[str] = set()
    for scene in search.scenes:
        obs = stored.get(scene.id)
        status = "new" if obs is None or obs.status == "pending" else obs.status
        reason = "not read yet" if status == "new" else obs.reason  # type: ignore[union-attr]
        rule = obs.rule if obs is not None and obs.rule is not None else scene.rule
        clear = obs.clear_fraction if obs is not None else None
        month = scene.date.strftime("%Y-%m")
        if status in ("used", "skipped"):
            read_months.add(month)
        if status == "used":
            clear_by_month[month] += 1
        rows.append(
            SceneRow(
                scene.date,
                scene.id,
                scene.collection,
                scene.cloud_cover,
                clear,
                rule.label,
                status,
                reason,
            )
        )
    for scene, why in search.duplicates:
        rows.append(
            SceneRow(
                scene.date,
                scene.id,
                scene.collection,
                scene.cloud_cover,
                None,
                scene.rule.label,
                "skipped",
                why,
            )
        )
    rows.sort(key=lambda r: (r.date, r.status != "skipped" and r.status, r.scene_id))
    months = {m: dict(c) for m, c in search.monthly_counts.items()}
    return SceneListing(
        aoi_id=aoi.id,
        start=start,
        end=end,
        rows=tuple(rows),
        n_acquisitions=len(search.scenes),
        monthly_counts=months,
        # Clear acquisitions per month; None where nothing of that month was read yet.
        monthly_clear={m: clear_by_month.get(m, 0) if m in read_months else None for m in months},
        fallback_months=tuple(search.fallback_months),
        simulated=any(s.simulated for s in search.scenes),
    )


def list_scenes(
    settings: Settings,
    selectors: Sequence[str] = (),
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> list[SceneListing]:
    """Scenes found per AOI, merged with what the state knows of each (``monitor scenes``).

    Read-only for the catalog; registers the AOIs in the state. One AOI that no scene covers
    is an error; with several AOIs, such an AOI is listed empty.
    """
    start, end = period_of(settings, since, until)
    aois = aois_of(settings, selectors)
    catalog = catalog_of(settings)
    listings = []
    with store_of(settings) as store:
        for aoi in aois:
            search = find_scenes(catalog, aoi, start, end, max_cloud_cover=settings.max_cloud_cover)
            if not search.scenes and len(aois) == 1:
                raise no_scene_error(aoi, catalog, start, end)
            store.put_aoi(aoi)
            stored = {o.scene_id: o for o in store.observations(aoi.id)}
            listings.append(_listing(aoi, search, stored, start, end))
    return listings
