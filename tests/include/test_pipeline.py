"""The ledger and the load path against a real PostgreSQL and real Great Expectations."""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest

from stic import ledger, pipeline
from stic.ledger import Status, TransitionError


def ingest(fixture_file, name, submitter="PD", kind="projects", period="2018", **kw):
    return pipeline.ingest_file(fixture_file(f"pipeline/{name}"), submitter=submitter, kind=kind, period=period, **kw)


def test_clean_file_is_published_with_lineage_and_validation(clean_warehouse, fixture_file):
    out = ingest(fixture_file, "projects_ok.csv")
    assert out.status == "published", out.reason
    assert (out.rows_received, out.rows_loaded, out.rows_quarantined) == (3, 3, 0)
    c = clean_warehouse
    rows = c.execute(
        "select project_code, district, funding_municipal_yuan, source_row_number, submission_id "
        "from raw.projects order by project_code"
    ).fetchall()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("P-OK-1", "PD", Decimal("12000000.00"), 2),
        ("P-OK-2", "XH", Decimal("2000000.00"), 3),
        ("P-OK-3", "PD", Decimal("1500000.00"), 4),
    ]
    assert {r[4] for r in rows} == {out.submission_id}
    sub = ledger.get(c, out.submission_id)
    assert len(sub["sha256"]) == 64 and sub["bytes"] == fixture_file("pipeline/projects_ok.csv").stat().st_size
    run = c.execute(
        "select success, critical_failures, evaluated from audit.validation_runs where submission_id = %s",
        (out.submission_id,),
    ).fetchone()
    assert run[0] is True and run[1] == 0 and run[2] > 10
    n_results = c.execute(
        "select count(*) from audit.validation_results r join audit.validation_runs v using (validation_run_id) "
        "where v.submission_id = %s", (out.submission_id,)).fetchone()[0]
    assert n_results == run[2]
    events = [r[0] for r in c.execute(
        "select to_status from audit.submission_events where submission_id = %s order by event_id", (out.submission_id,))]
    assert events == ["received", "parsed", "validated", "published"]
    # the original bytes are archived, content-addressed
    archived = ledger.archive_path_for(sub["sha256"])
    assert archived.read_bytes() == fixture_file("pipeline/projects_ok.csv").read_bytes()


def test_same_bytes_twice_is_a_duplicate_and_loads_nothing(clean_warehouse, fixture_file, tmp_path):
    first = ingest(fixture_file, "projects_ok.csv")
    copy = tmp_path / "renamed.csv"
    shutil.copy(fixture_file("pipeline/projects_ok.csv"), copy)
    second = pipeline.ingest_file(copy, submitter="PD", kind="projects", period="2018")
    assert second.status == "duplicate"
    assert clean_warehouse.execute("select duplicate_of from audit.submissions where submission_id = %s",
                                   (second.submission_id,)).fetchone()[0] == first.submission_id
    assert clean_warehouse.execute("select count(*) from raw.projects").fetchone()[0] == 3


def test_rescanning_a_landing_file_registers_it_once(clean_warehouse, fixture_file):
    a = ingest(fixture_file, "projects_ok.csv", landing_path="PD/projects/2018/projects_ok.csv")
    b = ingest(fixture_file, "projects_ok.csv", landing_path="PD/projects/2018/projects_ok.csv")
    assert a.submission_id == b.submission_id and b.is_new is False
    assert clean_warehouse.execute("select count(*) from audit.submissions").fetchone()[0] == 1


def test_correction_supersedes_the_earlier_submission(clean_warehouse, fixture_file):
    first = ingest(fixture_file, "projects_ok.csv")
    second = ingest(fixture_file, "projects_correction.csv")
    assert second.status == "published"
    c = clean_warehouse
    assert ledger.get(c, first.submission_id)["status"] == "superseded"
    assert ledger.get(c, first.submission_id)["superseded_by"] == second.submission_id
    # raw keeps both for the audit trail
    assert c.execute("select count(*) from raw.projects").fetchone()[0] == 5


