"""Where the benchmark runs: its scratch database, the machine, and the helpers the measurements share."""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import time
from pathlib import Path

from stic.config import settings

from .data import BULK_ROWS, DEFAULT_ADMIN_URL, write_projects_csv

# ------------------------------------------------------------------------------------- environment


def admin_url() -> str:
    """The server the benchmark's own database lives on: WAREHOUSE_URL's, else the local PostgreSQL."""
    return os.environ.get("WAREHOUSE_URL") or DEFAULT_ADMIN_URL


def machine() -> dict:
    import psutil

    info = {
        "host": platform.node(),
        "nproc": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        import psycopg

        with psycopg.connect(admin_url(), autocommit=True) as c:
            info["postgresql"] = c.execute("show server_version").fetchone()[0]
    except Exception as e:  # noqa: BLE001 - informative only
        info["postgresql"] = f"unknown ({e})"
    return info


def _peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: on Linux ru_maxrss carries over the peak of the parent
    process that forked us (the bench itself, hundreds of MB after dbt and GX), which would hide the figure."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KB


def _log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ----------------------------------------------------------------------------------------- helpers


def _register(conn, path: Path, submitter: str, period: str) -> int:
    from stic import ledger

    reg = ledger.register(conn, path, submitter=submitter, kind="projects", period=period)
    if reg.status != "received":
        raise RuntimeError(f"{path.name}: registered as {reg.status}, expected received")
    return reg.submission_id


# Agencies that send projects: the bench files book rows to all 16 districts, which a district may not
# (it reports only its own district's rows: district_mismatch); an agency may report any district.
_SUBMITTERS = ("STCSM", "SHEITC", "SHDRC", "SHTO", "SSTIC")
_slots = iter((s, f"{y}Q{q}") for y in range(2014, 2031) for q in (1, 2, 3, 4) for s in _SUBMITTERS)


def _slot() -> tuple[str, str]:
    """A (submitter, period) not used yet in this run: every bench submission stands on its own."""
    return next(_slots)


def fill_warehouse(conn, url: str, rows: int, data: Path, tag: str) -> float:
    """Publish `rows` more project rows through the real pipeline (load, validate, publish). Returns seconds."""
    from stic import ledger
    from stic.pipeline import load_step, validate_step

    t0 = time.perf_counter()
    done, k = 0, 0
    while done < rows:
        n = min(BULK_ROWS, rows - done)
        path = data / f"bulk-{tag}-{k}.csv"
        write_projects_csv(path, n, prefix=f"B{tag}{k}")
        submitter, period = _slot()
        sid = _register(conn, path, submitter, period)
        out = load_step(conn, sid)
        if out.rejected:
            raise RuntimeError(f"bulk submission rejected: {out.rejected}")
        validate_step(conn, sid, url=url)
        status = ledger.publish(conn, sid)
        if status != "published":
            raise RuntimeError(f"bulk submission {sid} ended {status}: {ledger.get(conn, sid)['status_reason']}")
        path.unlink()
        _drop_archive(conn, sid)
        done += n
        k += 1
        _log(f"  warehouse +{done:,}/{rows:,} rows")
    conn.execute("analyze raw.projects")
    return time.perf_counter() - t0


def _drop_archive(conn, submission_id: int) -> None:
    """Bench data is scratch: the archived copy of a big file goes (the ledger row stays)."""
    rel = conn.execute("select archive_path from audit.submissions where submission_id = %s",
                       (submission_id,)).fetchone()[0]
    (settings().landing_dir / rel).unlink(missing_ok=True)


def _dbt(args: list[str], url: str) -> float:
    from stic.warehouse import dbt_runner as dbt

    t0 = time.perf_counter()
    dbt.run(args, url=url, quiet=True)
    return time.perf_counter() - t0
