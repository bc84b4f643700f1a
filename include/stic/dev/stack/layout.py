"""Where a stack lives: its folder, its databases, its Redis database, its ports, and the state `down` reads."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from stic.config import settings

from .services import DEFAULT_PG_URL, DEFAULT_REDIS_URL, _redis_base, with_db


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


class StackLayout:
    """A stack's names and places: chosen when it is made, filled in (databases, port) as it is prepared."""

    def __init__(self, base_dir: Path | None = None, pg_url: str | None = None, redis_url: str | None = None,
                 workers: int = 2, concurrency: int = 2, executor: str = "celery"):
        if executor not in ("celery", "local"):
            raise ValueError(f"executor: 'celery' or 'local', not {executor!r}")
        # "local": LocalExecutor, the scheduler runs `concurrency` task slots itself (no Redis, no Celery worker).
        self.executor = executor
        self.suffix = time.strftime("%Y%m%d%H%M%S") + "_" + uuid.uuid4().hex[:6]
        self.base_dir = Path(base_dir or settings().data_dir / "stack" / self.suffix).resolve()
        self.pg_url = pg_url or os.environ.get("STIC_STACK_PG_URL") or DEFAULT_PG_URL
        self.redis_url = redis_url or os.environ.get("STIC_STACK_REDIS_URL") or DEFAULT_REDIS_URL
        self.worker_names = [f"worker{i + 1}" for i in range(workers)] if executor == "celery" else []
        self.concurrency = concurrency
        self.meta_db = f"stic_airflow_meta_{self.suffix}"
        self.warehouse_db: str | None = None
        self.redis_db: int | None = None
        self.api_port = 0
        self.hostname = socket.gethostname()
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

    def broker_url(self) -> str:
        return f"{_redis_base(self.redis_url)}/{self.redis_db}"

    def make_folders(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        for d in (self.home, self.logs, self.landing / "incoming", self.landing / "archive",
                  self.base_dir / "reports", self.base_dir / "data"):
            d.mkdir(parents=True, exist_ok=True)

    def state(self, pids: dict[str, int] | None = None) -> StackState:
        return StackState(self.suffix, str(self.base_dir), self.pg_url, self.redis_url, self.redis_db or 0,
                          self.meta_db, self.warehouse_db, self.api_port, dict(pids or {}), self.detached)

    def write_state(self, pids: dict[str, int] | None = None) -> None:
        if self.base_dir.is_dir():
            (self.base_dir / "stack.json").write_text(json.dumps(self.state(pids).__dict__, indent=2))
