"""What each Celery worker says it ran: its own log, joined to the metadata database's task instances."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from .core import Stack

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
