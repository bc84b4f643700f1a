"""`stic bench` keeps working: a smoke run at tiny scale produces every figure with its target and verdict.

The benchmark itself (`make bench`) is not part of the suite; these runs only check that it runs end to end.
The fast smoke run leaves out the figures that need whole `dbt build`s or the DAGs under a scheduler
(3, 5 and 7, minutes even at tiny scale); the slow one measures those three.
"""

from __future__ import annotations

import json

import pytest

from stic.config import settings
from stic.dev import bench

TARGETS = {"1": "≥ 0.6", "2a": "300 MB", "2b": "1.25", "3": "≤ 1.2", "4": "≤ 0.25", "5": "≤ 1.5", "6": "< 1 s",
           "7": "≤ 1.5"}


def _run(tmp_path, skip):
    sc = bench.Scale.of(scale=0.002, rows=2000)
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\nhand-written intro\n\n<!-- bench:begin -->\nold\n<!-- bench:end -->\n\nnotes\n")
    result = bench.run_bench(sc, tmp_path / "results", tmp_path / "data", docs=docs, skip=skip)
    return result, docs


def _check(result, docs, measured: set[str]):
    figs = {f["id"]: f for f in result["figures"]}
    assert set(figs) == set(TARGETS)
    for fid, f in figs.items():
        assert TARGETS[fid] in f["target"], f
        if fid in measured:
            assert f["status"] in ("pass", "miss"), f"figure {fid}: {f['error']}"
            assert f["passed"] is (f["status"] == "pass")
            assert f["measured"] is not None and f["baseline"] is not None and f["ratio"] is not None
        else:
            assert f["status"] == "skipped"
    # the JSON result, and the table in the docs page (only between the markers)
    saved = json.loads(open(result["result_file"], encoding="utf-8").read())
    assert [f["id"] for f in saved["figures"]] == list(TARGETS)
    assert saved["machine"]["nproc"] and saved["scale"].startswith("scale 0.002")
    text = docs.read_text(encoding="utf-8")
    assert "hand-written intro" in text and "notes" in text and "\nold\n" not in text
    for fid, f in figs.items():
        assert f"| {fid} | {f['name'].replace('|', chr(92) + '|')} |" in text
    assert "scale **scale 0.002" in text
    # the rich table prints without error
    bench.print_table(result)


@pytest.mark.slow
def test_bench_smoke(tmp_path, warehouse_url, capsys):
    result, docs = _run(tmp_path, skip=("3", "5", "7"))
    _check(result, docs, measured={"1", "2a", "2b", "4", "6"})
    f1 = next(f for f in result["figures"] if f["id"] == "1")
    assert f1["details"]["rows"] == 2000
    # figure 6: Airflow's dag-processor parsed every DAG file (and the trivial one, the baseline) in each run
    f6 = next(f for f in result["figures"] if f["id"] == "6")["details"]
    dag_files = {p.name for p in (settings().root / "dags").glob("*.py") if not p.name.startswith("_")}
    assert set(f6["per_file_s"]) == dag_files and f6["slowest"] in dag_files
    assert len(f6["runs_s"]) == bench.Scale.of(scale=0.002, rows=2000).parse_repeat
    assert all(set(r) == dag_files | {"bench_trivial_dag.py"} for r in f6["runs_s"])
    assert set(f6["cold_import_s"]) == {f6["slowest"], "bench_trivial_dag.py"}
    assert "stic bench" in capsys.readouterr().out


@pytest.mark.slow
def test_dag_parse_names_the_dag_file_that_fails_to_import(tmp_path, warehouse_url):
    """Figure 6 reads Airflow's own parse records: a DAG file that does not import is an error naming it, not a
    figure measured without it."""
    from stic.dev.bench import measure_airflow
    from stic.ops import airflow_env

    dags, home = tmp_path / "dags", tmp_path / "airflow"
    dags.mkdir()
    (dags / measure_airflow.TRIVIAL_FILE).write_text(measure_airflow._TRIVIAL_DAG)
    (dags / "broken_dag.py").write_text("from airflow.sdk import dag\nimport no_such_module_for_the_bench\n")
    env = measure_airflow.dag_processor_env(airflow_env.env(warehouse_url), home, dags)
    with pytest.raises(RuntimeError, match=r"(?s)broken_dag\.py failed to import.*no_such_module_for_the_bench"):
        measure_airflow.dag_processor_parse_times(dags, home, env, runs=1)
    (dags / "broken_dag.py").unlink()
    home = tmp_path / "airflow-2"
    env = measure_airflow.dag_processor_env(airflow_env.env(warehouse_url), home, dags)
    runs = measure_airflow.dag_processor_parse_times(dags, home, env, runs=1)
    assert list(runs[0]) == [measure_airflow.TRIVIAL_FILE] and runs[0][measure_airflow.TRIVIAL_FILE] > 0


