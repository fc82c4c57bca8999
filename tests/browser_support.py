"""Real-browser tests: the system Chromium driven by Playwright for Python (no browser download).

``.ci/run`` installs Debian's ``chromium`` package; a test that needs it is marked ``@needs_chromium`` and is skipped,
with the reason, only where the ``chromium`` executable is absent. Playwright's own ``playwright install`` is never
used: it downloads a browser build. The browser runs with ``--no-sandbox`` because the tests run as root.

Screenshots go to a folder under the test's own temporary directory (``screenshot_dir(request)``); with
``IAMLEDGER_UPDATE_SCREENSHOTS=1`` they are also copied into ``docs/images/console/`` when the test ends, so that the
documentation shows what the tests saw.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

UPDATE_SCREENSHOTS_ENV = "IAMLEDGER_UPDATE_SCREENSHOTS"
DOCS_SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "images" / "console"
CHROMIUM_NAMES = ("chromium", "chromium-browser")


def chromium_path() -> str | None:
    """The system Chromium's executable, or None where it is not installed."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


needs_chromium = pytest.mark.skipif(
    chromium_path() is None,
    reason="the system Chromium is not installed: `apt-get install -y chromium` (bash .ci/run installs it)",
)


@contextmanager
def launched_chromium() -> Iterator[Browser]:
    """A headless system Chromium, driven by Playwright; closed (with Playwright) on leaving."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        pytest.skip("the system Chromium is not installed: `apt-get install -y chromium` (bash .ci/run installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def accessibility_violations(page: Page) -> list[str]:
    """What axe-core (the engine browsers' accessibility audits use, shipped inside ``axe-playwright-python``) finds
    wrong with the page as it is shown, every ``<details>`` opened first so that their content is checked too: one
    line per rule broken, with the first elements that break it. Empty when the page passes."""
    from axe_playwright_python.sync_playwright import Axe

    page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}" for v in found]


def screenshot_dir(request: pytest.FixtureRequest) -> Path:
    """A folder for this test's screenshots, under its temporary directory.

    With ``IAMLEDGER_UPDATE_SCREENSHOTS=1`` the PNGs in it are copied into ``docs/images/console/`` when the test
    finishes (passed or not: the copy is a finalizer, run only when the test's body got that far).
    """
    tmp_path: Path = request.getfixturevalue("tmp_path")
    folder = tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    if os.environ.get(UPDATE_SCREENSHOTS_ENV) == "1":

        def copy_to_docs() -> None:
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            for png in sorted(folder.glob("*.png")):
                shutil.copyfile(png, DOCS_SCREENSHOTS / png.name)

        request.addfinalizer(copy_to_docs)
    return folder
