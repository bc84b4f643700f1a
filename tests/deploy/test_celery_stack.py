"""docker-compose.yml's configuration without Docker: CeleryExecutor with Redis, a PostgreSQL metadata
database, api-server, scheduler, dag-processor, triggerer and two Celery workers as processes of their own
(`python -m stic.dev.stack e2e`). Sample files go through ingest_district_submissions and the asset-triggered
build_warehouse; each worker's own log must show that it executed tasks."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def services_or_skip():
    from stic.dev import stack

    try:
        stack.ensure_postgres(os.environ.get("STIC_STACK_PG_URL") or stack.DEFAULT_PG_URL)
        stack.ensure_redis(os.environ.get("STIC_STACK_REDIS_URL") or stack.DEFAULT_REDIS_URL)
    except stack.StackUnavailable as e:
        pytest.skip(f"the Celery stack needs Redis and PostgreSQL, and neither could be started: {e}")


def test_pipeline_runs_on_two_celery_workers(services_or_skip, tmp_path, monkeypatch):
    from stic.dev import stack

    # A warehouse of its own: earlier tests of this session point WAREHOUSE_URL at theirs.
    for var in ("WAREHOUSE_URL", "STIC_DATA_DIR", "STIC_LANDING_DIR", "STIC_REPORTS_DIR", "DBT_TARGET_PATH",
                "DBT_LOG_PATH", "AIRFLOW_HOME"):
        monkeypatch.delenv(var, raising=False)

    # A few files of every kind keep this to a few minutes on two cores; settle=False stops at the first
    # successful build_warehouse run (later asset events would queue another one).
    result = stack.e2e(scale=0.02, max_files=4, timeout=540, settle=False, base_dir=tmp_path / "stack")
    print(stack.render(result))

    mine = [r for r in result["ingest_runs"] if r["run_id"] == result["ingest_run_id"]]
    assert mine and mine[0]["state"] == "success", result["ingest_runs"]
    assert any(r["state"] == "success" for r in result["build_runs"]), result["build_runs"]
    assert not any(r["state"] == "failed" for r in result["ingest_runs"] + result["build_runs"])

    # Each worker's own record (its log: "Executing workload" and "Task execute_workload[...] succeeded"),
    # joined to task_instance.external_executor_id in the metadata database.
    workers = result["workers"]
    assert set(workers) == {"worker1", "worker2"}
    for name, rows in workers.items():
        done = [r for r in rows if r["succeeded_per_worker_log"]]
        assert done, f"{name} executed no task: {rows}"
        assert all(r["dag_id"] in stack.DAG_IDS and r["task_id"] for r in done), done
        assert any(r["ti_state"] is not None for r in done), f"{name}: no task matches a task instance: {done}"
    ids = [r["celery_task_id"] for rows in workers.values() for r in rows]
    assert len(ids) == len(set(ids)), "a Celery task was executed by both workers"
    ran = {(r["dag_id"], r["task_id"]) for rows in workers.values() for r in rows}
    assert ("ingest_district_submissions", "register_new_files") in ran
    assert any(dag == "build_warehouse" and task.startswith("dbt.") for dag, task in ran)
    # the files went through the ledger into raw and the marts
    wh = result["warehouse"]
    assert wh["received"] == len(result["files"]) and wh["published"] >= 1, wh
    assert wh["mart_rows"] > 0, wh
