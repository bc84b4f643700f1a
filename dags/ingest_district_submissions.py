"""
### Ingest district submissions

Finds new files in the landing area (`landing/incoming/<SUBMITTER>/<kind>/<period>/<file>`), archives
their bytes and records each in the ledger (`audit.submissions`) in path order; then, in a few mapped
batches (STIC_INGEST_BATCHES, default 4; the files of one submitter, kind and period in one batch), takes
each file on its own: loads its rows into `raw.<kind>` with COPY (quarantining bad rows into
`audit.rejected_rows`), validates them with Great Expectations and publishes it (a correction supersedes
the earlier file of the same submitter, kind and period). Each file has its own outcome (the batch's
return value and log), ledger events and receipt. Once every batch is over, `announce_published` updates
the asset of each kind published in this run: one `build_warehouse` run per drop, not one per file.

Rerunning is safe: a file already in the ledger is not loaded again; a half-done submission resumes.
Each file on its own: one that cannot be read or is still being written (STIC_LANDING_SETTLE_SECONDS) is
left for the next run; one whose processing raises does not stop the others in its batch; the batch then
fails and is retried (the files already done are skipped) and, after STIC_MAX_ATTEMPTS internal errors, the
file is rejected with a receipt. Parts of a set (`_part1of3`, …) are published together once all arrived.
"""

from __future__ import annotations

from datetime import datetime

from _stic_common import DEFAULT_ARGS, RAW_ASSETS
from airflow.sdk import AssetAlias, dag, task

PUBLISHED = AssetAlias("stic_raw_published")


@dag(
    schedule="*/15 * * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["stic", "ingest", "districts"],
    doc_md=__doc__,
)
def ingest_district_submissions():
    @task
    def register_new_files() -> list[list[dict]]:
        """Archive and record each new file, in path order (so a correction gets the later id); in batches."""
        from stic.ops.ingest_batches import batches
        from stic.pipeline import register_landing_files

        return batches(register_landing_files())

    @task(max_active_tis_per_dag=4, map_index_template="{{ batch_label }}")
    def ingest_batch(batch: list[dict]) -> list[dict]:
        """Load, validate and publish each file of the batch, one after another; a rerun carries on."""
        from airflow.sdk import get_current_context

        from stic.ops.ingest_batches import batch_label, ingest_batch

        get_current_context()["batch_label"] = batch_label(batch)
        return ingest_batch(batch)

    @task(outlets=[PUBLISHED], trigger_rule="all_done")
    def announce_published(batches: list[list[dict]], *, outlet_events=None) -> list[str]:
        """The raw assets of the kinds published in this run (also when a batch failed): builds the warehouse."""
        from stic.ops.ingest_batches import published_kinds

        kinds = published_kinds([item["submission_id"] for batch in batches for item in batch])
        for kind in kinds:
            outlet_events[PUBLISHED].add(RAW_ASSETS[kind])
        return kinds

    @task(trigger_rule="one_failed")
    def fail_run() -> None:
        """announce_published runs after a failed batch too (all_done): end such a run red, not green."""
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException("a batch of files failed: see the ingest_batch tasks (the other files went on)")

    registered = register_new_files()
    ingested = ingest_batch.expand(batch=registered)
    ingested >> announce_published(registered)
    ingested >> fail_run()


ingest_district_submissions()
