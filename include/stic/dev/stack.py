"""Airflow's distributed engine without Docker: the configuration of docker-compose.yml, run on this machine.

CeleryExecutor with a Redis broker, a PostgreSQL metadata database (also the Celery result backend), an
AIRFLOW_HOME of its own, and every component as a process of its own: `airflow api-server`, `airflow
scheduler`, `airflow dag-processor`, `airflow triggerer` and two `airflow celery worker`s
(`--celery-hostname worker1@%h`, `worker2@%h`), each logging to its own file under the stack's folder.

    python -m stic.dev.stack e2e     sample files through both DAGs on the two workers; prints who ran what
    python -m stic.dev.stack up      start the stack and keep it running (Ctrl-C stops it; --detach returns)
    python -m stic.dev.stack down    stop a stack started with `up --detach` and drop its databases

Configuration (environment): STIC_STACK_PG_URL (an admin URL of a PostgreSQL, default
postgresql://postgres@127.0.0.1:5432/postgres: the metadata database `stic_airflow_meta_<suffix>` and,
without WAREHOUSE_URL, the warehouse `stic_stack_wh_<suffix>` are created there and dropped at the end),
STIC_STACK_REDIS_URL (default redis://127.0.0.1:6379; the stack claims an empty database number of it),
WAREHOUSE_URL (use this warehouse instead of a fresh one). A local Redis or PostgreSQL that is not running
is started (`redis-server --daemonize yes ...`, `pg_ctlcluster ... main start`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from stic.config import TELEMETRY_OFF, environ, settings

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"
INGEST_DAG = "ingest_district_submissions"
BUILD_DAG = "build_warehouse"
DAG_IDS = (INGEST_DAG, BUILD_DAG)
WORKER_NAMES = ("worker1", "worker2")
REDIS_START = ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
               "--save", "", "--appendonly", "no"]
CLAIM_KEY = "stic:stack:claim"

TERMINAL = ("success", "failed")


class StackUnavailable(RuntimeError):
    """Redis or PostgreSQL cannot be reached, nor started."""


class StackFailed(RuntimeError):
    """A component did not come up, or the pipeline did not finish in time."""


def _say(msg: str) -> None:
    print(f"[stack {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_db(url: str, dbname: str, scheme: str | None = None) -> str:
    p = urlparse(url)
    return urlunparse(p._replace(path=f"/{dbname}", scheme=scheme or p.scheme))


def _is_local(host: str | None) -> bool:
    return host in (None, "", "127.0.0.1", "localhost", "::1")


# --- the services this stack needs: Redis and PostgreSQL, started when local and absent -----------------

def ensure_redis(url: str) -> None:
    import redis

    def ping() -> bool:
        try:
            return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
        except redis.RedisError:
            return False

    if ping():
        return
    p = urlparse(url)
    if not (_is_local(p.hostname) and (p.port or 6379) == 6379 and shutil.which("redis-server")):
        raise StackUnavailable(f"Redis at {url} does not answer (and is not a local one this can start)")
    _say("Redis not running: " + " ".join(a or '""' for a in REDIS_START))
    subprocess.run(REDIS_START, check=False, capture_output=True)
    for _ in range(50):
        if ping():
            return
        time.sleep(0.2)
    raise StackUnavailable(f"Redis at {url} does not answer, also after `{' '.join(REDIS_START)}`")


def ensure_postgres(url: str) -> None:
    import psycopg

    def ok() -> bool:
        try:
            with psycopg.connect(url, connect_timeout=3) as c:
                c.execute("select 1")
            return True
        except psycopg.OperationalError:
            return False

    if ok():
        return
    versions = sorted(os.listdir("/etc/postgresql")) if Path("/etc/postgresql").is_dir() else []
    if not (_is_local(urlparse(url).hostname) and versions and shutil.which("pg_ctlcluster")):
        raise StackUnavailable(f"PostgreSQL at {url} does not answer (and is not a local cluster this can start)")
    for v in versions:
        cmd = ["pg_ctlcluster", "--skip-systemctl-redirect", v, "main", "start"]
        _say("PostgreSQL not running: " + " ".join(cmd))
        subprocess.run(cmd, check=False, capture_output=True)
    for _ in range(50):
        if ok():
            return
        time.sleep(0.2)
    raise StackUnavailable(f"PostgreSQL at {url} does not answer, also after pg_ctlcluster ... main start")


def _redis_base(url: str) -> str:
    """The server part of a Redis URL, without a database number."""
    return re.sub(r"/\d*$", "", url.rstrip("/"))


def claim_redis_db(base_url: str, owner: str) -> int:
    """An empty database number of the Redis server, marked as ours (so that `down` flushes only ours)."""
    import redis

    base = _redis_base(base_url)
    for n in range(1, 16):
        r = redis.Redis.from_url(f"{base}/{n}")
        if r.dbsize() == 0 and r.set(CLAIM_KEY, owner, nx=True):
            return n
    raise StackUnavailable(f"no empty database on the Redis at {base} (1-15 are all in use)")


def release_redis_db(base_url: str, n: int, owner: str) -> None:
    import redis

    base = _redis_base(base_url)
    try:
        r = redis.Redis.from_url(f"{base}/{n}", socket_connect_timeout=2)
        if (r.get(CLAIM_KEY) or b"").decode() == owner:
            r.flushdb()
    except redis.RedisError:
        pass


# --- the stack -------------------------------------------------------------------------------------------

@dataclass
class Proc:
    name: str
    args: list[str]
    log: Path
    popen: subprocess.Popen | None = None
    env_extra: dict[str, str] = field(default_factory=dict)


@dataclass
class StackState:
    """What `up --detach` leaves behind for `down`: the folder, the processes, the databases."""

    suffix: str
    base_dir: str
    pg_url: str
    redis_url: str
    redis_db: int
    meta_db: str
    warehouse_db: str | None
    api_port: int
    pids: dict[str, int] = field(default_factory=dict)
    detached: bool = False


class Stack:
    def __init__(self, base_dir: Path | None = None, pg_url: str | None = None, redis_url: str | None = None,
                 workers: int = 2, concurrency: int = 2):
        self.suffix = time.strftime("%Y%m%d%H%M%S") + "_" + uuid.uuid4().hex[:6]
        self.base_dir = Path(base_dir or settings().data_dir / "stack" / self.suffix).resolve()
        self.pg_url = pg_url or os.environ.get("STIC_STACK_PG_URL") or DEFAULT_PG_URL
        self.redis_url = redis_url or os.environ.get("STIC_STACK_REDIS_URL") or DEFAULT_REDIS_URL
        self.worker_names = [f"worker{i + 1}" for i in range(workers)]
        self.concurrency = concurrency
        self.meta_db = f"stic_airflow_meta_{self.suffix}"
        self.warehouse_db: str | None = None
        self.redis_db: int | None = None
        self.api_port = 0
        self.procs: list[Proc] = []
        self.env: dict[str, str] = {}
        self.hostname = socket.gethostname()
        self.timings: dict[str, float] = {}
        self.detached = False

    # paths
    @property
    def home(self) -> Path:
        return self.base_dir / "airflow_home"

    @property
    def logs(self) -> Path:
        return self.base_dir / "logs"

    @property
    def landing(self) -> Path:
        return self.base_dir / "landing"

    @property
    def meta_url(self) -> str:
        return with_db(self.pg_url, self.meta_db)

    @property
    def warehouse_url(self) -> str:
        return os.environ.get("WAREHOUSE_URL") or with_db(self.pg_url, self.warehouse_db or "postgres")

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def state(self) -> StackState:
        return StackState(self.suffix, str(self.base_dir), self.pg_url, self.redis_url, self.redis_db or 0,
                          self.meta_db, self.warehouse_db, self.api_port,
                          {p.name: p.popen.pid for p in self.procs if p.popen}, self.detached)

    # preparation
    def prepare(self) -> None:
        t = time.monotonic()
        ensure_postgres(self.pg_url)
        ensure_redis(self.redis_url)
        import psycopg

        self.base_dir.mkdir(parents=True, exist_ok=True)
        for d in (self.home, self.logs, self.landing / "incoming", self.landing / "archive",
                  self.base_dir / "reports", self.base_dir / "data"):
            d.mkdir(parents=True, exist_ok=True)
        self.redis_db = claim_redis_db(self.redis_url, self.suffix)
        self._write_state()  # from here on, `down` can clean up after a crash
        with psycopg.connect(self.pg_url, autocommit=True) as c:
            c.execute(f'create database "{self.meta_db}"')
            if not os.environ.get("WAREHOUSE_URL"):
                self.warehouse_db = f"stic_stack_wh_{self.suffix}"
                c.execute(f'create database "{self.warehouse_db}"')
        self._write_state()
        self.api_port = free_port()
        self.env = self._env()
        # The simple auth manager's users (AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS) and their passwords.
        (self.home / "passwords.json").write_text(json.dumps({"admin": "admin"}) + "\n")
        self._write_state()
        _say(f"folder {self.base_dir}; metadata db {self.meta_db}; broker {self._broker_url()}; "
             f"warehouse {self._redacted(self.warehouse_url)}")
        from stic.warehouse import db

        with db.connect(self.warehouse_url) as conn:
            db.init_schema(conn)
        t1 = time.monotonic()
        self.airflow(["db", "migrate"])
        self.timings["db migrate"] = time.monotonic() - t1
        t1 = time.monotonic()
        self._dbt_parse()
        self.timings["dbt parse"] = time.monotonic() - t1
        self.timings["prepare"] = time.monotonic() - t

    @staticmethod
    def _redacted(url: str) -> str:
        from stic.warehouse import db

        return db.redact(url)

    def _broker_url(self) -> str:
        return f"{_redis_base(self.redis_url)}/{self.redis_db}"

    def _env(self) -> dict[str, str]:
        """The environment of every component: the same keys as x-airflow-common in docker-compose.yml."""
        from stic.ops import airflow_env

        stic_env = {
            "AIRFLOW_HOME": str(self.home),
            "STIC_HOME": str(settings().root),
            "STIC_LANDING_DIR": str(self.landing),
            "STIC_REPORTS_DIR": str(self.base_dir / "reports"),
            "STIC_DATA_DIR": str(self.base_dir / "data"),
            "DBT_LOG_PATH": str(self.base_dir / "dbt-logs"),
            "WAREHOUSE_URL": self.warehouse_url,
            # The e2e sample is copied in whole just before the DAG runs: nothing to wait for.
            "STIC_LANDING_SETTLE_SECONDS": os.environ.get("STIC_LANDING_SETTLE_SECONDS", "0"),
        }
        with environ(stic_env):
            env = airflow_env.env(self.warehouse_url)
        # The DAG reads the manifest stic.warehouse.dbt_runner.parse publishes under STIC_DATA_DIR/cosmos, where no dbt run
        # writes (a Cosmos task's dbt rewrites target/manifest.json while other tasks parse the DAG file).
        # No DBT_TARGET_PATH either: dbt's artifacts stay in dbt_project/target
        # (as after `stic setup`) and Cosmos runs dbt in a temporary copy of the project.
        env.pop("DBT_TARGET_PATH", None)
        secret = uuid.uuid4().hex + uuid.uuid4().hex
        env.update(stic_env)
        env.update(TELEMETRY_OFF)
        env.update({
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(settings().root / "dags"),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
            # psycopg 3 for both: Airflow derives the async URL as postgresql+asyncpg, not installed here.
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": with_db(self.pg_url, self.meta_db, "postgresql+psycopg"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": with_db(self.pg_url, self.meta_db, "postgresql+psycopg"),
            "AIRFLOW__CELERY__BROKER_URL": self._broker_url(),
            "AIRFLOW__CELERY__RESULT_BACKEND": with_db(self.pg_url, self.meta_db, "db+postgresql"),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.concurrency),
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
            "AIRFLOW__API_AUTH__JWT_SECRET": secret,
            "AIRFLOW__API__SECRET_KEY": uuid.uuid4().hex,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.logs / "tasks"),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def _dbt_parse(self) -> None:
        """`stic setup`'s dbt half: the manifest Cosmos reads (published under STIC_DATA_DIR/cosmos)."""
        code = "from stic.warehouse import dbt_runner; print(dbt_runner.parse())"
        proc = subprocess.run([sys.executable, "-c", code], env=self.env, capture_output=True, text=True)
        (self.logs / "dbt-parse.log").write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            raise StackFailed(f"dbt parse failed; see {self.logs / 'dbt-parse.log'}\n{proc.stderr[-2000:]}")

    def airflow(self, args: list[str], check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        from stic.ops import airflow_env

        proc = subprocess.run([airflow_env.airflow_bin(), *args], env=self.env, capture_output=True, text=True,
                              cwd=self.base_dir, timeout=timeout)
        with open(self.logs / "cli.log", "a") as f:
            f.write(f"$ airflow {' '.join(args)}  (exit {proc.returncode})\n{proc.stdout}{proc.stderr}\n")
        if check and proc.returncode != 0:
            raise StackFailed(f"airflow {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        return proc

    # processes
    def start(self) -> None:
        from stic.ops import airflow_env

        t = time.monotonic()
        self.procs = [
            Proc("api-server", ["api-server", "--port", str(self.api_port), "--host", "127.0.0.1",
                                "--workers", "1"], self.logs / "api-server.log"),
            Proc("scheduler", ["scheduler"], self.logs / "scheduler.log"),
            Proc("dag-processor", ["dag-processor"], self.logs / "dag-processor.log"),
            Proc("triggerer", ["triggerer"], self.logs / "triggerer.log"),
        ]
        for name in self.worker_names:
            self.procs.append(Proc(
                f"celery-{name}",
                ["celery", "worker", "--celery-hostname", f"{name}@%h", "--concurrency", str(self.concurrency)],
                self.logs / f"celery-{name}.log",
                env_extra={"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())},
            ))
        for p in self.procs:
            fh = open(p.log, "ab")  # noqa: SIM115 - the child keeps it; closed with the process
            p.popen = subprocess.Popen([airflow_env.airflow_bin(), *p.args], env={**self.env, **p.env_extra},
                                       stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       cwd=self.base_dir, start_new_session=True)
            fh.close()
            _say(f"started {p.name} (pid {p.popen.pid}): airflow {' '.join(p.args)}  > {p.log}")
        self._write_state()
        self.wait_healthy()
        self.timings["start"] = time.monotonic() - t

    def _check_alive(self) -> None:
        for p in self.procs:
            if p.popen and p.popen.poll() is not None:
                tail = "\n".join(p.log.read_text(errors="replace").splitlines()[-40:])
                raise StackFailed(f"{p.name} exited (code {p.popen.returncode}); {p.log}:\n{tail}")

    def _wait(self, what: str, check, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if check():
                    _say(f"healthy: {what}")
                    return
            except Exception:  # not up yet
                pass
            time.sleep(1)
        raise StackFailed(f"{what}: not healthy after {timeout:.0f}s (logs in {self.logs})")

    def wait_healthy(self, timeout: float = 240) -> None:
        """The compose healthchecks, here: api-server /api/v2/version, scheduler /health, celery ping."""
        import requests

        self._wait(f"api-server {self.api_url}/api/v2/version",
                   lambda: requests.get(f"{self.api_url}/api/v2/version", timeout=3).ok, timeout)
        hport = self.env["AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT"]
        self._wait(f"scheduler http://127.0.0.1:{hport}/health",
                   lambda: requests.get(f"http://127.0.0.1:{hport}/health", timeout=3).ok, timeout)
        self._wait("triggerer (TriggererJob heartbeat)", lambda: self._job_running("TriggererJob"), timeout)
        self._wait(f"dag-processor (serialized {', '.join(DAG_IDS)})", self._dags_serialized, timeout)
        names = [f"{n}@{self.hostname}" for n in self.worker_names]
        self._wait(f"celery workers {', '.join(names)} (inspect ping)", lambda: self._ping(names), timeout)

    def _ping(self, names: list[str]) -> bool:
        from celery import Celery

        app = Celery(broker=self._broker_url())
        try:
            replies = app.control.ping(destination=names, timeout=2.0)
        finally:
            app.close()
        got = {k for r in replies for k in r}
        return set(names) <= got

    # metadata database
    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.meta_url, connect_timeout=5) as c:
            return c.execute(sql, params).fetchall()

    def _job_running(self, job_type: str) -> bool:
        return bool(self.query("select 1 from job where job_type = %s and state = 'running' "
                               "and latest_heartbeat > now() - interval '60 seconds'", (job_type,)))

    def _dags_serialized(self) -> bool:
        rows = self.query("select dag_id from serialized_dag where dag_id = any(%s)", (list(DAG_IDS),))
        return {r[0] for r in rows} >= set(DAG_IDS)

    def import_errors(self) -> list[tuple]:
        try:
            return self.query("select filename, stacktrace from import_error")
        except Exception:
            return []

    def dag_runs(self, dag_id: str) -> list[dict]:
        rows = self.query("select run_id, state, run_type, start_date, end_date, queued_at from dag_run "
                          "where dag_id = %s order by id", (dag_id,))
        return [dict(zip(("run_id", "state", "run_type", "start_date", "end_date", "queued_at"), r, strict=True))
                for r in rows]

    def task_instances(self) -> list[dict]:
        cols = ("dag_id", "run_id", "task_id", "map_index", "state", "hostname", "external_executor_id",
                "start_date", "end_date", "queue")
        rows = self.query(f"select {', '.join(cols)} from task_instance order by start_date nulls last")
        return [dict(zip(cols, r, strict=True)) for r in rows]

    # stopping
    def stop(self, grace: float = 30) -> None:
        """SIGTERM every process group (workers first), then SIGKILL what is left, descendants included."""
        import psutil

        alive = [p for p in self.procs if p.popen and p.popen.poll() is None]
        family: dict[int, list] = {}
        for p in alive:
            try:
                family[p.popen.pid] = psutil.Process(p.popen.pid).children(recursive=True)
            except psutil.Error:
                family[p.popen.pid] = []
        ordered = sorted(alive, key=lambda p: 0 if p.name.startswith("celery") else 1)
        for p in ordered:
            _signal_group(p.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for p in ordered:
            try:
                p.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _say(f"{p.name} (pid {p.popen.pid}) did not stop in {grace:.0f}s: SIGKILL")
        for p in ordered:
            _signal_group(p.popen.pid, signal.SIGKILL)
            for child in family.get(p.popen.pid, []):
                try:
                    child.kill()
                except psutil.Error:
                    pass
            try:
                p.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if alive:
            _say(f"stopped {', '.join(p.name for p in ordered)}")

    def drop(self) -> None:
        drop_databases(self.pg_url, [self.meta_db, self.warehouse_db])
        if self.redis_db:
            release_redis_db(self.redis_url, self.redis_db, self.suffix)
        _say(f"dropped databases {self.meta_db}" + (f", {self.warehouse_db}" if self.warehouse_db else "")
             + f"; flushed redis db {self.redis_db}")

    def _write_state(self) -> None:
        if self.base_dir.is_dir():
            (self.base_dir / "stack.json").write_text(json.dumps(self.state().__dict__, indent=2))


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the process was started with start_new_session: its group id is its pid
    except (ProcessLookupError, PermissionError):
        pass


def drop_databases(pg_url: str, names: list[str | None]) -> None:
    import psycopg

    try:
        with psycopg.connect(pg_url, autocommit=True, connect_timeout=5) as c:
            for name in filter(None, names):
                c.execute(f'drop database if exists "{name}" with (force)')
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


# --- what each worker says it ran ----------------------------------------------------------------------

_WORKLOAD = re.compile(r"\[(?P<cid>[0-9a-f-]{36})\] Executing workload in Celery: (?P<workload>.*)")
_SUCCEEDED = re.compile(r"Task execute_workload\[(?P<cid>[0-9a-f-]{36})\] succeeded")
_RECEIVED = re.compile(r"Task execute_workload\[(?P<cid>[0-9a-f-]{36})\] received")
_FIELD = {k: re.compile(rf"\b{k}='(?P<v>[^']*)'") for k in ("dag_id", "task_id", "run_id")}
_MAP_INDEX = re.compile(r"\bmap_index=(?P<v>-?\d+)")


def worker_record(log: Path) -> dict[str, dict]:
    """Celery task id -> what the worker's own log says: the workload it executed, received, succeeded."""
    out: dict[str, dict] = defaultdict(dict)
    text = log.read_text(errors="replace") if log.exists() else ""
    for line in text.splitlines():
        if m := _WORKLOAD.search(line):
            rec = out[m["cid"]]
            w = m["workload"]
            for k, rx in _FIELD.items():
                if f := rx.search(w):
                    rec[k] = f["v"]
            if f := _MAP_INDEX.search(w):
                rec["map_index"] = int(f["v"])
            rec["executed"] = True
        elif m := _SUCCEEDED.search(line):
            out[m["cid"]]["succeeded"] = True
        elif m := _RECEIVED.search(line):
            out[m["cid"]]["received"] = True
    return dict(out)


def who_ran_what(stack: Stack) -> dict[str, list[dict]]:
    """Per worker: the tasks it executed, from its log, joined to task_instance.external_executor_id."""
    tis = {ti["external_executor_id"]: ti for ti in stack.task_instances() if ti["external_executor_id"]}
    result: dict[str, list[dict]] = {}
    for name in stack.worker_names:
        rows = []
        for cid, rec in worker_record(stack.logs / f"celery-{name}.log").items():
            if not rec.get("executed"):
                continue
            ti = tis.get(cid, {})
            rows.append({"celery_task_id": cid, "dag_id": rec.get("dag_id") or ti.get("dag_id"),
                         "task_id": rec.get("task_id") or ti.get("task_id"),
                         "map_index": rec.get("map_index", ti.get("map_index", -1)),
                         "run_id": rec.get("run_id") or ti.get("run_id"),
                         "succeeded_per_worker_log": bool(rec.get("succeeded")),
                         "ti_state": ti.get("state"), "ti_hostname": ti.get("hostname")})
        result[name] = rows
    return result


# --- the end-to-end run ---------------------------------------------------------------------------------

def _sample(landing: Path, scale: float, max_files: int | None, seed: int = 42) -> list[str]:
    """`stic generate --scale S --out <landing>/incoming`; with max_files, a few files of every kind."""
    incoming = landing / "incoming"
    gen_dir = incoming if not max_files else landing.parent / "generated"
    subprocess.run([str(Path(sys.executable).parent / "stic"), "generate", "--scale", str(scale),
                    "--seed", str(seed), "--out", str(gen_dir)], check=True, capture_output=True, text=True)
    files = sorted(str(p.relative_to(gen_dir)) for p in gen_dir.rglob("*") if p.is_file()
                   and not p.name.startswith((".", "manifest")))
    if not max_files:
        return files
    by_kind: dict[str, list[str]] = defaultdict(list)
    for f in files:
        parts = f.split("/")
        if len(parts) == 4:  # SUBMITTER/kind/period/file
            by_kind[parts[1]].append(f)
    chosen: list[str] = []
    while len(chosen) < max_files and any(by_kind.values()):
        for kind in sorted(by_kind):
            if by_kind[kind] and len(chosen) < max_files:
                chosen.append(by_kind[kind].pop(0))
    for f in chosen:
        (incoming / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(gen_dir / f, incoming / f)
    shutil.rmtree(gen_dir, ignore_errors=True)
    return chosen


def run_pipeline(stack: Stack, timeout: float = 900, build_wait_before_trigger: float = 180,
                 settle: bool = True) -> dict:
    """Unpause both DAGs, trigger the ingest DAG, wait for it and for build_warehouse (asset-triggered)."""
    t0 = time.monotonic()
    stack.airflow(["dags", "unpause", BUILD_DAG])
    stack.airflow(["dags", "unpause", INGEST_DAG])
    run_id = f"stic_stack__{stack.suffix}"
    stack.airflow(["dags", "trigger", INGEST_DAG, "--run-id", run_id])
    _say(f"unpaused {', '.join(DAG_IDS)}; triggered {INGEST_DAG} run {run_id}")
    deadline = t0 + timeout
    explicit_build = None
    ingest_done_at = None
    last = ""
    while True:
        stack._check_alive()
        ingest = stack.dag_runs(INGEST_DAG)
        build = stack.dag_runs(BUILD_DAG)
        mine = next((r for r in ingest if r["run_id"] == run_id), None)
        status = (f"{INGEST_DAG}: " + ", ".join(f"{r['run_type']}={r['state']}" for r in ingest)
                  + f" | {BUILD_DAG}: " + (", ".join(f"{r['run_type']}={r['state']}" for r in build) or "none"))
        if status != last:
            _say(status)
            last = status
        if mine and mine["state"] == "failed":
            raise StackFailed(f"{INGEST_DAG} run {run_id} failed (task logs in {stack.logs / 'tasks'})")
        if any(r["state"] == "failed" for r in build):
            raise StackFailed(f"a {BUILD_DAG} run failed (task logs in {stack.logs / 'tasks'})")
        ingest_settled = mine and mine["state"] == "success" and all(r["state"] in TERMINAL for r in ingest)
        if ingest_settled and ingest_done_at is None:
            ingest_done_at = time.monotonic()
            _say(f"{INGEST_DAG} run {run_id} succeeded after {ingest_done_at - t0:.0f}s")
        if ingest_settled:
            pending = stack.query("select count(*) from asset_dag_run_queue where target_dag_id = %s",
                                  (BUILD_DAG,))[0][0]
            done = [r for r in build if r["state"] == "success"]
            busy = [r for r in build if r["state"] not in TERMINAL]
            if done and (not settle or (not busy and not pending)):
                break
            if not build and explicit_build is None and time.monotonic() - ingest_done_at > build_wait_before_trigger:
                explicit_build = f"stic_stack_build__{stack.suffix}"
                _say(f"{BUILD_DAG} did not start by itself in {build_wait_before_trigger:.0f}s: triggering it")
                stack.airflow(["dags", "trigger", BUILD_DAG, "--run-id", explicit_build])
        if time.monotonic() > deadline:
            raise StackFailed(f"timed out after {timeout:.0f}s: {status}")
        time.sleep(3)
    build = stack.dag_runs(BUILD_DAG)
    return {"ingest_run_id": run_id, "ingest_runs": stack.dag_runs(INGEST_DAG), "build_runs": build,
            "build_triggered_explicitly": explicit_build is not None,
            "pipeline_seconds": time.monotonic() - t0,
            "ingest_seconds": (ingest_done_at or time.monotonic()) - t0}


def e2e(scale: float = 0.02, max_files: int | None = None, timeout: float = 900, settle: bool = True,
        keep: bool = False, concurrency: int = 2, base_dir: Path | None = None) -> dict:
    """The whole pipeline on the Celery stack; returns runs, who ran what, timings. Raises StackFailed."""
    t0 = time.monotonic()
    stack = Stack(base_dir=base_dir, concurrency=concurrency)
    with running(stack, keep=keep):
        files = _sample(stack.landing, scale, max_files)
        _say(f"sample: {len(files)} files in {stack.landing / 'incoming'}")
        result = run_pipeline(stack, timeout=timeout, settle=settle)
        result["workers"] = who_ran_what(stack)
        result["task_instances"] = stack.task_instances()
        result["files"] = files
        from stic.reports import summary

        try:
            with environ({k: v for k, v in stack.env.items() if k.startswith("STIC_")}):
                s = summary.collect(stack.warehouse_url)
            result["warehouse"] = {**s["submissions"], "rows_loaded": s["rows"]["loaded"],
                                   "mart_rows": sum(s["marts"].values())}
        except Exception as e:  # the summary is a nicety; the runs are what counts
            result["warehouse"] = {"error": str(e)}
        result["timings"] = {**stack.timings, **{k: result[k] for k in ("ingest_seconds", "pipeline_seconds")}}
    result["timings"]["total"] = time.monotonic() - t0
    result["hostname"] = stack.hostname
    return result


def render(result: dict) -> str:
    lines = ["", "=== Celery stack end-to-end ==="]
    t = result["timings"]
    lines.append("timings: " + ", ".join(f"{k} {v:.0f}s" for k, v in t.items()))
    lines.append(f"files: {len(result['files'])}")
    for dag_id, key in ((INGEST_DAG, "ingest_runs"), (BUILD_DAG, "build_runs")):
        for r in result[key]:
            dur = (r["end_date"] - r["start_date"]).total_seconds() if r["end_date"] and r["start_date"] else 0
            lines.append(f"  {dag_id} {r['run_id']} [{r['run_type']}]: {r['state']} ({dur:.0f}s)")
    if result["build_triggered_explicitly"]:
        lines.append(f"  note: {BUILD_DAG} did not start from the asset events; it was triggered explicitly")
    for name, rows in result["workers"].items():
        per = defaultdict(int)
        for r in rows:
            per[f"{r['dag_id']}.{r['task_id']}"] += 1
        hosts = sorted({str(r["ti_hostname"]) for r in rows})
        lines.append(f"{name}@{result['hostname']}: {len(rows)} tasks executed "
                     f"({sum(r['succeeded_per_worker_log'] for r in rows)} succeeded per its log; "
                     f"task_instance.hostname {', '.join(hosts) or '-'})")
        for k, n in sorted(per.items()):
            lines.append(f"    {n:3d} x {k}")
    ti_states = defaultdict(int)
    for ti in result["task_instances"]:
        ti_states[ti["state"]] += 1
    lines.append("task instances: " + ", ".join(f"{k}: {v}" for k, v in sorted(ti_states.items(), key=str)))
    wh = result.get("warehouse")
    if wh:
        lines.append(f"warehouse submissions: {json.dumps(wh, default=str)}")
    return "\n".join(lines)


def both_workers_ran(result: dict) -> bool:
    return all(any(r["succeeded_per_worker_log"] for r in rows) for rows in result["workers"].values()) \
        and len(result["workers"]) >= 2


# --- command line --------------------------------------------------------------------------------------

def cmd_e2e(args) -> int:
    try:
        result = e2e(scale=args.scale, max_files=args.max_files, timeout=args.timeout, settle=not args.no_settle,
                     keep=args.keep, concurrency=args.concurrency)
    except StackUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    except StackFailed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: the stack was stopped and its databases dropped", file=sys.stderr)
        return 130
    print(render(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    ok = both_workers_ran(result)
    print("OK: both DAG runs succeeded; both workers executed tasks" if ok
          else "FAILED: a worker executed no task")
    return 0 if ok else 1


def cmd_up(args) -> int:
    stack = Stack(concurrency=args.concurrency)
    stack.detached = args.detach
    if args.detach:
        try:
            stack.prepare()
            stack.start()
        except BaseException:
            stack.stop()
            stack.drop()
            raise
        print(f"stack up: {stack.api_url} (admin / admin); folder {stack.base_dir}\n"
              f"  env for the airflow CLI: {stack.base_dir / 'env.sh'}\n  stop it: python -m stic.dev.stack down")
        _write_env_sh(stack)
        return 0
    with running(stack, keep=True):
        _write_env_sh(stack)
        print(f"stack up: {stack.api_url} (admin / admin); logs in {stack.logs}; "
              f"`source {stack.base_dir / 'env.sh'}` to use the airflow CLI on it. Ctrl-C stops it.", flush=True)
        try:
            while True:
                stack._check_alive()
                time.sleep(2)
        except KeyboardInterrupt:
            print("stopping …", flush=True)
    return 0


def _write_env_sh(stack: Stack) -> None:
    keys = [k for k in stack.env if k.startswith(("AIRFLOW", "STIC_", "WAREHOUSE", "DBT_")) or k in TELEMETRY_OFF]
    (stack.base_dir / "env.sh").write_text("".join(f"export {k}='{stack.env[k]}'\n" for k in sorted(keys)))


def cmd_down(args) -> int:
    root = settings().data_dir / "stack"
    states = sorted(root.glob("*/stack.json")) if root.is_dir() else []
    if not states:
        print("no stack to stop")
        return 0
    stopped = 0
    for path in states:
        st = json.loads(path.read_text())
        pids = st.get("pids", {})
        # A stack of `up --detach`, or the leftovers of one that crashed; never an `e2e` or `up` still running.
        if not (st.get("detached") or not any(_alive(pid) for pid in pids.values())):
            continue
        stopped += 1
        for name, pid in pids.items():
            if _alive(pid):
                _signal_group(pid, signal.SIGTERM)
                print(f"SIGTERM {name} (pid {pid})")
        deadline = time.monotonic() + 30
        for pid in pids.values():
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.5)
            _signal_group(pid, signal.SIGKILL)
        drop_databases(st["pg_url"], [st["meta_db"], st.get("warehouse_db")])
        if st.get("redis_db"):
            release_redis_db(st["redis_url"], st["redis_db"], st["suffix"])
        if args.keep:
            path.unlink()
        else:
            shutil.rmtree(st["base_dir"], ignore_errors=True)
        print(f"stack {st['suffix']} down: databases dropped")
    if not stopped:
        print("no detached or stale stack to stop")
    return 0


def _alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m stic.dev.stack", description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    e = sub.add_parser("e2e", help="start the stack, run sample files through both DAGs, show who ran what, stop")
    e.add_argument("--scale", type=float, default=0.02, help="sample size for `stic generate` (default 0.02)")
    e.add_argument("--max-files", type=int, default=None, help="only this many sample files, of every kind")
    e.add_argument("--timeout", type=float, default=900, help="seconds to wait for the DAG runs (default 900)")
    e.add_argument("--no-settle", action="store_true",
                   help="stop at the first successful build_warehouse run (default: wait until no run is queued)")
    e.add_argument("--concurrency", type=int, default=2, help="task slots per worker (default 2)")
    e.add_argument("--keep", action="store_true", help="keep the stack's folder (logs) after a successful run")
    e.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    e.set_defaults(func=cmd_e2e)
    u = sub.add_parser("up", help="start the stack and keep it running until Ctrl-C")
    u.add_argument("--detach", action="store_true", help="return once healthy; `down` stops it")
    u.add_argument("--concurrency", type=int, default=2)
    u.set_defaults(func=cmd_up)
    d = sub.add_parser("down", help="stop stacks started with `up --detach`; drop their databases")
    d.add_argument("--keep", action="store_true", help="keep their folders (logs)")
    d.set_defaults(func=cmd_down)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
