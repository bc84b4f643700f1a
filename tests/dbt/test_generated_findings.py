"""The generator plants findings on purpose and writes them in its manifest; after the sample goes through the
whole pipeline (ingestion, validation, dbt), the marts report exactly those findings, and the control figures
have exactly the values the generator computed from the rows it published."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from stic import pipeline
from stic.config import settings
from stic.dev.sample import generate
from stic.warehouse import dbt_runner as dbt
from tests.conftest import reset_warehouse

SCALE = 0.02

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample(warehouse_url, tmp_path_factory):
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        reset_warehouse(conn)
    # A landing area of its own: files earlier tests of the session left in theirs would be registered again
    # (the ledger was just emptied) and add findings the manifest does not plant.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STIC_LANDING_DIR", str(tmp_path_factory.mktemp("findings-landing")))
        manifest = generate(settings().incoming_dir, scale=SCALE, seed=42)
        run = pipeline.ingest_landing(warehouse_url)
        assert not run.unfinished
        dbt.run(["build"], quiet=True)
    return manifest


@pytest.fixture()
def wh(warehouse_url):
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        yield conn


def _by_code(rows) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for code, key in rows:
        out.setdefault(code, []).append(key)
    return {k: sorted(v) for k, v in sorted(out.items())}


def test_the_marts_find_exactly_what_the_generator_planted(sample, wh):
    found = _by_code(wh.execute(
        "select finding_code, platform_code || '|' || assessment_year from marts.rpt_platform_funding_findings "
        "union all select finding_code, transaction_code from marts.rpt_award_share_findings "
        "union all select finding_code, period_finding_id from marts.rpt_period_consistency").fetchall())
    assert found == sample.findings


def test_the_control_figures_have_the_generated_values(sample, wh):
    got = dict(wh.execute("select figure_code, warehouse_value from marts.rpt_control_totals").fetchall())
    expected = {f["figure_code"]: Decimal(str(f["value"])) for f in sample.control_figures.values()}
    assert {code: got[code] for code in expected} == expected
    assert set(got) == set(expected)  # every figure of the seed is generated, and only those


def test_the_published_rows_carry_the_period_warnings_themselves(sample, wh):
    """The same period findings are warnings on the raw rows of the published submissions (and their receipts)."""
    on_rows = {(kind, key, rule) for kind, key, rule in wh.execute(
        "select 'projects', project_code, w from raw.projects p cross join unnest(p.row_warnings) w "
        "join audit.submissions s using (submission_id) where s.status = 'published' "
        "union select 'facilities', facility_code, w from raw.facilities f cross join unnest(f.row_warnings) w "
        "join audit.submissions s using (submission_id) where s.status = 'published'").fetchall()
        if rule != "code_unlisted"}
    planted = {tuple(fid.split("|")) for code, ids in sample.findings.items() for fid in ids
               if code in ("completed_end_after_period", "operation_start_after_period", "start_before_floor")}
    assert planted and on_rows == planted
