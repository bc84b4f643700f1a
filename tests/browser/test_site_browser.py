"""The auditors' site in a real browser: headless Chromium opens it from disk, filters the ledger, no errors.

Needs /usr/bin/chromium (Debian: apt-get install chromium; for Chinese text also fonts-noto-cjk).
The screenshots go to test-output/ under the project root (git-ignored) for a person to look at.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stic import pipeline
from stic.reports import receipts, site

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
    for name, submitter, period in (("projects_ok.csv", "PD", "2018"), ("projects_bad_rows.csv", "YP", "2018"),
                                    ("projects_missing_column.csv", "XH", "2017"), ("projects_correction.csv", "PD", "2018")):
        pipeline.ingest_file(fixture_file(f"pipeline/{name}"), submitter=submitter, kind="projects", period=period)
    return site.build_site(tmp_path / "site")


def test_site_opens_from_disk_filters_and_has_no_errors(browser, built_site):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
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
    assert page.locator("h1").inner_text().startswith("Receipt for submission")
    receipt_shot = out / "receipt.png"
    page.screenshot(path=str(receipt_shot), full_page=True)
    print(f"screenshot: {receipt_shot}")
    page.goto(built_site.parent.joinpath("receipts", "2.html").as_uri())
    first = page.locator("table.examples[data-rule=code_list] tbody tr").first.locator("td")
    assert [first.nth(i).inner_text() for i in (0, 1, 2)] == ["3", "district", "Atlantis"]  # row, column, value
    page.screenshot(path=str(out / "receipt-bad-rows.png"), full_page=True)

    assert errors == []
    assert all(u.startswith("file://") for u in requests), [u for u in requests if not u.startswith("file://")]
