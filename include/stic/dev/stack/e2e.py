"""The end-to-end run: sample files through both DAGs on the two workers, and its report."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from stic.config import environ

from .core import Stack, running
from .services import BUILD_DAG, DAG_IDS, INGEST_DAG, TERMINAL, StackFailed, _say
from .workers import who_ran_what

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
        keep: bool = False, concurrency: int = 2, base_dir: Path | None = None, executor: str = "celery") -> dict:
    """The whole pipeline on the stack; returns runs, who ran what, timings. Raises StackFailed."""
    t0 = time.monotonic()
    stack = Stack(base_dir=base_dir, concurrency=concurrency, executor=executor)
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
