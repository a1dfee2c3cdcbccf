"""All or nothing: outputs appear only when the whole export is written, existing files
stay as they were on any failure, and refusals are one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import MonitorError
from monitor.export import ExportData, check_target, staged, write_export


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_existing_output_is_kept_without_overwrite(export_data: ExportData, tmp_path: Path) -> None:
    path = tmp_path / "d.gpkg"
    path.write_text("keep me")
    with pytest.raises(MonitorError, match="exists; use --overwrite") as info:
        write_export("gpkg", export_data, path)
    assert "\n" not in str(info.value)
    assert path.read_text() == "keep me" and _listing(tmp_path) == ["d.gpkg"]
    write_export("gpkg", export_data, path, overwrite=True)
    assert path.read_bytes().startswith(b"SQLite format 3")
    assert _listing(tmp_path) == ["d.gpkg"]


def test_one_shapefile_part_blocks_them_all(export_data: ExportData, tmp_path: Path) -> None:
    (tmp_path / "d.dbf").write_text("keep me")
    with pytest.raises(MonitorError, match="d.dbf: exists"):
        write_export("shp", export_data, tmp_path / "d.shp")
    assert _listing(tmp_path) == ["d.dbf"]
    with pytest.raises(MonitorError, match="must end in .shp"):
        write_export("shp", export_data, tmp_path / "d.txt")


def test_a_failing_writer_leaves_nothing(tmp_path: Path) -> None:
    old = tmp_path / "old.txt"
    old.write_text("old")
    with pytest.raises(RuntimeError), staged(overwrite=True) as staging:
        staging.file(tmp_path / "new" / "deep" / "a.txt").write_text("a")
        staging.file(old).write_text("replacement")
        raise RuntimeError("disk full, say")
    assert _listing(tmp_path) == ["old.txt"] and old.read_text() == "old"


def test_a_later_refusal_undoes_the_earlier_parts(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("b")
    with pytest.raises(MonitorError, match="b.txt: exists"), staged(False) as staging:
        staging.file(tmp_path / "a.txt").write_text("a")
        staging.file(tmp_path / "b.txt").write_text("new b")
    assert _listing(tmp_path) == ["b.txt"]


def test_commit_moves_files_and_folders(tmp_path: Path) -> None:
    with staged(False) as staging:
        staging.file(tmp_path / "x" / "a.txt").write_text("a")
        (staging.folder(tmp_path / "f") / "inner.json").write_text("{}")
    assert _listing(tmp_path) == ["f", "f/inner.json", "x", "x/a.txt"]
    assert oct((tmp_path / "x" / "a.txt").stat().st_mode & 0o777) == "0o644"


def test_unusable_targets_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    for target, message in (
        (tmp_path / "file" / "out.gpkg", "file is not a folder"),
        (tmp_path / "dir", "dir: is a folder"),
    ):
        with pytest.raises(MonitorError, match=message) as info:
            check_target(target, overwrite=True)
        assert "\n" not in str(info.value)


def test_what_a_killed_export_left_is_removed_later(tmp_path: Path) -> None:
    import os

    from monitor.export._files import STALE_AFTER_S, TMP_PREFIX

    old = tmp_path / f"{TMP_PREFIX}d.gpkg.abc123"
    old.mkdir()
    (old / "d.gpkg").write_text("half")
    hours_ago = old.stat().st_mtime - STALE_AFTER_S - 60
    os.utime(old, (hours_ago, hours_ago))
    running = tmp_path / f"{TMP_PREFIX}d.gpkg.def456"  # another export, writing now
    running.mkdir()
    with staged(False) as staging:
        staging.file(tmp_path / "d.gpkg").write_text("new")
    assert _listing(tmp_path) == [running.name, "d.gpkg"]
