"""OpenLineage events of a real run (file transport): the ingest task's original file → raw table, and the
dbt models' inputs and outputs from Cosmos."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import FIXTURES


@pytest.mark.slow
def test_a_run_writes_lineage_from_landing_file_to_raw_table_to_marts(airflow_home, clean_warehouse):
    from stic import cli
    from stic.config import settings
    from stic.ops import airflow_env
    from stic.warehouse import db

    events_file = airflow_env.lineage_file()
    events_file.unlink(missing_ok=True)
    incoming = settings().incoming_dir
    shutil.rmtree(incoming, ignore_errors=True)
    (incoming / "PD/projects/2018").mkdir(parents=True)
    shutil.copy(FIXTURES / "pipeline" / "projects_ok.csv", incoming / "PD/projects/2018/projects_ok.csv")
    cli.run_dags(settings().warehouse_url)

    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    complete = [e for e in events if e.get("eventType") == "COMPLETE"]
    parts = db.url_parts(settings().warehouse_url)
    pg = f"postgres://{parts['host']}:{parts['port']}"

    ingest = [e for e in complete if e["job"]["name"].startswith("ingest_district_submissions.")
              and e.get("outputs")]
    assert ingest, sorted({e["job"]["name"] for e in complete})
    e = ingest[0]
    assert e["job"]["namespace"] == "stic"
    archive = str(settings().landing_dir / "archive")
    assert [(i["namespace"], i["name"].startswith(archive)) for i in e["inputs"]] == [("file", True)], e["inputs"]
    assert [(o["namespace"], o["name"]) for o in e["outputs"]] == [(pg, f"{parts['dbname']}.raw.projects")]

    dbt_outputs = {o["name"] for e in complete if e["job"]["name"].startswith("build_warehouse.")
                   for o in e.get("outputs", [])}
    assert f"{parts['dbname']}.marts.fct_projects" in dbt_outputs, sorted(dbt_outputs)[:20]
