"""The project history is kept by its own incremental model (fct_projects_history), not by a dbt snapshot:
a build reads only the codes that can have changed, and must still record every change a snapshot would.
The lineage table (rpt_row_lineage) and the reports kept incrementally over the facts' new rows
(rpt_period_consistency, rpt_control_total_rows) must equal their full rebuild after the same builds.

One scenario for the module, four builds of the history and what it reads:
A. PD's 2018 file (P-OK-1..3);
B. PD's 2018 correction: P-OK-1 changed, P-OK-2 re-reported as it was, P-OK-3 dropped (closed);
C. PD's 2019 file: P-OK-2 changed, P-OK-3 reported again (a closed code comes back): P-OK-1 untouched;
D. PD's 2019 correction drops P-OK-2: its 2019 row is superseded and the code falls back to the 2018
   correction, a submission published before the history's watermark (found through the current version's
   submission, not through a new publication); P-OK-3 re-reported under another lead institution name.
"""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from stic import pipeline
from stic.warehouse import dbt_runner as dbt
from tests.conftest import FIXTURES, reset_warehouse

pytestmark = pytest.mark.slow

SELECT = ["build", "--select", "+fct_projects_history", "+rpt_row_lineage", "+rpt_period_consistency",
          "+rpt_control_total_rows", "+int_projects_indicators_by_submission", "+int_projects_lead_institutions",
          "--indirect-selection", "cautious"]
FINDINGS = "select * from marts.rpt_period_consistency order by period_finding_id"
CONTROL_ROWS = "select * from marts.rpt_control_total_rows order by control_total_row_id"
# the indicators' partial sums per submission, district and start year, and the same added up from the fact now
PARTIALS = """select submission_id, district_code, year_number, projects_started, national_projects_started,
    project_funding_yuan from intermediate.int_projects_indicators_by_submission order by 1, 2, 3"""
PARTIALS_FROM_FACT = """select submission_id, district_code, extract(year from start_date)::int, count(*),
    count(*) filter (where project_level in ('national_major', 'national_key')),
    sum(coalesce(funding_central_yuan, 0) + coalesce(funding_municipal_yuan, 0) + coalesce(funding_district_yuan, 0)
        + coalesce(funding_self_raised_yuan, 0))
    from marts.fct_projects group by 1, 2, 3 order by 1, 2, 3"""
# the lead institutions' counts kept by deltas from the history, and the same counted over the fact now
LEADS = """select lead_institution_name, lead_institution_type, projects_reported
    from intermediate.int_projects_lead_institutions order by 1, 2"""
LEADS_FROM_FACT = """select lead_institution_name, lead_institution_type, count(*)
    from marts.fct_projects group by 1, 2 order by 1, 2"""
LINEAGE = "select * from marts.rpt_row_lineage order by lineage_row_id"
# lineage rows whose is_in_mart disagrees with fct_projects, or whose submission status is not the ledger's
LINEAGE_WRONG = """
    select l.business_key, l.submission_id from marts.rpt_row_lineage l
    join audit.submissions s using (submission_id)
    where l.submission_kind = 'projects' and (l.submission_status is distinct from s.status or l.is_in_mart !=
        exists (select from marts.fct_projects f where f.project_code = l.business_key
                and f.submission_id = l.submission_id))"""
HEADER = (FIXTURES / "pipeline" / "projects_ok.csv").read_text(encoding="utf-8").splitlines()[0]
P2_2019 = ("P-OK-2,Brain atlas,national_key,national_key_rd,brain_science,Institute of Neuroscience,"
           "research_institute,XH,2018-05-10,2021-05-09,underway,8000000,2100000,500000,,PD")
P3 = ("P-OK-3,Chip packaging,municipal,municipal_major_st,integrated_circuits,SMIC,enterprise,PD,2018-07-01,"
      "2019-06-30,completed,,1500000,300000,4000000,")
P3_RENAMED = P3.replace(",SMIC,", ",SMIC Shanghai,")  # D: the same project under another lead institution name


def _versions(conn, code: str) -> list[tuple]:
    return conn.execute(
        "select version_number, submission_id, is_current, valid_to is null, funding_municipal_yuan "
        "from marts.fct_projects_history where project_code = %s order by version_number", (code,)).fetchall()


def _rows(conn) -> dict[str, list]:
    """Every history row with its physical identity (xmin, ctid): a rewritten row gets new ones."""
    return {r[0]: r[1:] for r in conn.execute(
        "select project_version_id, xmin::text, ctid::text, project_code from marts.fct_projects_history")}


