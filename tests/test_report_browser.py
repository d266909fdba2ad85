"""The alignment report in a real headless Chromium: what a person sees on the page.

Debian's chromium and chromium-driver (.ci/run installs them when missing), driven over
WebDriver by selenium. Each page is opened from a file:// URL, as an artifact is; the
screenshots go to $PORTAL_CONFIG_TEST_ARTIFACTS (default tests/artifacts/, git-ignored).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import REPO, Invoke
from portal_config.render.report import render_html
from portal_config.run.report import (
    AccountAlignment,
    AccountEntry,
    Alignment,
    FieldRow,
    PortalRow,
)
from portal_config.sandbox import Sandbox
from report_fleet import (  # noqa: F401 (sandbox_fixture is the report_sandbox fixture)
    ACCOUNTS,
    HOSTILE_NAME,
    TOKENS,
    hostile_report,
    sandbox_fixture,
    ui_edit,
    write_fleet,
)

pytestmark = pytest.mark.slow  # a browser per test, and a sandbox fleet

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("PORTAL_CONFIG_TEST_ARTIFACTS") or REPO / "tests" / "artifacts")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def opened(browser: WebDriver, page: Path) -> float:
    """Open ``page`` as a file, and how long it took to load (seconds)."""
    started = time.perf_counter()
    browser.get(page.as_uri())
    return time.perf_counter() - started


def assert_quiet(browser: WebDriver) -> None:
    """No console message of any level, and no request besides the page itself."""
    assert browser.get_log("browser") == []
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    for tag, attribute in (("link", "href"), ("script", "src"), ("img", "src")):
        for element in browser.find_elements(By.TAG_NAME, tag):
            assert not element.get_attribute(attribute), (tag, attribute)
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 (reading it is the check)


def screenshot(browser: WebDriver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    browser.get_screenshot_as_file(str(path))
    assert path.stat().st_size > 0
    return path


def cell(browser: WebDriver, account: str, field: str) -> Any:
    return browser.find_element(
        By.CSS_SELECTOR, f'tr[data-account="{account}"] td[data-field="{field}"]'
    )


def shown_accounts(browser: WebDriver) -> list[str]:
    rows = browser.find_elements(By.CSS_SELECTOR, "#matrix tbody tr")
    return [str(row.get_attribute("data-account")) for row in rows if row.is_displayed()]


@pytest.fixture
def fleet_page(
    project: Path,
    report_sandbox: Sandbox,
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """`report --live` of the three-account fleet, applied, then edited in the UI."""
    write_fleet(project, report_sandbox.url, monkeypatch)
    assert invoke("apply", "--yes").exit_code == 0
    ui_edit(report_sandbox.url, "gamma", "acme-facilities", allow_address_change=True)
    result = invoke("report", "--live", "--out", "report.html")
    assert result.exit_code == 0, result.output
    return project / "report.html"


def test_a_person_sees_each_state_with_symbol_word_and_colour(
    browser: WebDriver, fleet_page: Path
) -> None:
    opened(browser, fleet_page)
    assert browser.title == "Portal alignment report"
    seen = {
        ("acme", "guest_workorder.enabled"): "\u2713 aligned",
        ("acme", "general.name"): "\u25cf local",
        ("beta", "guest_workorder.allow_new_relation"): "\u25c7 waived \u25b2 widens",
        ("beta", "guest_workorder.work_types"): "\u25c6 overridden",
        ("beta", "general.name"): "\u2013 unmanaged",
        ("gamma", "guest_workorder.allow_address_change"): "\u26a0 drift \u25b2 widens",
    }
    colours = {}
    for (account, field), text in seen.items():
        found = cell(browser, account, field)
        assert found.is_displayed()
        assert found.text == text, (account, field)
        colours[text.split()[1]] = found.value_of_css_property("background-color")
    assert len(set(colours.values())) == len(colours)  # each state its own colour, too
    commit = browser.find_element(By.ID, "live-read").text
    assert commit.startswith("read from target test at 20")
    screenshot(browser, "report-fleet.png")
    page = browser.page_source
    for token in TOKENS.values():
        assert token not in page
    assert_quiet(browser)


def test_a_hostile_value_is_shown_as_text(browser: WebDriver, fleet_page: Path) -> None:
    opened(browser, fleet_page)
    acme = browser.find_element(By.ID, "account-0")
    assert HOSTILE_NAME not in acme.text  # folded
    browser.find_element(By.LINK_TEXT, "acme").click()  # the matrix's link unfolds it
    WebDriverWait(browser, 5).until(lambda driver: HOSTILE_NAME in acme.text)
    assert "accounts/acme/portals/klimaat-techniek.yaml:3" in acme.text
    assert browser.find_elements(By.TAG_NAME, "img") == []
    # The closing </details> in the value closed nothing: every account keeps its own.
    assert len(browser.find_elements(By.CSS_SELECTOR, "section.account > details")) == 3
    assert_quiet(browser)


def test_every_hostile_string_stays_text(browser: WebDriver, tmp_path: Path) -> None:
    page = tmp_path / "hostile.html"
    report = hostile_report()
    page.write_text(render_html(report), encoding="utf-8")
    opened(browser, page)
    assert browser.find_elements(By.TAG_NAME, "img") == []
    rows = browser.find_elements(By.CSS_SELECTOR, "#matrix tbody tr")
    assert len(rows) == len(report.accounts)
    assert "\u202e" not in browser.find_element(By.TAG_NAME, "body").text
    screenshot(browser, "report-hostile.png")
    assert_quiet(browser)


def test_the_filters_narrow_the_matrix_and_the_details(
    browser: WebDriver, fleet_page: Path
) -> None:
    opened(browser, fleet_page)
    status = browser.find_element(By.ID, "filter-status")
    assert shown_accounts(browser) == list(ACCOUNTS)
    assert status.text == "3 of 3 accounts shown"
    browser.find_element(By.ID, "filter-account").send_keys("gam")
    # Typing filters once it pauses.
    WebDriverWait(browser, 5).until(lambda driver: shown_accounts(driver) == ["gamma"])
    assert not browser.find_element(By.ID, "account-0").is_displayed()
    assert browser.find_element(By.ID, "account-2").is_displayed()
    browser.find_element(By.ID, "filter-account").clear()
    browser.execute_script(
        "document.getElementById('filter-account').dispatchEvent(new Event('input'))"
    )
    Select(browser.find_element(By.ID, "filter-state")).select_by_value("waived")
    assert shown_accounts(browser) == ["beta"]
    Select(browser.find_element(By.ID, "filter-state")).select_by_value("")
    browser.find_element(By.ID, "filter-widens").click()
    assert shown_accounts(browser) == ["beta", "gamma"]
    assert status.text == "2 of 3 accounts shown"
    assert_quiet(browser)


def large_report(accounts: int, portals: int) -> Alignment:
    """A fleet of ``accounts`` with ``portals`` each, every field of the guest and general
    sections set, a few overridden and drifted: the page's size at fleet scale."""
    names = [f"guest_workorder.f{i}" for i in range(5)] + [f"general.f{i}" for i in range(9)]
    entries = []
    for a in range(accounts):
        rows = tuple(
            PortalRow(
                f"portal-{p}",
                f"accounts/account-{a:04d}/portals/portal-{p}.yaml",
                ("restrictive",),
                tuple(
                    FieldRow(
                        name,
                        f"value {a} {p}",
                        "profiles/restrictive.yaml:4",
                        "restrictive",
                        ("drift", "overridden", "aligned")[(a + p + i) % 7 % 3],
                        (a + i) % 11 == 0,
                        live=f"value {a} {p}",
                    )
                    for i, name in enumerate(names)
                ),
                3,
            )
            for p in range(portals)
        )
        live = "2026-12-04T10:00:00+00:00"
        entries.append(AccountEntry(f"account-{a:04d}", AccountAlignment(rows, live, "test")))
    return Alignment(tuple(names), tuple(entries), "2026-12-04T10:00:01+00:00", None, False, True)


