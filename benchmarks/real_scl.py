"""SCL statistics of real scenes: how often SCL calls the valid part of an AOI dark, water or
unclassified.

For each scene of each real SCL source in ``../shared/data/real-series`` (the WorldCereal
20 m files, the gfmap and FuseTS cubes, eo-learn's tep36 SCL): the share of the AOI the
monitor would call clear (SCL not 0, 1, 3, 8, 9, 10), and of those valid pixels the shares SCL
calls 2 (dark area), 6 (water), 7 (unclassified) and 4/5 (vegetation, bare). A rule "a scene
where SCL calls most of the AOI dark/water/unclassified is not a clear view" is designed on
these numbers, so they come from real scenes only.
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np

MASKED_SCL = (0, 1, 3, 8, 9, 10)
SUSPECT_SCL = (2, 6, 7)


def scene_shares(scl: np.ndarray) -> dict[str, float]:
    """Shares of one scene's SCL over the AOI (any shape; NaN counts as no data)."""
    values = np.nan_to_num(np.asarray(scl, dtype=np.float64), nan=0.0).astype(np.int64).ravel()
    n = max(values.size, 1)
    valid = ~np.isin(values, MASKED_SCL)
    n_valid = int(valid.sum())

    def of_valid(*classes: int) -> float:
        return round(float(np.isin(values, classes).sum()) / n_valid, 4) if n_valid else 0.0

    return {
        "clear_fraction": round(n_valid / n, 4),
        "dark": of_valid(2),
        "water": of_valid(6),
        "unclassified": of_valid(7),
        "dark_water_unclassified": of_valid(*SUSPECT_SCL),
        "vegetation_or_bare": of_valid(4, 5),
        "dark_water_unclassified_of_aoi": round(float(np.isin(values, SUSPECT_SCL).sum()) / n, 4),
        "shadow_of_all": round(float((values == 3).sum()) / n, 4),
        "cloud_of_all": round(float(np.isin(values, (8, 9, 10)).sum()) / n, 4),
        "no_data_of_all": round(float((values == 0).sum()) / n, 4),
    }


class _DatetimesOnly(pickle.Unpickler):
    """Unpickles eo-learn's timestamp list and refuses anything but datetimes."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "datetime" and name in ("datetime", "date", "timedelta", "timezone"):
            return getattr(dt, name)
        raise pickle.UnpicklingError(f"refusing {module}.{name}")


def _netcdf_sources(root: Path) -> list[tuple[str, str, list[str], np.ndarray]]:
    import xarray as xr

    out = []
    for path in sorted(root.rglob("*.nc")):
        with xr.open_dataset(path, engine="netcdf4", mask_and_scale=False) as ds:
            var = next((v for v in ("SCL", "S2-L2A-SCL") if v in ds.data_vars), None)
            if var is None:
                continue
            time_dim = "timestamp" if "timestamp" in ds.dims else "t"
            dates = [str(t)[:10] for t in ds[time_dim].values]
            kind = "composite" if "bap_" in path.name else "scenes"
            out.append((str(path.relative_to(root)), kind, dates, np.asarray(ds[var].values)))
    return out


def _eolearn_source(root: Path) -> list[tuple[str, str, list[str], np.ndarray]]:
    folder = root / "eolearn" / "tep36_c70dbc59"
    if not (folder / "mask" / "SCL.npy").exists():
        return []
    scl = np.load(folder / "mask" / "SCL.npy")[..., 0]
    with open(folder / "timestamp.pkl", "rb") as handle:
        stamps = _DatetimesOnly(handle).load()
    dates = [s.date().isoformat() for s in stamps]
    return [("eolearn/tep36_c70dbc59/mask/SCL.npy", "scenes", dates, scl)]


def summarise(scenes: list[dict[str, Any]], min_clear: float = 0.1) -> dict[str, Any]:
    """Distribution over scenes of the dark/water/unclassified share of valid pixels."""
    seen = [s for s in scenes if s["clear_fraction"] > 0]
    shares = np.array([s["dark_water_unclassified"] for s in seen]) if seen else np.zeros(0)
    read = [s for s in seen if s["clear_fraction"] >= min_clear]
    return {
        "n_scenes": len(scenes),
        "n_with_valid_pixels": len(seen),
        "share_267_of_valid_p10_p50_p90": (
            [round(float(q), 3) for q in np.percentile(shares, [10, 50, 90])]
            if shares.size
            else None
        ),
        "n_majority_267_of_valid": sum(s["dark_water_unclassified"] > 0.5 for s in seen),
        "n_majority_267_of_aoi": sum(s["dark_water_unclassified_of_aoi"] > 0.5 for s in scenes),
        f"n_read_by_monitor_clear_ge_{min_clear}": len(read),
        "n_read_and_majority_267_of_valid": sum(s["dark_water_unclassified"] > 0.5 for s in read),
    }


def scl_report(root: Path) -> dict[str, Any]:
    """Per source: kind, every scene's date and shares, and the summary."""
    report: dict[str, Any] = {}
    for name, kind, dates, cube in _netcdf_sources(root) + _eolearn_source(root):
        scenes = [{"date": d, **scene_shares(cube[i])} for i, d in enumerate(dates)]
        report[name] = {
            "kind": kind,
            "size": f"{cube.shape[-2]}x{cube.shape[-1]}",
            "scenes": scenes,
            "summary": summarise(scenes),
        }
    return report


def format_summary(report: dict[str, Any]) -> str:
    lines = [
        "(c) SCL: share of valid pixels called 2/6/7 (p10 p50 p90 over scenes with valid "
        "pixels); scenes with most valid / most of the AOI in 2/6/7; read & most valid"
    ]
    for name, entry in report.items():
        s = entry["summary"]
        lines.append(
            f"    {name} ({entry['kind']}, {entry['size']}): {s['n_scenes']} scenes, "
            f"{s['share_267_of_valid_p10_p50_p90']}, {s['n_majority_267_of_valid']} / "
            f"{s['n_majority_267_of_aoi']}; {s['n_read_and_majority_267_of_valid']}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    print(json.dumps(scl_report(Path(sys.argv[1]))["gfmap/test_optical_cube.nc"]["summary"]))
