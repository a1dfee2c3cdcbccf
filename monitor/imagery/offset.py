"""Check the reflectance offset in the pixels themselves; numpy only.

Since processing baseline 04.00, L2A digital numbers carry +1000 (reflectance = DN * 1e-4 -
0.1). Catalogs say whether it is still in the pixels, and sometimes say it wrong (an item
flagged "offset applied" whose pixels still hold +1000). The darkest clear pixels of NIR
and SWIR (B08, B11, B12) give it away: clear water, shade and dark vegetation sit at
reflectance 0.00-0.03, so under the right rule their dark level is near 0, under a rule
that forgot the offset near +0.1, and under a rule that subtracts it twice near -0.1.

``dark_level`` measures; ``check_offset`` decides, from the absolute level and from the
jump against the AOI's earlier scenes (``OffsetHistory``), and returns the rule to use.
Nothing here warns: a contradiction is recorded in the returned rule's ``reason``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from monitor.models import ReflectanceRule, encode_chip

__all__ = [
    "OFFSET_BASELINE",
    "baseline_without_offset",
    "DARK_BANDS",
    "MIN_WATER_PX",
    "MIN_CLEAR_PX",
    "OFFSET_IN_LEVEL",
    "SUBTRACTED_TWICE_LEVEL",
    "JUMP",
    "DarkLevel",
    "OffsetHistory",
    "OffsetCheck",
    "dark_level",
    "check_offset",
    "encode_reflectance",
]

#: Bands whose darkest clear pixels are near 0 reflectance: water absorbs NIR and SWIR.
DARK_BANDS: tuple[str, ...] = ("nir", "swir16", "swir22")
#: SCL class of water.
SCL_WATER = 6
#: Clear water pixels needed before water alone sets the dark level.
MIN_WATER_PX = 50
#: Clear pixels needed to check at all.
MIN_CLEAR_PX = 100
#: Percentile of clear pixels used as dark level when there is too little water.
DARK_PERCENTILE = 1.0
#: True dark levels lie in about [-0.02, 0.04]; with the +1000 left in, in [0.08, 0.14];
#: with the offset subtracted twice, in [-0.12, -0.06]. The thresholds sit between.
OFFSET_IN_LEVEL = 0.07
SUBTRACTED_TWICE_LEVEL = -0.05
#: A change of the dark level against the AOI's earlier scenes that means the offset.
JUMP = 0.07
#: Earlier scenes needed before the jump, not the absolute level, decides.
MIN_HISTORY = 3
#: The offset of baseline 04.00 in reflectance.
BOA_OFFSET = -0.1
#: Share of clear pixels SCL calls dark, water or unclassified past which a scene's pixels
#: say nothing of the offset: a veil of thin cloud or haze that SCL took for water raised
#: the "water" dark level by 0.11 (random simulator worlds, style l2a: 104 of 1,054 chips
#: wrongly read 0.1 too dark where 18 items were wrongly flagged).
DOUBTFUL_LIMIT = 0.5
#: The first processing baseline whose L2A digital numbers carry the +1000.
OFFSET_BASELINE = "04.00"


def baseline_without_offset(baseline: str | None) -> bool:
    """Whether an item's declared processing baseline predates the +1000 (before 04.00)."""
    if not baseline:
        return False
    try:
        major, minor = (int(part) for part in baseline.strip().split(".")[:2])
    except ValueError:
        return False
    return (major, minor) < (4, 0)


@dataclass(frozen=True)
class DarkLevel:
    """The dark level of one scene over one AOI, in reflectance under ``rule``.

    ``level`` is the lowest of the per-band levels in ``per_band``; ``source`` says whether
    clear water or the lowest percentile of clear pixels set it; ``n_pixels`` how many.
    """

    level: float
    per_band: Mapping[str, float]
    source: Literal["water", "percentile"]
    n_pixels: int
    rule: ReflectanceRule

    def describe(self) -> str:
        where = "SCL water" if self.source == "water" else f"p{DARK_PERCENTILE:g} of clear pixels"
        return f"dark level {self.level:+.3f} ({where}, {self.n_pixels} px)"