@pytest.mark.slow
def test_bench_smoke_build_and_scheduler_figures(tmp_path, warehouse_url):
    """Figures 3, 5 and 7 (whole dbt builds, the DAGs under a scheduler); test_bench_smoke measures the others."""
    result, docs = _run(tmp_path, skip=("1", "2a", "2b", "4", "6"))
    _check(result, docs, measured={"3", "5", "7"})
    f5 = next(f for f in result["figures"] if f["id"] == "5")["details"]
    # the baseline is the dbt command in a process of its own; the same build in the bench's process is kept beside
    assert f5["plain_dbt_build_s"] > 0 and f5["in_process_dbt_build_s"] > 0
    assert len(f5["runs"]) == len(f5["plain_dbt_build_runs_s"]) == 1 and f5["runs"][0] == f5["group_s"]
    assert f5["states"] == {"success": f5["dbt_tasks"]}


def test_generated_csv_is_accepted_as_is(tmp_path):
    """The generated rows are already canonical: the pipeline accepts every one (what \\copy gets clean)."""
    from stic.load import check_file

    src, clean = tmp_path / "p.csv", tmp_path / "clean.csv"
    assert bench.write_projects_csv(src, 500, clean_path=clean) == 500
    out = check_file(src, "projects")
    assert out.rejected is None and out.rows_loaded == 500 and out.rows_quarantined == 0
    assert len(clean.read_text(encoding="utf-8").splitlines()) == 501


def test_scales():
    full, quick = bench.Scale.of(), bench.Scale.of(quick=True)
    assert full.name == "full" and full.rows == 1_000_000 and full.csv_mb[1] == 1000 and full.warehouse == (1_000_000, 10_000_000)
    assert quick.name == "quick" and quick.rows == 100_000 and quick.warehouse == (100_000, 1_000_000)
    assert full.stack_runs == quick.stack_runs == 3 and bench.Scale.of(scale=0.002).stack_runs == 1
    assert bench.Scale.of(rows=5000).rows == 5000


def test_bench_rows_follow_the_contract():
    """A column added to the projects contract must reach the bench's files, or figure 1's \\copy baseline breaks."""
    from stic.contract.kinds import PROJECTS
    from stic.dev.bench import project_row

    assert len(project_row(0, "I")) == len(PROJECTS.column_names)


def test_generated_bulk_rows_equal_parsed_rows(conn, clean_warehouse, warehouse_url, tmp_path):
    """fill_warehouse generates most of a bulk submission's rows in the server: they must be the rows the
    parser loads from the same CSV (values and period warnings), or figure 3 times a warehouse unlike a real one."""
    from stic.dev.bench import environment
    from stic.pipeline import load_step

    n = environment.SEED_ROWS + 300
    environment.fill_warehouse(conn, warehouse_url, n, tmp_path, "g")
    filled, submitter, period = conn.execute(
        "select submission_id, submitter_code, period from audit.submissions order by submission_id desc limit 1"
    ).fetchone()
    # The same rows through the parser: same period (the period warnings depend on it), another agency.
    other = next(s for s in environment._SUBMITTERS if s != submitter)
    path = tmp_path / "reference.csv"
    bench.write_projects_csv(path, n, prefix="R")
    ref = environment._register(conn, path, other, period)
    assert not load_step(conn, ref).rejected

    cols = ("source_row_number, source_sheet, split_part(project_code, '-', 2), title, level, programme, field, "
            "lead_institution, institution_type, district, start_date, end_date, status, funding_central_yuan, "
            "funding_municipal_yuan, funding_district_yuan, funding_self_raised_yuan, row_warnings")
    generated = f"select {cols} from raw.projects where submission_id = %(a)s and source_row_number > %(seed)s + 1"
    parsed = f"select {cols} from raw.projects where submission_id = %(b)s and source_row_number > %(seed)s + 1"
    args = {"a": filled, "b": ref, "seed": environment.SEED_ROWS}
    assert conn.execute(f"select count(*) from ({generated}) g", args).fetchone()[0] == 300
    assert conn.execute(f"{generated} except all {parsed}", args).fetchall() == []
    assert conn.execute(f"{parsed} except all {generated}", args).fetchall() == []
