"""The rules a claim's figures keep (``broken_rule``), and how ``Claim`` words them."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, get_args

import pytest

from monitor.detect.claims import Claim, ClaimRule, broken_rule

D = dt.date
BY = D(2024, 1, 1)

#: Figures that break each rule (and no rule checked before it), with Claim's words.
BREAKING: dict[ClaimRule, tuple[dict[str, Any], str]] = {
    "both": (
        {"demolished": 1, "total": 2, "built_area_m2": 3.0},
        "a claim is either demolished N of total M, or a built area",
    ),
    "neither": ({}, "a claim is either demolished N of total M, or a built area"),
    "pair": ({"demolished": 1}, "a claim of demolished buildings needs both N and M"),
    "total": ({"demolished": -1, "total": 0}, "N must be at least 0 and M at least 1"),
    "demolished": ({"demolished": -1, "total": 5}, "N must be at least 0 and M at least 1"),
    "exceeds": ({"demolished": 6, "total": 5, "since": D(2025, 1, 1)}, "N (6) exceeds M (5)"),
    "area": ({"built_area_m2": math.nan}, "a built area must be 0 m2 or more"),
    "since": (
        {"built_area_m2": 1.0, "since": BY},
        "the baseline 2024-01-01 is not before 2024-01-01",
    ),
}


def _figures(**given: Any) -> dict[str, Any]:
    return {"by": BY, "demolished": None, "total": None, "built_area_m2": None, "since": None} | (
        given
    )


def test_every_rule_has_a_breaking_example() -> None:
    assert tuple(BREAKING) == get_args(ClaimRule)


@pytest.mark.parametrize("rule", get_args(ClaimRule))
def test_the_first_rule_broken_is_named_and_worded_by_claim(rule: ClaimRule) -> None:
    given, words = BREAKING[rule]
    assert broken_rule(**_figures(**given)) == rule
    with pytest.raises(ValueError) as caught:
        Claim(by=BY, **given)
    assert str(caught.value) == words


@pytest.mark.parametrize(
    "given",
    [
        {"demolished": 0, "total": 1},
        {"demolished": 5, "total": 5},
        {"built_area_m2": 0.0},
        {"built_area_m2": 1.0, "since": D(2023, 12, 31)},
    ],
)
def test_figures_keeping_every_rule_make_a_claim(given: dict[str, Any]) -> None:
    assert broken_rule(**_figures(**given)) is None
    assert Claim(by=BY, **given).by == BY
