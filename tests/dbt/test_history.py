"""What a project or IP transaction looked like when it was reported: the history marts (and the transactions' snapshot).

One scenario for the module: a project file and a transaction file, a build, then a correction of each, a
second build. "As reported at T" (docs/history.md) gives the first values for a T between the builds and the
corrected ones after the second.
"""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from stic import pipeline
from stic.warehouse import dbt_runner as dbt
from stic.warehouse import roles
from tests.conftest import FIXTURES, reset_warehouse

# Every test reads a dbt build of the history marts (two builds, in the module fixture).
pytestmark = pytest.mark.slow

IP_HEADER = (
    "transaction_code,listing_date,deal_date,ip_type,transaction_type,field,seller,seller_type,seller_district,"
    "buyer,buyer_region,listed_price_yuan,deal_amount_yuan,net_revenue_yuan,inventor_award_share"
)
# The two histories, what they are checked against (the facts, the dimensions their codes name).
SELECT = ["build", "--select", "+fct_projects_history", "+fct_ip_transactions_history", "+fct_projects",
          "+fct_ip_transactions", "+dim_district", "+dim_status", "+dim_project_level", "+dim_submitter",
          "+dim_ip_type", "+dim_transaction_type", "--indirect-selection", "cautious"]
AS_AT = "valid_from <= %(t)s and (valid_to is null or valid_to > %(t)s)"  # docs/history.md
AS_ON_DAY = "valid_from < %(d)s::date + 1 and (valid_to is null or valid_to >= %(d)s::date + 1)"


def _ingest_ip(tmp, name: str, rows: list[str]):
    path = tmp / name
    path.write_text("\n".join([IP_HEADER, *rows]) + "\n", encoding="utf-8")
    return pipeline.ingest_file(path, submitter="SIPTC", kind="ip_transactions", period="2018")


