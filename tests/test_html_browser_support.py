"""The real-browser support itself: the system Chromium opens a page, and a screenshot lands in the test's folder."""

from __future__ import annotations

import pytest

from tests.browser_support import chromium_path, launched_chromium, needs_chromium, screenshot_dir


@needs_chromium
def test_system_chromium_renders_a_page_and_takes_a_screenshot(request: pytest.FixtureRequest) -> None:
    assert chromium_path() is not None
    folder = screenshot_dir(request)
    with launched_chromium() as browser:
        page = browser.new_page()
        page.set_content("<!doctype html><html lang='en'><title>t</title><main><h1>Hello</h1></main></html>")
        assert page.locator("h1").inner_text() == "Hello"
        page.screenshot(path=str(folder / "hello.png"))
    assert (folder / "hello.png").stat().st_size > 0