@dataclass(frozen=True)
class OffsetHistory:
    """Dark levels of the AOI's earlier used scenes, oldest first, in reflectance as read
    (under the rule each scene was finally read with)."""

    levels: tuple[float, ...] = ()
    scene_ids: tuple[str, ...] = ()

    @property
    def median(self) -> float | None:
        return float(np.median(self.levels)) if self.levels else None


@dataclass(frozen=True)
class OffsetCheck:
    """The outcome of ``check_offset``: the rule to use and the evidence."""

    rule: ReflectanceRule
    metadata_rule: ReflectanceRule
    verdict: Literal["agrees", "offset_in_pixels", "offset_removed", "unchecked"]
    dark: DarkLevel | None
    history_median: float | None

    @property
    def overridden(self) -> bool:
        return self.rule.decided_by == "pixels"

    @property
    def dark_level_as_read(self) -> float | None:
        """The dark level under the rule finally used (what later scenes compare with)."""
        if self.dark is None:
            return None
        return self.dark.level + (self.rule.offset - self.metadata_rule.offset)


def dark_level(
    dn: Mapping[str, npt.NDArray[np.integer]],
    usable: npt.NDArray[np.bool_],
    rule: ReflectanceRule,
    scl: npt.NDArray[np.integer] | None = None,
    bands: Sequence[str] = DARK_BANDS,
) -> DarkLevel | None:
    """Measure the dark level of B08/B11/B12 under ``rule``.

    Parameters
    ----------
    dn
        Digital numbers by band name, each (rows, cols) on the same grid; 0 = no data.
    usable
        bool (rows, cols): clear pixels inside the AOI.
    rule
        The metadata rule the levels are expressed under.
    scl
        uint8 (rows, cols) or None; class 6 (water) is used when it has enough pixels.

    Returns
    -------
    DarkLevel or None
        None when fewer than ``MIN_CLEAR_PX`` usable pixels have data in the bands.
    """
    present = [b for b in bands if b in dn]
    if not present:
        return None
    has_data = usable.copy()
    for band in present:
        has_data &= dn[band] > 0
    water = has_data & (scl == SCL_WATER) if scl is not None else np.zeros_like(has_data)
    if int(water.sum()) >= MIN_WATER_PX:
        pick, source = water, "water"
    elif int(has_data.sum()) >= MIN_CLEAR_PX:
        pick, source = has_data, "percentile"
    else:
        return None
    per_band: dict[str, float] = {}
    for band in present:
        values = dn[band][pick].astype(np.float64) * rule.scale + rule.offset
        # Water: its median (it is dark throughout in SWIR); land: its lowest percentile.
        level = np.median(values) if source == "water" else np.percentile(values, DARK_PERCENTILE)
        per_band[band] = round(float(level), 5)
    return DarkLevel(
        level=min(per_band.values()),
        per_band=per_band,
        source=source,  # type: ignore[arg-type]
        n_pixels=int(pick.sum()),
        rule=rule,
    )


