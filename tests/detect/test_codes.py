"""The detector's codes against the contract: change types and raster codes, statuses."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import numpy as np
import pytest

from monitor.detect.classify import CODE_NAMES, NODATA_CODE, UNKNOWN_CODE
from monitor.detect.codes import ChangeCode, Status
from monitor.export.raster import CLASS_NAMES
from monitor.models import CHANGE_CODES, ChangeType, DetectionStatus

#: The contract sits beside the checkout (``../shared``), as the shared data does.
CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "CONTRACT.md"

#: What the contract says, written here too so that the codes are held to it without the file.
CONTRACT_CHANGE_TYPES = (
    "new_construction",
    "demolition",
    "rebuilding",
    "roof_change",
    "land_clearing",
)
CONTRACT_STATUSES = ("probable", "confirmed", "rejected")
CONTRACT_CLASSES = {
    0: "no change",
    1: "new_construction",
    2: "demolition",
    3: "rebuilding",
    4: "roof_change",
    5: "land_clearing",
    6: "change of unknown type",
    255: "outside the AOI or no data",
}


def _contract_text() -> str:
    if not CONTRACT.is_file():
        pytest.skip(f"the contract is not at {CONTRACT} (it sits beside the checkout)")
    return CONTRACT.read_text(encoding="utf-8")


def _field_values(text: str, field: str) -> tuple[str, ...]:
    """The backticked values of one row of the contract's Detections table."""
    row = re.search(rf"^\| `{field}` \| (.*?) \|$", text, re.M)
    assert row is not None, field
    return tuple(re.findall(r"`([a-z_]+)`", row.group(1)))


def _raster_classes(text: str) -> dict[int, str]:
    """The contract's raster class codes: "0 no change, 1 new_construction, ..."."""
    flat = " ".join(text.split())
    found = re.search(
        r"Class codes in `change\.tif` and in the simulator's `truth\.tif`: (.*?)\.", flat
    )
    assert found is not None
    pairs = (re.fullmatch(r"(\d+) (.+)", part.strip()) for part in found.group(1).split(","))
    return {int(p.group(1)): p.group(2) for p in pairs if p is not None}


def test_the_written_expectations_are_the_contracts() -> None:
    text = _contract_text()
    assert _field_values(text, "change_type") == CONTRACT_CHANGE_TYPES
    assert _field_values(text, "status") == CONTRACT_STATUSES
    assert _raster_classes(text) == CONTRACT_CLASSES


def test_change_codes_are_the_contracts_raster_codes() -> None:
    assert [code.change_type for code in ChangeCode] == list(CONTRACT_CHANGE_TYPES)
    for code in ChangeCode:
        assert CONTRACT_CLASSES[int(code)] == code.change_type
    assert CHANGE_CODES == {name: code for code, name in CONTRACT_CLASSES.items() if 1 <= code <= 5}
    assert list(CHANGE_CODES) == list(CONTRACT_CHANGE_TYPES)  # code order
    assert typing.get_args(ChangeType) == CONTRACT_CHANGE_TYPES
    assert CODE_NAMES == {int(code): code.change_type for code in ChangeCode}


def test_codes_outside_the_types_are_the_contracts() -> None:
    assert CONTRACT_CLASSES[UNKNOWN_CODE] == "change of unknown type"
    assert CONTRACT_CLASSES[NODATA_CODE] == "outside the AOI or no data"
    assert 0 not in set(ChangeCode) and UNKNOWN_CODE not in set(ChangeCode)
    assert CLASS_NAMES == CONTRACT_CLASSES


def test_status_words_are_the_contracts() -> None:
    assert [int(s) for s in Status] == [0, 1, 2, 3]
    assert Status.NONE == 0
    # NONE is an empty slot of the state, never a detection's status.
    words = tuple(s.word for s in Status if s is not Status.NONE)
    assert words == CONTRACT_STATUSES
    assert typing.get_args(DetectionStatus) == CONTRACT_STATUSES


@pytest.mark.parametrize("enum", [ChangeCode, Status])
def test_codes_round_trip(enum: type[ChangeCode] | type[Status]) -> None:
    for member in enum:
        assert enum(int(member)) is member
        assert enum[member.name] is member
        # Arrays hold the plain integers (uint8 in the state and the rasters).
        held = np.array([member], dtype=np.uint8)
        assert held[0] == member and enum(int(held[0])) is member
        assert (held == member).all()


@pytest.mark.parametrize("value", [0, 6, 255, -1])
def test_a_code_that_is_no_change_type_is_refused(value: int) -> None:
    with pytest.raises(ValueError):
        ChangeCode(value)


@pytest.mark.parametrize("value", [4, 255, -1])
def test_a_value_that_is_no_status_is_refused(value: int) -> None:
    with pytest.raises(ValueError):
        Status(value)


def test_names_are_case_sensitive() -> None:
    with pytest.raises(KeyError):
        ChangeCode["demolition"]
    with pytest.raises(KeyError):
        Status["confirmed"]