def test_a_thousand_account_page_loads_and_filters_in_bounded_time(
    browser: WebDriver, tmp_path: Path
) -> None:
    page = tmp_path / "large.html"
    started = time.perf_counter()
    page.write_text(render_html(large_report(1000, 5)), encoding="utf-8")
    rendered = time.perf_counter() - started
    size = page.stat().st_size
    load = opened(browser, page)
    timing = browser.execute_script(
        "const t = performance.getEntriesByType('navigation')[0];"
        "return [t.domContentLoadedEventEnd, t.loadEventEnd];"
    )
    # The filter's own time, in the page: the event, and the layout it forces.
    filtered = browser.execute_script(
        "const input = document.getElementById('filter-account');"
        "input.value = 'account-0999';"
        "const started = performance.now();"
        "input.dispatchEvent(new Event('change'));"
        "document.body.offsetHeight;"
        "return (performance.now() - started) / 1000;"
    )
    shown = "return [...document.querySelectorAll('#matrix tbody tr:not([hidden])')].length"
    assert browser.execute_script(shown) == 1
    assert browser.find_element(By.ID, "filter-status").text == "1 of 1000 accounts shown"
    print(
        f"\n1,000 accounts x 5 portals: page {size / 1e6:.1f} MB, rendered in {rendered:.2f} s, "
        f"loaded in {load:.2f} s (DOMContentLoaded {timing[0] / 1000:.2f} s, load "
        f"{timing[1] / 1000:.2f} s), filtered in {filtered:.2f} s"
    )
    assert size < 60_000_000
    assert load < 30
    assert filtered < 5
    screenshot(browser, "report-large.png")
    assert_quiet(browser)


