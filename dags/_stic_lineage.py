"""OpenLineage for the ingest tasks: a submission's original file (the archived bytes) → its raw table.

An @task that returns a submission outcome (a dict, or a list of dicts, with `submission_id` and `kind`)
reports the archived original as its input and `raw.<kind>` as its output (remembered by the tasks'
post_execute, dags/_stic_common.py); other @tasks report none. Registered through `[openlineage] extractors` (stic.ops.airflow_env, docker-compose.yml).
The dbt models' lineage comes from Cosmos, which reports each model's inputs and outputs itself.
"""

from __future__ import annotations

from airflow.providers.openlineage.extractors.base import BaseExtractor, OperatorLineage

# What the task in this process returned, by task instance. The listener extracts COMPLETE lineage in a forked
# child, which may not talk to the supervisor (an xcom_pull there hangs) but sees this process's memory.
_RESULTS: dict[tuple, list[int]] = {}


def remember_submissions(context, result) -> None:
    """post_execute of every task: the submissions an ingest task handled, for the extractor."""
    outcomes = [r for r in (result if isinstance(result, list) else [result])
                if isinstance(r, dict) and r.get("submission_id") and r.get("kind")]
    if outcomes:
        ti = context["ti"]
        _RESULTS[(ti.dag_id, ti.task_id, ti.run_id, ti.map_index)] = [o["submission_id"] for o in outcomes]


class SubmissionLineageExtractor(BaseExtractor):
    @classmethod
    def get_operator_classnames(cls) -> list[str]:
        return ["_PythonDecoratedOperator", "PythonOperator"]

    def _execute_extraction(self) -> OperatorLineage | None:
        return OperatorLineage()  # nothing is known before the task has run

    def extract_on_complete(self, task_instance) -> OperatorLineage | None:
        ti = task_instance
        ids = _RESULTS.get((ti.dag_id, ti.task_id, ti.run_id, ti.map_index))
        return submission_lineage(ids) if ids else OperatorLineage()


def submission_lineage(submission_ids: list[int]) -> OperatorLineage:
    from openlineage.client.event_v2 import Dataset

    from stic import ledger
    from stic.config import settings
    from stic.contract.kinds import KINDS
    from stic.warehouse import db

    parts = db.url_parts(db.warehouse_url(start=False))
    # OpenLineage's naming for PostgreSQL: namespace postgres://host:port, name database.schema.table.
    namespace = f"postgres://{parts['host']}:{parts['port']}"
    inputs, outputs = {}, {}
    with db.connect() as conn:
        for sid in submission_ids:
            sub = ledger.get(conn, sid)
            path = settings().landing_dir / sub["archive_path"]
            inputs[str(path)] = Dataset(namespace="file", name=str(path))
            table = f"{parts['dbname']}.raw.{KINDS[sub['kind']].raw_table}"
            outputs[table] = Dataset(namespace=namespace, name=table)
    return OperatorLineage(inputs=list(inputs.values()), outputs=list(outputs.values()))
