"""The chip cache: each chip read once, kept with the provenance that makes it traceable.

Layout under the state directory::

    chips/<aoi_id>/<grid hash>/<scene_id>.npz    reflectance (uint16), valid, scl; compressed
    chips/<aoi_id>/<grid hash>/<scene_id>.json   provenance sidecar (also alone for skips)

The sidecar lists the chip's bands (``bands``: the six core bands, then any red-edge bands)
and each band's asset href (``asset_hrefs``); a chip read with red-edge bands asked for also
records ``extra_bands_asked`` and ``extra_bands_absent`` (asked, but not in the item).

The grid hash changes when an AOI's grid changes, so an edited outline never reuses chips of
another grid. Every write goes to a temporary file in the same folder, then ``os.replace``;
the sidecar is written last and holds the chip's sha256, so a chip without a matching
sidecar (a crash between the two, a truncated or altered file) is never used: ``get``
reports a miss and the scene is read again. Skipped scenes (too cloudy by SCL) leave a
small sidecar so they are not re-read each run. Failed reads leave nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import threading
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.aoi import aoi_mask
from monitor.atomic import write_atomically
from monitor.errors import StateError
from monitor.imagery.offset import OffsetHistory
from monitor.imagery.outcome import ReadOutcome
from monitor.models import CHIP_BANDS, Aoi, Chip, Grid, ReflectanceRule, Scene

__all__ = ["ChipCache", "grid_hash", "CACHE_FORMAT"]

#: Version of the on-disk layout; sidecars of another version are not trusted.
CACHE_FORMAT = 1

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def grid_hash(grid: Grid) -> str:
    """A short stable hash of a grid (CRS, edges, size, resolution)."""
    text = f"{grid.epsg}:{grid.left:.3f}:{grid.top:.3f}:{grid.width}:{grid.height}:{grid.res_m:g}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def safe_name(name: str) -> str:
    """``name`` as a file or folder name of the cache (AOI ids, scene ids)."""
    return _UNSAFE.sub("_", name)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _rule_from(d: Mapping[str, Any]) -> ReflectanceRule:
    return ReflectanceRule(
        scale=float(d["scale"]),
        offset=float(d["offset"]),
        decided_by=d.get("decided_by", "metadata"),
        reason=d.get("reason", ""),
    )


class ChipCache:
    """Chips and their provenance under ``<state_dir>/chips``.

    Examples
    --------
    >>> cache = ChipCache("imagery")            # doctest: +SKIP
    >>> outcome = load_chip(scene, aoi, cache)  # doctest: +SKIP
    >>> cache.size_bytes()                      # doctest: +SKIP
    """

    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.state_dir = Path(state_dir)
        self.root = self.state_dir / "chips"
        # Dark levels per chip folder, see _dark_levels; the lock because AOIs are read in
        # threads that share one cache.
        self._dark_index: dict[Path, dict[str, tuple[dt.datetime, str, float]]] = {}
        self._dark_lock = threading.Lock()

    # -- paths ---------------------------------------------------------------------------
    def folder(self, aoi_id: str, grid: Grid) -> Path:
        return self.root / safe_name(aoi_id) / grid_hash(grid)

    def paths(self, aoi_id: str, grid: Grid, scene_id: str) -> tuple[Path, Path]:
        """(chip file, sidecar) of one scene on one AOI grid."""
        folder = self.folder(aoi_id, grid)
        name = safe_name(scene_id)
        return folder / f"{name}.npz", folder / f"{name}.json"

    def _mkdir(self, folder: Path) -> None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(
                f"{folder}: cannot create the chip cache folder: {exc.strerror}"
            ) from None

    # -- reading -------------------------------------------------------------------------
    def sidecar(self, path: Path) -> dict[str, Any] | None:
        """The sidecar at ``path`` when it is readable and of this cache format, else None."""
        return self._sidecar(path)

    def _sidecar(self, path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("cache_format") != CACHE_FORMAT:
            return None
        return data

    def load(self, aoi_id: str, grid: Grid, scene_id: str) -> Chip | None:
        """The cached chip, or None when absent, unmatched by its sidecar, or unreadable."""
        chip_path, side_path = self.paths(aoi_id, grid, scene_id)
        side = self._sidecar(side_path)
        if side is None or side.get("status") != "used":
            return None
        return self._load_chip(chip_path, side, grid)

    def _load_chip(self, chip_path: Path, side: Mapping[str, Any], grid: Grid) -> Chip | None:
        try:
            if _sha256(chip_path) != side.get("chip_sha256"):
                return None
            with np.load(chip_path, allow_pickle=False) as npz:
                reflectance = np.asarray(npz["reflectance"])
                valid = np.asarray(npz["valid"])
                scl = np.asarray(npz["scl"]) if "scl" in npz.files else None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None
        bands = tuple(side.get("bands") or CHIP_BANDS)
        if (
            reflectance.dtype != np.uint16
            or reflectance.shape != (len(bands),) + grid.shape
            or valid.dtype != np.bool_
            or valid.shape != grid.shape
            or (scl is not None and scl.shape != grid.shape)
        ):
            return None
        return Chip(
            aoi_id=side["aoi_id"],
            scene_id=side["scene_id"],
            datetime=dt.datetime.fromisoformat(side["datetime"]),
            grid=grid,
            reflectance=reflectance,
            valid=valid,
            scl=scl.astype(np.uint8) if scl is not None else None,
            rule=_rule_from(side["rule"]),
            bands=bands,
            simulated=bool(side.get("simulated", False)),
            provenance=side,
        )

    def get(self, scene: Scene, aoi: Aoi, *, min_clear_fraction: float = 0.1) -> ReadOutcome | None:
        """The cached outcome of ``scene`` over ``aoi``, or None to read it (again).

        A cached skip counts only for the same AOI outline and while its clear fraction is
        below ``min_clear_fraction``; a cached chip only when its sha256 matches.
        """
        chip_path, side_path = self.paths(aoi.id, aoi.grid, scene.id)
        side = self._sidecar(side_path)
        if side is None:
            return None
        clear = side.get("clear_fraction")
        rule = _rule_from(side["rule"]) if isinstance(side.get("rule"), dict) else None
        if side.get("status") == "skipped":
            if (
                side.get("aoi_geometry_hash") == aoi.geometry_hash
                and clear is not None
                and clear < min_clear_fraction
            ):
                return ReadOutcome(
                    "skipped",
                    str(side.get("reason", "")),
                    None,
                    clear,
                    rule,
                    0,
                    scene.id,
                    aoi.id,
                    1,
                    from_cache=True,
                )
            return None
        if side.get("status") != "used":
            return None
        chip = self._load_chip(chip_path, side, aoi.grid)
        if chip is None:
            return None
        if (
            clear is not None
            and clear < min_clear_fraction
            and side.get("aoi_geometry_hash") == aoi.geometry_hash
        ):
            reason = (
                f"AOI {clear * 100:.0f}% clear (< {min_clear_fraction * 100:.0f}%), "
                f"from the cached chip"
            )
            return ReadOutcome(
                "skipped", reason, None, clear, rule, 0, scene.id, aoi.id, 1, from_cache=True
            )
        if side.get("aoi_geometry_hash") != aoi.geometry_hash:
            # Same grid, edited outline: the chip holds, its AOI share must be recounted.
            mask = aoi_mask(aoi)
            clear = float((chip.valid & mask).sum()) / max(int(mask.sum()), 1)
        return ReadOutcome(
            "used",
            str(side.get("reason", "")),
            chip,
            clear,
            chip.rule,
            0,
            scene.id,
            aoi.id,
            1,
            from_cache=True,
        )

    # -- writing -------------------------------------------------------------------------
    def put(self, chip: Chip, outcome: ReadOutcome) -> Chip:
        """Store a chip and its sidecar atomically; returns the chip with the final
        provenance (sha256 and file size included)."""
        chip_path, side_path = self.paths(chip.aoi_id, chip.grid, chip.scene_id)
        self._mkdir(chip_path.parent)
        buffer = io.BytesIO()
        arrays: dict[str, npt.NDArray[np.generic]] = {
            "reflectance": chip.reflectance,
            "valid": chip.valid.astype(bool),
        }
        if chip.scl is not None:
            arrays["scl"] = chip.scl.astype(np.uint8)
        _write_npz(buffer, arrays)
        payload = buffer.getvalue()
        side = dict(chip.provenance)
        side.update(
            cache_format=CACHE_FORMAT,
            status="used",
            grid={
                "epsg": chip.grid.epsg,
                "left": chip.grid.left,
                "top": chip.grid.top,
                "width": chip.grid.width,
                "height": chip.grid.height,
                "res_m": chip.grid.res_m,
            },
            chip_file=chip_path.name,
            chip_sha256=hashlib.sha256(payload).hexdigest(),
            chip_bytes=len(payload),
            written_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        try:
            write_atomically(chip_path, payload)
            # The sidecar last: until it names this chip's sha256 the chip is not trusted.
            write_atomically(side_path, _dumps(side))
        except OSError as exc:
            raise StateError(f"{chip_path}: cannot write the chip cache: {exc.strerror}") from None
        with self._dark_lock:
            for folder, index in self._dark_index.items():
                if chip_path.parent == folder or folder in chip_path.parents:
                    self._index_dark_level(index, side)
        return Chip(
            aoi_id=chip.aoi_id,
            scene_id=chip.scene_id,
            datetime=chip.datetime,
            grid=chip.grid,
            reflectance=chip.reflectance,
            valid=chip.valid,
            scl=chip.scl,
            rule=chip.rule,
            bands=chip.bands,
            simulated=chip.simulated,
            provenance=side,
        )

    def put_skipped(
        self, scene: Scene, aoi: Aoi, outcome: ReadOutcome, provenance: Mapping[str, Any]
    ) -> None:
        """Record a skip (a sidecar without chip) so the scene is not read again."""
        _, side_path = self.paths(aoi.id, aoi.grid, scene.id)
        self._mkdir(side_path.parent)
        side = dict(provenance)
        side.update(
            cache_format=CACHE_FORMAT,
            status="skipped",
            written_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        try:
            write_atomically(side_path, _dumps(side))
        except OSError as exc:
            raise StateError(f"{side_path}: cannot write the chip cache: {exc.strerror}") from None

    # -- queries and upkeep --------------------------------------------------------------
    def sidecars(self, aoi_id: str | None = None) -> Iterator[tuple[Path, dict[str, Any]]]:
        """Every readable sidecar (of one AOI when given), with its path."""
        base = self.root / safe_name(aoi_id) if aoi_id is not None else self.root
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*.json")):
            side = self._sidecar(path)
            if side is not None:
                yield path, side

    def offset_history(
        self,
        aoi_id: str,
        grid: Grid | None = None,
        *,
        before: dt.datetime | None = None,
        n: int = 10,
    ) -> OffsetHistory:
        """Dark levels (as read) of the AOI's last ``n`` used chips before ``before``."""
        folder = self.folder(aoi_id, grid) if grid is not None else self.root / safe_name(aoi_id)
        rows = [row for row in self._dark_levels(folder) if before is None or row[0] < before]
        rows.sort()
        rows = rows[-n:] if n else rows
        return OffsetHistory(levels=tuple(r[2] for r in rows), scene_ids=tuple(r[1] for r in rows))

    def _dark_levels(self, folder: Path) -> list[tuple[dt.datetime, str, float]]:
        """(datetime, scene id, dark level as read) of the used chips below ``folder``.

        Read from the sidecars once per folder and kept current by :meth:`put`: reading
        every sidecar for every new chip made a long history cost quadratic time.
        """
        with self._dark_lock:
            index = self._dark_index.get(folder)
            if index is None:
                index = {}
                if folder.is_dir():
                    for path in folder.rglob("*.json"):
                        side = self._sidecar(path)
                        if side is not None:
                            self._index_dark_level(index, side)
                self._dark_index[folder] = index
            return list(index.values())

    @staticmethod
    def _index_dark_level(
        index: dict[str, tuple[dt.datetime, str, float]], side: Mapping[str, Any]
    ) -> None:
        level = (side.get("offset_check") or {}).get("dark_level_as_read")
        if side.get("status") != "used" or level is None:
            index.pop(str(side.get("scene_id")), None)
            return
        index[str(side["scene_id"])] = (
            dt.datetime.fromisoformat(side["datetime"]),
            str(side["scene_id"]),
            float(level),
        )

    def size_bytes(self, aoi_id: str | None = None) -> int:
        """Bytes on disk of the cache (of one AOI when given)."""
        base = self.root / safe_name(aoi_id) if aoi_id is not None else self.root
        if not base.is_dir():
            return 0
        return sum(p.stat().st_size for p in base.rglob("*") if p.is_file())

    def remove(self, aoi_id: str, scene_id: str) -> int:
        """Remove a scene's chip and sidecar from every grid of the AOI; returns files removed."""
        base = self.root / safe_name(aoi_id)
        removed = 0
        if not base.is_dir():
            return 0
        name = safe_name(scene_id)
        with self._dark_lock:
            for index in self._dark_index.values():
                index.pop(scene_id, None)
        for folder in base.iterdir():
            # The sidecar first: a chip without its sidecar is never trusted anyway.
            for suffix in (".json", ".npz"):
                path = folder / f"{name}{suffix}"
                if path.is_file():
                    path.unlink()
                    removed += 1
        return removed


def _write_npz(buffer: io.BytesIO, arrays: Mapping[str, npt.NDArray[np.generic]]) -> None:
    """An ``.npz`` that ``np.load`` reads, deflated at level 1.

    ``np.savez_compressed`` deflates at level 6: a third of a run's time on a local archive
    went there, for chips 3 % smaller than level 1 makes them.
    """
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)


def _dumps(data: Mapping[str, Any]) -> bytes:
    return (json.dumps(data, indent=1, sort_keys=True, default=_jsonable) + "\n").encode()


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)