@pytest.fixture(scope="module")
def history(warehouse_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("history-files")
    with psycopg.connect(warehouse_url, autocommit=True) as c:
        reset_warehouse(c)
    first = pipeline.ingest_file(FIXTURES / "pipeline" / "projects_ok.csv", submitter="PD", kind="projects",
                                 period="2018")
    ip_first = _ingest_ip(tmp, "ip_1.csv", [
        "T-1,2018-01-10,2018-03-01,invention_patent,transfer,biomedicine,Fudan,university,XH,Acme,jiangsu,100,90,80,0.5",
        "T-2,2018-02-10,,utility_model,license,integrated_circuits,SJTU,university,MH,,,200,,,",
        "T-3,2018-02-11,2018-05-01,invention_patent,transfer,photonics,SARI,research_institute,PD,Beta,zhejiang,10,10,9,0.7",
    ])
    assert (first.status, ip_first.status) == ("published", "published")
    dbt.run(SELECT, quiet=True)
    with psycopg.connect(warehouse_url, autocommit=True) as c:
        between = c.execute("select localtimestamp").fetchone()[0]

    # Projects: P-OK-1's municipal funding changes, P-OK-2 is reported again as it was, P-OK-3 is dropped.
    second = pipeline.ingest_file(FIXTURES / "pipeline" / "projects_correction.csv", submitter="PD",
                                  kind="projects", period="2018")
    # Transactions: T-1's deal amount, type and buyer change; T-2 is reported again as it was; T-3 is dropped.
    ip_second = _ingest_ip(tmp, "ip_2.csv", [
        "T-1,2018-01-10,2018-03-01,invention_patent,license,biomedicine,Fudan,university,XH,Gamma,anhui,100,95,85,0.5",
        "T-2,2018-02-10,,utility_model,license,integrated_circuits,SJTU,university,MH,,,200,,,",
    ])
    assert (second.status, ip_second.status) == ("published", "published")
    dbt.run(SELECT, quiet=True)
    with psycopg.connect(warehouse_url, autocommit=True) as c:
        after = c.execute("select localtimestamp").fetchone()[0]
    return {"url": warehouse_url, "between": between, "after": after,
            "projects": (first.submission_id, second.submission_id),
            "ip": (ip_first.submission_id, ip_second.submission_id)}


@pytest.fixture()
def wh(history):
    with psycopg.connect(history["url"], autocommit=True) as conn:
        yield conn


def _versions(conn, table: str, key: str, code: str, cols: str) -> list[tuple]:
    return conn.execute(f"select version_number, submission_id, valid_from, valid_to, is_current, {cols} "
                        f"from marts.{table} where {key} = %s order by version_number", (code,)).fetchall()


def test_a_corrected_project_has_two_versions_one_after_the_other(history, wh):
    old, new = history["projects"]
    v = _versions(wh, "fct_projects_history", "project_code", "P-OK-1", "funding_municipal_yuan, project_status")
    assert [(n, s, cur, m, st) for n, s, _f, _t, cur, m, st in v] == [
        (1, old, False, Decimal("12000000.00"), "underway"), (2, new, True, Decimal("12500000.00"), "underway")]
    (_, _, from1, to1, _, _, _), (_, _, from2, to2, _, _, _) = v
    assert from1 <= history["between"] < from2 <= history["after"]
    assert to1 == from2 and to2 is None
    # described for BI tools like every mart (+persist_docs)
    table, column = wh.execute("select obj_description('marts.fct_projects_history'::regclass), "
                               "col_description('marts.fct_ip_transactions_history'::regclass, 1)").fetchone()
    assert table.startswith("Every version of each project's canonical record") and column.startswith("Id of this version")


def test_a_project_reported_again_unchanged_gets_a_version_naming_the_new_submission(history, wh):
    old, new = history["projects"]
    v = _versions(wh, "fct_projects_history", "project_code", "P-OK-2", "funding_total_yuan, district_code")
    assert [(s, cur, total, d) for _n, s, _f, _t, cur, total, d in v] == [
        (old, False, Decimal("10500000.00"), "XH"), (new, True, Decimal("10500000.00"), "XH")]


def test_a_project_corrected_away_is_closed_with_no_current_version(history, wh):
    v = _versions(wh, "fct_projects_history", "project_code", "P-OK-3", "project_status")
    assert len(v) == 1 and v[0][1] == history["projects"][0] and v[0][3] is not None and not v[0][4]
    assert wh.execute("select count(*) from marts.fct_projects where project_code = 'P-OK-3'").fetchone() == (0,)


def test_as_reported_at_a_time_gives_the_values_of_that_time(history, wh):
    old, new = history["projects"]
    query = ("select project_code, submission_id, funding_municipal_yuan from marts.fct_projects_history "
             f"where {AS_AT} order by 1")
    assert wh.execute(query, {"t": history["between"]}).fetchall() == [
        ("P-OK-1", old, Decimal("12000000.00")), ("P-OK-2", old, Decimal("2000000.00")),
        ("P-OK-3", old, Decimal("1500000.00"))]
    assert wh.execute(query, {"t": history["after"]}).fetchall() == [
        ("P-OK-1", new, Decimal("12500000.00")), ("P-OK-2", new, Decimal("2000000.00"))]
    # Now, the current versions are the fact's rows.
    assert wh.execute("select project_code, submission_id, funding_total_yuan, project_status "
                      "from marts.fct_projects_history where is_current order by 1").fetchall() == wh.execute(
        "select project_code, submission_id, funding_total_yuan, project_status from marts.fct_projects order by 1"
    ).fetchall()
    # By day: at the end of today, the corrected values; at the end of yesterday, nothing was reported yet.
    day = "select project_code, submission_id from marts.fct_projects_history where " + AS_ON_DAY + " order by 1"
    today = wh.execute("select current_date").fetchone()[0]
    assert wh.execute(day, {"d": today}).fetchall() == [("P-OK-1", new), ("P-OK-2", new)]
    assert wh.execute(day, {"d": today.fromordinal(today.toordinal() - 1)}).fetchall() == []


def test_a_corrected_transaction_has_two_versions_and_as_reported_gives_each_in_its_time(history, wh):
    old, new = history["ip"]
    v = _versions(wh, "fct_ip_transactions_history", "transaction_code", "T-1",
                  "deal_amount_yuan, transaction_type, buyer_name, buyer_region")
    assert [(n, s, cur, amount, kind, buyer, region) for n, s, _f, _t, cur, amount, kind, buyer, region in v] == [
        (1, old, False, Decimal("90.00"), "transfer", "Acme", "jiangsu"),
        (2, new, True, Decimal("95.00"), "license", "Gamma", "anhui")]
    assert v[0][2] <= history["between"] < v[1][2] <= history["after"] and v[0][3] == v[1][2] and v[1][3] is None

    query = ("select transaction_code, submission_id, deal_amount_yuan, buyer_name "
             f"from marts.fct_ip_transactions_history where {AS_AT} order by 1")
    assert wh.execute(query, {"t": history["between"]}).fetchall() == [
        ("T-1", old, Decimal("90.00"), "Acme"), ("T-2", old, None, None), ("T-3", old, Decimal("10.00"), "Beta")]
    assert wh.execute(query, {"t": history["after"]}).fetchall() == [
        ("T-1", new, Decimal("95.00"), "Gamma"), ("T-2", new, None, None)]
    assert wh.execute("select transaction_code, submission_id, deal_amount_yuan from marts.fct_ip_transactions_history "
                      "where is_current order by 1").fetchall() == wh.execute(
        "select transaction_code, submission_id, deal_amount_yuan from marts.fct_ip_transactions order by 1").fetchall()
    closed = wh.execute("select count(*), bool_or(is_current), min(valid_to) is not null "
                        "from marts.fct_ip_transactions_history where transaction_code = 'T-3'").fetchone()
    assert closed == (1, False, True)


def test_the_history_suites_pass_though_they_keep_superseded_versions(history, wh):
    """The first submissions are superseded, and their versions stay: not a failure. A current version
    of a superseded submission, or two versions in force at once, is."""
    from stic.quality.gx import MartValidationFailed, validate_marts

    runs = {r.suite_name: r for r in validate_marts()}
    assert runs["marts_fct_projects_history"].success and runs["marts_fct_ip_transactions_history"].success
    try:
        wh.execute("update marts.fct_projects_history set submission_id = %s where is_current and project_code = 'P-OK-1'",
                   (history["projects"][0],))
        wh.execute("update marts.fct_ip_transactions_history set valid_to = null, is_current = true "
                   "where transaction_code = 'T-1' and version_number = 1")
        with pytest.raises(MartValidationFailed) as failed:
            validate_marts()
        assert "marts_fct_projects_history: published_only" in str(failed.value)
        assert "marts_fct_ip_transactions_history: history_validity" in str(failed.value)
    finally:
        # put the marts back as the build left them (the module's other tests read them)
        dbt.run(["build", "--select", "fct_projects_history", "fct_ip_transactions_history"], quiet=True)


def test_bi_readers_and_auditors_read_the_history_only_through_the_marts(history):
    from tests.include.test_roles import _as, _can_read

    with psycopg.connect(history["url"], autocommit=True) as c:
        roles.apply(c)
    for role in (roles.BI_READER, roles.AUDITOR):
        with _as(history["url"], role) as c:
            assert _can_read(c, "marts.fct_projects_history") and _can_read(c, "marts.fct_ip_transactions_history")
            # (the projects' history has no snapshot: fct_projects_history keeps it itself)
            assert not _can_read(c, "snapshots.ip_transactions_snapshot"), role
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                c.execute("delete from marts.fct_projects_history")
    # Analysts see the versions of their district's projects: P-OK-2 is booked to Xuhui and reported by PD as
    # a joint project (joint_with PD), so both see it; P-OK-3's closed version stays PD's.
    with _as(history["url"], roles.analyst_role("XH")) as c:
        assert {r[0] for r in c.execute("select project_code from marts.fct_projects_history")} == {"P-OK-2"}
        assert not _can_read(c, "snapshots.ip_transactions_snapshot")
    with _as(history["url"], roles.analyst_role("PD")) as c:
        assert {r[0] for r in c.execute("select project_code from marts.fct_projects_history")} == {
            "P-OK-1", "P-OK-2", "P-OK-3"}
