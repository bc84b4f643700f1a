"""Figures 5 and 7 as production runs them: the DAGs under a real scheduler (the stack without Docker, with
LocalExecutor: scheduler, dag-processor, triggerer and api-server as processes, `STIC_BENCH_PARALLELISM` task
slots, default 4), not `airflow dags test`.

5: build_warehouse's `dbt.*` task group, from the end of its upstream task to its last task's end (from the
   metadata database), against one plain `dbt build` of the same models, same threads, same data.
7: a day's drop, the demo sample (`stic generate`), from the first ingest_district_submissions run queued once
   the files are in the landing area (unpausing the DAG starts its cron run, and the bench triggers one) to
   the end of `secure_marts` in a build_warehouse run queued after the last batch (the marts published), against
   `stic ingest --landing && stic build` in one process on the same files into a warehouse of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from stic.config import environ

from .environment import _log

PARALLELISM_ENV = "STIC_BENCH_PARALLELISM"
BUILD_DAG, INGEST_DAG = "build_warehouse", "ingest_district_submissions"
_DONE = ("success", "failed", "skipped", "upstream_failed", "removed")


def _parallelism() -> int:
    return max(2, int(os.environ.get(PARALLELISM_ENV) or 4))


def _keep() -> bool:
    """STIC_BENCH_KEEP_STACK=1 keeps a stack's folder (task and component logs) after the figure."""
    return os.environ.get("STIC_BENCH_KEEP_STACK", "") not in ("", "0")


def _stack(base: Path):
    from stic.dev.stack import Stack

    shutil.rmtree(base, ignore_errors=True)
    return Stack(base_dir=base, executor="local", concurrency=_parallelism())


def _tis(stack, dag_id: str, run_id: str | None = None) -> list[dict]:
    return [t for t in stack.task_instances() if t["dag_id"] == dag_id and (run_id is None or t["run_id"] == run_id)]


