"""The dbt group's per-model sensors (Cosmos watcher mode) under a real scheduler: started in the triggerer.

Cosmos' consumer sensors report each model's (and its tests') outcome from the producer's single `dbt build`.
Deferrable, each one still takes a worker twice (to start and defer, then to resume after its trigger fired):
~140 task processes for ~70 sensors, far more than the build itself on a small machine. Here the scheduler
defers them itself (Airflow's `start_from_trigger`: no worker to start), and Cosmos' own trigger, run by
`WatcherStartTrigger`, ends a success in the triggerer (`TaskSuccessEvent`: no worker to finish). Any other
outcome (a failed or skipped node, a failed or skipped producer) resumes on a worker in Cosmos'
`execute_complete`, which fails, skips or falls back exactly as Cosmos does. The sensors inside the group do not
wait for the sensors upstream of them (trigger rule `always`; the edges stay for the lineage): each waits for its
own node, so all of them are in the triggerer from the start, and the triggers of one producer share one poll of
what it has reported (`stic.ops.watcher_progress.Board`) instead of ~110 polls every few seconds.

One sensor per node, not two (`fold_tests`): a model's sensor reports the model and then its tests' aggregate, as
Cosmos' TestBehavior.BUILD task would (watcher mode has no BUILD rendering). Starting a trigger costs the
triggerer a deserialization of the whole DAG, twice: ~110 sensors in a 119-task DAG took ~13 s of its CPU at the
start of every run, beside the producer's `dbt build`; with ~57 in a 65-task DAG, py-spy finds ~0.5 s of it left
(docs/benchmarks.md, "Fifth round").

`airflow dags test` runs one task at a time in one process: a sensor started in a trigger would wait there for a
producer that cannot start. So the mode is a setting, STIC_DBT_SENSORS: `triggerer` (the default: docker
compose, the stack) or `reschedule` (what `stic.ops.airflow_env.env()` sets for `airflow dags test`).

The producer (`quiet_producer`) is Cosmos' own, with one change in how it reports: Cosmos turned all ~6,100 dbt
events of a build into JSON and pushed ~1,700 XComs (each node's start, compile, execute and finish, each
test's event, a node's end twice), with dbt's threads waiting on each round trip to the api-server. Here it
skips the debug events Cosmos only logs at debug level, the three progress events whose XCom the node's finish
overwrites before anything reads it, the events of tests whose result only counts in their model's aggregate
and a second push of the same value; it handles the rest from one thread, in the order dbt fired them, so that
dbt never waits, and publishes the status of every node reported so far for the sensors' shared poll. With the
sensors in the triggerer, a success goes to that map only (a sensor that succeeds ends there and reads nothing
else): of ~330 pushes, ~25 remain (`stic.ops.watcher_progress.StatusKeys`, `board_only`). The build ends only
after every push is done. Its dbt prints nothing to the console, whose lines Cosmos drops (`QUIET_CONSOLE`).
"""

from __future__ import annotations

import os
from datetime import timedelta

SENSORS_ENV = "STIC_DBT_SENSORS"
TIMEOUT = timedelta(hours=1)


def sensor_mode() -> str:
    mode = os.environ.get(SENSORS_ENV) or "triggerer"
    if mode not in ("triggerer", "reschedule"):
        raise ValueError(f"{SENSORS_ENV}={mode!r}: 'triggerer' (a real scheduler) or 'reschedule' (airflow dags test)")
    return mode


def sensor_args() -> dict:
    """operator_args of the group's sensors (the producer ignores them)."""
    if sensor_mode() == "reschedule":
        # `airflow dags test`: one task at a time; a sensor pokes, then gives its turn back.
        return {"deferrable": False, "mode": "reschedule", "poke_interval": 5, "timeout": TIMEOUT}
    # The sensors' shared poll of the producer (stic.ops.watcher_progress.Board) runs every poke_interval; it polls
    # once as soon as the first sensor starts, so the interval only delays a node still running, and the last
    # sensors end on the poll after the producer's last report: half an interval after it on average. One poll is
    # two reads for all the sensors, in the triggerer's own process: half a second costs it ~4 reads a second
    # (3 s left the last sensors ~1.5 s after the build, 1 s ~0.6 s).
    return {"deferrable": True, "poke_interval": 0.5, "timeout": TIMEOUT}


