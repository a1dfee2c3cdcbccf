"""Real Sentinel-2 series -> static STAC catalogs of COGs the monitor reads; changes planted in.

The WorldCereal test resources in ``../shared/data/real-series`` hold, per place, a 10 m file
(``S2_L2A_10m_*.nc``: B02 B03 B04 B08) and a 20 m file (``S2_L2A_20m_*.nc``: B11 B12 SCL and
sun angles) on the place's own UTM grid, extracted from Earth Engine's L2A. :func:`read_series`
reads such a pair; :func:`write_catalog` writes what ``monitor run`` reads, laid out like
``../shared/data/oscd``: ``collection.json``, ``items/<id>.json``, ``assets/<id>/<band>.tif``
(uint16 COGs, nodata 0, Earth Search asset keys) and ``aoi.geojson`` (the series' extent).

The offset, found out rather than assumed: Earth Engine's ``COPERNICUS/S2_SR_HARMONIZED``
removes the +1000 of baseline 04.00 (scenes from 2022-01-25), ``COPERNICUS/S2_SR`` keeps it;
the files do not say which was used. Every date of the usable series is before 2022-01-25
(baselines 02.xx) and the darkest pixels sit near DN 1-300, so the DNs carry no offset and
the items declare ``raster:bands`` offset 0 with a 02.xx baseline. A series with a later date
is refused unless the caller says whether the offset is in its pixels.

:func:`plant` pastes new roofs and demolitions into the real pixels from a date on (see its
docstring); :func:`truth_collection` writes their footprints as a ``truth.geojson`` that
``benchmarks/accuracy.py``'s ``load_truth`` reads.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import box, mapping

from monitor.aoi.grid import to_wgs84
from monitor.models import Grid
from monitor.simulate.cogs import write_cog
from monitor.simulate.stac import write_json

SHARED_SERIES = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-series"
FINE_BANDS = ("B02", "B03", "B04", "B08")
COARSE_BANDS = ("B11", "B12")
ASSET_KEYS = {
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B08": "nir",
    "B11": "swir16",
    "B12": "swir22",
    "SCL": "scl",
}
#: SCL classes the monitor masks: no data, saturated, cloud shadow, cloud medium/high, cirrus.
MASKED_SCL = (0, 1, 3, 8, 9, 10)
BUILT_UP_LABEL = 60
OFFSET_FROM = dt.date(2022, 1, 25)
#: An anchor for the platform: S2B imaged 31UES on relative orbit 8 on 2022-06-01
#: (S2B_MSIL1C_20220601T103629_N0400_R008_T31UES); each satellite repeats every 10 days, the
#: other one 5 days after on the same orbit.
_S2B_ON_R008 = dt.date(2022, 6, 1)
#: L1C baselines in force by sensing date (Copernicus Data Space's baseline table); the L2A
#: of those years came from them with Sen2Cor 02.xx. All are before 04.00: no offset.
_BASELINES = (
    (dt.date(2018, 11, 6), "02.06"),
    (dt.date(2019, 7, 22), "02.07"),
    (dt.date(2020, 2, 4), "02.08"),
    (dt.date(2021, 3, 30), "02.09"),
    (dt.date(2021, 6, 30), "03.00"),
    (OFFSET_FROM, "03.01"),
)

#: Surface reflectance at B02 B03 B04 B08 B11 B12 of the planted materials: my readings of
#: library spectra at the band centres (490, 560, 665, 842, 1610, 2190 nm), rounded.
#: Roofs: galvanized sheet metal (USGS splib07a "Galvanized_Sheet_Metal GDS334"), red clay
#: tile (ECOSTRESS manmade "red roofing tile"), light concrete (ECOSTRESS "construction
#: concrete"), dark asphalt shingle (ECOSTRESS "asphalt roofing shingle"). Demolition
#: debris: brown loamy soil (USGS splib07a soil "Brown_loam"), concrete rubble with soil
#: (an equal mix of the concrete and the soil).
MATERIALS: dict[str, tuple[float, ...]] = {
    "metal_roof": (0.36, 0.38, 0.39, 0.41, 0.40, 0.36),
    "clay_tile_roof": (0.07, 0.10, 0.19, 0.29, 0.42, 0.36),
    "concrete_roof": (0.21, 0.24, 0.26, 0.29, 0.32, 0.29),
    "asphalt_roof": (0.06, 0.07, 0.08, 0.10, 0.13, 0.12),
    "soil": (0.07, 0.10, 0.14, 0.21, 0.33, 0.28),
    "rubble": (0.14, 0.17, 0.20, 0.25, 0.33, 0.29),
}
ROOFS = ("metal_roof", "clay_tile_roof", "concrete_roof", "asphalt_roof")
DEBRIS = ("soil", "rubble")


@dataclass(frozen=True)
class RealSeries:
    """One place's series on its UTM grid: DNs (scale 1e-4, 0 = no data) and SCL classes."""

    name: str
    epsg: int
    left: float
    top: float
    tile: str
    times: tuple[dt.datetime, ...]
    fine: np.ndarray  # uint16 (time, 4, rows, cols): B02 B03 B04 B08 at 10 m
    coarse: np.ndarray  # uint16 (time, 2, rows/2, cols/2): B11 B12 at 20 m
    scl: np.ndarray  # uint8 (time, rows/2, cols/2)
    sun_zenith: np.ndarray  # float (time,)
    labels: np.ndarray | None = None  # land cover on the 10 m grid (60 = built-up)
    offset_in_pixels: bool = False

    @property
    def shape(self) -> tuple[int, int]:
        return self.fine.shape[2], self.fine.shape[3]

    @property
    def grid(self) -> Grid:
        rows, cols = self.shape
        return Grid(
            epsg=self.epsg, left=self.left, top=self.top, width=cols, height=rows, res_m=10.0
        )

    @property
    def aoi_id(self) -> str:
        return f"real-{self.name.lower()}"

    def scl_fine(self) -> np.ndarray:
        """SCL repeated onto the 10 m grid (time, rows, cols)."""
        return np.repeat(np.repeat(self.scl, 2, axis=1), 2, axis=2)


