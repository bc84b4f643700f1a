"""The intake corpus (acceptance of issue 11): real submission files worded the way offices word them, each
through the real pipeline, every listed amount asserted to the yuan in raw.<kind> and, after a real dbt
build, in the marts — or the file rejected with the rule the case names.

A case is a folder of tests/fixtures/intake_corpus/ with one submission file and its case.yml (format in
that folder's README.md). The harness knows nothing about particular cases: add a folder, it is tested.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg import sql

from stic import pipeline
from stic.contract import codes
from stic.contract.kinds import KINDS, MONEY, check_submission
from stic.load import check_file
from stic.warehouse import dbt_runner as dbt
from tests.conftest import reset_warehouse

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "intake_corpus"
CASE_DIRS = sorted(d for d in CORPUS.iterdir() if (d / "case.yml").is_file())
# Where each kind's amounts are published: (mart, business key column, extra condition)
MARTS = {
    "projects": ("fct_projects", "project_code", sql.SQL("")),
    "facilities": ("dim_facility", "facility_code", sql.SQL(" and is_current")),
    "platform_assessments": ("fct_platform_assessments", "platform_code", sql.SQL("")),
    "ip_transactions": ("fct_ip_transactions", "transaction_code", sql.SQL("")),
}
DISTRICT_COLUMN = {"projects": "district", "facilities": "district"}


def load(d: Path) -> dict:
    case = yaml.safe_load((d / "case.yml").read_text(encoding="utf-8"))
    case["id"], case["path"] = d.name, d / case["file"]
    case["period"] = str(case["period"])
    return case


CASES = [load(d) for d in CASE_DIRS]
PUBLISHED = [c for c in CASES if c["expect"] == "published"]


def amount(value) -> str | None:
    return None if value is None else str(value)


# ------------------------------------------------------------------------------------ the corpus itself


def test_the_corpus_is_well_formed():
    assert len(CASES) >= 25
    for c in CASES:
        where = f"{c['id']}/case.yml"
        assert c.get("title") and c["path"].is_file(), f"{where}: title and an existing file"
        assert [p.name for p in c["path"].parent.iterdir() if p.name != "case.yml"] == [c["file"]], \
            f"{where}: one submission file per case"
        check_submission(c["submitter"], c["kind"], c["period"])  # raises with the reason
        assert c["expect"] in ("published", "rejected"), where
        if c["expect"] == "rejected":
            assert c.get("reject_rule") and not c.get("rows"), where
        else:
            assert c.get("rows") and not c.get("reject_rule"), where
            kind = KINDS[c["kind"]]
            for key, cols in c["rows"].items():
                assert key.upper().startswith(c["id"].upper()), f"{where}: key {key} must start with the case id"
                for col, v in cols.items():
                    assert col in kind.column_names, f"{where}: {col} is not a column of {kind.name}"
                    assert isinstance(v, str), f"{where}: {key}.{col}: write amounts as strings"
                    if kind.column(col).type == MONEY:
                        assert re.fullmatch(r"-?\d+\.\d\d", v), f"{where}: {key}.{col}: yuan with 2 decimals"


def test_no_two_cases_share_a_submission_key_or_a_business_key():
    seen: dict[tuple, str] = {}
    for c in CASES:
        k = (c["submitter"], c["kind"], c["period"])
        assert k not in seen, f"{c['id']} and {seen[k]} are both {k}: the later one would supersede the earlier"
        seen[k] = c["id"]
    keys: dict[str, str] = {}
    for c in PUBLISHED:
        for key in c["rows"]:
            assert key not in keys, f"{key} is in {c['id']} and {keys[key]}"
            keys[key] = c["id"]


def test_the_corpus_covers_every_kind_format_and_encoding():
    kinds = {c["kind"] for c in CASES}
    assert kinds == set(KINDS), f"no case of {set(KINDS) - kinds}"
    suffixes = {c["path"].suffix.lower() for c in CASES}
    assert {".csv", ".xlsx", ".json"} <= suffixes
    heads = {c["path"].read_bytes()[:3] for c in CASES if c["path"].suffix.lower() == ".csv"}
    assert b"\xef\xbb\xbf" in heads, "a UTF-8 BOM case"
    encodings = {check_file(c["path"], c["kind"], submitter=c["submitter"]).encoding for c in CASES
                 if c["path"].suffix.lower() == ".csv"}
    assert {"gb18030", "utf-8"} <= {e.replace("-sig", "") for e in encodings if e}, encodings
    assert any(c["expect"] == "rejected" for c in CASES)


# ------------------------------------------------------------------------------- through the pipeline


@pytest.fixture(scope="module")
def ingested(warehouse_url):
    """Every case through the real pipeline, into a warehouse emptied for this module."""

    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        reset_warehouse(conn)
    return {c["id"]: pipeline.ingest_file(c["path"], submitter=c["submitter"], kind=c["kind"], period=c["period"])
            for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
@pytest.mark.slow
def test_case_through_the_pipeline(ingested, conn, case):
    out = ingested[case["id"]]
    kind = KINDS[case["kind"]]
    table = sql.Identifier("raw", kind.raw_table)
    if case["expect"] == "rejected":
        assert out.status == "rejected", f"{case['title']}: {out.status} ({out.reason})"
        assert check_file(case["path"], kind.name, submitter=case["submitter"]).rejected_rule == case["reject_rule"], out.reason
        assert case["file"] in out.reason
        n = conn.execute(sql.SQL("select count(*) from {} where submission_id = %s").format(table),
                         (out.submission_id,)).fetchone()[0]
        assert n == 0
        return
    assert out.status == "published", f"{case['title']}: {out.status} ({out.reason})"
    assert out.rows_quarantined == 0, conn.execute(
        "select source_row_number, column_name, submitted_value, rule, message from audit.rejected_rows "
        "where submission_id = %s", (out.submission_id,)).fetchall()
    for key, expected in case["rows"].items():
        cols = list(expected)
        rows = conn.execute(sql.SQL("select {} from {} where submission_id = %s and {} = %s").format(
            sql.SQL(", ").join(map(sql.Identifier, cols)), table, sql.Identifier(kind.key)),
            (out.submission_id, key)).fetchall()
        assert len(rows) == 1, f"{case['id']}: {kind.key} {key}: {len(rows)} rows in raw.{kind.raw_table}"
        got = dict(zip(cols, rows[0], strict=True))
        for col, want in expected.items():
            assert got[col] is not None, f"{case['id']} {key}: {col} is NULL — the amount was dropped"
            assert Decimal(got[col]) == Decimal(want) and (kind.column(col).type != MONEY or amount(got[col]) == want), \
                f"{case['id']} {key}: {col} = {got[col]}, expected {want}"
    if "skipped_rows" in case:
        details = conn.execute("select intake_details from audit.loads where submission_id = %s order by load_id desc "
                               "limit 1", (out.submission_id,)).fetchone()[0]
        assert details.get("skipped_rows_total", 0) == case["skipped_rows"], details.get("skipped_rows")


@pytest.mark.parametrize("case", [c for c in PUBLISHED if c["kind"] in DISTRICT_COLUMN], ids=lambda c: c["id"])
@pytest.mark.slow
def test_rows_are_booked_to_the_submitters_own_district(ingested, conn, case):
    """A district reports only its own district's rows; the corpus writes them as offices do."""
    if case["submitter"] not in codes.codes("district"):
        return
    kind = KINDS[case["kind"]]
    districts = {r[0] for r in conn.execute(sql.SQL("select distinct {} from {} where submission_id = %s").format(
        sql.Identifier(DISTRICT_COLUMN[kind.name]), sql.Identifier("raw", kind.raw_table)),
        (ingested[case["id"]].submission_id,))}
    assert districts == {case["submitter"]}