def start_in_triggerer(group, root=None) -> int:
    """Make each consumer sensor of the Cosmos group start in the triggerer (in `triggerer` mode only), without
    waiting for the sensors upstream of it."""
    if sensor_mode() != "triggerer":
        return 0
    from airflow.triggers.base import StartTriggerArgs
    from cosmos.operators._watcher.base import BaseConsumerSensor

    n = 0
    prefix = f"{(root or group).group_id}."
    for task in group.children.values():
        if hasattr(task, "children"):  # a nested group (Cosmos' AFTER_EACH rendering: a model's .run and .test)
            n += start_in_triggerer(task, root or group)
            continue
        if not isinstance(task, BaseConsumerSensor) or not task.model_unique_id:
            continue
        if any(up.startswith(prefix) for up in task.upstream_task_ids):
            # Each sensor reads its own node's outcome from the producer, so it need not wait for the sensors of
            # the models upstream (the edges stay, for the lineage in the graph). Waiting, each level of the
            # project cost a scheduler loop, a triggerer loop and a poll: ~3 s, ~40 s for the project's depth
            # after the build itself was over. A node dbt skipped because an upstream one failed reports failed
            # (Cosmos' rule), so a failure still shows at the model and below it.
            task.trigger_rule = "always"
        # The DAG's pre/post_execute (the warehouse connection, an ingest task's lineage) are nothing to a sensor;
        # the triggerer sends the whole serialized DAG with every trigger it starts: ~1 KB less per task.
        task._pre_execute_hook = task._post_execute_hook = None
        task.start_from_trigger = True
        task.start_trigger_args = StartTriggerArgs(
            trigger_cls=f"{__name__}.WatcherStartTrigger",
            trigger_kwargs={"model_unique_id": task.model_unique_id, "producer_task_id": task.producer_task_id,
                            "poke_interval": float(task.poke_interval), "is_test_sensor": task.is_test_sensor,
                            "with_tests": bool(getattr(task, "stic_with_tests", False))},
            next_method="execute_complete",
            next_kwargs=None,
            timeout=TIMEOUT,
        )
        n += 1
    return n


TESTS_EVENT_KEY = "stic_tests"  # in a trigger event: the outcome is the model's tests', not the model's


def fold_tests(group) -> int:
    """Make each model's (seed's, snapshot's) sensor report its dbt tests too, as Cosmos' TestBehavior.BUILD does
    per model: the task fails when the node or any of its tests fails. The group is rendered with
    TestBehavior.NONE (no `.test` task per model: half the sensors, each of which costs the triggerer a whole
    DAG deserialization to start); Cosmos then leaves the tests out of the producer's `dbt build`
    (`--resource-type` flags), which this puts back, so the build and what a failing test skips are unchanged.
    Returns the number of sensors that now report tests."""
    from cosmos.constants import PRODUCER_WATCHER_TASK_ID
    from cosmos.operators._watcher.base import BaseConsumerSensor

    producer = group.children[f"{group.group_id}.{PRODUCER_WATCHER_TASK_ID}"]
    flags = list(producer.dbt_cmd_flags or [])
    producer.dbt_cmd_flags = [f for i, f in enumerate(flags)
                              if f != "--resource-type" and (i == 0 or flags[i - 1] != "--resource-type")]
    tested = set(getattr(producer, "tests_per_model", None) or {})
    n = 0
    for task in group.children.values():
        if isinstance(task, BaseConsumerSensor) and not task.is_test_sensor and task.model_unique_id in tested:
            task.__class__ = _with_tests_class(type(task))
            task.stic_with_tests = True
            n += 1
    return n


_WITH_TESTS: dict[type, type] = {}


def _with_tests_class(cls: type) -> type:
    """`cls` (a Cosmos consumer sensor) reporting the node and then its tests' aggregate."""
    if cls in _WITH_TESTS:
        return _WITH_TESTS[cls]
    from airflow.sdk.exceptions import AirflowException
    from cosmos.operators._watcher.aggregation import get_tests_status_xcom_key
    from cosmos.operators._watcher.state import get_xcom_val, is_dbt_node_status_failed
    from cosmos.operators._watcher.state import is_dbt_node_status_success as succeeded

    class WithTests(cls):
        # A retry or a clear from the UI falls back to `dbt build --select <node>`: the node and its tests.
        base_cmd = ["build"]

        def _get_node_status(self, ti, context):
            # `airflow dags test` (poke): the node's status, then, once it succeeded, its tests' aggregate (None,
            # so another poke, until the producer has reported all of them).
            status = super()._get_node_status(ti, context)
            if not succeeded(status):
                return status
            tests = get_xcom_val(ti, self.producer_task_id, get_tests_status_xcom_key(self.model_unique_id))
            if is_dbt_node_status_failed(tests):
                self._tests_failed()
            return tests

        def execute_complete(self, context, event):
            if event.get(TESTS_EVENT_KEY) and event.get("status") == "failed" and event.get("reason") == "node_failed":
                self._tests_failed()
            return super().execute_complete(context, event)

        def _tests_failed(self):
            raise AirflowException(
                f"dbt tests of '{self.model_unique_id}' failed (the node itself was built). Review the producer task "
                f"'{self.producer_task_id}' logs for the failing test and its rows.")

    WithTests.__name__ = WithTests.__qualname__ = f"{cls.__name__}WithTests"
    WithTests.__module__ = __name__
    _WITH_TESTS[cls] = WithTests
    return WithTests


