"""The auditors' site against a real PostgreSQL: what auditors look for first (figures off, findings, overdue and
rejected submissions), tables, matrix, charts, receipts, drill-down pages, degrading without marts."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from stic import pipeline
from stic.reports import charts, receipts, site


class Tables(HTMLParser):
    """Tables by id: their body rows (cell texts, the row's attributes and links, the id of its tbody); plus
    every element id and tag, the links, and the ids of the sections in page order."""

    def __init__(self, text: str):
        super().__init__()
        self.tables: dict[str, list[dict]] = {}
        self.ids: set[str] = set()
        self.sections: list[str] = []
        self._tbody: str | None = None
        self.tags: dict[str, int] = {}
        self.links: list[str] = []
        self._table: str | None = None
        self._row: dict | None = None
        self._cell: list[str] | None = None
        self._in_body = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "section" and a.get("id"):
            self.sections.append(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
            if self._row is not None:
                self._row["links"].append(a["href"])
        if tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[self._table] = []
        elif tag == "tbody":
            self._in_body = True
            self._tbody = a.get("id")
        elif tag == "tr" and self._table and self._in_body:
            self._row = {"attrs": a, "cells": [], "links": [], "tbody": self._tbody}
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row["cells"].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture()
def loaded(clean_warehouse, fixture_file):
    shutil.rmtree(receipts.receipts_dir(), ignore_errors=True)
    ok = pipeline.ingest_file(fixture_file("pipeline/projects_ok.csv"), submitter="PD", kind="projects", period="2018")
    bad = pipeline.ingest_file(fixture_file("pipeline/projects_bad_rows.csv"), submitter="YP", kind="projects",
                               period="2018")
    rejected = pipeline.ingest_file(fixture_file("pipeline/projects_missing_column.csv"), submitter="XH",
                                    kind="projects", period="2017")
    return clean_warehouse, ok, bad, rejected


def _mart_exists(conn, name):
    return conn.execute("select to_regclass(%s) is not null", (f"marts.{name}",)).fetchone()[0]


def test_site_has_ledger_matrix_charts_and_receipts(loaded, tmp_path):
    conn, ok, bad, rejected = loaded
    index = site.build_site(tmp_path / "site")
    assert index == (tmp_path / "site" / "index.html").resolve()
    text = index.read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in text
    assert "https://" not in text.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from the network
    page = Tables(text)
    assert {"ledger-table", "completeness-matrix", "validation-table", "funding-table"} <= set(page.tables)

    ledger = page.tables["ledger-table"]
    assert [int(r["cells"][0]) for r in ledger] == [rejected.submission_id, bad.submission_id, ok.submission_id]
    by_id = {int(r["cells"][0]): r for r in ledger}
    assert by_id[ok.submission_id]["attrs"]["data-status"] == "published"
    assert by_id[rejected.submission_id]["attrs"]["data-status"] == "rejected"
    assert "浦东新区" in by_id[ok.submission_id]["cells"][1] and "杨浦区" in by_id[bad.submission_id]["cells"][1]
    # each finished submission links to its receipt, written under the site
    for sid in (ok.submission_id, bad.submission_id, rejected.submission_id):
        assert f"receipts/{sid}.html" in page.links
        assert (tmp_path / "site" / "receipts" / f"{sid}.html").exists()
        assert (tmp_path / "site" / "receipts" / f"{sid}.json").exists()

    # completeness: who has not sent what, for every submitter the ledger knows of
    matrix = {r["attrs"]["data-submitter"]: r for r in page.tables["completeness-matrix"]}
    assert {"PD", "YP", "XH", "HP", "STCSM"} <= set(matrix)
    assert "✓" in matrix["PD"]["cells"] and "✗" in matrix["HP"]["cells"]
    assert "!" in matrix["XH"]["cells"]  # received but rejected

    # charts: inline SVG with a <title>, and a table of the same numbers
    assert page.tags.get("svg", 0) >= 2 and "<title id=" in text
    validation = page.tables["validation-table"]
    assert validation and validation[0]["cells"][1] == "2"  # two batches validated today (the third was rejected unread)
    funding = page.tables["funding-table"]
    assert [r["cells"][0] for r in funding] == ["2018"]
    # central 50,000,000 + 8,000,000 (P-OK-1/2) of the clean file; the bad file's good row has none
    assert funding[0]["cells"][1] == "58,000,000.00"

    # the first page leads with what auditors look for, then the ledger and the rest
    assert page.sections == ["reconciliation", "findings", "overdue", "rejected", "ledger", "completeness",
                             "validation", "funding", "indicators", "links"]
    assert {"summary-off", "summary-findings", "summary-overdue", "summary-rejected"} <= page.ids
    for anchor in ("#reconciliation", "#findings", "#overdue", "#rejected"):
        assert anchor in page.links
    assert text.index('id="summary"') < text.index('<section id="reconciliation">')
    # rejected submissions: the missing-column file, with its reason and its receipt
    refused = page.tables["rejected-table"]
    assert [int(r["cells"][0]) for r in refused] == [rejected.submission_id]
    assert "district" in refused[0]["cells"][6]  # the reason names the missing column
    assert f"receipts/{rejected.submission_id}.html" in refused[0]["links"]
    assert '<b>1</b> rejected submissions' in " ".join(text.split())

    # innovation indicators without the mart: projects of the published submissions by start year and
    # district, the districts by their Chinese names
    projects = {r["attrs"]["data-district"]: r["cells"] for r in page.tables["indicator-projects_started"]}
    assert projects["PD"][:2] == ["浦东新区 Pudong New Area", "2"]  # P-OK-1 and P-OK-3 (given as 浦东新区)
    assert projects["XH"][1] == "1" and projects["YP"][1] == "1"  # P-OK-2; the bad file's one good row
    assert "rpt_innovation_indicators is not built yet" in text
    indicators = text[text.index('<section id="indicators">'):text.index('<section id="links">')]
    assert indicators.count("<svg") == 2 and ">浦东新区</text>" in indicators

    # marts not built in the test database: the page says so instead of failing
    if not _mart_exists(conn, "rpt_control_totals"):
        assert "reconciliation-not-built" in page.ids and "rpt_control_totals is not built yet" in text
        assert '<b title="not built yet">—</b> figures off' in " ".join(text.split())
        assert not (tmp_path / "site" / "figures").exists()
    if not _mart_exists(conn, "rpt_submission_calendar"):
        assert "overdue-not-built" in page.ids and "rpt_submission_calendar is not built yet" in text
    # links to reports that do not exist yet are not links (an earlier test of the session may have built them)
    from stic.config import settings

    if not (settings().reports_dir / "dbt-docs" / "index.html").exists():
        assert "dbt docs <span class=\"muted\">(not built yet)</span>" in text


MARTS = {  # small stand-ins for the dbt marts the site reads, with the columns it reads
    "rpt_control_totals": """
        select * from (values
            ('functional_platforms_2018', 'Functional platforms initially determined', '2018', 18::numeric, 18::numeric,
             0::numeric, 18::bigint, 'match'),
            ('incubators_2019', 'Maker-space <b>incubators</b>', '2019', 600, 540, 0.05, 2, 'off'),
            ('a_projects_2018', 'Projects started', '2018', 3, 2, 0, 2, 'off'),
            ('b_roughly_2018', 'Roughly', '2018', 100, 99, 0.05, 1, 'within_tolerance')
        ) as t (figure_code, figure, as_of, published_value, warehouse_value, tolerance, rows_counted, status)""",
    "rpt_control_total_rows": """
        select * from (values
            ('incubators_2019', 'facilities', 'INC-2', 'PD', {ok}::bigint, '2019-03-01'::date, 1::numeric),
            ('incubators_2019', 'facilities', 'INC-1', 'YP', {bad}::bigint, '2018-05-01'::date, 1::numeric),
            ('a_projects_2018', 'projects', 'P-OK-1', 'PD', {ok}::bigint, '2018-03-01'::date, 1::numeric)
        ) as t (figure_code, source_kind, business_key, submitter_code, submission_id, counted_date, counted_value)""",
    "rpt_submission_calendar": """
        select * from (values
            ('HP', 'projects', '2018', 'missing', 400, '2019-03-31'::date, '2019-04-30'::date, 30, null::bigint,
             null::timestamptz, 0, 0),
            ('XH', 'projects', '2017', 'missing', 800, '2018-03-31'::date, '2018-04-30'::date, 30, null::bigint,
             null::timestamptz, 1, 1),
            ('PD', 'projects', '2018', 'late', 12, '2019-03-31'::date, '2019-04-30'::date, 30, {ok}::bigint,
             '2019-04-12 10:00+08'::timestamptz, 1, 0),
            ('YP', 'projects', '2018', 'received', 0, '2019-03-31'::date, '2019-04-30'::date, 30, {bad}::bigint,
             '2019-03-01 10:00+08'::timestamptz, 1, 0)
        ) as t (submitter_code, submission_kind, reporting_period, calendar_state, days_late, due_date,
                late_after_date, grace_days, satisfied_by_submission_id, satisfied_received_at, submissions_received,
                submissions_rejected)
        cross join (select '2020-06-01'::date as as_of_date) as a""",
    "rpt_period_consistency": """
        select * from (values
            ('R-PERIOD', 'start_before_floor', 'warning', 'projects', 'P-OLD', '2018', 'started 1999', 'Words A.'),
            ('R-PERIOD', 'completed_end_after_period', 'warning', 'projects', 'P-LATE', '2018', 'ends 2019', 'Words B.'),
            ('R-PERIOD', 'start_before_floor', 'warning', 'projects', 'P-OLDER', '2018', 'started 1998', 'Words A.')
        ) as t (rule_code, finding_code, severity, submission_kind, business_key, reporting_period, finding_detail,
                guideline_text)""",
    "rpt_innovation_indicators": """
        select * from (values
            (2018, 'PD', false, 5, 12000000.00::numeric, 1, 0),
            (2018, 'CM', true, null, null, null, null),
            (2019, 'PD', false, 0, 0.00, 0, 2),
            (2019, 'CM', false, 2, 500000.00, 0, 0),
            (1990, 'CM', true, null, null, null, null),
            (2018, 'HK', true, null, null, null, null),
            (2019, 'HK', true, null, null, null, null)
        ) as t (year_number, district_code, is_no_data, projects_started, project_funding_yuan, facilities_opened,
                ip_deals)""",
}


def _build_with_marts(conn, out: Path, marts: dict[str, str]) -> str:
    # Whatever earlier tests of the session built is set aside (not skipped over) and put back afterwards,
    # so this test runs the same in any order.
    conn.execute("alter schema marts rename to marts_set_aside_by_test_site")
    conn.execute("create schema marts")
    try:
        for name, q in marts.items():
            conn.execute(f"create table marts.{name} as {q}")
        return site.build_site(out).read_text(encoding="utf-8")
    finally:
        conn.execute("drop schema marts cascade")
        conn.execute("alter schema marts_set_aside_by_test_site rename to marts")


def test_site_uses_the_marts_when_they_exist(loaded, tmp_path):
    conn, ok, bad, rejected = loaded
    marts = {k: v.format(ok=ok.submission_id, bad=bad.submission_id) for k, v in MARTS.items()}
    marts["rpt_submission_completeness"] = """
        select * from (values ('PD', 'projects', 2018, true, 'published', 1), ('HP', 'projects', 2018, true, 'missing', 0))
        as t (submitter_code, submission_kind, reporting_year, is_expected, completeness_status, submissions_received)"""
    out = tmp_path / "site"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "withdrawn_figure.html").write_text("old", encoding="utf-8")
    text = _build_with_marts(conn, out, marts)
    page = Tables(text)
    flat = " ".join(text.split())

    # reconciliation: the figures off first (in figure order), then the others; each number opens its rows
    recon = page.tables["reconciliation-table"]
    assert [(r["attrs"]["data-figure"], r["attrs"]["data-status"]) for r in recon] == [
        ("a_projects_2018", "off"), ("incubators_2019", "off"), ("b_roughly_2018", "within_tolerance"),
        ("functional_platforms_2018", "match")]
    assert "Maker-space &lt;b&gt;incubators&lt;/b&gt;" in text
    assert recon[1]["cells"][2:5] == ["600", "540", "0.0500"]
    assert set(recon[1]["links"]) == {"figures/incubators_2019.html"}
    assert '<b>2</b> figures off' in flat and 'href="#reconciliation" id="summary-off" class="attention"' in flat

    # the drill-down page of a figure lists the rows it adds up, each linked to its submission's receipt
    drill = (out / "figures" / "incubators_2019.html").read_text(encoding="utf-8")
    rows = Tables(drill).tables["figure-rows"]
    assert [r["attrs"]["data-key"] for r in rows] == ["INC-1", "INC-2"]  # by counted date
    assert rows[0]["cells"][2].startswith("YP 杨浦区") and rows[0]["links"] == [f"../receipts/{bad.submission_id}.html"]
    assert (out / "figures" / rows[0]["links"][0]).resolve().exists()
    by_submitter = Tables(drill).tables["figure-by-submitter"]
    assert [(r["attrs"]["data-submitter"], r["cells"][1:]) for r in by_submitter] == [("PD", ["1", "1"]), ("YP", ["1", "1"])]
    assert 'id="figure-rows-total">2<' in drill and "Maker-space &lt;b&gt;incubators&lt;/b&gt;" in drill
    assert 'href="../index.html#reconciliation"' in drill
    assert "rows-none" in Tables((out / "figures" / "functional_platforms_2018.html").read_text(encoding="utf-8")).ids
    assert sorted(p.name for p in (out / "figures").iterdir()) == [  # one page per figure, the withdrawn one gone
        "a_projects_2018.html", "b_roughly_2018.html", "functional_platforms_2018.html", "incubators_2019.html"]

    # findings: each count links to the rows of its rule in the findings table
    by_rule = {r["cells"][1]: r for r in page.tables["findings-by-rule"]}
    assert by_rule["start_before_floor"]["cells"][3] == "2"
    anchor = by_rule["start_before_floor"]["links"][0]
    assert anchor.startswith("#") and anchor[1:] in page.ids
    listed = [r["cells"][2] for r in page.tables["findings-table"] if r["tbody"] == anchor[1:]]
    assert listed == ["projects P-OLD", "projects P-OLDER"]
    assert '<b>3</b> findings' in flat

    # overdue: missing first, longest overdue first, then received late (with its receipt); on time is not listed
    overdue = page.tables["overdue-table"]
    assert [(r["attrs"]["data-submitter"], r["attrs"]["data-state"], r["cells"][6]) for r in overdue] == [
        ("XH", "missing", "800"), ("HP", "missing", "400"), ("PD", "late", "12")]
    assert overdue[0]["links"] == ["#rejected"] and f"receipts/{ok.submission_id}.html" in overdue[2]["links"]
    assert "黄浦区" in overdue[1]["cells"][1]
    assert '<b>3</b> overdue submissions' in flat and "calendar as of 2020-06-01" in text

    # indicators from the mart: years with data only, no data is not 0, Chinese names
    projects = {r["attrs"]["data-district"]: r["cells"] for r in page.tables["indicator-projects_started"]}
    assert projects == {"PD": ["浦东新区 Pudong New Area", "5", "0", "5"], "HK": ["虹口区 Hongkou", "—", "—", "—"],
                        "CM": ["崇明区 Chongming", "—", "2", "2"]}
    funding = {r["attrs"]["data-district"]: r["cells"] for r in page.tables["indicator-project_funding_yuan"]}
    assert funding["PD"][1] == "12"  # million yuan
    assert {"indicator-facilities_opened", "indicator-ip_deals"} <= set(page.tables)
    assert "Source: marts.rpt_innovation_indicators (dbt)" in text

    matrix = {r["attrs"]["data-submitter"]: r["cells"] for r in page.tables["completeness-matrix"]}
    assert set(matrix) == {"PD", "HP"} and matrix["PD"][1] == "✓" and matrix["HP"][1] == "✗"
    assert "Source: marts.rpt_submission_completeness (dbt)" in text

    # a half-built warehouse: the totals without their rows; the drill-down says so, no traceback
    del marts["rpt_control_total_rows"]
    _build_with_marts(conn, tmp_path / "half", marts)
    drill = (tmp_path / "half" / "figures" / "incubators_2019.html").read_text(encoding="utf-8")
    assert "rows-not-built" in Tables(drill).ids and "rpt_control_total_rows is not built yet" in drill


def test_empty_warehouse_still_gets_a_site(clean_warehouse, tmp_path):
    shutil.rmtree(receipts.receipts_dir(), ignore_errors=True)
    text = site.build_site(tmp_path / "empty").read_text(encoding="utf-8")
    page = Tables(text)
    assert page.tables["ledger-table"] == []
    assert "No submission has been received yet." in text and "No validation has run yet." in text


def test_chart_escapes_labels_and_has_titles():
    svg = str(charts.stacked_bar_chart(["2018", "<2019>"], {"a": [1, 2], "b": [0, 3]}, title="T & <t>",
                                       labels={"a": "浦东", "b": "B"}))
    assert svg.startswith("<svg") and "<title" in svg and "T &amp; &lt;t&gt;" in svg and "&lt;2019&gt;" in svg
    assert svg.count('class="bar"') == 3  # a zero segment draws nothing
    assert "浦东" in svg


def test_heatmap_says_no_data_escapes_and_has_titles():
    svg = str(charts.heatmap(["浦东新区", "<x>"], ["2018", "2019"], [[3, None], [0, 12_000]], title="P & <q>",
                             unit="projects"))
    assert svg.startswith("<svg") and "P &amp; &lt;q&gt;" in svg and "&lt;x&gt;" in svg and "<x>" not in svg
    assert svg.count('class="cell"') == 4 and ">浦东新区</text>" in svg
    assert "浦东新区 · 2019: no data" in svg and "&lt;x&gt; · 2018: 0 projects" in svg
    assert ">12k</text>" in svg  # a large number is shortened to fit its cell
    assert ">&lt;0.1</text>" in str(charts.heatmap(["a"], ["2018", "2019"], [[0.001, 5]], title="t"))  # not 0


def test_cli_registration(tmp_path):
    import argparse

    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command")
    receipts.add_cli(sub)
    site.add_cli(sub)
    a = p.parse_args(["receipt", "12", "--format", "json"])
    assert (a.submission_id, a.format, a.func) == (12, "json", receipts.cmd_receipt)
    a = p.parse_args(["report", "--out", str(tmp_path)])
    assert Path(a.out) == tmp_path and a.func is site.cmd_report
