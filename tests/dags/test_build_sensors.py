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
       "hooks": sum(t._pre_execute_hook is not None or t._post_execute_hook is not None for t in sensors),
       "tested": sorted(t.model_unique_id for t in sensors if getattr(t, "stic_with_tests", False)),
       "tests_per_model": sorted(dag.get_task("dbt.dbt_producer_watcher").tests_per_model),
       "with_tests_in_trigger": sorted(t.model_unique_id for t in sensors if t.start_trigger_args
                                      and t.start_trigger_args.trigger_kwargs.get("with_tests")),
       "test_tasks": [t.task_id for t in sensors if t.task_id.endswith(("test", ".test"))],
       "producer_flags": list(dag.get_task("dbt.dbt_producer_watcher").dbt_cmd_flags or [])}}
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
    assert res["sensors"] > 25, res  # one per model, seed and snapshot
    assert res["producer"] == "SticProducerWatcherOperator", res
    # no sensor of its own for a model's tests: the model's sensor reports them, and the producer's build runs
    # them (Cosmos' TestBehavior.NONE would have left them out with --resource-type flags)
    assert res["test_tasks"] == [] and "--resource-type" not in res["producer_flags"], res
    # the raw tables' tests (a catalogue check of their primary key) are tests of dbt sources, which have no task:
    # they run in the producer's build, whose failure fails the producer's task
    sources = [n for n in res["tests_per_model"] if n.startswith("source.")]
    assert sources == [f"source.stic_warehouse.raw.{k}" for k in
                       ("facilities", "ip_transactions", "platform_assessments", "projects")], res
    assert res["tested"] == [n for n in res["tests_per_model"] if n not in sources] and len(res["tested"]) > 20, res
    assert "model.stic_warehouse.fct_projects" in res["tested"], res
    if mode == "triggerer":
        assert res["from_trigger"] == res["sensors"] and res["deferrable"] == [True], res
        assert res["classes"] == ["_stic_watcher.WatcherStartTrigger"]
        assert res["trigger_serialized"] == "_stic_watcher.WatcherStartTrigger"
        # each sensor reads its own node's outcome: it does not wait for the sensors upstream of it (edges kept),
        # while the group's first sensors still wait for ensure_warehouse
        assert res["rules"] == {"inner": ["always"], "roots": ["all_success"]}, res
        assert res["hooks"] == 0, res
        assert res["with_tests_in_trigger"] == res["tested"], res
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


