"""Where things live and how they are configured: every setting is an environment variable with a default."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# The project's root: the checkout this package is installed from (editable install), unless STIC_HOME says.
_DEFAULT_ROOT = Path(__file__).resolve().parents[2]


def _load_dotenv() -> None:
    """`.env` at the project root (or STIC_ENV_FILE; empty: none), as `.env.example` describes; the process's
    own environment wins over the file."""
    path = os.environ.get("STIC_ENV_FILE", str(Path(os.environ.get("STIC_HOME") or _DEFAULT_ROOT) / ".env"))
    if path and Path(path).is_file():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


_load_dotenv()

# Telemetry of the tools we run; each would otherwise try the network on every run.
TELEMETRY_OFF = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "SCARF_ANALYTICS": "false",
}


@contextmanager
def environ(extra: dict[str, str]) -> Iterator[None]:
    """Set these environment variables for the duration of the block, then put back what was there."""
    old = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def switch_off_telemetry() -> None:
    for k, v in TELEMETRY_OFF.items():
        os.environ.setdefault(k, v)


@dataclass(frozen=True)
class Settings:
    root: Path
    data_dir: Path
    landing_dir: Path
    reports_dir: Path
    dbt_project_dir: Path
    expectations_dir: Path
    warehouse_url: str | None
    # A landing file modified less than this many seconds ago may still be being written (an upload, a copy):
    # it is left for the next scan. The demo and the tests, which write their files whole, set 0.
    landing_settle_seconds: float = 30.0
    # How many times a submission may fail with an internal error (an exception, not a rule) before it is
    # rejected with a receipt, so that one file can never block a submitter's queue.
    max_attempts: int = 3

    @property
    def incoming_dir(self) -> Path:
        return self.landing_dir / "incoming"

    @property
    def archive_dir(self) -> Path:
        return self.landing_dir / "archive"

    @property
    def pgdata_dir(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def gx_dir(self) -> Path:
        return self.data_dir / "gx"


def settings() -> Settings:
    root = Path(os.environ.get("STIC_HOME") or _DEFAULT_ROOT).resolve()

    def path(var: str, default: Path) -> Path:
        return Path(os.environ[var]).resolve() if os.environ.get(var) else default

    return Settings(
        root=root,
        data_dir=path("STIC_DATA_DIR", root / ".stic"),
        landing_dir=path("STIC_LANDING_DIR", root / "landing"),
        reports_dir=path("STIC_REPORTS_DIR", root / "reports"),
        dbt_project_dir=root / "dbt_project",
        expectations_dir=root / "expectations",
        warehouse_url=os.environ.get("WAREHOUSE_URL") or None,
        landing_settle_seconds=float(os.environ.get("STIC_LANDING_SETTLE_SECONDS") or 30),
        max_attempts=max(1, int(os.environ.get("STIC_MAX_ATTEMPTS") or 3)),
    )