@dataclass(frozen=True)
class SeriesCheck:
    """What one source file or folder holds, and whether time-series mode can run on it."""

    name: str
    dates: int
    size: str
    bands: tuple[str, ...]
    usable: bool
    reason: str


def _open(path: Path) -> Any:
    import xarray as xr

    return xr.open_dataset(path, engine="netcdf4", mask_and_scale=False)


def check_sources(root: Path = SHARED_SERIES, min_dates: int = 16) -> list[SeriesCheck]:
    """Every S2 cube under ``root``: dates, size, bands, and why it can or cannot be used.

    Time-series mode needs B02 B03 B04 B08 at 10 m, B11 B12 and SCL at 20 m, on real dates
    (not composites), and at least ``min_dates`` of them (12 to train plus 4 to confirm).
    """
    needed = set(FINE_BANDS + COARSE_BANDS + ("SCL",))
    out = []
    for path in sorted(root.rglob("*.nc")):
        if "S1_" in path.name or "OUTPUT_" in path.name or "sentinel1" in path.name:
            continue
        with _open(path) as ds:
            time_dim = "timestamp" if "timestamp" in ds.dims else "t" if "t" in ds.dims else None
            bands = tuple(
                sorted(
                    str(v).removeprefix("S2-L2A-")
                    for v in ds.data_vars
                    if str(v).removeprefix("S2-L2A-") in needed
                )
            )
            n = int(ds.sizes[time_dim]) if time_dim else 0
            size = f"{ds.sizes.get('y', 0)}x{ds.sizes.get('x', 0)}"
        have = set(bands)
        if path.name.startswith("S2_L2A_10m_"):
            partner = Path(str(path).replace("S2_L2A_10m_", "S2_L2A_20m_"))
            if partner.exists():
                with _open(partner) as ds:
                    have |= {str(v) for v in ds.data_vars if str(v) in needed}
        if path.name.startswith("S2_L2A_20m_"):
            partner = Path(str(path).replace("S2_L2A_20m_", "S2_L2A_10m_"))
            if partner.exists():
                continue  # reported with its 10 m file
        missing = sorted(needed - have)
        composite = "bap_" in path.name or "worldcereal_preprocessed" in path.name
        if missing:
            reason = "lacks " + " ".join(missing)
        elif composite:
            reason = "composites, not single dates"
        elif n < min_dates:
            reason = f"{n} dates, fewer than {min_dates}"
        else:
            reason = "has every band time-series mode needs"
        out.append(
            SeriesCheck(
                str(path.relative_to(root)),
                n,
                size,
                tuple(sorted(have)),
                not missing and not composite and n >= min_dates,
                reason,
            )
        )
    return out


