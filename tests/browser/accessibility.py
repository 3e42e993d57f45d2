"""Every page the browser tests reach is checked the same way: at a phone's width and a desktop's,
a full-page screenshot goes to `artifacts/browser/` (to look at: axe cannot see a layout that
merely looks wrong) and axe-core checks it against WCAG 2.2 A and AA and axe's best practices.

axe-core comes with the `axe-playwright-python` package; Playwright evaluates it in the page
through the DevTools protocol, which the page's Content-Security-Policy does not govern.
"""

from __future__ import annotations

from typing import Any

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page, ViewportSize

from tests.browser.conftest import screenshot_path

PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=900)
WIDTHS = {"phone": PHONE, "desktop": DESKTOP}
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
_AXE = Axe()


def _described(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = ", ".join(str(n["target"]) for n in v["nodes"][:5])
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} at {targets}")
    return "\n".join(lines)


async def violations(tab: Page) -> list[dict[str, Any]]:
    results = await _AXE.run(tab, options={"runOnly": {"type": "tag", "values": RULES}})
    found: list[dict[str, Any]] = results.response["violations"]
    return found


async def assert_accessible(tab: Page, name: str) -> None:
    """Screenshots at both widths, and no axe-core violation at either (the viewport is left at
    the desktop width)."""
    problems = []
    for width, size in WIDTHS.items():
        await tab.set_viewport_size(size)
        await tab.screenshot(path=screenshot_path(f"{name}-{width}"), full_page=True)
        found = await violations(tab)
        if found:
            problems.append(f"{name} at {size['width']} px:\n{_described(found)}")
    assert not problems, "\n".join(problems)
