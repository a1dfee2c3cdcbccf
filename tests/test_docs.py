"""Documentation stays true to the code: settings, commands, the README's two commands."""

from __future__ import annotations

import re
from pathlib import Path

from monitor.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented() -> None:
    doc = (ROOT / "docs" / "settings.md").read_text()
    example = (ROOT / "monitor.toml.example").read_text()
    for setting in SETTINGS:
        assert f"`{setting.name}`" in doc, setting.name
        assert f"`{setting.env_var}`" in doc, setting.env_var
        assert re.search(rf"^# {setting.name} = ", example, re.M), setting.name
    documented = set(re.findall(r"^\| `([a-z_0-9]+)` \|", doc, re.M))
    assert documented == {s.name for s in SETTINGS}, "docs/settings.md lists unknown settings"


def test_readme_starts_with_the_two_commands_and_ci_runs_the_second() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", readme, re.S)
    assert block is not None
    commands = [ln for ln in block.group(1).splitlines() if ln and not ln.startswith("#")]
    assert len(commands) == 2
    assert "monitor demo" in commands[0]
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1].strip() in ci, ".ci/run must run exactly the README's test command"


def test_design_doc_names_every_stage_package() -> None:
    design = (ROOT / "docs" / "design.md").read_text()
    for package in sorted(
        p.name for p in (ROOT / "monitor").iterdir() if p.is_dir() and (p / "__init__.py").exists()
    ):
        if package == "cli":
            continue
        assert f"`{package}/`" in design, f"docs/design.md does not describe monitor/{package}/"
