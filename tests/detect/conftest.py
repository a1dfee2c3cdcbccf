"""Shared fixtures of the detector tests: the synthetic archive is built once per config."""

from __future__ import annotations

import sys
from pathlib import Path

# Tests import the generator as ``synth`` whether or not ``tests`` is a package on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