FOLDED = """
import asyncio, json
import _stic_watcher as w
from airflow.triggers.base import TaskSuccessEvent
from cosmos.operators._watcher.aggregation import get_tests_status_xcom_key
from cosmos.operators._watcher.state import get_status_xcom_key
from cosmos.operators.watcher import DbtRunWatcherOperator

M = "model.stic_warehouse.fct_projects"
STATUS, TESTS = get_status_xcom_key(M), get_tests_status_xcom_key(M)

class Trigger(w.WatcherStartTrigger):
    # the producer's XComs and state from a dict instead of the api-server: the sequencing is what is tested
    xcoms, state = {}, "running"
    async def get_xcom_val_af3(self, key):
        return self.xcoms.get(key)
    async def get_xcom_val(self, key):
        return self.xcoms.get(key)
    async def _get_producer_task_status(self):
        return self.state

async def outcome(xcoms, with_tests, state="running", later=None):
    Trigger.xcoms, Trigger.state = dict(xcoms), state
    t = Trigger(model_unique_id=M, producer_task_id="dbt.dbt_producer_watcher", poke_interval=0.02,
                dag_id="d", run_id="r%d" % id(xcoms), map_index=-1, with_tests=with_tests)
    run = asyncio.ensure_future(t.run().__anext__())
    if later:
        await asyncio.sleep(0.1)
        assert not run.done()
        Trigger.xcoms.update(later)
    ev = await asyncio.wait_for(run, 5)
    return "task_success" if isinstance(ev, TaskSuccessEvent) else ev.payload

from stic.ops.watcher_progress import REPORTED_KEY
def pushed(**kv):
    # what a producer with its sensors in the triggerer pushes: a success on the board only, the rest also as is
    board = {k: (v.get("status") if isinstance(v, dict) else v) for k, v in kv.items()}
    own = {k: v for k, v in kv.items() if board[k] not in ("success", "pass", "warn")}
    return {**own, REPORTED_KEY: board}

out = {}
out["built_tests_pass"] = asyncio.run(outcome(pushed(**{STATUS: {"status": "success"}}), True,
                                              later=pushed(**{STATUS: {"status": "success"}, TESTS: "pass"})))
out["built_tests_fail"] = asyncio.run(outcome(pushed(**{STATUS: {"status": "success"}, TESTS: "fail"}), True))
out["model_fails"] = asyncio.run(outcome(pushed(**{STATUS: {"status": "failed"}}), True))
out["no_tests_asked"] = asyncio.run(outcome(pushed(**{STATUS: {"status": "success"}}), False))
out["producer_fails_before_tests"] = asyncio.run(outcome(pushed(**{STATUS: {"status": "success"}}), True, state="failed"))
# a producer of an earlier version: every status as its own XCom, the board a list of keys
out["listed_keys_only"] = asyncio.run(outcome({STATUS: {"status": "success"}, TESTS: "pass",
                                               REPORTED_KEY: [STATUS, TESTS]}, True))
out["listed_keys_model_fails"] = asyncio.run(outcome({STATUS: {"status": "error"}, REPORTED_KEY: [STATUS]}, True))

# the operator: a tests failure names the tests; a model failure keeps Cosmos' message
class TI:
    def __init__(self, xcoms): self.xcoms, self.try_number, self.dag_id = xcoms, 1, "d"
    def xcom_pull(self, task_ids=None, key=None, **_): return self.xcoms.get(key)
op = DbtRunWatcherOperator(task_id="fct_projects_run", project_dir="/tmp", extra_context={"dbt_node_config": {"unique_id": M}})
op.__class__ = w._with_tests_class(type(op))
def error(call):
    try:
        call()
    except Exception as e:
        return str(e)
out["complete_tests_failed"] = error(lambda: op.execute_complete({"ti": TI({})}, out["built_tests_fail"]))
out["complete_model_failed"] = error(lambda: op.execute_complete({"ti": TI({})}, out["model_fails"]))
out["poke_tests_pending"] = op._get_node_status(TI({STATUS: {"status": "success"}}), {})
out["poke_tests_pass"] = op._get_node_status(TI({STATUS: {"status": "success"}, TESTS: "pass"}), {})
out["poke_tests_fail"] = error(lambda: op._get_node_status(TI({STATUS: {"status": "success"}, TESTS: "fail"}), {}))
out["poke_model_fail"] = op._get_node_status(TI({STATUS: {"status": "error"}, TESTS: "fail"}), {})
out["class"] = type(op).__name__
out["fallback"] = op.base_cmd
print("RESULT" + json.dumps(out))
"""


def test_a_models_task_reports_the_model_then_its_tests(airflow_home):
    """fold_tests: one task per model reports the model's outcome and then its tests' aggregate, in the triggerer
    (WatcherStartTrigger, the producer's XComs served from a dict) and when poked under `airflow dags test`."""
    res = _result(run_python(FOLDED))
    assert res["built_tests_pass"] == "task_success"  # and it waited for the tests (asserted in the script)
    assert res["built_tests_fail"]["status"] == "failed" and res["built_tests_fail"]["reason"] == "node_failed"
    assert res["built_tests_fail"]["stic_tests"] is True
    assert res["model_fails"] == {"status": "failed", "reason": "node_failed"}
    assert res["no_tests_asked"] == "task_success"
    assert res["producer_fails_before_tests"]["reason"] == "producer_failed"
    assert res["listed_keys_only"] == "task_success"
    assert res["listed_keys_model_fails"] == {"status": "failed", "reason": "node_failed"}
    assert res["complete_tests_failed"].startswith("dbt tests of 'model.stic_warehouse.fct_projects' failed")
    assert "dbt model 'model.stic_warehouse.fct_projects' failed" in res["complete_model_failed"]
    assert res["poke_tests_pending"] is None and res["poke_tests_pass"] == "pass"
    assert res["poke_tests_fail"].startswith("dbt tests of 'model.stic_warehouse.fct_projects' failed")
    assert res["poke_model_fail"] == "error"
    assert res["class"] == "DbtRunWatcherOperatorWithTests" and res["fallback"] == ["build"]
