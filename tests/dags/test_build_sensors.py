"""build_warehouse's dbt sensors start in the triggerer under a real scheduler and reschedule under `airflow dags
test` (STIC_DBT_SENSORS); the ingest DAG runs a drop in batches and announces it once; Cosmos' dbt gets the
vars stic's dbt runner passes (so the two share dbt's partial parse)."""

from __future__ import annotations

import json
import sys

import pytest

from tests.dags.conftest import ROOT, run_python

SENSORS = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={folder!r})
dag = bag.dags["build_warehouse"]
sensors = [t for t in dag.tasks if t.task_id.startswith("dbt.") and t.task_id != "dbt.dbt_producer_watcher"
           and type(t).__name__ != "EmptyOperator"]
out = {{"sensors": len(sensors), "from_trigger": sum(bool(t.start_from_trigger) for t in sensors),
       "modes": sorted({{getattr(t, "mode", "") for t in sensors}}), "deferrable": sorted({{t.deferrable for t in sensors}}),
       "classes": sorted({{t.start_trigger_args.trigger_cls for t in sensors if t.start_trigger_args}}),
       "producer": type(dag.get_task("dbt.dbt_producer_watcher")).__name__,
       "rules": {{"inner": sorted({{getattr(t.trigger_rule, "value", t.trigger_rule) for t in sensors if any(u.startswith("dbt.") for u in t.upstream_task_ids)}}),
                  "roots": sorted({{getattr(t.trigger_rule, "value", t.trigger_rule) for t in sensors if not any(u.startswith("dbt.") for u in t.upstream_task_ids)}})}},
       "hooks": sum(t._pre_execute_hook is not None or t._post_execute_hook is not None for t in sensors)}}
if out["classes"]:
    import importlib
    module, name = out["classes"][0].rsplit(".", 1)
    trigger = getattr(importlib.import_module(module), name)
    t = sensors[0].start_trigger_args
    out["trigger_serialized"] = trigger(**t.trigger_kwargs).serialize()[0]
print("RESULT" + json.dumps(out))
"""


def _result(proc):
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT"))[len("RESULT"):])


@pytest.mark.parametrize("mode", ["triggerer", "reschedule"])
def test_sensors_start_in_the_triggerer_under_a_scheduler_only(airflow_home, mode):
    res = _result(run_python(SENSORS.format(folder=str(ROOT / "dags" / "build_warehouse.py")),
                             env_extra={"STIC_DBT_SENSORS": mode}))
    assert res["sensors"] > 50, res  # a .run and a .test per model, seeds, snapshots
    assert res["producer"] == "SticProducerWatcherOperator", res
    if mode == "triggerer":
        assert res["from_trigger"] == res["sensors"] and res["deferrable"] == [True], res
        assert res["classes"] == ["_stic_watcher.WatcherStartTrigger"]
        assert res["trigger_serialized"] == "_stic_watcher.WatcherStartTrigger"
        # each sensor reads its own node's outcome: it does not wait for the sensors upstream of it (edges kept),
        # while the group's first sensors still wait for ensure_warehouse
        assert res["rules"] == {"inner": ["always"], "roots": ["all_success"]}, res
        assert res["hooks"] == 0, res
    else:
        assert res["from_trigger"] == 0 and res["modes"] == ["reschedule"] and res["deferrable"] == [False], res
        assert res["rules"] == {"inner": ["all_success"], "roots": ["all_success"]}, res


def test_airflow_dags_test_runs_the_sensors_in_reschedule_mode():
    from stic.ops import airflow_env

    assert airflow_env.env()["STIC_DBT_SENSORS"] == "reschedule"


def test_cosmos_gets_the_dbt_runners_vars():
    from stic.warehouse import dbt_runner

    sys.path.insert(0, str(ROOT / "dags"))
    try:
        from _stic_common import DBT_VARS
    finally:
        sys.path.remove(str(ROOT / "dags"))
    assert DBT_VARS == dbt_runner.PROJECT_VARS


INGEST = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={folder!r})
dag = bag.dags["ingest_district_submissions"]
print("RESULT" + json.dumps({{t.task_id: {{"up": sorted(t.upstream_task_ids), "rule": getattr(t.trigger_rule, "value", t.trigger_rule),
                                          "outlets": len(t.outlets)}} for t in dag.tasks}}))
"""


def test_the_ingest_dag_runs_batches_and_announces_the_drop_once(airflow_home):
    res = _result(run_python(INGEST.format(folder=str(ROOT / "dags" / "ingest_district_submissions.py"))))
    assert set(res) == {"register_new_files", "ingest_batch", "announce_published", "fail_run"}
    assert res["ingest_batch"]["up"] == ["register_new_files"] and res["ingest_batch"]["outlets"] == 0
    assert res["announce_published"]["up"] == ["ingest_batch", "register_new_files"]
    assert res["announce_published"]["rule"] == "all_done" and res["announce_published"]["outlets"] == 1
    assert res["fail_run"]["up"] == ["ingest_batch"] and res["fail_run"]["rule"] == "one_failed"