@pytest.fixture(scope="module")
def marts(ingested):
    """The real dbt build of the marts the corpus checks and everything upstream of them, with their tests;
    once per module (a failure is reported by every mart test, not built again for each)."""
    try:
        dbt.run(["build", "--select", *(f"+{m}" for m, _, _ in MARTS.values()), "--indirect-selection", "cautious"],
                quiet=True)
    except dbt.DbtFailed as e:
        return str(e)
    return None


@pytest.mark.parametrize("case", PUBLISHED, ids=[c["id"] for c in PUBLISHED])
@pytest.mark.slow
def test_case_amounts_in_the_marts(marts, conn, case):
    assert marts is None, marts
    mart, key_col, extra = MARTS[case["kind"]]
    for key, expected in case["rows"].items():
        cols = list(expected)
        rows = conn.execute(sql.SQL("select {} from {} where {} = %s{}").format(
            sql.SQL(", ").join(map(sql.Identifier, cols)), sql.Identifier("marts", mart), sql.Identifier(key_col), extra),
            (key,)).fetchall()
        assert len(rows) == 1, f"{case['id']}: {key}: {len(rows)} rows in marts.{mart}"
        for col, got in zip(cols, rows[0], strict=True):
            assert got is not None and Decimal(got) == Decimal(expected[col]), \
                f"{case['id']} {key}: marts.{mart}.{col} = {got}, expected {expected[col]}"


