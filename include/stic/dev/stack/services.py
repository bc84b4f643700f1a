"""What the stack needs from outside: Redis and PostgreSQL (started when local and absent), names, ports, errors."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import urlparse, urlunparse

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
