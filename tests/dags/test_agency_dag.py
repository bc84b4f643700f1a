"""The agency DAG through real Airflow (`airflow dags test`): a backfill of two days pulls exactly those two
intervals from the reference agency API, and running a day again loads nothing twice."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest

DAG_ID = "ingest_agency_submissions"
TOKEN = "dag-test-token"


def _day(ts: str) -> dt.date:
    return dt.date.fromisoformat(ts[:10])


@pytest.mark.slow
def test_a_backfill_of_two_days_loads_each_interval_once(airflow_home, clean_warehouse, monkeypatch):
    from stic.config import settings
    from stic.contract.kinds import AGENCY_KINDS
    from stic.dev import agency_api
    from stic.ops import airflow_env

    # Feeds of kinds without a load suite yet would fail validation; they serve no records here.
    feeds = {(a, k) for a, ks in AGENCY_KINDS.items() for k in ks
             if (settings().expectations_dir / f"raw_{k}.py").exists()}
    assert ("STCSM", "projects") in feeds
    c = clean_warehouse
    with agency_api.running(token=TOKEN, only=feeds) as api:
        per_day = Counter(_day(r["updated_at"]) for a, k in feeds for r in api.records(a, k))
        days = sorted(d for d, n in per_day.items() if d.year == 2019 and n >= 2)[:2]
        assert len(days) == 2
        monkeypatch.setenv("AIRFLOW_CONN_STIC_AGENCY_API",
                           json.dumps({"conn_type": "http", "host": api.base_url, "password": TOKEN}))
        for var in ("STIC_AGENCY_API_URL", "STIC_AGENCY_TOKEN"):
            monkeypatch.delenv(var, raising=False)

        def run(day: dt.date):
            # `dags test` makes a manual run, whose data interval is the last whole day before its logical
            # date: the run dated the next day pulls exactly [day, day + 1).
            proc = airflow_env.run(["dags", "test", DAG_ID, (day + dt.timedelta(days=1)).isoformat()],
                                   capture=True, check=False)
            assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
            assert f"data_interval_start={day.isoformat()} 00:00:00+00:00" in proc.stdout + proc.stderr

        for day in days:
            run(day)
        want = {a_k: [r for r in api.records(*a_k) if _day(r["updated_at"]) in days] for a_k in feeds}
        loaded = c.execute(
            "select submitter_code, kind, status, rows_loaded, original_name from audit.submissions order by 1, 2, 5"
        ).fetchall()
        assert {s[2] for s in loaded} == {"published"}
        expected_names = sorted(
            (a, k, f"{a}-{k}-{d:%Y%m%d}T0000-{d + dt.timedelta(days=1):%Y%m%d}T0000.json")
            for (a, k) in feeds for d in days
            if any(_day(r["updated_at"]) == d for r in api.records(a, k)))
        assert sorted((s[0], s[1], s[4]) for s in loaded) == expected_names
        codes = sorted(r[0] for r in c.execute("select project_code from raw.projects"))
        assert codes == sorted(r["project_code"] for (a, k), rs in want.items() if k == "projects" for r in rs)
        marks = dict(((a, k), w) for a, k, w in c.execute("select agency_code, kind, updated_since from audit.agency_watermarks"))
        end = dt.datetime.combine(days[1] + dt.timedelta(days=1), dt.time(), dt.UTC)
        assert marks == {(a, k): end for a, ks in AGENCY_KINDS.items() for k in ks}  # empty feeds move too

        # The first day again: the same bytes, recorded as duplicates; nothing loaded twice.
        run(days[0])
        assert sorted(r[0] for r in c.execute("select project_code from raw.projects")) == codes
        again = [r[0] for r in c.execute("select status from audit.submissions order by submission_id")][len(loaded):]
        assert again and set(again) == {"duplicate"}
        assert dict(((a, k), w) for a, k, w in c.execute(
            "select agency_code, kind, updated_since from audit.agency_watermarks")) == marks
