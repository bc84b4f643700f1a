"""What the stack's Airflow metadata database says: jobs, serialized DAGs, DAG runs, task instances."""

from __future__ import annotations

from .services import DAG_IDS


class MetadataDB:
    """Read-only questions to the metadata database at url."""

    def __init__(self, url: str):
        self.url = url

    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url, connect_timeout=5) as c:
            return c.execute(sql, params).fetchall()

    def job_running(self, job_type: str) -> bool:
        return bool(self.query("select 1 from job where job_type = %s and state = 'running' "
                               "and latest_heartbeat > now() - interval '60 seconds'", (job_type,)))

    def dags_serialized(self) -> bool:
        rows = self.query("select dag_id from serialized_dag where dag_id = any(%s)", (list(DAG_IDS),))
        return {r[0] for r in rows} >= set(DAG_IDS)

    def import_errors(self) -> list[tuple]:
        try:
            return self.query("select filename, stacktrace from import_error")
        except Exception:
            return []

    def dag_runs(self, dag_id: str) -> list[dict]:
        rows = self.query("select run_id, state, run_type, start_date, end_date, queued_at from dag_run "
                          "where dag_id = %s order by id", (dag_id,))
        return [dict(zip(("run_id", "state", "run_type", "start_date", "end_date", "queued_at"), r, strict=True))
                for r in rows]

    def task_instances(self) -> list[dict]:
        cols = ("dag_id", "run_id", "task_id", "map_index", "state", "hostname", "external_executor_id",
                "start_date", "end_date", "queue", "queued_dttm")
        rows = self.query(f"select {', '.join(cols)} from task_instance order by start_date nulls last")
        return [dict(zip(cols, r, strict=True)) for r in rows]