def test_bad_rows_are_quarantined_with_rule_column_and_value(clean_warehouse, fixture_file):
    out = ingest(fixture_file, "projects_bad_rows.csv", submitter="YP")
    assert out.status == "published"
    assert (out.rows_received, out.rows_loaded, out.rows_quarantined) == (6, 1, 5)
    got = clean_warehouse.execute(
        "select source_row_number, column_name, submitted_value, rule, severity from audit.rejected_rows "
        "where submission_id = %s order by source_row_number", (out.submission_id,)).fetchall()
    assert got == [
        (3, "district", "Atlantis", "code_list", "critical"),
        (4, "funding_municipal_yuan", "-5", "amount_non_negative", "critical"),
        (5, "end_date", "2018-06-01 > 2018-01-01", "start_before_end", "critical"),
        (6, "project_code", "P-Q-1", "duplicate_key", "critical"),
        (7, "start_date", "2018-13-45", "date_parse", "critical"),
    ]
    assert clean_warehouse.execute("select project_code from raw.projects").fetchall() == [("P-Q-1",)]


def test_missing_required_column_rejects_the_file_naming_it(clean_warehouse, fixture_file):
    out = ingest(fixture_file, "projects_missing_column.csv")
    assert out.status == "rejected"
    assert "projects_missing_column.csv" in out.reason and "district" in out.reason
    assert clean_warehouse.execute("select count(*) from raw.projects").fetchone()[0] == 0


def test_kind_the_submitter_may_not_send_is_rejected(clean_warehouse, fixture_file):
    out = ingest(fixture_file, "projects_ok.csv", submitter="SIPTC")
    assert out.status == "rejected" and "may not send" in out.reason


def test_critical_expectation_failure_stops_publication(clean_warehouse, fixture_file):
    """The GX gate: rows that slipped past the loader's rules (here: altered in raw) block the submission."""
    c = clean_warehouse
    reg = ledger.register(c, fixture_file("pipeline/projects_ok.csv"), submitter="PD", kind="projects", period="2018")
    pipeline.load_step(c, reg.submission_id)
    c.execute("update raw.projects set district = 'ZZ' where submission_id = %s and project_code = 'P-OK-2'",
              (reg.submission_id,))
    run = pipeline.validate_step(c, reg.submission_id)
    assert run is not None and not run.success and "code_list" in run.failed_rules
    sub = ledger.get(c, reg.submission_id)
    assert sub["status"] == "rejected" and "code_list" in sub["status_reason"]
    failed = c.execute(
        "select column_name, unexpected_count, unexpected_examples from audit.validation_results r "
        "join audit.validation_runs v using (validation_run_id) where v.submission_id = %s and not r.success",
        (reg.submission_id,)).fetchall()
    assert ("district", 1, ["ZZ"]) in failed
    assert pipeline.process(c, reg.submission_id).status == "rejected"  # and it stays so


def test_a_status_moves_only_through_the_ledgers_guarded_transition(clean_warehouse, fixture_file):
    """ledger.transition locks the row, checks where it is and that the move is allowed, and writes the event;
    anything else is refused with nothing written."""
    c = clean_warehouse
    reg = ledger.register(c, fixture_file("pipeline/projects_ok.csv"), submitter="PD", kind="projects", period="2018")
    sid = reg.submission_id
    assert reg.status == Status.RECEIVED == "received"
    with pytest.raises(TransitionError, match=f"submission {sid} is received, not parsed"):
        ledger.transition(c, sid, Status.PARSED, Status.VALIDATED)
    with pytest.raises(TransitionError, match="received -> published is not an allowed move"):
        ledger.transition(c, sid, Status.RECEIVED, Status.PUBLISHED)
    assert ledger.get(c, sid)["status"] == "received"
    assert ledger.transition(c, sid, ledger.UNFINISHED, Status.REJECTED, "refused by hand", rows_loaded=0) == "rejected"
    sub = ledger.get(c, sid)
    assert (sub["status"], sub["status_reason"], sub["rows_loaded"]) == ("rejected", "refused by hand", 0)
    with pytest.raises(TransitionError, match="from rejected: nothing: it is final"):
        ledger.transition(c, sid, Status.REJECTED, Status.VALIDATED)
    events = c.execute("select from_status, to_status, detail from audit.submission_events where submission_id = %s "
                       "order by event_id", (sid,)).fetchall()
    assert [(e[0], e[1]) for e in events] == [(None, "received"), ("received", "rejected")]
    assert events[1][2] == "refused by hand"
    # every status has its moves; the final ones none but published -> superseded
    assert set(ledger.TRANSITIONS) == set(Status)
    assert {s for s in ledger.TERMINAL if ledger.TRANSITIONS[s]} == {Status.PUBLISHED}


