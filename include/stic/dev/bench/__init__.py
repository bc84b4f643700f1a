"""`stic bench`: the pipeline measured against the machine's own limits, as ratios against same-run baselines.

Absolute times on a shared machine wander, so every figure is a ratio against a baseline measured in the
same run on the same machine (issue "Performance: a benchmark that measures the pipeline against the
machine's own limits"):

1. ingest throughput — `pipeline.load_step` (parse, normalise, lineage, COPY, ledger) of an N-row district
   CSV against `psql \\copy` of the same rows, already clean, into a table like raw.projects;
2. memory — peak RSS of a subprocess ingesting a CSV and an XLSX at two sizes (10x apart): flat, and
   under 300 MB for the CSV;
3. incremental cost — one new submission end to end (ingest, batch validation, `dbt build` of what it
   touches) into a warehouse of N rows against one of 10N rows, each settled first (VACUUM (ANALYZE), untimed);
4. validation overhead — the GX suite on the N-row batch (`pipeline.validate_step`, in a process that has
   imported GX and made its context, data source and suite: timed apart, in the details) against loading that batch;
5. orchestration overhead — the dbt task group of build_warehouse run by a real scheduler (the stack without
   Docker, LocalExecutor, parallelism STIC_BENCH_PARALLELISM, default 4; from the end of the group's upstream
   task) against a plain `dbt build` command (its own process) of the same models with the same threads; each
   the median of 3 runs (1 below scale 0.01), the same build in the bench's own process in the details;
6. DAG parse — the slowest DAG file's parse time in Airflow's own dag-processor (its last_parse_duration,
   the median of 3 runs of `airflow dag-processor --num-runs 1`), against a trivial DAG parsed alongside; the
   file's cold import into a fresh process is in the details;
7. a day's drop — the demo sample (294 files) from landing to published marts through the scheduler
   (ingest_district_submissions, then the asset-triggered build_warehouse up to secure_marts) against
   `stic ingest --landing && stic build` in one process on the same files.

Data is generated here (streaming, canonical headers of kinds.PROJECTS) under --data (default
bench/data, git-ignored). The warehouse is a fresh database `stic_bench_<suffix>` on WAREHOUSE_URL's
server when set, else on the local PostgreSQL (127.0.0.1:5432, user postgres); it is dropped at the end.
"""

# The benchmark lives in submodules by concern; its names stay here, where callers find them
# (`from stic.dev import bench`, `bench.add_cli`, `bench.run_bench`, …).
from .cli import (  # noqa: F401
    add_cli,
    cmd_bench,
)
from .data import (  # noqa: F401
    BULK_ROWS,
    DEFAULT_ADMIN_URL,
    DOCS_BEGIN,
    DOCS_END,
    FULL,
    MB,
    Scale,
    project_row,
    write_projects_csv,
    write_projects_xlsx,
)
from .environment import (  # noqa: F401
    admin_url,
    fill_warehouse,
    machine,
)
from .figures import (  # noqa: F401
    Figure,
)
from .measure_airflow import (  # noqa: F401
    import_time,
    measure_dag_parse,
)
from .measure_load import (  # noqa: F401
    measure_ingest,
    measure_memory,
    one_submission,
)
from .measure_stack import (  # noqa: F401
    day_drop,
    dbt_stage_scheduled,
)
from .report import (  # noqa: F401
    HEADERS,
    markdown_table,
    print_table,
    rows_of,
    write_docs,
)
from .runner import (  # noqa: F401
    run_bench,
)
