"""``monitor claim``'s flags refused before any state is opened, in the flags' words."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any, get_args

import pytest

from monitor.config import Settings
from monitor.detect.claims import ClaimRule
from monitor.errors import InputError
from monitor.job import check_claim

D = dt.date
BY = D(2026, 1, 28)

#: Flags that break each rule of ``monitor.detect.claims.broken_rule``, with the error.
REFUSED: dict[ClaimRule, tuple[dict[str, Any], str]] = {
    "both": (
        {"demolished": 1, "total": 4, "built_area_m2": 10.0},
        "give --demolished N --total M, or --built-area A, not both",
    ),
    "neither": ({}, "give the claim: --demolished N --total M, or --built-area A"),
    "pair": ({"total": 5}, "--demolished and --total go together"),
    "total": ({"demolished": -1, "total": 0}, "--total 0: at least 1 building"),
    "demolished": ({"demolished": -1, "total": 3}, "--demolished -1: not a number of buildings"),
    "exceeds": (
        {"demolished": 5, "total": 4, "since": D(2026, 2, 1)},
        "--demolished 5 is more than --total 4",
    ),
    "area": ({"built_area_m2": -1.0}, "--built-area -1.0: not an area in m²"),
    "since": (
        {"demolished": 1, "total": 4, "since": BY},
        "--since 2026-01-28 is not before --by 2026-01-28",
    ),
}


def test_every_rule_is_refused() -> None:
    assert tuple(REFUSED) == get_args(ClaimRule)


@pytest.mark.parametrize("rule", get_args(ClaimRule))
def test_flags_breaking_a_rule_are_an_input_error_before_the_state(
    rule: ClaimRule, tmp_path: Path
) -> None:
    flags, words = REFUSED[rule]
    settings = dataclasses.replace(Settings(), state_dir=tmp_path / "no-state")
    with pytest.raises(InputError) as caught:
        check_claim(settings, "east-test", by=BY, **flags)
    assert str(caught.value) == words
    assert caught.value.exit_code == 1
    assert not (tmp_path / "no-state").exists()
