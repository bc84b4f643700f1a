"""dim_facility's version in force names the submission in force, also after a correction that changes
neither status nor total investment (the snapshot's tracked columns) and so opens no new version."""

from __future__ import annotations

import psycopg
import pytest

from stic import pipeline
from stic.quality.gx import validate_marts
from stic.warehouse import dbt_runner as dbt
from tests.conftest import reset_warehouse

COLUMNS = ("facility_code,name,facility_type,field,district,host_institution,status,construction_start_date,"
           "operation_start_date,total_investment_yuan,original_value_yuan,is_shared,service_hours,external_users")
SELECT = ["build", "--select", "+dim_facility", "--indirect-selection", "cautious"]


def _ingest(tmp, name: str, row: str):
    path = tmp / name
    path.write_text(f"{COLUMNS}\n{row}\n", encoding="utf-8")
    return pipeline.ingest_file(path, submitter="PD", kind="facilities", period="2018")


@pytest.mark.slow
def test_a_rename_only_correction_moves_the_current_version_to_the_new_submission(warehouse_url, tmp_path):
    with psycopg.connect(warehouse_url, autocommit=True) as c:
        reset_warehouse(c)
    first = _ingest(tmp_path, "fac_1.csv", "F-1,Old name,laboratory,photonics,PD,SJTU,in_operation,2017-01-01,"
                                           "2018-01-01,5000000,,,,")
    assert first.status == "published"
    dbt.run(SELECT, quiet=True)
    second = _ingest(tmp_path, "fac_2.csv", "F-1,New name,laboratory,photonics,PD,SJTU,in_operation,2017-01-01,"
                                            "2018-01-01,5000000,,,,")
    assert second.status == "published"
    dbt.run(SELECT, quiet=True)
    with psycopg.connect(warehouse_url, autocommit=True) as c:
        rows = c.execute("select submission_id, facility_name, is_current from marts.dim_facility "
                         "where facility_code = 'F-1'").fetchall()
        assert rows == [(second.submission_id, "New name", True)]
        assert c.execute("select status from audit.submissions where submission_id = %s",
                         (first.submission_id,)).fetchone()[0] == "superseded"
    runs = {r.suite_name: r for r in validate_marts()}
    assert runs["marts_dim_facility"].success, runs["marts_dim_facility"].failed_rules
