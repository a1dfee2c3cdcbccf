"""``monitor scenes`` end to end: a static catalog, the real STAC API, and bad input."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from monitor.cli.main import main
from tests.catalog.builders import (
    C1_TEMPLATE,
    L2A_TEMPLATE,
    load_template,
    make_collection,
    make_item,
    write_static_collection,
)

REPO = Path(__file__).resolve().parents[2]
#: Shipped AOI the tests search for (its file is in the repository's aoi/).
AOI = "kk-park"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def templates(earthsearch_items: Path) -> dict[str, dict[str, Any]]:
    return {
        "c1": load_template(earthsearch_items, C1_TEMPLATE),
        "l2a": load_template(earthsearch_items, L2A_TEMPLATE),
    }


def _state_args(tmp_path: Path) -> list[str]:
    return ["--state-dir", str(tmp_path / "state"), "--aoi-dir", str(REPO / "aoi")]


def test_static_catalog_lists_scenes_with_rule_and_status(
    tmp_path: Path, templates: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    items = [
        make_item(templates["l2a"], when="2025-11-03T04:03:00Z", cloud=5.0),
        make_item(templates["l2a"], when="2025-11-13T04:03:00Z", cloud=60.0),
        make_item(
            templates["c1"], when="2025-12-03T04:03:00Z", cloud=2.0, collection="sentinel-2-c1-l2a"
        ),
    ]
    folder = tmp_path / "catalog"
    write_static_collection(folder, "mixed", items, keep_item_collections=True)
    code, out, err = _run(
        [
            "scenes",
            *_state_args(tmp_path),
            "--stac",
            str(folder),
            "--aoi",
            AOI,
            "--since",
            "2025-11-01",
            "--until",
            "2025-12-31",
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    [listing] = json.loads(out)
    assert listing["aoi_id"] == AOI
    rows = {row["scene_id"]: row for row in listing["rows"]}
    assert set(rows) == {item["id"] for item in items}
    # Earth Search's l2a removed the offset (flag true, -0.1 still declared): not applied again.
    assert rows[items[0]["id"]]["rule"] == "DN*0.0001"
    assert rows[items[0]["id"]]["collection"] == "sentinel-2-l2a"
    # c1 keeps the +1000: reflectance = DN * 0.0001 - 0.1.
    assert rows[items[2]["id"]]["rule"] == "DN*0.0001-0.1"
    assert {row["status"] for row in rows.values()} == {"new"}
    assert listing["monthly_counts"]["2025-11"] == {"sentinel-2-l2a": 2}
    assert listing["monthly_counts"]["2025-12"] == {"sentinel-2-c1-l2a": 1}
    # The AOI is registered in the state.
    assert (tmp_path / "state" / "state.db").exists()


def test_static_catalog_table_output(
    tmp_path: Path, templates: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    items = [
        make_item(templates["c1"], when="2025-11-03T04:03:00Z", collection="sentinel-2-c1-l2a")
    ]
    folder = tmp_path / "catalog"
    write_static_collection(folder, "sentinel-2-c1-l2a", items)
    code, out, err = _run(
        [
            "scenes",
            *_state_args(tmp_path),
            "--stac",
            str(folder / "collection.json"),
            "--aoi",
            AOI,
            "--since",
            "2025-11-01",
            "--until",
            "2025-11-30",
        ],
        capsys,
    )
    assert code == 0, err
    assert items[0]["id"] in out
    assert "DN*0.0001-0.1" in out
    assert "acquisitions per month" in out and "2025-11" in out


@pytest.mark.slow
def test_stac_api_c1_with_l2a_fallback(
    tmp_path: Path,
    stac_api: Any,
    templates: dict[str, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # c1 lacks February 2024 entirely: that month comes from sentinel-2-l2a.
    c1 = [
        make_item(
            templates["c1"], when=f"2024-{m:02d}-{d:02d}T04:03:00Z", collection="sentinel-2-c1-l2a"
        )
        for m, d in ((1, 5), (1, 15), (3, 6))
    ]
    l2a = [
        make_item(
            templates["l2a"], when=f"2024-{m:02d}-{d:02d}T04:03:00Z", collection="sentinel-2-l2a"
        )
        for m, d in ((1, 5), (2, 4), (2, 14), (3, 6))
    ]
    stac_api.load(make_collection("sentinel-2-c1-l2a", c1), c1)
    stac_api.load(make_collection("sentinel-2-l2a", l2a), l2a)
    code, out, err = _run(
        [
            "scenes",
            *_state_args(tmp_path),
            "--stac",
            stac_api.url,
            "--aoi",
            AOI,
            "--since",
            "2024-01-01",
            "--until",
            "2024-03-31",
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    [listing] = json.loads(out)
    assert listing["fallback_months"] == ["2024-02"]
    by_id = {row["scene_id"]: row for row in listing["rows"]}
    assert {i["id"] for i in c1} <= set(by_id)
    assert {l2a[1]["id"], l2a[2]["id"]} <= set(by_id)
    # The January and March l2a items repeat c1 acquisitions in months c1 covers: not searched.
    assert l2a[0]["id"] not in by_id and l2a[3]["id"] not in by_id
    assert by_id[l2a[1]["id"]]["rule"] == "DN*0.0001"
    assert by_id[c1[0]["id"]]["rule"] == "DN*0.0001-0.1"
    assert listing["monthly_counts"]["2024-02"] == {"sentinel-2-l2a": 2}
    assert listing["monthly_counts"]["2024-01"] == {"sentinel-2-c1-l2a": 2}


@pytest.mark.slow
def test_stac_api_unknown_collection_is_one_line(
    tmp_path: Path, stac_api: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(
        [
            "scenes",
            *_state_args(tmp_path),
            "--stac",
            stac_api.url,
            "--collection",
            "no-such-collection",
            "--aoi",
            AOI,
            "--since",
            "2024-01-01",
            "--until",
            "2024-01-31",
        ],
        capsys,
    )
    assert code == 1
    assert "no-such-collection" in err and len(err.strip().splitlines()) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_source_is_one_line_and_state_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_HTTP_RETRIES", "1")  # retried once, then the error
    url = f"http://127.0.0.1:{_free_port()}/v1"
    code, out, err = _run(
        [
            "scenes",
            *_state_args(tmp_path),
            "--stac",
            url,
            "--aoi",
            AOI,
            "--since",
            "2024-01-01",
            "--until",
            "2024-01-31",
        ],
        capsys,
    )
    assert code == 1
    assert err.startswith("monitor: error:") and "unreachable" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "state").exists()


def test_missing_static_catalog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(
        ["scenes", *_state_args(tmp_path), "--stac", str(tmp_path / "nowhere"), "--aoi", AOI],
        capsys,
    )
    assert code == 1 and "nowhere" in err


def test_items_without_required_assets(
    tmp_path: Path, templates: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    item = make_item(templates["c1"], when="2025-11-03T04:03:00Z", collection="sentinel-2-c1-l2a")
    del item["assets"]["red"], item["assets"]["nir"]
    folder = tmp_path / "catalog"
    write_static_collection(folder, "broken", [item])
    code, _, err = _run(
        [
            "scenes",
            *_state_args(tmp_path),
            "--stac",
            str(folder),
            "--aoi",
            AOI,
            "--since",
            "2025-11-01",
            "--until",
            "2025-11-30",
        ],
        capsys,
    )
    assert code == 1
    assert "missing required assets" in err and "red" in err and "nir" in err
    assert len(err.strip().splitlines()) == 1


def test_aoi_that_no_scene_covers_is_an_error(
    tmp_path: Path, templates: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    # An item far from KK Park (over Shwe Kokko's latitude band but 100 km west).
    item = make_item(
        templates["c1"],
        when="2025-11-03T04:03:00Z",
        collection="sentinel-2-c1-l2a",
        footprint=(97.0, 16.0, 97.5, 16.5),
    )
    folder = tmp_path / "catalog"
    write_static_collection(folder, "elsewhere", [item])
    code, _, err = _run(
        [
            "scenes",
            *_state_args(tmp_path),
            "--stac",
            str(folder),
            "--aoi",
            AOI,
            "--since",
            "2025-11-01",
            "--until",
            "2025-11-30",
        ],
        capsys,
    )
    assert code == 1
    assert "no scene" in err and AOI in err


def test_unwritable_state_dir(
    tmp_path: Path, templates: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    items = [
        make_item(templates["c1"], when="2025-11-03T04:03:00Z", collection="sentinel-2-c1-l2a")
    ]
    folder = tmp_path / "catalog"
    write_static_collection(folder, "c1", items)
    code, _, err = _run(
        [
            "scenes",
            "--state-dir",
            str(blocker / "state"),
            "--aoi-dir",
            str(REPO / "aoi"),
            "--stac",
            str(folder),
            "--aoi",
            AOI,
            "--since",
            "2025-11-01",
            "--until",
            "2025-11-30",
        ],
        capsys,
    )
    assert code == 1
    assert str(blocker) in err and len(err.strip().splitlines()) == 1
    assert blocker.read_text() == "not a folder"