def test_a_link_with_a_malformed_address_fragment_is_quiet(
    browser: WebDriver, tmp_path: Path
) -> None:
    # A shared link can end in anything: "%" alone is no URI escape, and the page's own
    # script must not throw on it.
    page = tmp_path / "hostile.html"
    page.write_text(render_html(hostile_report()), encoding="utf-8")
    browser.get(page.as_uri() + "#%E0%A4%A")
    assert browser.find_elements(By.TAG_NAME, "img") == []
    browser.get(page.as_uri() + "#account-1%")  # a change of fragment: hashchange
    assert_quiet(browser)
    browser.get(page.as_uri() + "#account-1")
    WebDriverWait(browser, 5).until(
        lambda driver: driver.find_element(By.CSS_SELECTOR, "#account-1 details").get_attribute(
            "open"
        )
    )


# Markup for every context a value lands in: an attribute ("> and '>), a script, a style,
# a link, and template syntax that must not be evaluated.
BREAKOUTS = (
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(2)>",
    "</script><script>alert(3)</script>",
    "</style><style>body{display:none}</style>",
    "javascript:alert(4)",
    "{{ 7*7 }}{% raw %}",
)


def test_a_value_in_any_context_stays_text(browser: WebDriver, tmp_path: Path) -> None:
    def portal(text: str) -> PortalRow:
        row = FieldRow("general.name", text, f"{text}:3", text, "drift", True, live=text)
        return PortalRow(text, f"portals/{text}.yaml", (text,), (row,), 5)

    entries = tuple(
        AccountEntry(text, AccountAlignment((portal(text),), text), differs=("general.name",))
        for text in BREAKOUTS
    )
    failed = AccountEntry("failed " + BREAKOUTS[0], None, BREAKOUTS[2], 4)
    report = Alignment(
        ("general.name",), (*entries, failed), BREAKOUTS[5], BREAKOUTS[0], True, True, BREAKOUTS[1]
    )
    page = tmp_path / "breakouts.html"
    page.write_text(render_html(report), encoding="utf-8")
    opened(browser, page)
    for tag in ("img", "svg", "style", "script"):
        expected = 1 if tag in ("style", "script") else 0  # the page's own
        assert len(browser.find_elements(By.TAG_NAME, tag)) == expected, tag
    assert browser.find_element(By.TAG_NAME, "body").is_displayed()
    rows = browser.find_elements(By.CSS_SELECTOR, "#matrix tbody tr")
    assert [row.get_attribute("data-account") for row in rows] == [
        *BREAKOUTS,
        "failed " + BREAKOUTS[0],
    ]
    for section in browser.find_elements(By.CSS_SELECTOR, "section.account details"):
        browser.execute_script("arguments[0].open = true", section)
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "{{ 7*7 }}{% raw %}" in text  # shown as written, never evaluated
    assert BREAKOUTS[2] in text and BREAKOUTS[4] in text
    browser.find_element(By.ID, "filter-account").send_keys('"><img')
    WebDriverWait(browser, 5).until(
        lambda driver: shown_accounts(driver) == [BREAKOUTS[0], "failed " + BREAKOUTS[0]]
    )
    assert_quiet(browser)


@pytest.mark.slow  # a real browser
def test_the_matrix_can_show_only_the_fields_that_differ(
    browser: WebDriver, fleet_page: Path
) -> None:
    opened(browser, fleet_page)
    heads = browser.find_elements(By.CSS_SELECTOR, "#matrix thead th[data-field]")
    every = [head.get_attribute("data-field") for head in heads]
    cells = browser.find_elements(By.CSS_SELECTOR, "#matrix td[data-field]")
    differing = {
        cell.get_attribute("data-field")
        for cell in cells
        if cell.get_attribute("data-state") not in ("aligned", "local", "unmanaged")
    }
    assert differing and len(differing) < len(every)  # the premise: some fields are quiet
    # An account name is one line, however narrow the window: never a letter a line.
    account = browser.find_element(By.CSS_SELECTOR, "#matrix tbody th")
    assert account.size["height"] < 2 * account.size["width"]
    browser.find_element(By.ID, "filter-fields").click()
    shown = [head.get_attribute("data-field") for head in heads if head.is_displayed()]
    assert set(shown) == differing
    for cell in cells:
        assert cell.is_displayed() == (cell.get_attribute("data-field") in differing)
    groups = browser.find_elements(By.CSS_SELECTOR, "#matrix thead th.section")
    spans = {g.get_attribute("data-section"): int(g.get_attribute("colspan")) for g in groups}
    for section, span in spans.items():
        visible = [f for f in shown if f.startswith(section + ".")]
        group = next(g for g in groups if g.get_attribute("data-section") == section)
        assert group.is_displayed() == bool(visible)
        if visible:
            assert span == len(visible)
    browser.find_element(By.ID, "filter-fields").click()
    assert all(head.is_displayed() for head in heads)
    assert_quiet(browser)
