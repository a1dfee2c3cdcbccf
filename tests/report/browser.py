"""Debian's Chromium driven by Playwright for Python, for the browser tests of the reports.

Never ``playwright install``: the browser is ``/usr/bin/chromium`` (``.ci/install.sh``
installs it with apt). Without it the tests skip, saying why, except in CI (``CI`` set),
where they fail. Every request that is not ``file:`` or ``data:`` is aborted and recorded,
and so are console errors, page errors and dialogs (``alert``).

Screenshots go to ``$MONITOR_TEST_SCREENSHOTS`` when set (CI keeps them as artefacts), else
to a pytest temporary folder; each test prints where.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = {"width": 1280, "height": 900}


def _chromium_or_skip() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    reason = (
        f"{CHROMIUM} not found: the browser tests need Debian's Chromium "
        "(apt-get install chromium, as .ci/install.sh does)"
    )
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium for the module's tests."""
    path = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(path))
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots of the module's tests go."""
    named = os.environ.get("MONITOR_TEST_SCREENSHOTS")
    folder = Path(named) if named else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Watched:
    """An opened page and what it did: console errors, page errors, blocked requests,
    dialogs."""

    page: Any
    context: Any
    errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def clean(self) -> None:
        """No console or page error, no request outside the file, no dialog."""
        assert self.external == [], f"requests outside the file: {self.external}"
        assert self.errors == [], f"console errors: {self.errors}"
        assert self.dialogs == [], f"dialogs opened: {self.dialogs}"

    def shot(self, folder: Path, name: str, **options: Any) -> Path:
        path = folder / f"{name}.png"
        self.page.screenshot(path=str(path), **options)
        print(f"screenshot: {path}")
        return path

    def close(self) -> None:
        self.context.close()


def open_page(browser: Any, path: Path) -> Watched:
    """Open ``path`` (a file) in a new context with every non-file request blocked."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    watched = Watched(page, context)

    def route(route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            watched.external.append(url)
            route.abort()

    def dialog(d: Any) -> None:
        watched.dialogs.append(d.message)
        d.dismiss()

    context.route("**/*", route)
    page.on("console", lambda m: watched.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.errors.append(str(e)))
    page.on("dialog", dialog)
    page.goto(path.resolve().as_uri(), wait_until="load")
    return watched
