"""The auditors' site in a real browser: headless Chromium opens it from disk, leads with reconciliation,
drills down from a figure's number to its rows, filters the ledger, draws Chinese district names, no errors.

Needs /usr/bin/chromium (Debian: apt-get install chromium; for Chinese text also fonts-noto-cjk).
The site is built over stand-ins for the dbt marts (tests.include.test_site.MARTS), as a built warehouse shows it.
The screenshots go to test-output/ under the project root (git-ignored) and the test's tmp_path, for a person
to look at.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stic import pipeline
from stic.reports import receipts
from tests.include.test_site import MARTS, _build_with_marts

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install chromium)"),
]


@pytest.fixture()
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def built_site(clean_warehouse, fixture_file, tmp_path):
    shutil.rmtree(receipts.receipts_dir(), ignore_errors=True)
    got = [pipeline.ingest_file(fixture_file(f"pipeline/{name}"), submitter=submitter, kind="projects", period=period)
           for name, submitter, period in (("projects_ok.csv", "PD", "2018"), ("projects_bad_rows.csv", "YP", "2018"),
                                           ("projects_missing_column.csv", "XH", "2017"),
                                           ("projects_correction.csv", "PD", "2018"))]
    marts = {k: v.format(ok=got[0].submission_id, bad=got[1].submission_id) for k, v in MARTS.items()}
    _build_with_marts(clean_warehouse, tmp_path / "site", marts)
    return tmp_path / "site" / "index.html"


def _watch(page) -> tuple[list[str], list[str]]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    return errors, requests


def test_site_opens_from_disk_filters_and_has_no_errors(browser, built_site):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors, requests = _watch(page)
    page.goto(built_site.as_uri())

    ledger = page.locator("#ledger-table")
    assert ledger.is_visible()
    rows = ledger.locator("tbody tr")
    assert rows.count() == 4
    assert page.locator("#completeness-matrix").is_visible()
    assert page.locator("svg.chart").count() >= 2 and page.locator("svg.chart title").count() >= 2
    assert "浦东新区" in page.locator("#ledger-table").inner_text()

    # the filter: only rejected submissions stay visible
    assert page.locator("#ledger-filters").is_visible()
    page.select_option("#ledger-filters select[data-filter=status]", "rejected")
    visible = ledger.locator("tbody tr:visible")
    assert visible.count() == 1
    assert visible.first.get_attribute("data-status") == "rejected"
    assert page.locator("#ledger-count").inner_text() == "1 of 4 submissions shown"
    page.select_option("#ledger-filters select[data-filter=status]", "")
    assert ledger.locator("tbody tr:visible").count() == 4

    out = ROOT / "test-output"
    out.mkdir(exist_ok=True)
    shot = out / "site.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")

    # a receipt, reached by its link from the ledger
    page.locator("#ledger-table a", has_text="receipt").last.click()
    page.wait_for_load_state()
    assert "Receipt for submission" in page.locator("h1").inner_text()
    receipt_shot = out / "receipt.png"
    page.screenshot(path=str(receipt_shot), full_page=True)
    print(f"screenshot: {receipt_shot}")
    page.goto(built_site.parent.joinpath("receipts", "2.html").as_uri())
    first = page.locator("table.examples[data-rule=code_list] tbody tr").first.locator("td")
    assert [first.nth(i).inner_text() for i in (0, 1, 2)] == ["3", "district", "Atlantis"]  # row, column, value
    page.screenshot(path=str(out / "receipt-bad-rows.png"), full_page=True)

    assert errors == []
    assert all(u.startswith("file://") for u in requests), [u for u in requests if not u.startswith("file://")]


def test_first_page_leads_with_reconciliation_and_numbers_drill_down(browser, built_site, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors, requests = _watch(page)
    page.goto(built_site.as_uri())

    # the first section is reconciliation, the figures off on top; the summary bar counts what to look at
    assert page.locator("main > section").first.get_attribute("id") == "reconciliation"
    assert page.locator("main > section").evaluate_all("s => s.map(e => e.id)")[:4] == [
        "reconciliation", "findings", "overdue", "rejected"]
    assert page.locator("#summary-off").inner_text().split() == ["2", "figures", "off"]
    assert page.locator("#summary-rejected").inner_text().split() == ["1", "rejected", "submissions"]
    first = page.locator("#reconciliation-table tbody tr").first
    assert first.get_attribute("data-status") == "off" and first.is_visible()

    # the Chinese district names are drawn: in the indicators' chart (SVG text with a width) and table
    indicators = page.locator("#indicators")
    assert "浦东新区" in indicators.inner_text() and "崇明区" in indicators.inner_text()
    label = indicators.locator("svg.chart text.row-label", has_text="浦东新区").first
    box = label.bounding_box()
    assert box and box["width"] > 20  # four glyphs drawn, not an empty run
    shot = tmp_path / "site-first-page.png"
    page.screenshot(path=str(shot), full_page=True)
    indicators.screenshot(path=str(tmp_path / "site-indicators.png"))
    out = ROOT / "test-output"
    out.mkdir(exist_ok=True)
    shutil.copy(shot, out / "site-first-page.png")
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000

    # a finding count opens its rule's rows in the findings table
    page.locator("#summary-findings").click()
    count = page.locator("#findings-by-rule tbody tr", has_text="start_before_floor").locator("a")
    count.click()
    target = page.locator("#findings-table tbody:target")
    assert target.get_attribute("data-finding") == "start_before_floor" and target.locator("tr").count() == 2

    # clicking a figure's number opens its drill-down page, which lists the rows counted
    page.locator("#reconciliation-table tr[data-figure=incubators_2019] a.figure-value").click()
    page.wait_for_load_state()
    assert page.url.endswith("/figures/incubators_2019.html")
    assert "incubators" in page.locator("h1").inner_text()
    rows = page.locator("#figure-rows tbody tr")
    assert rows.count() == 2 and [rows.nth(i).get_attribute("data-key") for i in range(2)] == ["INC-1", "INC-2"]
    assert "杨浦区" in rows.first.inner_text()
    page.screenshot(path=str(tmp_path / "figure-drill-down.png"), full_page=True)
    # ... and from a row to the receipt of the submission it came in
    rows.first.locator("a").click()
    page.wait_for_load_state()
    assert "Receipt for submission" in page.locator("h1").inner_text()

    # a rejected submission links to its receipt
    page.goto(built_site.as_uri() + "#rejected")
    page.locator("#rejected-table a", has_text="receipt").first.click()
    page.wait_for_load_state()
    assert "/receipts/" in page.url and "Receipt for submission" in page.locator("h1").inner_text()

    assert errors == []
    assert all(u.startswith("file://") for u in requests), [u for u in requests if not u.startswith("file://")]