# ------------------------------------------------------------------------------ what the submitter sees


@pytest.mark.slow
def test_ingest_output_and_receipt_show_the_mapping_and_why_rows_were_quarantined(ingested, conn, tmp_path, capsys):
    """Issue 11.7: the first 20 reasons and the count per rule, the mapping, the ignored columns; a
    duplicate reports rows_loaded 0. Its own submitter/kind/period, outside the corpus."""
    import json

    from stic import cli
    from stic.reports import receipts

    header = ["序号", "项目编号", "项目名称", "级别", "领域", "牵头单位", "区", "立项日期", "状态", "市财政拨款（万元）", "备注"]
    lines = [",".join(header)]
    for i in range(30):
        date = "2018-13-45" if i < 22 else "2018-01-01"
        level = "省级" if 22 <= i < 25 else "市级"
        lines.append(f"{i + 1},QX-{i:02d},项目{i},{level},能源,复旦大学,青浦区,{date},在研,{i}.5,")
    path = tmp_path / "青浦区2026项目.csv"
    path.write_text("\n".join(lines) + "\n", encoding="gb18030")

    assert cli.main(["ingest", str(path), "--submitter", "QP", "--kind", "projects", "--period", "2026"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["status"], out["rows_loaded"], out["rows_quarantined"]) == ("published", 5, 25)
    q = out["quarantine"]
    assert q["shown"] == 20 and q["total"] == 25 and len(q["reasons"]) == 20
    assert {r["rule"]: (r["rows"], r["problems"]) for r in q["per_rule"]} == {"date_parse": (22, 22), "code_list": (3, 3)}
    first = q["reasons"][0]
    assert (first["row"], first["column"], first["value"], first["rule"]) == (2, "start_date", "2018-13-45", "date_parse")
    assert first["message"]
    assert out["ignored_columns"] == ["序号", "备注"]
    assert {"header": "市财政拨款（万元）", "column": "funding_municipal_yuan", "unit": "wan_yuan", "factor": "10000",
            "via": "vocabulary"} in out["header_mapping"]

    json_path, html_path = receipts.receipt_paths(out["submission_id"])
    receipt = json.loads(json_path.read_text(encoding="utf-8"))
    assert receipt["intake"]["quarantine"] == q
    assert receipt["intake"]["ignored_columns"] == ["序号", "备注"]
    html = html_path.read_text(encoding="utf-8")
    assert 'id="quarantine-reasons"' in html and html.count("2018-13-45") >= 20
    assert "市财政拨款（万元）" in html and "funding_municipal_yuan" in html and "10,000" in html

    # the same bytes again: a duplicate, and it says so with 0 rows loaded (not null)
    assert cli.main(["ingest", str(path), "--submitter", "QP", "--kind", "projects", "--period", "2026"]) == 0
    dup = json.loads(capsys.readouterr().out)
    assert (dup["status"], dup["rows_loaded"]) == ("duplicate", 0)
    dup_receipt = json.loads(receipts.receipt_paths(dup["submission_id"])[0].read_text(encoding="utf-8"))
    assert dup_receipt["rows"]["accepted"] == 0


def test_check_prints_the_mapping_column_by_column(capsys):
    from stic import cli

    case = next(c for c in CASES if c["id"] == "p01-pd-zizhu")
    assert cli.main(["check", str(case["path"]), "--submitter", "PD", "--kind", "projects", "--period", "2016"]) == 0
    text = capsys.readouterr().out
    assert "中央财政资助（万元） → funding_central_yuan ×10,000" in text
    assert "区级配套资金（万元） → funding_district_yuan ×10,000" in text
    rejected = next(c for c in CASES if c["id"] == "r01-hk-shangji")
    assert cli.main(["check", str(rejected["path"]), "--submitter", "HK", "--kind", "projects", "--period", "2018",
                     "--json"]) == 1
    import json

    result = json.loads(capsys.readouterr().out)
    assert result["rule"] == "unmapped_amount" and "上级拨款（万元）" in result["rejected"]
    assert "funding_municipal_yuan" in result["rejected"].split("it could be:")[1]
    assert "上级拨款（万元）" not in result["ignored_columns"]
    assert any(m["column"] == "funding_central_yuan" for m in result["header_mapping"])
