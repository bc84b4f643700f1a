"""The whole flow through real Airflow (`airflow dags test`), real dbt via Cosmos, real GX, real PostgreSQL."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import FIXTURES


@pytest.mark.slow
def test_district_files_flow_through_the_dags_into_the_marts(airflow_home, clean_warehouse):
    from stic import cli
    from stic.config import settings

    incoming = settings().incoming_dir
    shutil.rmtree(incoming, ignore_errors=True)
    for name, dest in (("projects_ok.csv", "PD/projects/2018/projects_ok.csv"),
                       ("projects_bad_rows.csv", "YP/projects/2018/projects_bad_rows.csv"),
                       ("projects_missing_column.csv", "HP/projects/2018/projects.csv")):
        (incoming / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / "pipeline" / name, incoming / dest)
    c = clean_warehouse
    cli.run_dags(settings().warehouse_url)

    ledger = dict(c.execute("select landing_path, status from audit.submissions").fetchall())
    assert ledger == {"PD/projects/2018/projects_ok.csv": "published",
                      "YP/projects/2018/projects_bad_rows.csv": "published",
                      "HP/projects/2018/projects.csv": "rejected"}
    assert c.execute("select count(*) from audit.rejected_rows").fetchone()[0] == 5
    assert c.execute("select count(*) from audit.validation_runs where target = 'load' and success").fetchone()[0] == 2
    assert sorted(r[0] for r in c.execute("select project_code from marts.fct_projects")) == [
        "P-OK-1", "P-OK-2", "P-OK-3", "P-Q-1"]
    assert c.execute("select count(*) from marts.dim_district").fetchone()[0] == 16

    # A second run finds nothing new and loads nothing twice.
    cli.run_dags(settings().warehouse_url)
    assert c.execute("select count(*) from audit.submissions").fetchone()[0] == 3
    assert c.execute("select count(*) from raw.projects").fetchone()[0] == 4

    # A dbt test that fails inside the build makes the run fail (not only its task): an unknown district in
    # a fact row that the incremental build keeps (no submission changed), caught by its relationships test.
    c.execute("update marts.fct_projects set district_code = 'ZZ' where project_code = 'P-OK-1'")
    with pytest.raises(SystemExit, match="DAG build_warehouse failed"):
        cli.run_dags(settings().warehouse_url)
