"""The stack: its layout, its processes and its metadata database put together, prepared, started, stopped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from .airflow_config import component_env, dbt_parse, run_airflow
from .layout import StackLayout, StackState
from .metadata import MetadataDB
from .processes import Proc, ProcessGroup, airflow_procs
from .services import (
    DAG_IDS,
    _say,
    claim_redis_db,
    ensure_postgres,
    ensure_redis,
    free_port,
    release_redis_db,
)


class Stack(StackLayout):
    """Airflow with CeleryExecutor (or LocalExecutor) as local processes, with a metadata database and a warehouse of
    its own."""

    def __init__(self, base_dir: Path | None = None, pg_url: str | None = None, redis_url: str | None = None,
                 workers: int = 2, concurrency: int = 2, executor: str = "celery"):
        super().__init__(base_dir, pg_url, redis_url, workers, concurrency, executor)
        self.env: dict[str, str] = {}
        self.timings: dict[str, float] = {}
        self.processes = ProcessGroup()
        self.meta = MetadataDB(self.meta_url)

    @property
    def procs(self) -> list[Proc]:
        return self.processes.procs

    def state(self, pids: dict[str, int] | None = None) -> StackState:
        return super().state(self.processes.pids() if pids is None else pids)

    def _write_state(self) -> None:
        self.write_state(self.processes.pids())

    # preparation
    def prepare(self) -> None:
        t = time.monotonic()
        ensure_postgres(self.pg_url)
        if self.executor == "celery":
            ensure_redis(self.redis_url)
        from stic.warehouse import db

        self.make_folders()
        if self.executor == "celery":
            self.redis_db = claim_redis_db(self.redis_url, self.suffix)
        self._write_state()  # from here on, `down` can clean up after a crash
        db.create_database(self.pg_url, self.meta_db)
        if not os.environ.get("WAREHOUSE_URL"):
            self.warehouse_db = f"stic_stack_wh_{self.suffix}"
            db.create_database(self.pg_url, self.warehouse_db)
        self._write_state()
        self.api_port = free_port()
        self.env = component_env(self)
        # The simple auth manager's users (AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS) and their passwords.
        (self.home / "passwords.json").write_text(json.dumps({"admin": "admin"}) + "\n")
        self._write_state()
        _say(f"folder {self.base_dir}; metadata db {self.meta_db}; broker {self.broker_url()}; "
             f"warehouse {db.redact(self.warehouse_url)}")
        with db.connect(self.warehouse_url) as conn:
            db.init_schema(conn)
        t1 = time.monotonic()
        self.airflow(["db", "migrate"])
        self.timings["db migrate"] = time.monotonic() - t1
        t1 = time.monotonic()
        dbt_parse(self.env, self.logs)
        self.timings["dbt parse"] = time.monotonic() - t1
        self.timings["prepare"] = time.monotonic() - t

    def airflow(self, args: list[str], check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        return run_airflow(self.env, self.base_dir, self.logs, args, check, timeout)

    # processes
    def start(self) -> None:
        t = time.monotonic()
        self.processes.launch(airflow_procs(self), self.env, self.base_dir)
        self._write_state()
        self.wait_healthy()
        self.timings["start"] = time.monotonic() - t

    def _check_alive(self) -> None:
        self.processes.check_alive()

    def wait_healthy(self, timeout: float = 240) -> None:
        """The compose healthchecks, here: api-server /api/v2/version, scheduler /health, celery ping."""
        import requests

        def wait(what, check):
            self.processes.wait(what, check, timeout, self.logs)

        wait(f"api-server {self.api_url}/api/v2/version",
             lambda: requests.get(f"{self.api_url}/api/v2/version", timeout=3).ok)
        hport = self.env["AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT"]
        wait(f"scheduler http://127.0.0.1:{hport}/health",
             lambda: requests.get(f"http://127.0.0.1:{hport}/health", timeout=3).ok)
        wait("triggerer (TriggererJob heartbeat)", lambda: self.meta.job_running("TriggererJob"))
        wait(f"dag-processor (serialized {', '.join(DAG_IDS)})", self.meta.dags_serialized)
        if not self.worker_names:
            return  # LocalExecutor: the scheduler runs the tasks
        names = [f"{n}@{self.hostname}" for n in self.worker_names]
        wait(f"celery workers {', '.join(names)} (inspect ping)", lambda: self._ping(names))

    def _ping(self, names: list[str]) -> bool:
        from celery import Celery

        app = Celery(broker=self.broker_url())
        try:
            replies = app.control.ping(destination=names, timeout=2.0)
        finally:
            app.close()
        got = {k for r in replies for k in r}
        return set(names) <= got

    # metadata database
    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        return self.meta.query(sql, params)

    def import_errors(self) -> list[tuple]:
        return self.meta.import_errors()

    def dag_runs(self, dag_id: str) -> list[dict]:
        return self.meta.dag_runs(dag_id)

    def task_instances(self) -> list[dict]:
        return self.meta.task_instances()

    # stopping
    def stop(self, grace: float = 30) -> None:
        """SIGTERM every process group (workers first), then SIGKILL what is left, descendants included."""
        self.processes.stop(grace)

    def drop(self) -> None:
        drop_databases(self.pg_url, [self.meta_db, self.warehouse_db])
        if self.redis_db:
            release_redis_db(self.redis_url, self.redis_db, self.suffix)
        _say(f"dropped databases {self.meta_db}" + (f", {self.warehouse_db}" if self.warehouse_db else "")
             + f"; flushed redis db {self.redis_db}")


def drop_databases(pg_url: str, names: list[str | None]) -> None:
    import psycopg

    from stic.warehouse import db

    try:
        for name in filter(None, names):
            db.drop_database(pg_url, name, connect_timeout=5)
    except psycopg.OperationalError as e:
        _say(f"could not drop {names}: {e}")


@contextmanager
def running(stack: Stack, keep: bool = False):
    """Prepare and start the stack; always stop it and drop its databases (also on failure or Ctrl-C)."""
    ok = False
    try:
        stack.prepare()
        stack.start()
        yield stack
        ok = True
    finally:
        try:
            stack.stop()
        finally:
            stack.drop()
            if ok and not keep:
                shutil.rmtree(stack.base_dir, ignore_errors=True)
            else:
                _say(f"kept {stack.base_dir} (logs in {stack.logs})")