def _wait(stack, what: str, done, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        stack._check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not done after {timeout:.0f}s (stack logs in {stack.logs})")
        time.sleep(1)


def _span(tis: list[dict]) -> float:
    return (max(t["end_date"] for t in tis) - min(t["start_date"] for t in tis)).total_seconds()


# ------------------------------------------------------------------------------------------ figure 5


def dbt_stage_scheduled(url: str, data: Path, runs: int = 1, baseline=None, timeout: float = 1800) -> dict:
    """build_warehouse triggered `runs` times, one after the other, on one stack; its dbt group's time in each run
    and their median. The stack is stopped once the last run's group is over. `baseline()` (the figure's plain
    build), when given, runs before each DAG run, the stack idle: each pair is measured in the same minute
    (the machine's speed drifts over minutes: a plain build took 11 to 23 s in one afternoon); its times are
    `baseline_runs`.

    The group's time runs from the end of its upstream task (`ensure_warehouse`), when it may start, to the end of
    its last task: the inner sensors start with the run (trigger rule `always`), before that, only to wait. Each
    run but the last is waited for to its end (its reports and summary), as the next one would wait for it
    (`max_active_runs=1`); a run after the first is what a stack that has been up a while does, beside the
    previous run's reports. The same build's time varied from 17.4 to 21.9 s between single runs of one day."""
    from stic.dev.stack import running

    stack = _stack(data / "stack-fig5")
    samples: list[dict] = []
    baselines: list[float] = []
    with environ({"WAREHOUSE_URL": url}), running(stack, keep=_keep()):
        stack.airflow(["dags", "unpause", BUILD_DAG])
        for i in range(runs):
            if baseline is not None:
                baselines.append(baseline())
                _log(f"fig 5: run {i + 1}/{runs}: the plain build {baselines[-1]:.1f}s")
            run_id = f"bench_fig5_{stack.suffix}_{i + 1}"
            t0 = time.monotonic()
            stack.airflow(["dags", "trigger", BUILD_DAG, "--run-id", run_id])
            _wait(stack, "the dbt task group", lambda run_id=run_id: _dbt_group_over(stack, run_id), timeout)
            out = _group_times(_tis(stack, BUILD_DAG, run_id), time.monotonic() - t0)
            (data / f"fig5-timeline-{i + 1}.json").write_text(json.dumps(out.pop("timeline"), indent=1),
                                                              encoding="utf-8")
            samples.append(out)
            _log(f"fig 5: run {i + 1}/{runs}: the dbt group {out['group_s']:.1f}s")
            if i + 1 < runs:
                _wait(stack, "the build_warehouse run", lambda run_id=run_id: _run_over(stack, run_id), timeout)
    median = statistics.median(s["group_s"] for s in samples)
    typical = min(samples, key=lambda s: abs(s["group_s"] - median))
    return {**typical, "group_s": median, "runs": [s["group_s"] for s in samples], "baseline_runs": baselines,
            "runs_details": samples if runs > 1 else None, "executor": "LocalExecutor",
            "parallelism": stack.concurrency}


def _dbt_group_over(stack, run_id: str) -> bool:
    tis = _tis(stack, BUILD_DAG, run_id)
    dbt = [t for t in tis if t["task_id"].startswith("dbt.")]
    failed = [t for t in tis if t["state"] in ("failed", "upstream_failed")]
    if failed:
        raise RuntimeError(f"build_warehouse task(s) failed: {sorted(t['task_id'] for t in failed)[:10]}; "
                           f"logs in {stack.logs}")
    return bool(dbt) and all(t["state"] in _DONE for t in dbt)


def _run_over(stack, run_id: str) -> bool:
    run = next((r for r in stack.dag_runs(BUILD_DAG) if r["run_id"] == run_id), None)
    if run is not None and run["state"] == "failed":
        raise RuntimeError(f"build_warehouse run {run_id} failed; logs in {stack.logs}")
    return run is not None and run["state"] == "success"


def _group_times(tis: list[dict], wall: float) -> dict:
    """Where a run's dbt group spends its time: from its upstream's end, the producer's start and `dbt build`, the
    sensors finishing after it; the raw span of its tasks; the per-task timeline."""
    dbt = [t for t in tis if t["task_id"].startswith("dbt.")]
    ensure = next(t for t in tis if t["task_id"] == "ensure_warehouse")
    ran = [t for t in dbt if t["start_date"] and t["end_date"]]
    first, last = min(t["start_date"] for t in ran), max(t["end_date"] for t in ran)
    producer = next((t for t in ran if t["task_id"].endswith(".dbt_producer_watcher")), None)
    parts = {} if producer is None else {
        "producer_start_s": round((producer["start_date"] - ensure["end_date"]).total_seconds(), 2),
        "producer_s": round((producer["end_date"] - producer["start_date"]).total_seconds(), 2),
        "after_producer_s": round((last - producer["end_date"]).total_seconds(), 2)}
    timeline = sorted(({"task": t["task_id"], "queued": _rel(t.get("queued_dttm"), first),
                        "start": _rel(t["start_date"], first), "end": _rel(t["end_date"], first)} for t in ran),
                      key=lambda t: t["end"])
    return {"group_s": (last - ensure["end_date"]).total_seconds(), "dbt_tasks": len(dbt), **parts,
            "span_of_dbt_tasks_s": round(_span(ran), 2),
            "ensure_warehouse_s": round((ensure["end_date"] - ensure["start_date"]).total_seconds(), 2),
            "trigger_to_group_end_wall_s": round(wall, 1), "states": _count(t["state"] for t in dbt),
            "timeline": timeline}


def _rel(when, first) -> float | None:
    return None if when is None else round((when - first).total_seconds(), 2)


def _count(values) -> dict:
    out: dict[str, int] = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return out


# ------------------------------------------------------------------------------------------ figure 7


def _stic(args: list[str], env: dict) -> float:
    t = time.perf_counter()
    p = subprocess.run([str(Path(sys.executable).parent / "stic"), *args], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"stic {' '.join(args)} failed (exit {p.returncode}): {p.stderr[-2000:]}")
    return time.perf_counter() - t


def one_process(url: str, sample: Path, work: Path) -> dict:
    """`stic ingest --landing && stic build` on a copy of the sample, into the warehouse at url."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(sample, work / "landing" / "incoming")
    env = {**os.environ, "WAREHOUSE_URL": url, "STIC_LANDING_DIR": str(work / "landing"),
           "STIC_REPORTS_DIR": str(work / "reports"), "STIC_LANDING_SETTLE_SECONDS": "0"}
    ingest = _stic(["ingest", "--landing"], env)
    build = _stic(["build"], env)
    return {"ingest_s": round(ingest, 1), "build_s": round(build, 1), "total_s": ingest + build}


def scheduled_drop(url: str, sample: Path, data: Path, timeout: float = 3600) -> dict:
    """The same files dropped into the stack's landing area; ingest DAG triggered; the asset-triggered build."""
    from stic.dev.stack import running

    stack = _stack(data / "stack-fig7")
    run_id = f"bench_fig7_{stack.suffix}"
    with environ({"WAREHOUSE_URL": url, "STIC_LANDING_SETTLE_SECONDS": "0"}), running(stack, keep=_keep()):
        shutil.rmtree(stack.landing / "incoming", ignore_errors=True)
        shutil.copytree(sample, stack.landing / "incoming")
        stack.airflow(["dags", "unpause", BUILD_DAG])
        stack.airflow(["dags", "unpause", INGEST_DAG])
        t0 = time.monotonic()
        stack.airflow(["dags", "trigger", INGEST_DAG, "--run-id", run_id])

        # Unpausing the ingest DAG also starts its cron run (catchup=False: the latest interval), which may be
        # the one that takes the files: every ingest run of the stack counts, from the first one queued.
        def published() -> bool:
            ingest = stack.dag_runs(INGEST_DAG)
            if any(r["state"] == "failed" for r in ingest):
                raise RuntimeError(f"{INGEST_DAG} failed; logs in {stack.logs}")
            if not ingest or not all(r["state"] in ("success", "failed") for r in ingest):
                return False
            builds = stack.dag_runs(BUILD_DAG)
            if any(r["state"] == "failed" for r in builds):
                raise RuntimeError(f"{BUILD_DAG} failed; logs in {stack.logs}")
            # the marts are published once secure_marts of a build queued after the last batch is over
            last = max(t["end_date"] for t in _tis(stack, INGEST_DAG) if t["task_id"] == "ingest_batch" and t["end_date"])
            return any(t["task_id"] == "secure_marts" and t["state"] == "success"
                       for r in builds if r["queued_at"] >= last for t in _tis(stack, BUILD_DAG, r["run_id"]))

        _wait(stack, "the drop through both DAGs", published, timeout)
        wall = time.monotonic() - t0
        ingest_runs = stack.dag_runs(INGEST_DAG)
        start = min(r["queued_at"] for r in ingest_runs)
        builds = stack.dag_runs(BUILD_DAG)
        itis = _tis(stack, INGEST_DAG)
        batches = [t for t in itis if t["task_id"] == "ingest_batch" and t["end_date"]]
        secured = max(t["end_date"] for r in builds for t in _tis(stack, BUILD_DAG, r["run_id"])
                      if t["task_id"] == "secure_marts" and t["end_date"])
        return {"total_s": (secured - start).total_seconds(), "wall_trigger_to_published_s": round(wall, 1),
                "ingest_done_s": round((max(t["end_date"] for t in batches) - start).total_seconds(), 1),
                "ingest_runs": len(ingest_runs), "ingest_batches": len(batches), "build_runs": len(builds),
                "executor": "LocalExecutor", "parallelism": stack.concurrency}


def day_drop(admin: str, suffix: str, data: Path, sample_scale: float = 1.0) -> dict:
    """Both ways on the demo sample, each into a fresh warehouse; returns the figure's numbers."""
    from stic.dev.sample import generate
    from stic.warehouse import db

    sample = data / "fig7-sample"
    shutil.rmtree(sample, ignore_errors=True)
    m = generate(sample, scale=sample_scale, seed=42)
    files = len(m.files)
    with db.scratch_database(admin, "stic_bench_f7a", suffix) as url_a:
        with db.connect(url_a) as conn:
            db.init_schema(conn)
        base = one_process(url_a, sample, data / "fig7-one-process")
    _log(f"fig 7: one process: ingest {base['ingest_s']}s + build {base['build_s']}s ({files} files)")
    with db.scratch_database(admin, "stic_bench_f7b", suffix) as url_b:
        with db.connect(url_b) as conn:
            db.init_schema(conn)
        sched = scheduled_drop(url_b, sample, data)
    _log(f"fig 7: through the scheduler: {sched['total_s']:.1f}s (ingest done at {sched['ingest_done_s']}s, "
         f"{sched['ingest_batches']} batches, {sched['build_runs']} build run(s))")
    return {"files": files, "sample_scale": sample_scale, "one_process": base, "scheduled": sched}