def usable_series(root: Path = SHARED_SERIES) -> list[Path]:
    """Folders whose 10 m and 20 m files hold what time-series mode needs."""
    return sorted({(root / c.name).parent for c in check_sources(root) if c.usable})


def read_series(folder: Path, *, offset_in_pixels: bool | None = None) -> RealSeries:
    """The 10 m and 20 m files of one WorldCereal folder as a :class:`RealSeries`.

    ``offset_in_pixels`` must be given when a date falls on or after 2022-01-25: Earth
    Engine's two L2A collections differ there and the files do not say which was used.
    """
    fine_path = next(folder.glob("S2_L2A_10m_*.nc"), None)
    coarse_path = next(folder.glob("S2_L2A_20m_*.nc"), None)
    if fine_path is None or coarse_path is None:
        raise ValueError(f"{folder}: needs both an S2_L2A_10m_ and an S2_L2A_20m_ file")
    with _open(fine_path) as f, _open(coarse_path) as c:
        if not np.array_equal(f.timestamp.values, c.timestamp.values):
            raise ValueError(f"{folder}: the 10 m and 20 m files have different dates")
        times = tuple(
            dt.datetime.fromisoformat(str(t)[:19]).replace(tzinfo=dt.UTC)
            for t in f.timestamp.values
        )
        fine = np.stack([f[b].values for b in FINE_BANDS], axis=1).astype(np.uint16)
        coarse = np.stack([c[b].values for b in COARSE_BANDS], axis=1).astype(np.uint16)
        scl = c["SCL"].values.astype(np.uint8)
        zenith = c["sunZenithAngles"].values.astype(float)
        epsg = int(f.attrs["epsg"])
        left, top = float(f.x.values[0]) - 5.0, float(f.y.values[0]) + 5.0
        tile = str(f.attrs.get("tile", ""))
        name = str(f.attrs.get("location_id", folder.name))
    if fine.shape[2] != 2 * coarse.shape[2] or fine.shape[3] != 2 * coarse.shape[3]:
        raise ValueError(f"{folder}: the 20 m grid is not half the 10 m grid")
    late = any(t.date() >= OFFSET_FROM for t in times)
    if late and offset_in_pixels is None:
        raise ValueError(
            f"{folder}: dates from {OFFSET_FROM} on: say whether the +1000 "
            "offset is in the pixels (S2_SR keeps it, S2_SR_HARMONIZED not)"
        )
    labels = None
    label_path = next(folder.glob("OUTPUT_POLY-*_10m_*.nc"), None)
    if label_path is not None:
        with _open(label_path) as ds:
            labels = np.nan_to_num(ds["LC"].values).astype(np.int32)
    return RealSeries(
        name,
        epsg,
        left,
        top,
        tile,
        times,
        fine,
        coarse,
        scl,
        zenith,
        labels,
        bool(offset_in_pixels) and late,
    )


