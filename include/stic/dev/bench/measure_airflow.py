"""Figure 6: each DAG file's parse time in Airflow's own dag-processor (figure 5, the dbt task group under a
scheduler, is in measure_stack)."""

from __future__ import annotations

import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

from stic.config import settings

from .environment import _log
from .figures import Figure, _ratio

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
TRIVIAL_FILE = "bench_trivial_dag.py"

_IMPORT_PROBE = (
    "import sys, time, runpy\n"
    "sys.path.insert(0, sys.argv[2])\n"
    "import airflow.sdk  # noqa\n"
    "t = time.perf_counter()\n"
    "runpy.run_path(sys.argv[1], run_name='bench_dag')\n"
    "print(time.perf_counter() - t)\n"
)


def import_time(path: Path, dags_dir: Path, env: dict, repeat: int = 3) -> float:
    """The file's import into a fresh Python process that has imported only airflow.sdk (the median of `repeat`):
    the cold cost, with nothing of what the dag-processor has in memory when it forks a parse."""
    times = []
    for _ in range(repeat):
        p = subprocess.run([sys.executable, "-c", _IMPORT_PROBE, str(path), str(dags_dir)], env=env,
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{path.name} failed to import: {p.stderr[-1500:]}")
        times.append(float(p.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def dag_processor_env(base: dict, home: Path, dags_dir: Path) -> dict:
    """Airflow's environment for a dag-processor of the bench's own: a throwaway SQLite metadata DB under `home`,
    every file parsed again at once (no 30 s wait) and one file at a time (no two parses share the cores).
    The dbt sensors are built as the stack and docker-compose.yml run them (in the triggerer)."""
    # Not the caller's metadata DB nor their DAG bundles: only this folder, on this DB.
    drop = ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC", "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST")
    return {**{k: v for k, v in base.items() if k not in drop},
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "0",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "STIC_DBT_SENSORS": "triggerer"}


def dag_processor_parse_times(dags_dir: Path, home: Path, env: dict, runs: int) -> list[dict[str, float]]:
    """Each DAG file's parse time as Airflow measures it: `airflow dag-processor --num-runs 1`, `runs` times, each
    followed by a read of the `dag` table's last_parse_duration (what the UI shows as a DAG's last parse duration:
    from the fork of the file's parse process to its result, DAG serialisation included). One dict per run, file
    name → seconds (the slowest DAG of a file with several)."""
    from stic.ops import airflow_env

    home.mkdir(parents=True, exist_ok=True)
    log = home / "dag-processor.log"
    airflow = airflow_env.airflow_bin()
    with log.open("w", encoding="utf-8") as out:
        p = subprocess.run([airflow, "db", "migrate"], env=env, stdout=out, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise RuntimeError(f"airflow db migrate exited {p.returncode} (log {log}): {_tail(log)}")
    files = sorted(p.name for p in dags_dir.glob("*.py") if not p.name.startswith("_"))
    per_run = []
    for i in range(runs):
        t = time.perf_counter()
        with log.open("a", encoding="utf-8") as out:
            p = subprocess.run([airflow, "dag-processor", "--num-runs", "1"], env=env, stdout=out,
                               stderr=subprocess.STDOUT)
        if p.returncode != 0:
            raise RuntimeError(f"airflow dag-processor exited {p.returncode} (log {log}): {_tail(log)}")
        with closing(sqlite3.connect(home / "airflow.db")) as conn:
            errors = conn.execute("select filename, stacktrace from import_error").fetchall()
            rows = conn.execute("select relative_fileloc, last_parse_duration from dag").fetchall()
        if errors:
            name, trace = errors[0]
            raise RuntimeError(f"{Path(name).name} failed to import: {trace[-1500:]}")
        times: dict[str, float] = {}
        for fileloc, seconds in rows:
            name = Path(fileloc).name
            if seconds is not None:
                times[name] = max(seconds, times.get(name, 0.0))
        missing = [f for f in files if f not in times]
        if missing:
            raise RuntimeError(f"the dag-processor recorded no DAG of {', '.join(missing)} (log {log})")
        per_run.append(times)
        _log(f"fig 6: dag-processor run {i + 1}/{runs} ({time.perf_counter() - t:.1f}s): "
             + ", ".join(f"{k} {v:.2f}s" for k, v in sorted(times.items(), key=lambda kv: -kv[1])[:2]))
    return per_run


def _tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-1500:]


def measure_dag_parse(fig: Figure, url: str, data: Path, repeat: int = 3) -> None:
    """The slowest DAG file's parse time in Airflow's dag-processor (the median of `repeat` runs), against a trivial
    one-task DAG parsed alongside. The DAG files are copied, with the trivial one, into a folder of the bench's; they
    find the project through STIC_HOME. The cold import of the slowest file and of the trivial DAG into a fresh
    process (the figure's measure before 2026-12-02) is kept in the details."""
    from stic.ops import airflow_env

    dags_dir = settings().root / "dags"
    base = airflow_env.env(url)
    work = data / "fig6"
    shutil.rmtree(work, ignore_errors=True)
    parsed = work / "dags"
    parsed.mkdir(parents=True)
    for p in dags_dir.glob("*.py"):
        shutil.copy2(p, parsed / p.name)
    (parsed / TRIVIAL_FILE).write_text(_TRIVIAL_DAG, encoding="utf-8")
    runs = dag_processor_parse_times(parsed, work / "airflow", dag_processor_env(base, work / "airflow", parsed),
                                     repeat)
    per_file = {name: round(statistics.median(r[name] for r in runs), 3) for name in runs[0]}
    base_s = per_file.pop(TRIVIAL_FILE)
    slowest = max(per_file, key=per_file.get)
    fig.measured, fig.baseline = per_file[slowest], base_s
    fig.ratio = _ratio(fig.measured, base_s)
    cold = import_time(dags_dir / slowest, dags_dir, base, repeat)
    cold_trivial = import_time(parsed / TRIVIAL_FILE, dags_dir, base, repeat)
    fig.details = {
        "slowest": slowest, "per_file_s": per_file, "trivial_dag_s": base_s,
        "runs_s": [{k: round(v, 3) for k, v in r.items()} for r in runs],
        "method": (f"Airflow's dag-processor (`airflow dag-processor --num-runs 1`, {repeat} time(s), one parse "
                   "process, SQLite metadata DB of its own): each DAG's last_parse_duration; the median per file"),
        "cold_import_s": {slowest: round(cold, 3), TRIVIAL_FILE: round(cold_trivial, 3)},
        "cold_import_method": f"median of {repeat} fresh process(es), airflow.sdk imported first",
    }
    fig.decide(fig.measured < 1.0)
    _log(f"fig 6: slowest DAG file {slowest} parses in {fig.measured:.2f}s in the dag-processor (trivial DAG "
         f"{base_s:.2f}s); its cold import into a fresh process {cold:.2f}s (trivial {cold_trivial:.2f}s)")