# Each build reads the changed codes only ("few"), or, as after a big load, compares every code ("many":
# a change counts as big from 0 rows, var stic_few_changes): both paths must tell the same story.
@pytest.fixture(scope="module", params=["few", "many"])
def story(request, warehouse_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("history-incremental")
    select = SELECT + (["--vars", "{stic_few_changes: 0}"] if request.param == "many" else [])
    with psycopg.connect(warehouse_url, autocommit=True) as c:
        reset_warehouse(c)

    def ingest(path, period):
        out = pipeline.ingest_file(path, submitter="PD", kind="projects", period=period)
        assert out.status == "published", out
        return out.submission_id

    def file(name, *rows):
        p = tmp / name
        p.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
        return p

    s = {"url": warehouse_url}
    with psycopg.connect(warehouse_url, autocommit=True) as c:
        s["s1"] = ingest(FIXTURES / "pipeline" / "projects_ok.csv", "2018")
        dbt.run(select, quiet=True)
        s["findings_a"] = c.execute(FINDINGS).fetchall()
        s["s2"] = ingest(FIXTURES / "pipeline" / "projects_correction.csv", "2018")
        dbt.run(select, quiet=True)
        s["findings_b"] = c.execute(FINDINGS).fetchall()
        s["before_c"] = _rows(c)
        s["leads"] = {"B": (c.execute(LEADS).fetchall(), c.execute(LEADS_FROM_FACT).fetchall())}
        s["s3"] = ingest(file("pd_2019.csv", P2_2019, P3), "2019")
        # the lead institutions' counts skip build C: build D reads C's versions and its own, among them
        # P-OK-2's 2019 version, opened by C and closed by D (it counts neither way)
        dbt.run([*select, "--exclude", "int_projects_lead_institutions"], quiet=True)
        s["after_c"] = _rows(c)
        s["lineage_wrong"] = {"C": c.execute(LINEAGE_WRONG).fetchall()}
        s["partials"] = {"C": (c.execute(PARTIALS).fetchall(), c.execute(PARTIALS_FROM_FACT).fetchall())}
        s["s4"] = ingest(file("pd_2019_v2.csv", P3_RENAMED), "2019")
        dbt.run(select, quiet=True)
        s["after_d"] = _rows(c)
        s["lineage"] = c.execute(LINEAGE).fetchall()
        s["lineage_wrong"]["D"] = c.execute(LINEAGE_WRONG).fetchall()
        s["findings"] = c.execute(FINDINGS).fetchall()
        s["control_rows"] = c.execute(CONTROL_ROWS).fetchall()
        s["partials"]["D"] = (c.execute(PARTIALS).fetchall(), c.execute(PARTIALS_FROM_FACT).fetchall())
        s["leads"]["D"] = (c.execute(LEADS).fetchall(), c.execute(LEADS_FROM_FACT).fetchall())
    return s


@pytest.fixture()
def wh(story):
    with psycopg.connect(story["url"], autocommit=True) as conn:
        yield conn


def test_a_build_rewrites_only_the_versions_of_codes_that_changed(story):
    before, after = story["before_c"], story["after_c"]
    untouched = {vid: row for vid, row in before.items() if row[2] == "P-OK-1"}
    assert len(untouched) == 2  # P-OK-1: its 2018 version and its correction
    assert {vid: after[vid] for vid in untouched} == untouched  # same xmin and ctid: not deleted, not rewritten
    # the codes build C changed did get rewritten (their current version closed) or new rows
    touched = {vid for vid, row in after.items() if row[2] in ("P-OK-2", "P-OK-3")}
    assert any(vid not in before or before[vid] != after[vid] for vid in touched)


def test_a_code_reported_again_after_it_was_closed_goes_on_from_its_last_version(story, wh):
    s = story
    assert _versions(wh, "P-OK-3") == [
        (1, s["s1"], False, False, Decimal("1500000.00")),  # closed by the 2018 correction that dropped it
        (2, s["s3"], False, False, Decimal("1500000.00")),  # reported again in 2019
        (3, s["s4"], True, True, Decimal("1500000.00")),    # the 2019 correction: same values, new submission
    ]


def test_a_code_whose_report_is_superseded_falls_back_to_an_older_publication(story, wh):
    s = story
    assert _versions(wh, "P-OK-2") == [
        (1, s["s1"], False, False, Decimal("2000000.00")),
        (2, s["s2"], False, False, Decimal("2000000.00")),
        (3, s["s3"], False, False, Decimal("2100000.00")),
        (4, s["s2"], True, True, Decimal("2000000.00")),  # the 2018 correction again: published before build C
    ]


def test_the_current_versions_are_the_facts_rows_and_versions_follow_each_other(wh):
    assert wh.execute(
        "select project_code, submission_id, funding_total_yuan from marts.fct_projects_history "
        "where is_current order by 1").fetchall() == wh.execute(
        "select project_code, submission_id, funding_total_yuan from marts.fct_projects order by 1").fetchall()
    # each version ends where the next begins, but for a code that was out of the fact for a while (P-OK-3,
    # closed by build B, back in build C); none overlaps the next, and only a code's last version may be open
    ends = wh.execute("""
        select project_code, version_number, valid_to = next_from from (
            select project_code, version_number, valid_to,
                   lead(valid_from) over (partition by project_code order by version_number) as next_from
            from marts.fct_projects_history) v
        where next_from is not null and (valid_to is null or valid_to != next_from)
        order by 1, 2""").fetchall()
    assert ends == [("P-OK-3", 1, False)]
    assert wh.execute("select count(*) from marts.fct_projects_history h where valid_to > ("
                      "select min(n.valid_from) from marts.fct_projects_history n where n.project_code = h.project_code"
                      " and n.version_number > h.version_number)").fetchone() == (0,)


def test_a_full_refresh_keeps_the_history(story, wh):
    count = wh.execute("select count(*) from marts.fct_projects_history").fetchone()[0]
    assert count == len(story["after_d"]) == 9  # P-OK-1: 2 versions, P-OK-2: 4, P-OK-3: 3
    dbt.run(["run", "--select", "fct_projects_history", "--full-refresh"], quiet=True)
    assert _rows(wh) == story["after_d"]


def test_the_incremental_lineage_equals_its_full_rebuild(story, wh):
    s = story
    in_mart = {(r[2], r[3]): r[15] for r in s["lineage"]}  # (business_key, submission_id) -> is_in_mart
    # P-OK-2's row of the 2018 correction (s2): shown in builds B, not C (2019 won), again in D, though s2
    # itself did not change in D: the build re-read it because its key did
    assert in_mart[("P-OK-2", s["s2"])] and not in_mart[("P-OK-2", s["s3"])]
    assert in_mart[("P-OK-3", s["s4"])] and not in_mart[("P-OK-3", s["s1"])]
    # after each incremental build, every row says what the mart and the ledger say now
    assert s["lineage_wrong"] == {"C": [], "D": []}
    dbt.run(["run", "--select", "rpt_row_lineage", "--full-refresh"], quiet=True)
    assert wh.execute(LINEAGE).fetchall() == s["lineage"]


def test_the_incremental_reports_equal_their_full_rebuild(story, wh):
    s = story
    # P-OK-3, completed in 2018 with an end in 2019: a finding of build A; the correction of build B drops
    # P-OK-3 (its submission is superseded), and the finding leaves with it, though no new row names the code
    finding = ("projects|P-OK-3|completed_end_after_period", "projects", "P-OK-3", "PD", s["s1"])
    assert [r[:5] for r in s["findings_a"]] == [finding]
    assert s["findings_b"] == []
    assert s["control_rows"], "the scenario counts some project in a control figure"
    dbt.run(["run", "--select", "rpt_period_consistency", "rpt_control_total_rows", "--full-refresh"], quiet=True)
    assert wh.execute(FINDINGS).fetchall() == s["findings"]
    assert wh.execute(CONTROL_ROWS).fetchall() == s["control_rows"]


def test_a_report_reads_everything_again_when_what_it_is_made_of_changes(story, wh):
    # A later floor makes P-OK-2 (started 2018-05-10, built two builds ago) start "before" it: a build that
    # read only the new fact rows would miss it; the floor is part of the report's fingerprint.
    later_floor = ["--vars", "{period_start_floor: '2018-06-01'}"]
    dbt.run(["run", "--select", "rpt_period_consistency", *later_floor], quiet=True)
    flagged = {r[0] for r in wh.execute("select business_key from marts.rpt_period_consistency "
                                        "where finding_code = 'start_before_floor'")}
    assert "P-OK-2" in flagged
    dbt.run(["run", "--select", "rpt_period_consistency"], quiet=True)  # the floor as it was: those findings go
    assert wh.execute(FINDINGS).fetchall() == story["findings"]


def test_the_indicators_partial_sums_follow_the_fact(story):
    # Build C moves P-OK-2 from the 2018 correction (s2, still published) to the 2019 file (s3): s2's sums lose
    # it though s2 itself did not change; build D gives it back to s2 and supersedes s3.
    for build in ("C", "D"):
        partials, from_fact = story["partials"][build]
        assert partials == from_fact, build
    by_submission = {r[0] for r in story["partials"]["C"][0]}
    assert {story["s2"], story["s3"]} <= by_submission


def test_the_lead_institutions_counts_follow_the_fact(story, wh):
    # B closes P-OK-3 (dropped); D's window holds build C's versions and its own: P-OK-3 back, then renamed
    # (SMIC loses it, SMIC Shanghai gains it), P-OK-2's 2019 version opened and closed within the window
    for build in ("B", "D"):
        kept, from_fact = story["leads"][build]
        assert kept == from_fact, build
    names = {r[0] for r in story["leads"]["D"][0]}
    assert "SMIC Shanghai" in names and "SMIC" not in names
    # a full read (what a changed model reads) gives the same counts
    dbt.run(["run", "--select", "int_projects_lead_institutions", "--full-refresh"], quiet=True)
    assert wh.execute(LEADS).fetchall() == story["leads"]["D"][0]
