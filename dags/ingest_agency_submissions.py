"""
### Ingest agency submissions

Pulls every agency feed (one mapped task per agency and kind, from `stic.contract.kinds.AGENCY_KINDS`) from the
agency API for exactly the run's data interval — records with `data_interval_start <= updated_at <
data_interval_end` — and takes the interval through the ledger as one submission (channel `api`):
load into `raw.<kind>`, Great Expectations, publish. A published submission updates its kind's asset,
which triggers `build_warehouse`. The feed's watermark (`audit.agency_watermarks`) then says how far it
has been read.

An interval is pulled whole or not at all: a failed pull registers nothing and leaves the watermark where
it was; the task's retries (and a manual clear) pull the interval again. Rerunning a day is safe: the same
records make the same bytes, which the ledger records as a duplicate and loads nothing from.

**Connection** `stic_agency_api`: host = the API's base URL (e.g. `http://127.0.0.1:8765`), password =
the bearer token. Without it: `STIC_AGENCY_API_URL`, `STIC_AGENCY_TOKEN_<AGENCY>` or `STIC_AGENCY_TOKEN`.
The token is read again when the API says it expired.

**Backfill.** The schedule starts on 2019-01-01 (`catchup=True`, one run at a time, in order), so
unpausing the DAG creates one run per day since then, not since 2014. Earlier years are a backfill:
`airflow backfill create --dag-id ingest_agency_submissions --from-date 2014-01-01 --to-date 2018-12-31`
(a backfill covers the window it is given, also before the start date; `--dry-run` lists the runs;
`--max-active-runs 1` keeps the days in order), or, far faster, one submission per year outside Airflow:
`stic pull --agency STCSM --kind projects --since 2014-01-01 --until 2019-01-01`.
Daily runs and such pulls should not overlap: an overlapping interval that is not byte-identical loads
its records again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from _stic_common import DEFAULT_ARGS, RAW_ASSETS
from airflow.sdk import AssetAlias, CronDataIntervalTimetable, dag, task

from stic.contract.kinds import AGENCY_KINDS  # a plain dict: no I/O, no heavy imports

PUBLISHED = AssetAlias("stic_agency_published")
CONN_ID = "stic_agency_api"
FEEDS = [{"agency": a, "kind": k} for a in sorted(AGENCY_KINDS) for k in sorted(AGENCY_KINDS[a])]


@dag(
    # "@daily" as a data interval [day, next day), whatever [scheduler] create_cron_data_intervals says:
    # a plain cron string gives Airflow 3 runs of zero width, which would pull nothing.
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2019, 1, 1, tzinfo=UTC),
    catchup=True,
    max_active_runs=1,  # days in order: the watermark moves forward run by run
    default_args=DEFAULT_ARGS,
    tags=["stic", "ingest", "agencies"],
    doc_md=__doc__,
)
def ingest_agency_submissions():
    @task(outlets=[PUBLISHED], max_active_tis_per_dag=3, map_index_template="{{ feed_name }}",
          execution_timeout=timedelta(minutes=30))
    def pull_feed(agency: str, kind: str, *, data_interval_start=None, data_interval_end=None,
                  outlet_events=None) -> dict:
        from airflow.sdk import Connection, get_current_context

        from stic.agencies import pull as agency_pull
        from stic.ledger import Status

        get_current_context()["feed_name"] = f"{agency} {kind}"

        def connection():
            try:
                return Connection.get(CONN_ID)
            except Exception:  # not defined: fall back to the environment
                return None

        conn = connection()
        base_url = (conn and agency_pull.base_url_from_connection(conn.host, conn.port, conn.schema, conn.conn_type)) \
            or agency_pull.env_base_url()

        def token():  # asked again when the API refuses the token: a rotated secret is picked up
            c = connection()
            return (c and c.password) or agency_pull.env_token(agency)

        out = agency_pull.ingest_interval(agency, kind, data_interval_start, data_interval_end, base_url, token)
        if out["status"] == Status.PUBLISHED and out["is_new"]:
            outlet_events[PUBLISHED].add(RAW_ASSETS[kind])
        return out

    pull_feed.expand_kwargs(FEEDS)


ingest_agency_submissions()