def _trigger_class():
    from airflow.triggers.base import TaskSuccessEvent, TriggerEvent
    from cosmos.operators._watcher.triggerer import WatcherTrigger

    class WatcherStartTrigger(WatcherTrigger):
        """Cosmos' WatcherTrigger, with the run taken from its task instance; a success ends the task here."""

        def __init__(self, model_unique_id: str, producer_task_id: str, poke_interval: float = 1.0,
                     is_test_sensor: bool = False, dag_id: str | None = None, run_id: str | None = None,
                     map_index: int | None = None, with_tests: bool = False, **_):
            super().__init__(model_unique_id=model_unique_id, producer_task_id=producer_task_id, dag_id=dag_id,
                             run_id=run_id, map_index=map_index, poke_interval=poke_interval,
                             is_test_sensor=is_test_sensor)
            self.with_tests = with_tests

        def serialize(self):
            return (f"{__name__}.WatcherStartTrigger",
                    {"model_unique_id": self.model_unique_id, "producer_task_id": self.producer_task_id,
                     "poke_interval": self.poke_interval, "is_test_sensor": self.is_test_sensor,
                     "dag_id": self.dag_id, "run_id": self.run_id, "map_index": self.map_index,
                     "with_tests": self.with_tests})

        async def _log_startup_events(self):
            # Cosmos logs dbt's versions from every sensor's trigger, polling until the producer has pushed them:
            # ~100 triggers x 3 calls per poll on the api-server. The producer's log has them.
            return None

        async def _get_producer_task_status(self):
            state = await super()._get_producer_task_status()
            # A producer that never ran (its upstream failed) would leave the trigger polling until its timeout,
            # now that the sensors do not wait for their upstream tasks: it failed to report, say so.
            return "failed" if state in ("upstream_failed", "removed") else state

        def _board(self):
            from stic.ops.watcher_progress import REPORTED_KEY, Board, board_for

            return board_for((self.dag_id, self.run_id, self.producer_task_id, self.map_index),
                             lambda: Board(lambda: self.get_xcom_val_af3(REPORTED_KEY), self._get_producer_task_status,
                                           self.poke_interval))

        async def run(self):
            ti = self.task_instance
            if ti is not None and not self.run_id:
                self.dag_id, self.run_id = ti.dag_id, ti.run_id
                self.map_index = ti.map_index
            event = await self._outcome(tests=self.is_test_sensor)
            if self.with_tests and not self.is_test_sensor and _status(event) == "success":
                # A model's task that also reports its tests (fold_tests): the model is built, now its tests.
                event = await self._outcome(tests=True)
                if _status(event) != "success":
                    event = TriggerEvent({**event.payload, TESTS_EVENT_KEY: True})
            yield TaskSuccessEvent() if _status(event) == "success" else event

        async def _outcome(self, tests: bool):
            """Wait on the producer's board (one poll for all its sensors) until this node's status (or its tests'
            aggregate) is reported or the producer is over. A success on the board is the outcome (the producer
            pushes it nowhere else: `board_only`); anything else is Cosmos' own check, which finds it at once."""
            from cosmos.operators._watcher.aggregation import get_tests_status_xcom_key
            from cosmos.operators._watcher.state import get_status_xcom_key, is_dbt_node_status_success

            self.is_test_sensor = tests
            key = (get_tests_status_xcom_key if tests else get_status_xcom_key)(self.model_unique_id)
            board = self._board()
            if await board.wait_for(key) == "reported" and is_dbt_node_status_success(board.status(key)):
                return TriggerEvent(self._build_success_event(None))
            events = WatcherTrigger.run(self)
            try:
                return await events.__anext__()
            finally:
                await events.aclose()

    def _status(event) -> str | None:
        return event.payload.get("status") if isinstance(event.payload, dict) else None

    WatcherStartTrigger.__module__ = __name__
    WatcherStartTrigger.__qualname__ = "WatcherStartTrigger"
    return WatcherStartTrigger


# dbt's node progress events: Cosmos keeps each only as the node's `<node>_dbt_event` XCom, which the node's
# NodeFinished overwrites and which the node's sensor reads once the node is over.
SUPERSEDED_EVENTS = frozenset({"NodeStart", "NodeCompiling", "NodeExecuting"})


def reported(name: str, level: str, allowlist) -> bool:
    """Whether the producer hands a dbt event to Cosmos' parser: not a superseded progress event, and not a debug
    event (logged at debug level only) unless Cosmos acts on that event (node status, errors)."""
    if name in SUPERSEDED_EVENTS:
        return False
    return level != "debug" or name in allowlist


