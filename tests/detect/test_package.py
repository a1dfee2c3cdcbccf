"""``monitor.detect`` loads its names lazily, and every exported name is what it says."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import types

import monitor.detect


def test_every_exported_name_is_the_object_not_a_submodule() -> None:
    for module in pkgutil.iter_modules(monitor.detect.__path__):
        importlib.import_module(f"monitor.detect.{module.name}")
    for name in monitor.detect.__all__:
        assert not isinstance(getattr(monitor.detect, name), types.ModuleType), name


def test_the_parameters_do_not_import_the_detector() -> None:
    code = (
        "import sys, monitor.detect.params, monitor.detect; "
        "monitor.detect.STATED_LIMITS; "
        "print(sorted(m for m in ('skimage', 'monitor.detect.timeseries') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