def crop(
    series: RealSeries,
    rows: int,
    cols: int,
    dates: Sequence[int] | None = None,
    row0: int = 0,
    col0: int = 0,
) -> RealSeries:
    """A window of ``rows`` x ``cols`` 10 m pixels (even sizes and origin) and some dates."""
    if rows % 2 or cols % 2 or row0 % 2 or col0 % 2:
        raise ValueError("crop sizes and origin must be even (20 m pixels)")
    t = np.arange(len(series.times)) if dates is None else np.asarray(dates)
    r, c = slice(row0, row0 + rows), slice(col0, col0 + cols)
    r2, c2 = slice(row0 // 2, (row0 + rows) // 2), slice(col0 // 2, (col0 + cols) // 2)
    return replace(
        series,
        left=series.left + col0 * 10.0,
        top=series.top - row0 * 10.0,
        times=tuple(series.times[i] for i in t),
        fine=series.fine[t][:, :, r, c],
        coarse=series.coarse[t][:, :, r2, c2],
        scl=series.scl[t][:, r2, c2],
        sun_zenith=series.sun_zenith[t],
        labels=None if series.labels is None else series.labels[r, c],
    )


# ----------------------------------------------------------------------------------------
# The catalog
# ----------------------------------------------------------------------------------------


def _platform(day: dt.date) -> str:
    return "sentinel-2b" if (day - _S2B_ON_R008).days % 10 == 0 else "sentinel-2a"


def baseline_for(day: dt.date) -> str:
    """A processing baseline consistent with the sensing date (the offset is declared apart,
    in ``raster:bands``)."""
    if day >= OFFSET_FROM:
        return "05.09"
    return next(b for until, b in _BASELINES if day < until)


def _footprint_wgs84(series: RealSeries, inset_m: float = 0.0) -> Any:
    rows, cols = series.shape
    utm = box(
        series.left + inset_m,
        series.top - rows * 10.0 + inset_m,
        series.left + cols * 10.0 - inset_m,
        series.top - inset_m,
    )
    return to_wgs84(utm, series.epsg)


def aoi_feature(series: RealSeries) -> dict[str, Any]:
    """The AOI file of the series' extent: its grid snaps back exactly onto the series grid.

    The polygon is inset by half a metre, so float error in the round trip through lon/lat
    never pushes a bound across a 20 m snap line.
    """
    return {
        "type": "Feature",
        "geometry": mapping(_footprint_wgs84(series, 0.5)),
        "properties": {
            "id": series.aoi_id,
            "name": f"Real series {series.name}",
            "kind": "control",
            "description": "Extent of a real Sentinel-2 series (benchmark)",
        },
    }


def _item(series: RealSeries, index: int, item_id: str) -> dict[str, Any]:
    when = series.times[index]
    day = when.date()
    rows, cols = series.shape
    footprint = _footprint_wgs84(series)
    scl = series.scl[index]
    cloud = float(np.isin(scl, (8, 9, 10)).mean() * 100)
    baseline = baseline_for(day)
    offset = -0.1 if series.offset_in_pixels else 0.0
    zone, band, square = series.tile[:2], series.tile[2:3], series.tile[3:]
    props = {
        "datetime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "platform": _platform(day),
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "eo:cloud_cover": round(cloud, 3),
        "proj:epsg": series.epsg,
        "proj:code": f"EPSG:{series.epsg}",
        "s2:product_type": "S2MSI2A",
        "s2:processing_baseline": baseline,
        "view:sun_elevation": round(90.0 - float(series.sun_zenith[index]), 3),
        "monitor:source": "Earth Engine L2A via WorldCereal test resources "
        f"(location {series.name}); real pixels",
    }
    if series.tile:
        props.update(
            {
                "grid:code": f"MGRS-{series.tile}",
                "mgrs:utm_zone": int(zone),
                "mgrs:latitude_band": band,
                "mgrs:grid_square": square,
            }
        )
    assets = {}
    for band_id, key in ASSET_KEYS.items():
        res = 10 if band_id in FINE_BANDS else 20
        raster: dict[str, Any] = {"nodata": 0, "spatial_resolution": res}
        if key == "scl":
            raster["data_type"] = "uint8"
        else:
            raster.update({"data_type": "uint16", "scale": 0.0001, "offset": offset})
        assets[key] = {
            "href": f"../assets/{item_id}/{band_id}.tif",
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "roles": ["data"] if key == "scl" else ["data", "reflectance"],
            "gsd": res,
            "proj:shape": [rows * 10 // res, cols * 10 // res],
            "proj:transform": [res, 0, series.left, 0, -res, series.top],
            "raster:bands": [raster],
        }
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "collection": f"real-s2-l2a-{series.name.lower()}",
        "geometry": mapping(footprint),
        "bbox": list(footprint.bounds),
        "properties": props,
        "assets": assets,
        "links": [
            {"rel": "collection", "href": "../collection.json"},
            {"rel": "root", "href": "../collection.json"},
        ],
    }


def item_id_for(series: RealSeries, index: int) -> str:
    when = series.times[index]
    return f"{_platform(when.date())[-2:].upper()}_{series.name}_{when:%Y%m%dT%H%M%S}_L2A"


def write_catalog(series: RealSeries, out_dir: Path) -> Path:
    """Write the series as a static collection of COGs; return ``collection.json``'s path."""
    grid10 = series.grid
    grid20 = replace(grid10, width=grid10.width // 2, height=grid10.height // 2, res_m=20.0)
    (out_dir / "items").mkdir(parents=True, exist_ok=True)
    hrefs = []
    for i in range(len(series.times)):
        item_id = item_id_for(series, i)
        asset_dir = out_dir / "assets" / item_id
        asset_dir.mkdir(parents=True, exist_ok=True)
        for b, band in enumerate(FINE_BANDS):
            write_cog(asset_dir / f"{band}.tif", series.fine[i, b], grid10)
        for b, band in enumerate(COARSE_BANDS):
            write_cog(asset_dir / f"{band}.tif", series.coarse[i, b], grid20)
        write_cog(asset_dir / "SCL.tif", series.scl[i], grid20, resampling="NEAREST")
        write_json(out_dir / "items" / f"{item_id}.json", _item(series, i, item_id))
        hrefs.append(f"./items/{item_id}.json")
    footprint = _footprint_wgs84(series)
    collection = {
        "type": "Collection",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": f"real-s2-l2a-{series.name.lower()}",
        "description": (
            f"Real Sentinel-2 L2A series {series.name} (Earth Engine extraction, "
            "WorldCereal test resources), converted for the monitor's benchmarks. "
            "Contains modified Copernicus Sentinel data."
        ),
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [list(footprint.bounds)]},
            "temporal": {
                "interval": [
                    [
                        series.times[0].strftime("%Y-%m-%dT%H:%M:%SZ"),
                        series.times[-1].strftime("%Y-%m-%dT%H:%M:%SZ"),
                    ]
                ]
            },
        },
        "links": [{"rel": "root", "href": "./collection.json"}]
        + [{"rel": "item", "href": h, "type": "application/geo+json"} for h in hrefs],
    }
    write_json(out_dir / "collection.json", collection)
    write_json(out_dir / "aoi.geojson", aoi_feature(series))
    return out_dir / "collection.json"


