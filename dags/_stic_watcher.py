"""The dbt group's per-model sensors (Cosmos watcher mode) under a real scheduler: started in the triggerer.

Cosmos' consumer sensors report each model's (and its tests') outcome from the producer's single `dbt build`.
Deferrable, each one still takes a worker twice (to start and defer, then to resume after its trigger fired):
~140 task processes for ~70 sensors, far more than the build itself on a small machine. Here the scheduler
defers them itself (Airflow's `start_from_trigger`: no worker to start), and Cosmos' own trigger, run by
`WatcherStartTrigger`, ends a success in the triggerer (`TaskSuccessEvent`: no worker to finish). Any other
outcome (a failed or skipped node, a failed or skipped producer) resumes on a worker in Cosmos'
`execute_complete`, which fails, skips or falls back exactly as Cosmos does.

`airflow dags test` runs one task at a time in one process: a sensor started in a trigger would wait there for a
producer that cannot start. So the mode is a setting, STIC_DBT_SENSORS: `triggerer` (the default: docker
compose, the stack) or `reschedule` (what `stic.ops.airflow_env.env()` sets for `airflow dags test`).
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
    # A trigger polls the producer's XComs through the api-server; every second for ~100 sensors loaded a
    # two-core machine. It polls once as soon as it starts, so the interval only delays a node still running.
    return {"deferrable": True, "poke_interval": 3, "timeout": TIMEOUT}


def start_in_triggerer(group) -> int:
    """Make each consumer sensor of the Cosmos group start in the triggerer (in `triggerer` mode only)."""
    if sensor_mode() != "triggerer":
        return 0
    from airflow.triggers.base import StartTriggerArgs
    from cosmos.operators._watcher.base import BaseConsumerSensor

    n = 0
    for task in group.children.values():
        if hasattr(task, "children"):  # a model's group: its .run and .test tasks
            n += start_in_triggerer(task)
            continue
        if not isinstance(task, BaseConsumerSensor) or not task.model_unique_id:
            continue
        task.start_from_trigger = True
        task.start_trigger_args = StartTriggerArgs(
            trigger_cls=f"{__name__}.WatcherStartTrigger",
            trigger_kwargs={"model_unique_id": task.model_unique_id, "producer_task_id": task.producer_task_id,
                            "poke_interval": float(task.poke_interval), "is_test_sensor": task.is_test_sensor},
            next_method="execute_complete",
            next_kwargs=None,
            timeout=TIMEOUT,
        )
        n += 1
    return n


def _trigger_class():
    from airflow.triggers.base import TaskSuccessEvent
    from cosmos.operators._watcher.triggerer import WatcherTrigger

    class WatcherStartTrigger(WatcherTrigger):
        """Cosmos' WatcherTrigger, with the run taken from its task instance; a success ends the task here."""

        def __init__(self, model_unique_id: str, producer_task_id: str, poke_interval: float = 1.0,
                     is_test_sensor: bool = False, dag_id: str | None = None, run_id: str | None = None,
                     map_index: int | None = None, **_):
            super().__init__(model_unique_id=model_unique_id, producer_task_id=producer_task_id, dag_id=dag_id,
                             run_id=run_id, map_index=map_index, poke_interval=poke_interval,
                             is_test_sensor=is_test_sensor)

        def serialize(self):
            return (f"{__name__}.WatcherStartTrigger",
                    {"model_unique_id": self.model_unique_id, "producer_task_id": self.producer_task_id,
                     "poke_interval": self.poke_interval, "is_test_sensor": self.is_test_sensor,
                     "dag_id": self.dag_id, "run_id": self.run_id, "map_index": self.map_index})

        async def run(self):
            ti = self.task_instance
            if ti is not None and not self.run_id:
                self.dag_id, self.run_id = ti.dag_id, ti.run_id
                self.map_index = ti.map_index
            async for event in super().run():
                payload = event.payload if isinstance(event.payload, dict) else {}
                if payload.get("status") == "success":
                    yield TaskSuccessEvent()
                else:
                    yield event
                return

    WatcherStartTrigger.__module__ = __name__
    WatcherStartTrigger.__qualname__ = "WatcherStartTrigger"
    return WatcherStartTrigger


def __getattr__(name: str):
    # The triggerer imports the class by its path; the DAG file only names it (no trigger import at parse).
    if name == "WatcherStartTrigger":
        cls = _trigger_class()
        globals()[name] = cls
        return cls
    raise AttributeError(name)
