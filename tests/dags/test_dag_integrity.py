"""Every DAG file imports without errors, quickly, and carries the habits of a maintained pipeline."""

from __future__ import annotations

import json

from tests.dags.conftest import ROOT, run_python

DAG_FILES = sorted(p.stem for p in (ROOT / "dags").glob("*.py") if not p.name.startswith("_"))

INTEGRITY = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={folder!r})
out = {{"errors": {{k: str(v)[:500] for k, v in bag.import_errors.items()}}, "dags": {{}}}}
for dag_id, dag in bag.dags.items():
    out["dags"][dag_id] = {{
        "file": dag.fileloc.rsplit("/", 1)[-1], "tags": sorted(dag.tags), "doc": bool(dag.doc_md),
        "owners": sorted({{t.owner for t in dag.tasks}}),
        "retries": {{t.task_id: t.retries for t in dag.tasks}},
        "timeouts": {{t.task_id: t.execution_timeout is not None for t in dag.tasks}},
    }}
print("RESULT" + json.dumps(out))
"""


def _result(proc):
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT"))
    return json.loads(line[len("RESULT"):])


def test_dags_import_without_errors_and_follow_the_house_rules(airflow_home):
    res = _result(run_python(INTEGRITY.format(folder=str(ROOT / "dags"))))
    assert res["errors"] == {}
    assert set(res["dags"]) >= {"ingest_district_submissions", "build_warehouse"}
    for dag_id, d in res["dags"].items():
        assert d["file"] == f"{dag_id}.py", "one file per DAG, named after it"
        assert "stic" in d["tags"] and d["doc"], dag_id
        assert d["owners"] == ["stic-data-engineering"], dag_id
        assert all(d["timeouts"].values()), f"{dag_id}: every task has an execution timeout"
        loaders = [t for t in d["retries"] if not t.startswith("dbt.")]
        assert all(d["retries"][t] >= 1 for t in loaders), f"{dag_id}: retries {d['retries']}"


PARSE_TIME = """
import importlib, json, sys, time
# What the DAG processor has loaded before it parses any file: Airflow's models and its plugins.
import airflow.sdk, airflow.models.dagrun
from airflow.sdk import plugins_manager
plugins_manager.get_hook_lineage_readers_plugins()
times = {{}}
for name in {names!r}:
    t = time.perf_counter()
    importlib.import_module(name)
    times[name] = time.perf_counter() - t
print("RESULT" + json.dumps(times))
"""


def test_each_dag_file_parses_in_under_a_second(airflow_home):
    times = _result(run_python(PARSE_TIME.format(names=DAG_FILES)))
    print("DAG parse times (s):", {k: round(v, 3) for k, v in times.items()})
    slow = {k: v for k, v in times.items() if v >= 1.0}
    assert not slow, f"DAG files slower than 1 s to import: {slow}"


WARNINGS = """
import json, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(dag_folder={folder!r})
# DagBag keeps the warnings each file raised (what the DAG processor shows in the UI); the rest: caught here.
out = [{{"category": "captured", "file": f, "line": 0, "message": str(m)[:300]}}
       for f, msgs in bag.captured_warnings.items() for m in msgs]
out += [{{"category": w.category.__name__, "file": w.filename, "line": w.lineno, "message": str(w.message)[:300]}}
        for w in caught]
print("RESULT" + json.dumps({{"errors": list(bag.import_errors), "warnings": out}}))
"""


def test_parsing_the_dags_warns_of_nothing_deprecated_in_our_code(airflow_home):
    """No deprecated argument (email_on_failure, ...) and no warning raised from the project's own files."""
    res = _result(run_python(WARNINGS.format(folder=str(ROOT / "dags"))))
    assert res["errors"] == []
    ours = [w for w in res["warnings"]
            if w["file"].startswith((str(ROOT / "dags"), str(ROOT / "include")))
            or ("deprecat" in (w["category"] + w["message"]).lower()
                and any(word in w["message"] for word in ("email", "on_failure", "sla", "stic")))]
    assert not ours, ours
    print("warnings from third-party code while parsing:", {w["category"] + ": " + w["message"][:80]
                                                            for w in res["warnings"]})
