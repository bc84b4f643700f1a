"""Figures 5 and 6: the dbt task group in the DAG against plain dbt build, and the DAG files' import time."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from stic.config import environ, settings

from .environment import _log
from .figures import Figure, _ratio

# ------------------------------------------------------------------------------------- figure 5


_TASK_LINE = re.compile(r"^(?P<ts>\S+Z) .*\[DAG TEST\] (?P<what>starting|end task) task_id=(?P<task>\S+)")


def _ts(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def dag_dbt_stage(url: str, data: Path) -> dict:
    """`airflow dags test build_warehouse`; the dbt task group's span from the log. Stopped once it is over."""
    from stic.ops import airflow_env

    home = Path(os.environ["AIRFLOW_HOME"])
    log_file = data / "airflow-build_warehouse.log"
    first = last = None
    dbt_tasks, failed = set(), False  # watcher sensors that reschedule start and end more than once
    t0 = time.perf_counter()
    with log_file.open("w") as log, subprocess.Popen(
        [airflow_env.airflow_bin(), "dags", "test", "build_warehouse"], env=airflow_env.env(url),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True,
        cwd=str(home),
    ) as proc:
        stopped = False
        for line in proc.stdout:
            log.write(line)
            if "state=failed" in line or "Task failed" in line:
                failed = failed or ("dbt." in line)
            m = _TASK_LINE.search(line)
            if not m:
                continue
            is_dbt = m["task"].startswith("dbt.")
            if m["what"] == "starting" and is_dbt and first is None:
                first = _ts(m["ts"])
            elif m["what"] == "end task" and is_dbt:
                last = _ts(m["ts"])
                dbt_tasks.add(m["task"])
            elif m["what"] == "starting" and not is_dbt and first is not None:
                # The dbt group is over; what follows (grants, mart suites, reports) is not measured.
                os.killpg(proc.pid, signal.SIGTERM)
                stopped = True
                break
        if stopped:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if first is None or last is None:
        raise RuntimeError(f"no dbt task ran in the DAG; see {log_file}")
    text = log_file.read_text(errors="replace")
    bad = re.findall(r"task_id=(dbt\.\S+).*(?:state=failed|Marking task as FAILED)", text)
    if bad or failed:
        raise RuntimeError(f"dbt task(s) failed in the DAG: {', '.join(sorted(set(bad))) or 'see log'}; see {log_file}")
    return {"dbt_group_s": (last - first).total_seconds(), "dbt_tasks": len(dbt_tasks),
            "dag_test_wall_s": round(time.perf_counter() - t0, 1), "log": str(log_file)}


def prepare_airflow(data: Path) -> Path:
    """A migrated Airflow home for this run: the SQLite metadata is migrated once and copied per run."""
    from stic.ops import airflow_env

    template = data / "airflow-template"
    if not (template / "airflow.db").exists():
        with environ({"AIRFLOW_HOME": str(template)}):
            airflow_env.migrate()
    home = data / "airflow_home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copyfile(template / "airflow.db", home / "airflow.db")
    return home


# ------------------------------------------------------------------------------------- figure 6


_TRIVIAL_DAG = '''
from datetime import datetime
from airflow.sdk import dag, task


@dag(schedule=None, start_date=datetime(2026, 1, 1))
def bench_trivial():
    @task
    def one():
        return 1

    one()


bench_trivial()
'''

_IMPORT_PROBE = (
    "import sys, time, runpy\n"
    "sys.path.insert(0, sys.argv[2])\n"
    "import airflow.sdk  # noqa\n"
    "t = time.perf_counter()\n"
    "runpy.run_path(sys.argv[1], run_name='bench_dag')\n"
    "print(time.perf_counter() - t)\n"
)


def import_time(path: Path, dags_dir: Path, env: dict, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        p = subprocess.run([sys.executable, "-c", _IMPORT_PROBE, str(path), str(dags_dir)], env=env,
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{path.name} failed to import: {p.stderr[-1500:]}")
        times.append(float(p.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def measure_dag_parse(fig: Figure, url: str, data: Path, repeat: int = 3) -> None:
    from stic.ops import airflow_env

    dags_dir = settings().root / "dags"
    env = airflow_env.env(url)
    trivial = data / "bench_trivial_dag.py"
    trivial.write_text(_TRIVIAL_DAG)
    base = import_time(trivial, dags_dir, env, repeat)
    per_file = {p.name: round(import_time(p, dags_dir, env, repeat), 3)
                for p in sorted(dags_dir.glob("*.py")) if not p.name.startswith("_")}
    slowest = max(per_file, key=per_file.get)
    fig.measured, fig.baseline = per_file[slowest], base
    fig.ratio = _ratio(fig.measured, base)
    fig.details = {"slowest": slowest, "per_file_s": per_file, "trivial_dag_s": round(base, 3),
                   "method": f"median of {repeat} fresh process(es), airflow.sdk imported first"}
    fig.decide(fig.measured < 1.0)
    _log(f"fig 6: slowest DAG file {slowest} {fig.measured:.2f}s (trivial DAG {base:.2f}s)")
