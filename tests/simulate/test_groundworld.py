"""The randomised ground: the default world unchanged, random worlds drawn as documented."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import pickle

import numpy as np
import pytest
from shapely.geometry import box

from monitor.aoi.grid import grid_for_geometry, grid_mask
from monitor.simulate.buildings import Settlement
from monitor.simulate.changes import ChangePlan, plan_changes, plant_changes, state_at
from monitor.simulate.cover import ROOF_COVERS, Cover, FieldCrop
from monitor.simulate.ground import build_ground
from monitor.simulate.groundworld import (
    BASE_SPECTRA,
    DEMOLITION_KINDS,
    MATERIAL_FACTOR_BOUNDS,
    N_VARIANTS,
    GroundDraw,
    default_ground_draw,
    harvest_day,
    material_spectrum,
    random_ground_draw,
    world_parcel_spectra,
)
from monitor.simulate.land import render_surface, shadow_fraction
from monitor.simulate.seasons import interp_keyframes
from monitor.simulate.worldchanges import WorldPlanter

#: sha256 of the small world below, computed with the code before the random world existed
#: (commit 31a0f82): the default world must stay byte-identical.
HEAD_CHECKSUM = "9f36c4b74ea5a4e6ee76da9fc04b2586cb35eb5044d199f7f0b7c73f1944a531"
START, END = dt.date(2025, 6, 1), dt.date(2026, 3, 1)
DAYS = (dt.date(2025, 8, 10), dt.date(2025, 12, 5), dt.date(2026, 2, 20))
BIN_EDGES_PX = (4, 9, 20)  # harness bins: <400, 400-899, 900-1,999, >=2,000 m2


def small_ground(**kw):
    """A 56 x 66 px compound ground in KK Park's eastern section, and its AOI's mask."""
    aoi = box(98.565, 16.625, 98.571, 16.630)
    grid = grid_for_geometry(aoi)
    mask = grid_mask(aoi, grid)
    ground = build_ground(
        "g", grid, [Settlement("compound", mask, 12.0)], ("a",), np.random.default_rng([5, 1]), **kw
    )
    return ground, mask


def small_world(**kw):
    """The small ground with planted changes (as archive.py plans them)."""
    ground, mask = small_ground(**kw)
    plans = plan_changes("a", "kk-park-east", 0.3, START, END, np.random.default_rng([5, 2]), **kw)
    plans += plan_changes("a", "growth", 8.0, START, END, np.random.default_rng([5, 3]), **kw)
    planted = plant_changes(
        ground,
        plans,
        {("a", "aoi"): mask, ("a", "east"): mask},
        {"a": mask},
        np.random.default_rng([5, 4]),
        **kw,
    )
    return ground, planted


def checksum(ground, planted, **kw) -> str:
    h = hashlib.sha256()
    for array in (ground.cover, ground.height_m, ground.brightness, ground.tree_fraction):
        h.update(array.tobytes())
    for c in planted:
        h.update(f"{c.change_type}{c.start}{c.end}{c.row0}{c.col0}".encode())
        h.update(c.mask.tobytes())
    for day in DAYS:
        cover, height = state_at(ground, planted, day, **kw)
        h.update(render_surface(ground, cover, height, day, 50.0, 150.0, **kw).tobytes())
    return h.hexdigest()


def test_default_world_is_byte_identical_to_before() -> None:
    assert checksum(*small_world()) == HEAD_CHECKSUM
    draw = default_ground_draw()
    assert not draw.random
    assert checksum(*small_world(draw=draw), draw=draw) == HEAD_CHECKSUM


def test_same_seed_same_world_other_seed_other_world() -> None:
    a, b, c = random_ground_draw(3), random_ground_draw(3), random_ground_draw(4)
    assert a == b and a != c
    assert a.material_factor != c.material_factor
    assert pickle.loads(pickle.dumps(a)) == a
    record = json.loads(json.dumps(a.to_json()))
    assert record["world"] == "random" and record["seed"] == 3
    assert default_ground_draw().to_json()["world"] == "default"
    sums = {s: checksum(*small_world(draw=d), draw=d) for s, d in ((3, a), (33, b), (4, c))}
    assert sums[3] == sums[33] != sums[4] != HEAD_CHECKSUM


def test_random_world_renders_other_spectra_than_the_default() -> None:
    draw = random_ground_draw(11)
    ground, _ = small_ground(draw=draw)
    default_ground, _ = small_ground()
    np.testing.assert_array_equal(ground.cover, default_ground.cover)  # same layout
    day = DAYS[1]
    cover, height = state_at(ground, [], day)
    random_refl = render_surface(ground, cover, height, day, 45.0, 160.0, draw=draw)
    default_refl = render_surface(ground, cover, height, day, 45.0, 160.0)
    roofs = np.isin(cover, list(ROOF_COVERS))
    ratio = random_refl[:, roofs] / default_refl[:, roofs]
    assert np.abs(np.log(ratio)).mean() > 0.03
    # Buildings of one material differ from one another (one tint per building).
    blue = cover == Cover.ROOF_BLUE
    assert len(np.unique(ground.variant[blue])) > 3
    with pytest.raises(ValueError, match="default world"):
        render_surface(default_ground, cover, height, day, 45.0, 160.0, draw=draw)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_material_spectra_stay_within_documented_bounds(seed: int) -> None:
    draw = random_ground_draw(seed)
    lo, hi = MATERIAL_FACTOR_BOUNDS
    spreads = []
    for material, base in BASE_SPECTRA.items():
        factor = material_spectrum(draw, material, np.arange(N_VARIANTS)) / np.asarray(base)
        assert factor.min() >= lo - 1e-6 and factor.max() <= hi + 1e-6, material
        spreads.append(factor.std(axis=0).mean())
    assert np.mean(spreads) > 0.01  # buildings of one material are not all alike


def rice_ground(draw: GroundDraw):
    ground, _ = small_world(draw=draw)
    rice = np.flatnonzero(ground.parcel_crop == FieldCrop.RICE)
    assert rice.size > 5
    return ground, rice


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_crop_calendars_shift_within_30_days_by_field_and_year(seed: int) -> None:
    draw = random_ground_draw(seed)
    ground, rice = rice_ground(draw)
    cal = ground.calendar
    assert np.abs(cal.plant_shift).max() <= 30 and np.abs(cal.harvest_shift).max() <= 30
    base = dt.date(2025, 1, 1) + dt.timedelta(days=320 - 1)
    days = [harvest_day(ground, int(p), 2025) for p in rice]
    shifts = [(d - base).days for d in days if d is not None]
    assert shifts and max(abs(s) for s in shifts) <= 30
    assert np.std(shifts) > 3.0  # field to field
    years = cal.harvest_shift[rice[0], :, 0]
    assert np.std(years) > 2.0  # year to year
    burnt = cal.burn_doy[rice]
    assert ((burnt == -1) | ((burnt >= 32) & (burnt <= 120))).all()  # February-April
    assert 0.0 < (burnt > 0).mean() < 0.6


def ndvi(refl: np.ndarray) -> np.ndarray:
    return (refl[..., 3] - refl[..., 2]) / (refl[..., 3] + refl[..., 2])


def test_harvest_is_a_step_within_days() -> None:
    draw = random_ground_draw(7)
    ground, rice = rice_ground(draw)
    fallow = interp_keyframes([(1, (0.05,) * 6), (200, (0.05,) * 6)], 1)
    checked = 0
    for parcel in rice[:10]:
        harvest = harvest_day(ground, int(parcel), 2025)
        if harvest is None:
            continue
        ripe = harvest - dt.timedelta(days=1)
        cut = harvest + dt.timedelta(days=draw.harvest_days)
        series = [
            ndvi(world_parcel_spectra(draw, ground, d, fallow)[parcel])
            for d in (ripe - dt.timedelta(days=10), ripe, cut)
        ]
        assert series[1] - series[2] > 0.25, "the harvest is abrupt"
        assert abs(series[0] - series[1]) < 0.15, "the crop ripens slowly before it"
        checked += 1
    assert checked >= 3


def planted_world(seed: int, **changes: object):
    draw = dataclasses.replace(random_ground_draw(seed), **changes)
    ground, planted = small_world(draw=draw)
    return draw, ground, planted


def test_sizes_span_200_to_20000_m2_and_fill_every_bin() -> None:
    sizes = []
    for seed in range(4):
        _, _, planted = planted_world(seed)
        sizes += [c.n_pixels for c in planted if c.extra.get("demolition_kind") != "partial"]
    sizes = np.array(sizes)
    assert sizes.min() * 100 >= 200 and sizes.max() * 100 <= 20_000
    assert np.bincount(np.digitize(sizes, BIN_EDGES_PX), minlength=4).min() > 0
    planter = WorldPlanter(random_ground_draw(0), small_world()[0])
    drawn = [planter.footprint(3, np.random.default_rng(i)).sum() for i in range(200)]
    assert max(drawn) <= 200 and np.percentile(drawn, 90) > 80  # the top bin reaches far


def phase_states(ground, change):
    before = state_at(ground, [change], change.start - dt.timedelta(days=1))
    return before, [state_at(ground, [change], p.day) for p in change.phases]


def test_staged_construction_goes_site_frame_roof() -> None:
    _, ground, planted = planted_world(2)
    built = [c for c in planted if c.change_type == "new_construction"]
    assert built
    for change in built:
        rows, cols = change.window()
        (c0, _), stages = phase_states(ground, change)
        names = [s[0] for s in change.extra["stages"]]
        assert names == ["site", "frame", "roof"]
        assert change.start.isoformat() == change.extra["stages"][0][1]
        assert change.end.isoformat() == change.extra["stages"][-1][1]
        assert change.end <= END
        site, frame, roof = (s[0][rows, cols][change.mask] for s in stages)
        assert (site == Cover.SITE).all() and not np.isin(
            c0[rows, cols][change.mask], list(ROOF_COVERS)
        ).any()
        assert (frame == Cover.CONCRETE).any() and (frame == Cover.SITE).any() or frame.size < 3
        assert np.isin(roof, list(ROOF_COVERS)).any()
        assert stages[-1][1][rows, cols][change.mask].max() >= 3.1  # a storey at least


def demolitions_of(kind: str):
    mix = tuple((k, 1.0 if k == kind else 0.0) for k in DEMOLITION_KINDS)
    _, ground, planted = planted_world(5, demolition_mix=mix)
    found = [c for c in planted if c.extra.get("demolition_kind") == kind]
    assert found, kind
    return ground, found


def test_roof_off_leaves_walls_a_mixed_pixel() -> None:
    ground, found = demolitions_of("roof_off")
    big = max(found, key=lambda c: c.n_pixels)
    rows, cols = big.window()
    after, height = state_at(ground, [big], big.end)
    inside = after[rows, cols][big.mask]
    assert (inside == Cover.WALLS).any()
    if big.n_pixels >= 9:
        assert (inside == Cover.RUBBLE).any()
    assert height[rows, cols][big.mask & (after[rows, cols] == Cover.WALLS)].min() > 0  # walls
    draw = random_ground_draw(5)
    refl = render_surface(ground, after, height, big.end, 45.0, 160.0, draw=draw)
    walls = refl[:, after == Cover.WALLS].mean(axis=1)
    rubble = material_spectrum(draw, "rubble", np.arange(N_VARIANTS)).mean(axis=0)
    assert np.abs(walls / rubble - 1).max() > 0.05  # neither rubble nor roof: a mix


def test_shadow_goes_with_a_same_material_demolition() -> None:
    ground, found = demolitions_of("same_material")
    change = max(found, key=lambda c: c.n_pixels)
    rows, cols = change.window()
    day = dt.date(2025, 12, 20)
    before_day = change.start - dt.timedelta(days=1)
    (c0, h0), (c1, h1) = state_at(ground, [change], before_day), state_at(ground, [change], day)
    assert np.isin(c0[rows, cols][change.mask], [Cover.CONCRETE, Cover.ROOF_GREY]).all()
    assert (c1[rows, cols][change.mask] == Cover.DEBRIS).all()
    assert (h1[rows, cols][change.mask] == 0).all()
    shade0 = shadow_fraction(h0, 40.0, 160.0, 10.0)
    shade1 = shadow_fraction(h1, 40.0, 160.0, 10.0)
    lost = (shade0 > 0.5) & (shade1 < 0.05)
    assert lost.any(), "the building's shadow disappears with it"
    draw = random_ground_draw(5)
    r0 = render_surface(ground, c0, h0, day, 40.0, 160.0, draw=draw)
    r1 = render_surface(ground, c1, h1, day, 40.0, 160.0, draw=draw)
    assert (r1[3][lost] > r0[3][lost] * 1.5).all()  # the shadow's ground lights up
    inside = np.zeros(c0.shape, dtype=bool)
    inside[rows, cols] = change.mask
    # Low contrast on the footprint itself: within a third of the roof's reflectance.
    assert np.abs(r1[:, inside].mean(axis=1) / r0[:, inside].mean(axis=1) - 1).max() < 0.35


def test_partial_demolition_truth_is_the_demolished_part() -> None:
    ground, found = demolitions_of("partial")
    for change in found:
        rows, cols = change.window()
        after, _ = state_at(ground, [change], change.end)
        building = np.isin(ground.cover[rows, cols], list(ROOF_COVERS))
        standing = building & ~change.mask
        assert change.mask.any() and standing.any()
        assert not np.isin(after[rows, cols][change.mask], list(ROOF_COVERS)).any()
        assert np.isin(after[rows, cols][standing], list(ROOF_COVERS)).all()
        share = change.n_pixels / (change.n_pixels + standing[building].sum())
        assert 0.2 <= share <= 0.8


@pytest.mark.parametrize("kind", ["flattened", "cleared"])
def test_flattened_leaves_rubble_cleared_leaves_soil(kind: str) -> None:
    ground, found = demolitions_of(kind)
    for change in found:
        rows, cols = change.window()
        after, height = state_at(ground, [change], change.end)
        left = after[rows, cols][change.mask]
        if kind == "flattened":
            assert (left == Cover.RUBBLE).all()
        else:
            assert np.isin(left, [Cover.SOIL, Cover.SITE]).all()
        assert (height[rows, cols][change.mask] == 0).all()


@pytest.mark.parametrize("seed", [0, 6])
def test_truth_describes_what_was_planted(seed: int) -> None:
    _, ground, planted = planted_world(seed)
    assert {c.change_type for c in planted} >= {"new_construction", "demolition"}
    for change in planted:
        rows, cols = change.window()
        (c0, h0), stages = phase_states(ground, change)
        c_end, h_end = state_at(ground, [change], change.end)
        assert change.end == max(p.day for p in change.phases) >= change.start
        assert change.phases[0].day == change.start
        differs = (c0 != c_end) | (h0 != h_end)
        assert differs[rows, cols][change.mask].all(), change.id
        outside = np.ones(c0.shape, dtype=bool)
        outside[rows, cols] = ~change.mask
        assert not differs[outside].any(), change.id
        json.dumps(change.extra)


def test_some_constructions_start_in_the_monsoon_and_finish_before_the_dry_season() -> None:
    draw = random_ground_draw(8)
    ground, mask = small_ground(draw=draw)
    plans = [
        ChangePlan(
            "new_construction",
            dt.date(2025, 6, 1) + dt.timedelta(days=9 * k),
            k % 4,
            "aoi",
            "a",
            "monsoon",
            finish_by=END,
        )
        for k in range(12)
    ]
    planted = plant_changes(
        ground, plans, {("a", "aoi"): mask}, {"a": mask}, np.random.default_rng(1), draw=draw
    )
    assert len(planted) >= 8
    before_dry = [c for c in planted if c.end < dt.date(2025, 11, 15)]
    assert before_dry and len(before_dry) < len(planted)
    assert len({(c.end - c.start).days for c in planted}) > 4  # randomised durations
