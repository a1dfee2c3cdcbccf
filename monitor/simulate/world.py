"""The simulated world: the draws of the ground with those of the sky, for one seed.

``monitor simulate --world default`` (the default) is the world the detector was tuned on:
fixed numbers, byte-identical output for a seed. ``--world random`` draws, per seed, its own
ground (``groundworld``: materials, crops, buildings, demolitions) and sky (``skyworld``:
climate, seasons, SCL errors, satellites, sensor), each from documented distributions, so a
detector can be measured on worlds it was not tuned on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.errors import ConfigError
from monitor.simulate.groundworld import GroundDraw, default_ground_draw, random_ground_draw
from monitor.simulate.skyworld import SkyDraw, default_sky_draw, random_sky_draw

__all__ = ["WORLD_KINDS", "World", "draw_world"]

#: The worlds ``simulate_archive`` and ``monitor simulate --world`` accept.
WORLD_KINDS: tuple[str, ...] = ("default", "random")


@dataclass(frozen=True)
class World:
    """One simulated world: its kind, the seed it was drawn for, its ground and sky."""

    kind: str
    seed: int
    ground: GroundDraw
    sky: SkyDraw

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "seed": self.seed,
            "ground": self.ground.to_json(),
            "sky": self.sky.to_json(),
        }


def draw_world(kind: str, seed: int) -> World:
    """The world of ``kind`` for ``seed``.

    Raises
    ------
    ConfigError : ``kind`` is not one of :data:`WORLD_KINDS`.
    """
    if kind == "default":
        return World(kind=kind, seed=seed, ground=default_ground_draw(), sky=default_sky_draw(seed))
    if kind == "random":
        return World(
            kind=kind, seed=seed, ground=random_ground_draw(seed), sky=random_sky_draw(seed)
        )
    raise ConfigError(f"unknown simulated world {kind!r}: expected one of {', '.join(WORLD_KINDS)}")