def _producer_class():
    import contextlib

    from cosmos.operators._watcher.base import _DBT_EVENT_ALLOWLIST
    from cosmos.operators.local import DbtLocalBaseOperator
    from cosmos.operators.watcher import DbtProducerWatcherOperator, _StdoutFilter

    class SticProducerWatcherOperator(DbtProducerWatcherOperator):
        """Cosmos' producer; its per-event XCom pushes filtered and made off dbt's threads (module docstring)."""

        def run_dbt_runner(self, command, env, cwd, **kwargs):
            context = kwargs.get("context")
            if context is None or context.get("_check_source_freshness"):
                return super().run_dbt_runner(command, env, cwd, **kwargs)
            from cosmos.operators._watcher import safe_xcom_push
            from cosmos.operators._watcher.state import get_dbt_event_xcom_key, is_dbt_node_status_success
            from google.protobuf.json_format import MessageToJson

            from stic.ops.watcher_progress import OrderedPusher, StatusKeys

            parse = self._make_parse_callable()
            unread = {get_dbt_event_xcom_key(test) for tests in (self.tests_per_model or {}).values() for test in tests}
            # Sensors in the triggerer take a success from the board alone; pokes (`airflow dags test`) read
            # every node's own XComs.
            board_only = is_dbt_node_status_success if sensor_mode() == "triggerer" else None
            ti = StatusKeys(context["ti"], lambda t, key, value: safe_xcom_push(task_instance=t, key=key, value=value),
                            unread=unread, board_only=board_only)
            extra = {"project_dir": cwd, "context": {**context, "ti": ti, "task_instance": ti}}
            pusher = OrderedPusher(lambda event: parse(MessageToJson(event, preserving_proto_field_name=True), extra),
                                   on_idle=ti.publish)

            def on_event(event) -> None:
                if reported(event.info.name, event.info.level, _DBT_EVENT_ALLOWLIST):
                    pusher.put(event)

            before = self._dbt_runner_callbacks
            self._dbt_runner_callbacks = [*(before or []), on_event]
            try:
                with contextlib.redirect_stdout(_StdoutFilter()):
                    result = DbtLocalBaseOperator.run_dbt_runner(self, command, env, cwd, **kwargs)
            finally:
                self._dbt_runner_callbacks = before
                error = pusher.close()
            self.log.info("dbt events reported to the sensors: %d; node statuses: %d; successes on the board only: "
                          "%d; pushes left out: %d", pusher.handled, len(ti.statuses), ti.boarded, ti.skipped)
            if error is not None:
                raise error
            return result

    SticProducerWatcherOperator.__module__ = __name__
    SticProducerWatcherOperator.__qualname__ = "SticProducerWatcherOperator"
    return SticProducerWatcherOperator


def quiet_producer(group) -> str:
    """Make the group's Cosmos producer a SticProducerWatcherOperator (same task, arguments and behaviour)."""
    from cosmos.constants import PRODUCER_WATCHER_TASK_ID
    from cosmos.operators.watcher import DbtProducerWatcherOperator

    task = group.children[f"{group.group_id}.{PRODUCER_WATCHER_TASK_ID}"]
    if type(task) is not DbtProducerWatcherOperator:
        raise TypeError(f"{task.task_id}: expected Cosmos' DbtProducerWatcherOperator, got {type(task).__name__}")
    task.__class__ = globals().get("SticProducerWatcherOperator") or __getattr__("SticProducerWatcherOperator")
    task.dbt_cmd_flags = [*(task.dbt_cmd_flags or []), *QUIET_CONSOLE]
    return task.task_id


# Cosmos runs the producer's dbt with `--log-format json`, takes each event from dbt's callback and drops every
# JSON line dbt prints. dbt formats each of its ~35,000 events of a build (debug ones too) for the console before
# its level is checked: as JSON, the largest part of what dbt's logging cost the producer (py-spy, 100k rows).
# `--log-level none`: no console logger at all; the task log still gets every line, from the events. The file log
# (DBT_LOG_PATH) keeps what a `stic build` writes: debug level, dbt's debug text format (not JSON, which it would
# otherwise follow).
QUIET_CONSOLE = ("--log-level", "none", "--log-level-file", "debug", "--log-format-file", "debug")


def __getattr__(name: str):
    # The triggerer imports the class by its path; the DAG file only names it (no trigger import at parse).
    if name == "WatcherStartTrigger":
        cls = _trigger_class()
        globals()[name] = cls
        return cls
    if name == "SticProducerWatcherOperator":
        cls = _producer_class()
        globals()[name] = cls
        return cls
    raise AttributeError(name)