@pytest.mark.parametrize("stop_after", ["received", "parsed", "validated"])
def test_a_submission_left_half_way_is_finished_by_resume(clean_warehouse, fixture_file, stop_after):
    c = clean_warehouse
    reg = ledger.register(c, fixture_file("pipeline/projects_ok.csv"), submitter="PD", kind="projects", period="2018")
    if stop_after in ("parsed", "validated"):
        pipeline.load_step(c, reg.submission_id)
    if stop_after == "validated":
        pipeline.validate_step(c, reg.submission_id)
    assert ledger.get(c, reg.submission_id)["status"] == stop_after
    [out] = pipeline.resume_unfinished()
    assert out.status == "published" and out.rows_loaded == 3
    assert c.execute("select count(*) from raw.projects").fetchone()[0] == 3
    assert c.execute("select count(*) from audit.loads").fetchone()[0] == 1


def test_quarantine_past_the_memory_limit_is_kept_on_disk_and_loaded_whole(clean_warehouse, fixture_file, tmp_path,
                                                                          monkeypatch):
    """The quarantine list of a huge bad file spills to disk (stic.intake.spill); every record still reaches the ledger."""
    from stic.intake import spill

    monkeypatch.setattr(spill, "KEEP_IN_MEMORY", 4)
    good = fixture_file("pipeline/projects_ok.csv").read_text(encoding="utf-8").splitlines()
    lines = [good[0], good[1]] + [good[1].replace("P-OK-1", f"P-BAD-{i}").replace(",PD,", f",Atlantis{i},")
                                  for i in range(12)]
    path = tmp_path / "projects_many_bad.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = pipeline.ingest_file(path, submitter="PD", kind="projects", period="2018")
    assert out.status == "published", out.reason
    assert (out.rows_loaded, out.rows_quarantined) == (1, 12)
    got = clean_warehouse.execute(
        "select source_row_number, submitted_value, rule from audit.rejected_rows where submission_id = %s "
        "order by source_row_number", (out.submission_id,)).fetchall()
    assert got == [(i + 3, f"Atlantis{i}", "code_list") for i in range(12)]


def test_an_office_file_with_a_title_line_wan_yuan_headers_and_a_total_row_loads_every_amount(clean_warehouse, tmp_path):
    """As a district office writes it: GB18030, a title line, 所属领域, amounts in 万元 under their own words,
    a 合计 row. Every amount reaches raw to the yuan; the total row is skipped and listed, not loaded."""
    path = tmp_path / "浦东2018项目.csv"
    path.write_text(
        "浦东新区2018年度科技项目汇总表\n"
        "项目编号,项目名称,项目级别,所属领域,牵头单位,单位性质,所在区,立项日期,结束日期,项目状态,"
        "中央财政资助（万元）,市级财政资助（万元）,区级配套资金（万元）,自筹资金（万元）\n"
        "PD-2018-001,张江光子芯片,市级,集成电路,复旦大学,高校,浦东新区,2018-03-01,2020-12-31,在研,120.5,80.25,30,15.125\n"
        "合计,,,,,,,,,,120.5,80.25,30,15.125\n", encoding="gb18030")
    out = pipeline.ingest_file(path, submitter="PD", kind="projects", period="2018")
    assert (out.status, out.rows_loaded, out.rows_quarantined) == ("published", 1, 0), out.reason
    c = clean_warehouse
    assert c.execute("select field, funding_central_yuan, funding_municipal_yuan, funding_district_yuan, "
                     "funding_self_raised_yuan from raw.projects").fetchall() == [
        ("integrated_circuits", Decimal("1205000.00"), Decimal("802500.00"), Decimal("300000.00"),
         Decimal("151250.00"))]
    skipped = c.execute("select intake_details->'skipped_rows' from audit.loads").fetchone()[0]
    assert [s["reason"] for s in skipped] == ["total_row"]
