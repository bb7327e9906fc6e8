"""What every page must pass: axe-core's WCAG 2.2 AA rules, reflow at 320 px, and 44 px touch targets.

`PageChecks.check(page, name)` runs the checks on the page as it is now, saves a screenshot
(test-artifacts/screenshots/pages/<size>/<name>.png) and keeps what failed; the test asserts
`checks.failures == []` at the end, so one run lists every page's problems at once.

axe-core comes from `axe-playwright-python` (it bundles axe.min.js). The script is added by
Playwright through the DevTools protocol, which the page's Content-Security-Policy does not
govern: the app's policy stays as strict as in production.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from axe_playwright_python.sync_playwright import Axe

from tests.conftest import SCREENSHOT_DIR

#: axe's impact levels that fail a page. Moderate and minor ones fail too unless listed in
#: ACCEPTED_MODERATE (each with the reason; the README's "Accessibility" section repeats them).
FAILING_IMPACTS = {"critical", "serious", "moderate", "minor"}
ACCEPTED_MODERATE: dict[str, str] = {}

#: The viewports every page is checked at: a desktop and a 390x844 phone.
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
#: WCAG 1.4.10 (reflow): content at 320 CSS px (a 1280 px window at 400%, or 640 px at 200%)
#: needs no horizontal scrolling. Wide data tables scroll inside their own box, which 1.4.10 allows.
NARROWEST = {"width": 320, "height": 640}
#: The smallest touch target for what patients tap on a phone (WCAG 2.5.5's 44 x 44 CSS px).
TOUCH_TARGET = 44

_axe = Axe()

#: The controls a patient taps: buttons, links drawn as buttons, slot choices, form fields, nav links.
TAPPABLE = ("main button:visible, main a.btn:visible, main label.slot:visible, main input:not([type=hidden]):not([type=radio]):visible, "
            "main select:visible, main textarea:visible, nav a:visible, nav button:visible")


@dataclass
class PageChecks:
    size: str
    touch_targets: bool = False
    failures: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)

    def check(self, page, name: str) -> None:
        page.wait_for_load_state("networkidle")
        self.pages.append(name)
        self._axe(page, name)
        if self.size == "phone":
            self._reflow(page, name)
            if self.touch_targets:
                self._touch_targets(page, name)
        folder = SCREENSHOT_DIR / "pages" / self.size
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    def assert_passed(self) -> None:
        assert not self.failures, f"{len(self.failures)} problems:\n" + "\n".join(self.failures)

    def _axe(self, page, name: str) -> None:
        results = _axe.run(page, options={"resultTypes": ["violations"]})
        for violation in results.response["violations"]:
            if violation["impact"] not in FAILING_IMPACTS or violation["id"] in ACCEPTED_MODERATE:
                continue
            targets = "; ".join(" ".join(map(str, node["target"])) for node in violation["nodes"][:4])
            self.failures.append(f"{name} [{self.size}]: {violation['impact']} {violation['id']} "
                                 f"({violation['help']}) at {targets}")

    def _reflow(self, page, name: str) -> None:
        page.set_viewport_size(NARROWEST)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        culprit = page.evaluate("""() => {
            const width = document.documentElement.clientWidth;
            const wide = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > width + 1
                && !e.closest('.table-responsive'));
            return wide.slice(-3).map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ').join('.') : '')).join(', ');
        }""")
        page.set_viewport_size(SIZES[self.size])
        if overflow > 0:
            self.failures.append(f"{name} [320 px]: scrolls sideways by {overflow} px ({culprit})")

    def _touch_targets(self, page, name: str) -> None:
        small = page.evaluate("""([selector, minimum]) => [...document.querySelectorAll(selector)]
            .filter(e => e.offsetParent !== null)
            .map(e => [e, e.getBoundingClientRect()])
            .filter(([e, box]) => box.width < minimum - 0.5 || box.height < minimum - 0.5)
            .map(([e, box]) => `${e.tagName.toLowerCase()} "${(e.innerText || e.value || e.name || '').trim().slice(0, 30)}" ${Math.round(box.width)}x${Math.round(box.height)}`)""",
                              [TAPPABLE.replace(":visible", ""), TOUCH_TARGET])
        for target in small:
            self.failures.append(f"{name} [phone]: touch target under {TOUCH_TARGET}x{TOUCH_TARGET}: {target}")
