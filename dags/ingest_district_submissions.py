"""
### Ingest district submissions

Finds new files in the landing area (`landing/incoming/<SUBMITTER>/<kind>/<period>/<file>`), archives
their bytes and records each in the ledger (`audit.submissions`) in path order; then, in a mapped task
per file, loads its rows into `raw.<kind>` with COPY (quarantining bad rows into `audit.rejected_rows`),
validates the batch with Great Expectations and publishes it (a correction supersedes the earlier file
of the same submitter, kind and period). A published submission updates the asset of its kind, which
triggers `build_warehouse`.

Rerunning is safe: a file already in the ledger is not loaded again; a half-done submission resumes.
Each file on its own: one that cannot be read or is still being written (STIC_LANDING_SETTLE_SECONDS) is
left for the next run; one whose processing raises is retried and, after STIC_MAX_ATTEMPTS internal
errors, rejected with a receipt. Parts of a set (`_part1of3`, …) are published together once all arrived.
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
    def register_new_files() -> list[dict]:
        """Archive and record each new file, in path order (so a correction gets the later id)."""
        from stic.pipeline import register_landing_files

        return register_landing_files()

    @task(outlets=[PUBLISHED], max_active_tis_per_dag=4, map_index_template="{{ task.op_kwargs['item']['landing_path'] }}")
    def ingest_submission(item: dict, *, outlet_events=None) -> dict:
        """Load, validate and publish one submission; a rerun carries on from where it stopped."""
        from stic.ledger import Status
        from stic.pipeline import process_submission

        out = process_submission(item["submission_id"])
        if out.error and out.unfinished:
            # Recorded in the ledger (an `error` event); failing the task alerts and retries it, and after
            # STIC_MAX_ATTEMPTS errors the pipeline rejects the file with a receipt instead of failing again.
            raise RuntimeError(f"submission {out.submission_id} ({out.original_name}): internal error "
                               f"{out.attempts_failed} time(s), still {out.status}: {out.error}")
        if out.status == Status.PUBLISHED:
            outlet_events[PUBLISHED].add(RAW_ASSETS[out.kind])
        return out.as_dict()

    ingest_submission.expand(item=register_new_files())

ingest_district_submissions()
