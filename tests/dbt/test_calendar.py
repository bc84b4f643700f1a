"""The submission calendar on a real PostgreSQL and dbt: due dates, late files, nil declarations, the overdue check."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg
import pytest

from stic import pipeline
from stic.contract import seeds
from stic.ledger import declarations
from stic.ops import calendar_check
from stic.warehouse import db
from stic.warehouse import dbt_runner as dbt
from tests.conftest import reset_warehouse

PROJECT_COLUMNS = (
    "project_code,title,level,programme,field,lead_institution,institution_type,district,start_date,end_date,"
    "status,funding_central_yuan,funding_municipal_yuan,funding_district_yuan,funding_self_raised_yuan"
)
FACILITY_COLUMNS = (
    "facility_code,name,facility_type,field,district,host_institution,status,construction_start_date,"
    "operation_start_date,total_investment_yuan,original_value_yuan,is_shared,service_hours,external_users"
)
# Only the calendar's own models and what they read: the rest of the project is tested elsewhere.
CALENDAR_MODELS = ["build", "--select", "+rpt_submission_completeness", "--indirect-selection", "cautious"]


def _ingest(tmp: Path, name: str, header: str, rows: list[str], *, submitter: str, kind: str, period: str,
            received_at: str | None = None) -> int:
    path = tmp / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    out = pipeline.ingest_file(path, submitter=submitter, kind=kind, period=period)
    if received_at:  # the file "arrived" on that day (the ledger's clock cannot be turned back otherwise)
        with psycopg.connect(db.warehouse_url(), autocommit=True) as conn:
            conn.execute("update audit.submissions set received_at = %s where submission_id = %s",
                         (received_at, out.submission_id))
    return out.submission_id


def _calendar(conn) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in conn.execute(
        "select calendar_item_id, calendar_state, days_late, satisfied_by_submission_id, due_date "
        "from marts.rpt_submission_calendar")}


def _completeness(conn) -> dict[str, str]:
    return dict(conn.execute("select completeness_id, completeness_status from marts.rpt_submission_completeness"))


@pytest.fixture(scope="module")
def calendar(warehouse_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("calendar-files")
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        reset_warehouse(conn)
    ids = {
        # 31 March 2019 is the due date of 2018's projects; 14 grace days run to 14 April
        "pd_late": _ingest(tmp, "pd.csv", PROJECT_COLUMNS, [
            "P-1,Chip lab,national_major,other,integrated_circuits,Fudan,university,PD,2018-01-01,,underway,100,,,",
        ], submitter="PD", kind="projects", period="2018", received_at="2019-05-10 10:00+08"),
        "xh_on_time": _ingest(tmp, "xh.csv", PROJECT_COLUMNS, [
            "X-1,Robots,municipal,other,artificial_intelligence,SJTU,university,XH,2018-03-01,,underway,,10,,",
        ], submitter="XH", kind="projects", period="2018", received_at="2019-03-20 09:00+08"),
        "ja_in_grace": _ingest(tmp, "ja.csv", PROJECT_COLUMNS, [
            "J-1,Genes,municipal,other,biomedicine,SIBS,research_institute,JA,2018-03-01,,underway,,10,,",
        ], submitter="JA", kind="projects", period="2018", received_at="2019-04-10 09:00+08"),
        "cn_rejected": _ingest(tmp, "cn.csv", "code,something_else", ["P-9,whatever"],
                               submitter="CN", kind="projects", period="2018", received_at="2019-03-01 09:00+08"),
        # a yearly facilities file covers the four quarters the calendar asks of a district
        "pd_facilities": _ingest(tmp, "pdf.csv", FACILITY_COLUMNS, [
            "F-1,Synchrotron,national_major_infrastructure,photonics,PD,SARI,under_construction,2015-01-01,,1000,,,,",
        ], submitter="PD", kind="facilities", period="2018", received_at="2019-01-20 09:00+08"),
    }
    dbt.run(CALENDAR_MODELS, quiet=True)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        before = _calendar(conn), _completeness(conn)
        overdue_2019_04_15 = calendar_check.newly_overdue(conn, date(2019, 4, 15), date(2019, 4, 16))
    nil = declarations.declare_nil("HP", "projects", "2018", "no project started in 2018")
    refused = declarations.declare_nil("PD", "projects", "2018")
    dbt.run(CALENDAR_MODELS, quiet=True)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        after = _calendar(conn), _completeness(conn)
        overdue_after = calendar_check.newly_overdue(conn, date(2019, 4, 15), date(2019, 4, 16))
    dbt.run([*CALENDAR_MODELS, "--vars", "{calendar_as_of_date: '2019-03-01'}"], quiet=True)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        early = _calendar(conn), _completeness(conn)
    return {"ids": ids, "before": before, "after": after, "early": early, "nil": nil, "refused": refused,
            "overdue": overdue_2019_04_15, "overdue_after": overdue_after}


@pytest.mark.slow
def test_a_file_after_its_due_date_and_grace_is_late_by_days_after_the_due_date(calendar):
    cal, _ = calendar["before"]
    state, days, by, due = cal["PD|projects|2018"]
    assert (state, days, by, due) == ("late", 40, calendar["ids"]["pd_late"], date(2019, 3, 31))
    assert cal["XH|projects|2018"][:3] == ("received", 0, calendar["ids"]["xh_on_time"])
    assert cal["JA|projects|2018"][:2] == ("received", 10)  # ten days after, within the 14 grace days


@pytest.mark.slow
def test_a_yearly_file_covers_the_quarters_and_each_quarter_has_its_own_due_date(calendar):
    cal, _ = calendar["before"]
    sid = calendar["ids"]["pd_facilities"]
    assert cal["PD|facilities|2018Q1"] == ("late", 265, sid, date(2018, 4, 30))  # 2018-04-30 -> 2019-01-20
    assert cal["PD|facilities|2018Q4"] == ("received", 0, sid, date(2019, 1, 30))


@pytest.mark.slow
def test_a_nil_declaration_turns_missing_into_nil_declared(calendar):
    cal, comp = calendar["before"]
    assert cal["HP|projects|2018"][0] == "missing" and comp["HP|projects|2018"] == "missing"
    assert calendar["nil"].status == "published"
    cal, comp = calendar["after"]
    assert cal["HP|projects|2018"][0] == "nil_declared"
    assert cal["HP|projects|2018"][2] == calendar["nil"].submission_id
    assert comp["HP|projects|2018"] == "nil_declared"
    assert comp["PD|projects|2018"] == "published"


@pytest.mark.slow
def test_a_nil_declaration_does_not_silently_withdraw_published_data(calendar):
    refused = calendar["refused"]
    assert refused.status == "rejected"
    assert "submission" in refused.reason and "--replace-published" in refused.reason
    cal, _ = calendar["after"]
    assert cal["PD|projects|2018"][0] == "late"  # the data stays published


@pytest.mark.slow
def test_a_rejected_file_does_not_meet_the_obligation(calendar):
    cal, comp = calendar["after"]
    assert cal["CN|projects|2018"][0] == "missing"
    assert comp["CN|projects|2018"] == "not_published"


@pytest.mark.slow
def test_before_the_due_date_nothing_is_missing_yet(calendar):
    # as of 1 March 2019: 2018's projects are not due yet, and what arrived later is not counted yet
    cal, comp = calendar["early"]
    assert cal["HP|projects|2018"][0] == "not_due" and comp["SJ|projects|2018"] == "not_due"
    assert cal["PD|projects|2018"][0] == "not_due"
    assert cal["HP|projects|2017"][0] == "missing" and comp["HP|projects|2017"] == "missing"
    assert "PD|facilities|2019Q1" in cal and "PD|facilities|2019Q2" not in cal  # a period not begun is not listed


@pytest.mark.slow
def test_every_expected_submitter_kind_and_year_is_listed(calendar):
    cal, _ = calendar["after"]
    expected = {(e["submitter_code"], e["submission_kind"]) for e in seeds.calendar_entries()}
    listed = {tuple(k.split("|")[:2]) for k in cal}
    assert listed == expected
    assert "SIPTC|ip_transactions|2016Q3" in cal and "SHFB|platform_assessments|2019" in cal


@pytest.mark.slow
def test_the_overdue_check_names_what_became_overdue_that_day(calendar):
    # 2018's projects are overdue from 15 April 2019: HP (nothing) and CN (only a rejected file)
    got = {i["calendar_item_id"] for i in calendar["overdue"]}
    assert {"HP|projects|2018", "CN|projects|2018"} <= got
    assert not got & {"PD|projects|2018", "XH|projects|2018", "JA|projects|2018"}
    assert all(i["overdue_from"] == date(2019, 4, 15) for i in calendar["overdue"])
    after = {i["calendar_item_id"] for i in calendar["overdue_after"]}
    assert "HP|projects|2018" not in after and "CN|projects|2018" in after  # the declaration answered it
    cn = next(i for i in calendar["overdue_after"] if i["calendar_item_id"] == "CN|projects|2018")
    assert calendar_check.describe(cn) == ("CN projects 2018: due 2019-03-31, overdue from 2019-04-15, nothing "
                                           "published (1 rejected submission)")


def test_the_landing_file_convention_declares_nil(warehouse_url, tmp_path):
    path = tmp_path / "无数据申报.txt"
    path.write_text("本季度无新增设施\n", encoding="utf-8")
    out = pipeline.ingest_file(path, submitter="YP", kind="facilities", period="2017Q2")
    assert out.status == "published" and out.rows_loaded == 0
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        flag, events = conn.execute(
            "select is_nil_declaration, (select array_agg(detail order by event_id) from audit.submission_events e "
            "where e.submission_id = s.submission_id) from audit.submissions s where submission_id = %s",
            (out.submission_id,)).fetchone()
    assert flag is True
    assert any("declared nothing to report (0 rows): 本季度无新增设施" in (e or "") for e in events)
    assert declarations.is_nil_file_name("nil.TXT") and not declarations.is_nil_file_name("nil.csv")


def test_the_cli_declares_nil_with_its_note(warehouse_url, capsys):
    from stic.cli import main

    assert main(["declare-nil", "--submitter", "jd", "--kind", "platform_assessments", "--period", "2016",
                 "--note", "no platform in Jiading yet"]) == 0
    assert "JD platform_assessments 2016: declared nothing to report" in capsys.readouterr().out
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        detail = conn.execute(
            "select e.detail from audit.submission_events e join audit.submissions s using (submission_id) "
            "where s.submitter_code = 'JD' and e.to_status = 'validated'").fetchone()[0]
    assert detail == "declared nothing to report (0 rows): no platform in Jiading yet"
    assert main(["declare-nil", "--submitter", "JD", "--kind", "ip_transactions", "--period", "2016"]) == 1
    assert "may not send 'ip_transactions'" in capsys.readouterr().out


def test_the_overdue_check_says_when_the_calendar_is_not_built(warehouse_url):
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        exists = conn.execute("select to_regclass('marts.rpt_submission_calendar') is not null").fetchone()[0]
        if exists:
            conn.execute("alter table marts.rpt_submission_calendar rename to rpt_submission_calendar_aside")
        try:
            with pytest.raises(calendar_check.CalendarNotBuilt, match="stic build"):
                calendar_check.newly_overdue(conn, date(2019, 4, 15), date(2019, 4, 16))
        finally:
            if exists:
                conn.execute("alter table marts.rpt_submission_calendar_aside rename to rpt_submission_calendar")