# ----------------------------------------------------------------------------------------
# Planting changes into the real pixels
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plant:
    """One planted change: its footprint on the 10 m grid, from ``start`` on.

    A demolition replaces ``before`` (a planted roof standing from the first date, when the
    series has no labelled built-up patch of the size; None: the real built-up pixels) by
    ``material`` (debris).
    """

    id: str
    change_type: str
    start: dt.date
    mask: np.ndarray  # bool (rows, cols)
    material: str
    before: str | None = None

    @property
    def area_m2(self) -> float:
        return float(self.mask.sum()) * 100.0


def _reflectance(dn: np.ndarray, offset_in_pixels: bool) -> np.ndarray:
    refl = dn.astype(np.float64) * 1e-4 - (0.1 if offset_in_pixels else 0.0)
    return np.where(dn > 0, refl, np.nan)


def _to_dn(refl: np.ndarray, offset_in_pixels: bool) -> np.ndarray:
    dn = np.rint((refl + (0.1 if offset_in_pixels else 0.0)) * 1e4)
    return np.clip(dn, 1, 65535).astype(np.uint16)


def scene_transfer(
    refl: np.ndarray,
    clear: np.ndarray,
    stable: np.ndarray,
    min_pixels: int = 20,
    gain_range: tuple[float, float] = (0.8, 1.25),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per scene and band, gain and offset of stable clear pixels against their temporal median.

    ``refl`` is (time, band, rows, cols), ``clear`` (time, rows, cols), ``stable`` (rows,
    cols) the pixels to fit on: fields are not, their crop cycle would pass for a scene
    gain. Returns gains and offsets (time, band) and the residuals (time, band, rows, cols;
    NaN where not clear): ``refl = gain * median + offset + residual``. The gain is kept
    within ``gain_range``; a scene with fewer than ``min_pixels`` stable clear pixels keeps
    gain 1 and takes the median difference as its offset (0 with none).
    """
    n_t, n_b = refl.shape[:2]
    masked = np.where(clear[:, None], refl, np.nan)
    median = np.nanmedian(masked, axis=0)
    gains, offsets = np.ones((n_t, n_b)), np.zeros((n_t, n_b))
    for t in range(n_t):
        for b in range(n_b):
            ok = stable & clear[t] & np.isfinite(refl[t, b]) & np.isfinite(median[b])
            x, y = median[b][ok], refl[t, b][ok]
            if ok.sum() >= min_pixels and np.ptp(x) > 0:
                g = float(np.clip(np.polyfit(x, y, 1)[0], *gain_range))
                gains[t, b], offsets[t, b] = g, float(np.median(y - g * x))
            elif ok.any():
                offsets[t, b] = float(np.median(y - x))
    residual = masked - (gains[:, :, None, None] * median[None] + offsets[:, :, None, None])
    return gains, offsets, residual


def _planted_layer(
    refl: np.ndarray,
    clear: np.ndarray,
    spectra: np.ndarray,
    cover: np.ndarray,
    donors: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """New reflectance where ``cover`` (time, rows, cols; share 0-1 of the pixel) is planted.

    ``spectra`` (time, band) is the material seen in each scene (NaN: not planted then).
    Planted = the scene's gain x material + its offset + the residual of a real stable
    pixel (``donors``, flat indices) in that scene, clipped to 2.5 robust standard
    deviations of the donors' residuals (a donor's own odd view is not sensor noise), mixed
    with the real pixel by ``cover``; pixels not clear keep their real value.
    """
    stable = np.zeros(refl.shape[2] * refl.shape[3], dtype=bool)
    stable[donors] = True
    stable = stable.reshape(refl.shape[2:])
    gains, offsets, residual = scene_transfer(refl, clear, stable)
    pool = residual[:, :, stable]
    spread = (
        2.5
        * 1.4826
        * np.nanmedian(np.abs(pool - np.nanmedian(pool, axis=(0, 2), keepdims=True)), axis=(0, 2))
    )
    out = refl.copy()
    n_t, n_b = refl.shape[:2]
    for t in range(n_t):
        where = (cover[t] > 0) & clear[t] & np.isfinite(spectra[t]).all()
        if not where.any():
            continue
        live = donors[clear[t].ravel()[donors]]
        n = int(where.sum())
        picks = rng.choice(live, size=n) if live.size else None
        for b in range(n_b):
            noise = np.zeros(n) if picks is None else np.nan_to_num(residual[t, b].ravel()[picks])
            noise = np.clip(noise, -spread[b], spread[b])
            value = gains[t, b] * spectra[t, b] + offsets[t, b] + noise
            share = cover[t][where]
            out[t, b][where] = share * value + (1 - share) * refl[t, b][where]
    return out


def _donor_pixels(
    refl: np.ndarray, clear: np.ndarray, labels: np.ndarray | None, exclude: np.ndarray
) -> np.ndarray:
    """Stable real pixels whose residuals stand for a roof's noise (flat indices).

    Built-up pixels (label 60) when there are 10 or more; else pixels never green (median
    clear-view NDVI under 0.35, 90th percentile under 0.5: roads, yards, roofs) when 10 or
    more; else the tenth of pixels whose NDVI varies least (a field's crop cycle is not a
    roof's noise).
    """
    flat_ex = exclude.ravel()
    if labels is not None:
        built = np.flatnonzero((labels.ravel() == BUILT_UP_LABEL) & ~flat_ex)
        if built.size >= 10:
            return built
    red, nir = refl[:, 2], refl[:, 3]
    ndvi = np.where(clear, (nir - red) / (nir + red + 1e-9), np.nan)
    with np.errstate(all="ignore"):
        never_green = (
            (np.nanmedian(ndvi, axis=0) < 0.35) & (np.nanpercentile(ndvi, 90, axis=0) < 0.5)
        ).ravel() & ~flat_ex
    if never_green.sum() >= 10:
        return np.flatnonzero(never_green)
    spread = np.nanpercentile(ndvi, 90, axis=0) - np.nanpercentile(ndvi, 10, axis=0)
    score = (
        np.nan_to_num(spread, nan=9.0).ravel()
        + np.nan_to_num(np.nanmedian(ndvi, axis=0), nan=9.0).ravel()
    )
    score[flat_ex] = np.inf
    return np.argsort(score)[: max(10, score.size // 10)]


def plant(series: RealSeries, plants: Sequence[Plant], seed: int = 0) -> RealSeries:
    """The series with each change pasted into the real pixels from its start date on.

    Where SCL masks the pixel (classes 0, 1, 3, 8, 9, 10) or a band has no data, the real
    pixel is left as it is: real clouds, shadows and gaps stay. Elsewhere the material's
    library spectrum goes through the scene's own per-band gain and offset (fitted on its
    clear pixels against their temporal median: haze, illumination, calibration) and gets
    the residual noise of a real stable pixel of that scene. 20 m pixels mix the material
    by the share of their four 10 m pixels inside the footprint. SCL is left unchanged.
    """
    rng = np.random.default_rng(seed)
    days = np.array([t.date() for t in series.times])
    scl10 = series.scl_fine()
    refl10 = _reflectance(series.fine, series.offset_in_pixels)
    refl20 = _reflectance(series.coarse, series.offset_in_pixels)
    clear10 = ~np.isin(scl10, MASKED_SCL) & (series.fine > 0).all(axis=1)
    clear20 = ~np.isin(series.scl, MASKED_SCL) & (series.coarse > 0).all(axis=1)
    union = np.zeros(series.shape, dtype=bool)
    for p in plants:
        union |= p.mask
    donors10 = _donor_pixels(refl10, clear10, series.labels, union)
    # The 20 m donors are the parents of the 10 m ones (no red or NIR at 20 m to rank by).
    union20 = union.reshape(union.shape[0] // 2, 2, -1, 2).any(axis=(1, 3))
    r, c = np.divmod(donors10, series.shape[1])
    donors20 = np.unique((r // 2) * union20.shape[1] + c // 2)
    donors20 = donors20[~union20.ravel()[donors20]]
    for p in plants:
        after = days >= p.start
        for phase, material in ((after, p.material), (~after, p.before)):
            if material is None or not phase.any():
                continue
            spectrum = np.asarray(MATERIALS[material])
            spectra = np.where(phase[:, None], spectrum[None], np.nan)
            cover10 = np.where(phase[:, None, None], p.mask[None].astype(float), 0.0)
            share = p.mask.reshape(p.mask.shape[0] // 2, 2, -1, 2).mean(axis=(1, 3))
            cover20 = np.where(phase[:, None, None], share[None], 0.0)
            refl10 = _planted_layer(refl10, clear10, spectra[:, :4], cover10, donors10, rng)
            refl20 = _planted_layer(refl20, clear20, spectra[:, 4:], cover20, donors20, rng)
    fine = np.where(series.fine > 0, _to_dn(np.nan_to_num(refl10), series.offset_in_pixels), 0)
    coarse = np.where(series.coarse > 0, _to_dn(np.nan_to_num(refl20), series.offset_in_pixels), 0)
    return replace(series, fine=fine.astype(np.uint16), coarse=coarse.astype(np.uint16))


def clear_views(
    series: RealSeries, mask: np.ndarray, start: dt.date, days: int = 150, min_share: float = 0.8
) -> int:
    """Scenes from ``start`` to ``start + days`` seeing ``min_share`` of the footprint clear."""
    scl10 = series.scl_fine()
    n = 0
    for t, when in enumerate(series.times):
        if start <= when.date() <= start + dt.timedelta(days=days):
            n += float((~np.isin(scl10[t][mask], MASKED_SCL)).mean()) >= min_share
    return n


def _rectangle(
    rows: int, cols: int, n_px: int, taken: np.ndarray, rng: np.random.Generator
) -> np.ndarray | None:
    """A free rectangle of about ``n_px`` pixels, 2 px from any taken one and the edge."""
    for _ in range(200):
        aspect = rng.uniform(0.5, 2.0)
        h = max(2, round(math.sqrt(n_px * aspect)))
        w = max(2, round(n_px / h))
        if h > rows - 4 or w > cols - 4:
            continue
        r0 = int(rng.integers(1, rows - h - 1))
        c0 = int(rng.integers(1, cols - w - 1))
        if taken[max(0, r0 - 2) : r0 + h + 2, max(0, c0 - 2) : c0 + w + 2].any():
            continue
        mask = np.zeros((rows, cols), dtype=bool)
        mask[r0 : r0 + h, c0 : c0 + w] = True
        return mask
    return None


def _built_patch(
    labels: np.ndarray | None, n_px: int, taken: np.ndarray, rng: np.random.Generator
) -> np.ndarray | None:
    """About ``n_px`` connected labelled built-up pixels (None when the labels have too few)."""
    from scipy import ndimage

    if labels is None:
        return None
    built = (labels == BUILT_UP_LABEL) & ~ndimage.binary_dilation(taken, iterations=2)
    parts, n = ndimage.label(built)
    sizes = ndimage.sum(built, parts, range(1, n + 1)) if n else np.zeros(0)
    fits = [i + 1 for i, s in enumerate(sizes) if s >= max(4, n_px // 2)]
    if not fits:
        return None
    part = parts == fits[int(rng.integers(len(fits)))]
    seed_px = np.argwhere(part)[int(rng.integers(part.sum()))]
    grown = np.zeros_like(part)
    grown[tuple(seed_px)] = True
    while grown.sum() < n_px:
        more = ndimage.binary_dilation(grown) & part
        if more.sum() == grown.sum():
            break
        grown = more
    return grown


def draw_plants(
    series: RealSeries,
    seed: int,
    n: int,
    first: dt.date,
    last: dt.date,
    *,
    min_m2: float = 400.0,
    max_m2: float = 20_000.0,
    min_views: int = 5,
) -> list[Plant]:
    """``n`` changes, half new roofs half demolitions, sizes log-uniform, dates drawn among
    the scenes between ``first`` and ``last`` with ``min_views`` clear views of the
    footprint in the 150 days from the change on."""
    rng = np.random.default_rng(seed)
    rows, cols = series.shape
    taken = np.zeros((rows, cols), dtype=bool)
    dates = [t.date() for t in series.times if first <= t.date() <= last]
    out: list[Plant] = []
    for k in range(n):
        kind = "new_construction" if k % 2 == 0 else "demolition"
        n_px = max(4, round(math.exp(rng.uniform(math.log(min_m2), math.log(max_m2))) / 100))
        mask = _built_patch(series.labels, n_px, taken, rng) if kind == "demolition" else None
        before = None
        if mask is None:
            mask = _rectangle(rows, cols, n_px, taken, rng)
            before = str(rng.choice(ROOFS)) if kind == "demolition" else None
        if mask is None:
            continue
        good = [d for d in dates if clear_views(series, mask, d) >= min_views]
        if not good:
            continue
        start = good[int(rng.integers(len(good)))]
        material = str(rng.choice(ROOFS if kind == "new_construction" else DEBRIS))
        taken |= mask
        out.append(Plant(f"s{seed}-{k}-{kind}", kind, start, mask, material, before))
    return out


def footprint_utm(series: RealSeries, mask: np.ndarray) -> Any:
    """The union of the footprint's pixel squares, in the series' UTM metres."""
    rows, cols = np.nonzero(mask)
    squares = [
        box(
            series.left + c * 10.0,
            series.top - (r + 1) * 10.0,
            series.left + (c + 1) * 10.0,
            series.top - r * 10.0,
        )
        for r, c in zip(rows, cols, strict=True)
    ]
    return shapely.union_all(squares)


def truth_collection(series: RealSeries, plants: Sequence[Plant]) -> dict[str, Any]:
    """The planted changes as the simulator's ``truth.geojson`` (EPSG:4326)."""
    features = []
    for p in plants:
        geometry = to_wgs84(footprint_utm(series, p.mask), series.epsg)
        features.append(
            {
                "type": "Feature",
                "geometry": mapping(geometry),
                "properties": {
                    "id": p.id,
                    "change_type": p.change_type,
                    "start": p.start.isoformat(),
                    "area_m2": p.area_m2,
                    "aois": [series.aoi_id],
                    "material": p.material,
                    "before": p.before
                    or ("real built-up" if p.change_type == "demolition" else None),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def write_truth(path: Path, series: RealSeries, plants: Sequence[Plant]) -> Path:
    path.write_text(json.dumps(truth_collection(series, plants), indent=1))
    return path
