"""Figure 6: the DAG files' import time (figure 5, the dbt task group under a scheduler, is in measure_stack)."""

from __future__ import annotations

import statistics
import subprocess
import sys
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
