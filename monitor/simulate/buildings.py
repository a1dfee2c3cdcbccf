"""The settlements of the simulated ground, drawn in street blocks of lots with buildings.

A *compound* (KK Park: large dormitory and office halls 20-60 m long in blue and red coated
steel, white metal and concrete, concrete yards, a road grid), a *city* (Shwe Kokko:
towers, halls, villas, lawns) or a *town* (Mae Sot: dense small roofs among trees, markets).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from monitor.simulate.cover import Cover
from monitor.simulate.noise import smooth_noise

__all__ = ["Settlement", "draw_settlement"]


@dataclass(frozen=True, eq=False)
class Settlement:
    """A settlement to draw on a ground.

    kind : ``compound`` (KK Park-like), ``city`` (Shwe Kokko-like) or ``town`` (Mae Sot).
    mask : bool (rows, cols) on the ground grid: where it may build (its AOI).
    angle_deg : orientation of its street grid.
    reserve : bool (rows, cols), kept unbuilt (KK Park's 2025 new area), or None.
    """

    kind: str
    mask: npt.NDArray[np.bool_]
    angle_deg: float
    reserve: npt.NDArray[np.bool_] | None = None


@dataclass(frozen=True)
class _BlockType:
    """How one kind of street block is filled."""

    weight: float
    lots_u: tuple[int, ...]  # lots along the block's long side
    lots_v: tuple[int, ...]
    margin_px: tuple[float, float]  # gap between a building and its lot's edge
    p_building: float
    roofs: tuple[tuple[int, float], ...]
    height_m: tuple[float, float]
    yard: tuple[tuple[int, float], ...]
    trees: float  # tree fraction in the yards


class _Style(TypedDict):
    """How one kind of settlement lays out its blocks."""

    block: tuple[float, float]  # block size along u, v (pixels)
    street: float  # street width (pixels)
    main_every: int  # a main road every so many blocks
    types: tuple[_BlockType, ...]


_STYLES: dict[str, _Style] = {
    # KK Park: 120 x 100 m blocks between concrete roads, filled with long dormitory and
    # office halls, a few big sheds, concrete yards, some open and green blocks.
    "compound": {
        "block": (13.0, 10.0),
        "street": 1.6,
        "main_every": 4,
        "types": (
            _BlockType(
                0.46,
                (2, 2, 3),
                (2,),
                (0.4, 1.0),
                0.93,
                (
                    (Cover.ROOF_BLUE, 0.34),
                    (Cover.ROOF_WHITE, 0.2),
                    (Cover.ROOF_RED, 0.14),
                    (Cover.ROOF_GREY, 0.16),
                    (Cover.CONCRETE, 0.16),
                ),
                (9.0, 24.0),
                ((Cover.CONCRETE, 0.6), (Cover.ROAD, 0.2), (Cover.SOIL, 0.1), (Cover.GRASS, 0.1)),
                0.03,
            ),
            _BlockType(
                0.2,
                (1, 2),
                (1, 2),
                (0.6, 1.5),
                0.95,
                (
                    (Cover.ROOF_BLUE, 0.35),
                    (Cover.ROOF_WHITE, 0.3),
                    (Cover.ROOF_GREY, 0.2),
                    (Cover.ROOF_RED, 0.15),
                ),
                (10.0, 30.0),
                ((Cover.CONCRETE, 0.7), (Cover.ROAD, 0.3)),
                0.0,
            ),
            _BlockType(
                0.14,
                (3, 4),
                (2, 3),
                (0.4, 1.0),
                0.8,
                (
                    (Cover.ROOF_BLUE, 0.3),
                    (Cover.ROOF_RED, 0.25),
                    (Cover.ROOF_GREY, 0.25),
                    (Cover.ROOF_WHITE, 0.2),
                ),
                (6.0, 15.0),
                ((Cover.CONCRETE, 0.5), (Cover.SOIL, 0.3), (Cover.GRASS, 0.2)),
                0.08,
            ),
            _BlockType(
                0.08,
                (1,),
                (1,),
                (1.0, 2.0),
                0.25,
                ((Cover.ROOF_WHITE, 0.5), (Cover.ROOF_BLUE, 0.5)),
                (8.0, 15.0),
                ((Cover.CONCRETE, 0.35), (Cover.SITE, 0.3), (Cover.LAWN, 0.25), (Cover.POND, 0.1)),
                0.05,
            ),
            _BlockType(
                0.04,
                (1,),
                (1,),
                (1.0, 2.0),
                0.0,
                ((Cover.ROOF_WHITE, 1.0),),
                (8.0, 10.0),
                ((Cover.GRASS, 0.5), (Cover.SCRUB, 0.3), (Cover.SOIL, 0.2)),
                0.2,
            ),
        ),
    },
    # Shwe Kokko: a new city of towers, halls, villas on lawns and landscaped parks.
    "city": {
        "block": (14.0, 11.0),
        "street": 1.8,
        "main_every": 3,
        "types": (
            _BlockType(
                0.22,
                (2,),
                (1, 2),
                (1.0, 2.2),
                0.9,
                (
                    (Cover.CONCRETE, 0.35),
                    (Cover.ROOF_WHITE, 0.3),
                    (Cover.ROOF_GREY, 0.2),
                    (Cover.ROOF_BLUE, 0.15),
                ),
                (30.0, 75.0),
                ((Cover.CONCRETE, 0.5), (Cover.LAWN, 0.3), (Cover.ROAD, 0.2)),
                0.08,
            ),
            _BlockType(
                0.22,
                (1, 2),
                (1, 2),
                (0.6, 1.4),
                0.95,
                (
                    (Cover.ROOF_WHITE, 0.3),
                    (Cover.ROOF_BLUE, 0.25),
                    (Cover.ROOF_GREY, 0.25),
                    (Cover.ROOF_RED, 0.2),
                ),
                (10.0, 25.0),
                ((Cover.CONCRETE, 0.6), (Cover.ROAD, 0.2), (Cover.LAWN, 0.2)),
                0.03,
            ),
            _BlockType(
                0.3,
                (4, 5),
                (3, 4),
                (0.4, 0.9),
                0.85,
                (
                    (Cover.ROOF_TILE, 0.4),
                    (Cover.ROOF_RED, 0.25),
                    (Cover.ROOF_GREY, 0.2),
                    (Cover.ROOF_WHITE, 0.15),
                ),
                (6.0, 12.0),
                ((Cover.LAWN, 0.6), (Cover.CONCRETE, 0.25), (Cover.GRASS, 0.15)),
                0.25,
            ),
            _BlockType(
                0.16,
                (1,),
                (1,),
                (1.0, 2.0),
                0.15,
                ((Cover.ROOF_WHITE, 1.0),),
                (6.0, 10.0),
                ((Cover.LAWN, 0.5), (Cover.SITE, 0.25), (Cover.POND, 0.1), (Cover.GRASS, 0.15)),
                0.3,
            ),
            _BlockType(
                0.1,
                (1,),
                (1,),
                (1.0, 2.0),
                0.0,
                ((Cover.ROOF_WHITE, 1.0),),
                (6.0, 10.0),
                ((Cover.GRASS, 0.4), (Cover.SCRUB, 0.4), (Cover.SOIL, 0.2)),
                0.25,
            ),
        ),
    },
    # Mae Sot: small blocks of shophouses and houses under trees, markets and warehouses,
    # temples and schools in their grounds.
    "town": {
        "block": (9.0, 7.0),
        "street": 0.8,
        "main_every": 5,
        "types": (
            _BlockType(
                0.55,
                (3, 4),
                (2, 3),
                (0.1, 0.45),
                0.88,
                (
                    (Cover.ROOF_GREY, 0.32),
                    (Cover.ROOF_TILE, 0.26),
                    (Cover.ROOF_RED, 0.18),
                    (Cover.ROOF_WHITE, 0.08),
                    (Cover.ROOF_BLUE, 0.08),
                    (Cover.CONCRETE, 0.08),
                ),
                (5.0, 12.0),
                ((Cover.SOIL, 0.25), (Cover.GRASS, 0.55), (Cover.CONCRETE, 0.2)),
                0.5,
            ),
            _BlockType(
                0.2,
                (2, 3),
                (1, 2),
                (0.3, 0.8),
                0.8,
                (
                    (Cover.ROOF_GREY, 0.35),
                    (Cover.ROOF_WHITE, 0.2),
                    (Cover.ROOF_BLUE, 0.15),
                    (Cover.ROOF_RED, 0.15),
                    (Cover.CONCRETE, 0.15),
                ),
                (6.0, 14.0),
                ((Cover.CONCRETE, 0.5), (Cover.SOIL, 0.3), (Cover.GRASS, 0.2)),
                0.15,
            ),
            _BlockType(
                0.18,
                (1,),
                (1,),
                (1.2, 2.5),
                0.35,
                ((Cover.ROOF_WHITE, 0.3), (Cover.ROOF_RED, 0.4), (Cover.ROOF_TILE, 0.3)),
                (6.0, 14.0),
                ((Cover.GRASS, 0.5), (Cover.LAWN, 0.3), (Cover.SOIL, 0.2)),
                0.55,
            ),
            _BlockType(
                0.07,
                (1,),
                (1,),
                (1.0, 2.0),
                0.0,
                ((Cover.ROOF_GREY, 1.0),),
                (5.0, 8.0),
                ((Cover.GRASS, 0.5), (Cover.SCRUB, 0.3), (Cover.POND, 0.2)),
                0.6,
            ),
        ),
    },
}


def _choose(
    rng: np.random.Generator, options: tuple[tuple[int, float], ...], n: int
) -> npt.NDArray[np.uint8]:
    values = np.array([o[0] for o in options], dtype=np.uint8)
    weights = np.array([o[1] for o in options], dtype=float)
    return values[rng.choice(values.size, size=n, p=weights / weights.sum())]


def _settlement_density(
    town: Settlement,
    river: npt.NDArray[np.float32],
    rr: npt.NDArray[np.float32],
    cc: npt.NDArray[np.float32],
    rng: np.random.Generator,
) -> npt.NDArray[np.float32]:
    """Chance that a street block is built, per pixel: high in the core, ragged edges."""
    shape = town.mask.shape
    ragged = smooth_noise(rng, shape, 7.0)
    inside = ndimage.gaussian_filter(town.mask.astype(np.float32), 3.0)
    if town.kind == "town":
        rows, cols = np.nonzero(town.mask)
        r0, c0 = rows.mean(), cols.mean()
        extent = math.sqrt(rows.size / math.pi)
        dist = np.hypot(rr - r0, cc - c0) / max(extent, 1.0)
        # A town spills past its outline: suburbs thin out with distance, raggedly.
        density = np.clip(1.5 - 1.25 * dist + 0.35 * ragged, 0.0, 1.0)
    else:
        # Compounds and the new city crowd the west bank and thin out inland.
        riverward = np.clip(1.25 - river / 2600.0, 0.6, 1.0)
        density = np.clip(
            riverward * (1.1 + 0.25 * ragged) * np.clip(inside * 1.6 - 0.3, 0, 1), 0.0, 1.0
        )
    if town.reserve is not None:
        density[ndimage.binary_dilation(town.reserve, iterations=2)] = 0.0
    return density.astype(np.float32)


@dataclass(frozen=True, eq=False)
class _Blocks:
    """A settlement's street blocks: each pixel's block, its place inside it, the streets."""

    block: npt.NDArray[np.int64]  # block of each pixel
    n_blocks: int
    bu: npt.NDArray[np.int64]  # block index along u, v
    bv: npt.NDArray[np.int64]
    lu: npt.NDArray[np.float32]  # position inside the block along u, v (pixels)
    lv: npt.NDArray[np.float32]
    widths_u: npt.NDArray[np.float64]  # width of every row, column of blocks
    widths_v: npt.NDArray[np.float64]
    built: npt.NDArray[np.bool_]  # pixels of built blocks
    street: npt.NDArray[np.bool_]
    main: npt.NDArray[np.bool_]


def _lay_streets(
    town: Settlement,
    style: _Style,
    cover: npt.NDArray[np.uint8],
    tree: npt.NDArray[np.float32],
    river: npt.NDArray[np.float32],
    building_ok: npt.NDArray[np.bool_],
    rr: npt.NDArray[np.float32],
    cc: npt.NDArray[np.float32],
    rng: np.random.Generator,
) -> tuple[_Blocks, npt.NDArray[np.bool_]]:
    """Lay the street grid, clear the land it covers; the blocks and the settled pixels."""
    block_u, block_v = style["block"]
    street_w = style["street"]
    density = _settlement_density(town, river, rr, cc, rng)
    angle = math.radians(town.angle_deg)
    u = cc * math.cos(angle) + rr * math.sin(angle)
    v = -cc * math.sin(angle) + rr * math.cos(angle)

    # An irregular street grid: every row and column of blocks has its own width.
    def lattice(
        coord: npt.NDArray[np.float32], size: float
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.float64]]:
        n = int((coord.max() - coord.min()) / (0.7 * size)) + 3
        widths = size * rng.uniform(0.75, 1.3, n)
        edges = coord.min() - size + np.concatenate([[0.0], np.cumsum(widths)])
        index = np.clip(np.searchsorted(edges, coord, side="right") - 1, 0, n - 1)
        return index.astype(np.int64), (coord - edges[index]).astype(np.float32), widths

    bu, lu, widths_u = lattice(u, block_u)  # block index and position inside it, pixels
    bv, lv, widths_v = lattice(v, block_v)
    nbu, nbv = widths_u.size, widths_v.size
    block = (bu * nbv + bv).astype(np.int64)
    n_blocks = nbu * nbv
    count = np.maximum(np.bincount(block.ravel(), minlength=n_blocks), 1)
    block_density = np.bincount(block.ravel(), weights=density.ravel(), minlength=n_blocks) / count
    built_block = rng.random(n_blocks) < block_density * 1.08
    region = town.mask if town.kind != "town" else np.ones_like(town.mask)
    built = built_block[block] & (density > 0.05) & building_ok & region
    # Land inside the settlement is cleared of forest even where no block is built yet.
    within = (density > 0.12) & building_ok & region
    cleared = within & (cover == Cover.FOREST)
    cover[cleared] = Cover.SCRUB
    tree[cleared] += 0.3
    # Streets run along the blocks' near edges (u and v): a street is laid where the block
    # on either side of it is built. Main roads every few blocks are wider and asphalt.
    grid_built = built_block.reshape(nbu, nbv)
    before_u = np.zeros_like(grid_built)
    before_u[1:, :] = grid_built[:-1, :]
    before_v = np.zeros_like(grid_built)
    before_v[:, 1:] = grid_built[:, :-1]
    serve_u = (grid_built | before_u).ravel()[block]
    serve_v = (grid_built | before_v).ravel()[block]
    main_u = (bu % style["main_every"]) == 0
    main_v = (bv % style["main_every"]) == 0
    street = ((lu < street_w) & serve_u) | ((lv < street_w) & serve_v)
    main = ((lu < street_w * 1.6) & main_u & serve_u) | ((lv < street_w * 1.6) & main_v & serve_v)
    # Compounds pour concrete roads; a town's lanes are dark asphalt half hidden by trees.
    cover[within & street] = Cover.ROAD if town.kind != "town" else Cover.ASPHALT
    cover[within & main] = Cover.ASPHALT
    tree[within & (street | main)] *= 0.3
    return _Blocks(block, n_blocks, bu, bv, lu, lv, widths_u, widths_v, built, street, main), within


def _build_lots(
    blocks: _Blocks,
    style: _Style,
    cover: npt.NDArray[np.uint8],
    height: npt.NDArray[np.float32],
    brightness: npt.NDArray[np.float32],
    tree: npt.NDArray[np.float32],
    rng: np.random.Generator,
) -> None:
    """Fill the built blocks with yards, lots with buildings (in place)."""
    block, n_blocks, built = blocks.block, blocks.n_blocks, blocks.built
    street, main, street_w = blocks.street, blocks.main, style["street"]
    bu, bv, lu, lv = blocks.bu, blocks.bv, blocks.lu, blocks.lv
    widths_u, widths_v = blocks.widths_u, blocks.widths_v
    types = style["types"]
    type_weights = np.array([t.weight for t in types])
    block_type = rng.choice(len(types), size=n_blocks, p=type_weights / type_weights.sum())
    # Per block: lots along u and v; per lot: presence, margins, roof, height, tone.
    lots_u = np.zeros(n_blocks, dtype=np.int64)
    lots_v = np.zeros(n_blocks, dtype=np.int64)
    yard = np.zeros(n_blocks, dtype=np.uint8)
    yard_trees = np.zeros(n_blocks, dtype=np.float32)
    n_lots = n_blocks * 25
    lot_present = np.zeros(n_lots, dtype=bool)
    lot_roof = np.zeros(n_lots, dtype=np.uint8)
    lot_height = np.zeros(n_lots, dtype=np.float32)
    margins = np.zeros((4, n_lots), dtype=np.float32)
    lot_type = np.repeat(block_type, 25)
    for k, kind in enumerate(types):
        mine = block_type == k
        lots_u[mine] = rng.choice(kind.lots_u, size=int(mine.sum()))
        lots_v[mine] = rng.choice(kind.lots_v, size=int(mine.sum()))
        yard[mine] = _choose(rng, kind.yard, int(mine.sum()))
        yard_trees[mine] = kind.trees
        lots = lot_type == k
        n = int(lots.sum())
        lot_present[lots] = rng.random(n) < kind.p_building
        lot_roof[lots] = _choose(rng, kind.roofs, n)
        lot_height[lots] = rng.uniform(*kind.height_m, n)
        margins[:, lots] = rng.uniform(*kind.margin_px, (4, n))
    lot_tone = rng.normal(1.0, 0.08, n_lots).astype(np.float32)

    in_yard = built & ~street & ~main
    cover[in_yard] = yard[block][in_yard]
    tree[in_yard] = tree[in_yard] * 0.2 + yard_trees[block][in_yard] * np.clip(
        1.0 + 0.8 * smooth_noise(rng, cover.shape, 1.5)[in_yard], 0.0, 2.0
    )
    # Lot coordinates inside the block (past the street).
    span_u = (widths_u[bu] - street_w).astype(np.float32)
    span_v = (widths_v[bv] - street_w).astype(np.float32)
    iu = np.clip((lu - street_w) / span_u, 0.0, 0.9999)
    iv = np.clip((lv - street_w) / span_v, 0.0, 0.9999)
    nu, nv = lots_u[block], lots_v[block]
    ku, kv = np.floor(iu * nu), np.floor(iv * nv)
    fu, fv = iu * nu - ku, iv * nv - kv
    size_u, size_v = span_u / nu, span_v / nv
    lot = block * 25 + (kv * 5 + ku).astype(np.int64)
    m = margins[:, lot]
    on = (
        in_yard
        & lot_present[lot]
        & (fu * size_u >= m[0])
        & ((1.0 - fu) * size_u >= m[1])
        & (fv * size_v >= m[2])
        & ((1.0 - fv) * size_v >= m[3])
    )
    cover[on] = lot_roof[lot][on]
    height[on] = lot_height[lot][on]
    brightness[on] = brightness[on] * lot_tone[lot][on]
    tree[on] = 0.0


def draw_settlement(
    town: Settlement,
    cover: npt.NDArray[np.uint8],
    height: npt.NDArray[np.float32],
    brightness: npt.NDArray[np.float32],
    tree: npt.NDArray[np.float32],
    river: npt.NDArray[np.float32],
    building_ok: npt.NDArray[np.bool_],
    rr: npt.NDArray[np.float32],
    cc: npt.NDArray[np.float32],
    rng: np.random.Generator,
) -> npt.NDArray[np.bool_]:
    """Draw a settlement's street blocks, yards and buildings (all vectorised); return the
    pixels it occupies."""
    style = _STYLES.get(town.kind, _STYLES["town"])
    blocks, within = _lay_streets(town, style, cover, tree, river, building_ok, rr, cc, rng)
    _build_lots(blocks, style, cover, height, brightness, tree, rng)
    return within