def check_offset(
    dark: DarkLevel | None,
    metadata_rule: ReflectanceRule,
    history: OffsetHistory | None = None,
    *,
    baseline: str | None = None,
    doubtful: float = 0.0,
) -> OffsetCheck:
    """Decide whether the pixels hold the +1000 offset, and return the rule to use.

    With at least ``MIN_HISTORY`` earlier levels, a jump of ``JUMP`` or more against their
    median decides (the AOI's own darkness is known); otherwise the absolute level does.
    When the pixels contradict the metadata, the pixels win: the returned rule has
    ``decided_by="pixels"`` and a reason giving both. One exception: an item whose declared
    processing ``baseline`` predates 04.00 cannot hold the +1000, so a bright AOI without
    dark pixels (stubble fields, sand, no water: a dark level of 0.07-0.10 in surface
    reflectance, as on a real Flanders series in autumn) never makes the pixels add it.
    Nor do the pixels of a scene whose clear pixels SCL calls mostly dark, water or
    unclassified (``doubtful`` share at least ``DOUBTFUL_LIMIT``) overrule the metadata.
    """
    hist = history.median if history is not None and len(history.levels) >= MIN_HISTORY else None
    if dark is None:
        rule = replace(
            metadata_rule,
            reason=_join(
                metadata_rule.reason, "too few clear pixels to check the offset in the pixels"
            ),
        )
        return OffsetCheck(rule, metadata_rule, "unchecked", None, hist)

    if hist is not None:
        delta = dark.level - hist
        evidence = f"{dark.describe()} vs {hist:+.3f} in the AOI's earlier scenes"
        offset_in, removed = delta >= JUMP, delta <= -JUMP
    else:
        evidence = dark.describe()
        offset_in = dark.level >= OFFSET_IN_LEVEL
        removed = dark.level <= SUBTRACTED_TWICE_LEVEL

    wanted = metadata_rule.offset
    verdict: Literal["agrees", "offset_in_pixels", "offset_removed"] = "agrees"
    if (offset_in or removed) and doubtful >= DOUBTFUL_LIMIT:
        rule = replace(
            metadata_rule,
            reason=_join(
                metadata_rule.reason,
                f"{evidence}, but SCL calls {doubtful:.0%} of the clear pixels dark, water or "
                "unclassified: the pixels cannot show the offset",
            ),
        )
        return OffsetCheck(rule, metadata_rule, "agrees", dark, hist)
    if offset_in and baseline_without_offset(baseline):
        rule = replace(
            metadata_rule,
            reason=_join(
                metadata_rule.reason,
                f"{evidence}, but baseline {baseline} predates the +1000: the AOI is bright",
            ),
        )
        return OffsetCheck(rule, metadata_rule, "agrees", dark, hist)
    if offset_in and metadata_rule.offset == 0.0:
        wanted, verdict = BOA_OFFSET, "offset_in_pixels"
    elif removed and metadata_rule.offset != 0.0:
        wanted, verdict = 0.0, "offset_removed"

    if verdict == "agrees":
        rule = replace(
            metadata_rule, reason=_join(metadata_rule.reason, f"pixels agree: {evidence}")
        )
        return OffsetCheck(rule, metadata_rule, verdict, dark, hist)

    meaning = (
        "the +1000 is still in the pixels"
        if verdict == "offset_in_pixels"
        else "the offset is already removed, so the metadata rule subtracts it twice"
    )
    rule = ReflectanceRule(
        scale=metadata_rule.scale,
        offset=wanted,
        decided_by="pixels",
        reason=(
            f"pixels override metadata: metadata said {metadata_rule.label}"
            f"{' (' + metadata_rule.reason + ')' if metadata_rule.reason else ''}; "
            f"under it the {evidence}: {meaning}; using {_label(metadata_rule.scale, wanted)}"
        ),
    )
    return OffsetCheck(rule, metadata_rule, verdict, dark, hist)


def encode_reflectance(
    dn: npt.NDArray[np.integer], rule: ReflectanceRule
) -> npt.NDArray[np.uint16]:
    """Digital numbers to the chip encoding: uint16 ``v`` with reflectance = v * CHIP_SCALE +
    CHIP_OFFSET; DN 0 (no data) stays 0, other values are clipped to 1..65535.

    For the usual scale 1e-4 this is ``DN`` under an offset of -0.1 and ``DN + 1000`` under 0.
    """
    out = encode_chip(dn.astype(np.float64) * rule.scale + rule.offset, np.float64)
    out[dn == 0] = 0
    return out


def _label(scale: float, offset: float) -> str:
    return ReflectanceRule(scale=scale, offset=offset).label


def _join(first: str, second: str) -> str:
    return f"{first}; {second}" if first else second
