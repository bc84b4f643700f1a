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
    _producer_published_every_status_it_pushed()

    # A second run finds nothing new and loads nothing twice.
    cli.run_dags(settings().warehouse_url)
    assert c.execute("select count(*) from audit.submissions").fetchone()[0] == 3
    assert c.execute("select count(*) from raw.projects").fetchone()[0] == 4

    # A dbt test that fails inside the build makes the run fail (not only its task): an unknown district in
    # a fact row that the incremental build keeps (no submission changed), caught by its relationships test.
    c.execute("update marts.fct_projects set district_code = 'ZZ' where project_code = 'P-OK-1'")
    with pytest.raises(SystemExit, match="DAG build_warehouse failed"):
        cli.run_dags(settings().warehouse_url)
    # ... and it is the model's own task that fails (its tests are reported by it: no `.test` task per model)
    states = _last_build_task_states()
    assert states["dbt.fct_projects_run"] == "failed", states
    assert states["dbt.stg_raw__projects_run"] == "success", states
    assert not any(t.endswith("test") for t in states), states


TASK_STATES = """
import json
from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session
with create_session() as s:
    run = s.query(DagRun).filter(DagRun.dag_id == "build_warehouse").order_by(DagRun.id.desc()).first()
    rows = s.query(TaskInstance.task_id, TaskInstance.state).filter(
        TaskInstance.dag_id == "build_warehouse", TaskInstance.run_id == run.run_id).all()
print("RESULT" + json.dumps({t: str(getattr(st, "value", st)) for t, st in rows}))
"""


def _last_build_task_states() -> dict:
    import json

    from tests.dags.conftest import run_python

    proc = run_python(TASK_STATES)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT"))[len("RESULT"):])


PRODUCER_XCOMS = """
import json
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
with create_session() as s:
    rows = s.query(XComModel.run_id, XComModel.key, XComModel.value).filter(
        XComModel.dag_id == "build_warehouse", XComModel.task_id == "dbt.dbt_producer_watcher").all()
print("RESULT" + json.dumps([[r, k, v if isinstance(v, (list, dict, str, int, float)) or v is None else str(v)]
                             for r, k, v in rows]))
"""


def _producer_published_every_status_it_pushed():
    """The build's producer (SticProducerWatcherOperator) maps, under one XCom, exactly the status keys it pushed
    to their statuses: what the sensors' shared poll reads under a scheduler (stic.ops.watcher_progress). Under
    `airflow dags test` (pokes) it pushes every status as its own XCom too."""
    import json

    from stic.ops.watcher_progress import REPORTED_KEY
    from tests.dags.conftest import run_python

    proc = run_python(PRODUCER_XCOMS)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT"))[len("RESULT"):])
    runs = {r for r, _k, _v in rows}
    assert runs, "no XCom of the build's producer"
    for run in runs:
        keys = {k for r, k, _v in rows if r == run}
        [reported] = [v if isinstance(v, list | dict) else json.loads(v) for r, k, v in rows
                      if r == run and k == REPORTED_KEY]
        # every node status it pushed (not Cosmos' own `task_status`, the producer's end), with its status
        assert set(reported) == {k for k in keys if k.endswith("_status") and k not in (REPORTED_KEY, "task_status")}
        assert reported["model__stic_warehouse__fct_projects_status"] == "success"
        assert reported["model__stic_warehouse__fct_projects_tests_status"] == "pass"
        [own] = [v if isinstance(v, dict) else json.loads(v) for r, k, v in rows
                 if r == run and k == "model__stic_warehouse__fct_projects_status"]
        assert own["status"] == "success"
        # only a node's finish is kept as its event, and no test's event (no sensor reads them)
        assert not any(k.startswith("test__") and k.endswith("_dbt_event") for k in keys)
