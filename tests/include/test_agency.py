"""The agency channel: the reference API over real HTTP on 127.0.0.1, the pull client, and ingestion into a
real PostgreSQL through the ledger — complete intervals or clean failures, never a partial or a double load."""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest
import requests

from stic.agencies import pull as agency_pull
from stic.agencies.pull import AgencyPullError, RetryPolicy
from stic.contract import codes
from stic.contract.kinds import AGENCY_KINDS, CODE, KINDS
from stic.dev import agency_api
from stic.load import check_file

TOKEN = "test-token"
FAST = RetryPolicy(attempts=3, bad_body_attempts=3, backoff=0.01, backoff_max=0.05, restarts=2)
SINCE, UNTIL = dt.datetime(2018, 1, 1, tzinfo=dt.UTC), dt.datetime(2018, 4, 1, tzinfo=dt.UTC)
PAGE_SIZE = 5  # STCSM's projects of 2018Q1 (13 records) come in 3 pages


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture()
def api():
    with agency_api.running(token=TOKEN) as server:
        yield server


def expected(server, agency="STCSM", kind="projects", since=SINCE, until=UNTIL) -> list[dict]:
    return [r for r in server.records(agency, kind) if agency_api.in_interval(r, since, until)]


def ingest(server, warehouse_url, agency="STCSM", kind="projects", since=SINCE, until=UNTIL, token=lambda: TOKEN, **kw):
    kw = {"page_size": PAGE_SIZE, "timeout": 0.5, "retry": FAST, **kw}
    return agency_pull.ingest_interval(agency, kind, since, until, server.base_url, token, url=warehouse_url, **kw)


def ledger(conn) -> list[tuple]:
    return conn.execute("select submission_id, status, channel, period, original_name, duplicate_of "
                        "from audit.submissions order by submission_id").fetchall()


def watermark(conn, agency="STCSM", kind="projects"):
    return agency_pull.watermark(conn, agency, kind)


def raw_codes(conn) -> list[str]:
    return [r[0] for r in conn.execute("select project_code from raw.projects order by 1")]


# ------------------------------------------------------------------------------- the reference API


def test_the_api_answers_the_contract_over_http(api):
    url = f"{api.base_url}/api/v1/STCSM/projects"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    params = {"updated_since": "2018-01-01T00:00:00Z", "updated_until": "2018-04-01T00:00:00Z", "page_size": 5}
    body = requests.get(url, params=params, headers=auth, timeout=5).json()
    assert (body["agency"], body["kind"], body["page"], body["pages"], body["total"]) == ("STCSM", "projects", 1, 3, 13)
    assert len(body["records"]) == 5 and "page=2" in body["next"]
    assert set(body["records"][0]) == set(KINDS["projects"].column_names) | {"updated_at", "record_id"}
    last = requests.get(url, params={**params, "page": 3}, headers=auth, timeout=5).json()
    assert last["next"] is None and len(last["records"]) == 3

    assert requests.get(url, params=params, timeout=5).status_code == 401
    assert requests.get(url, params=params, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401
    for path in ("/api/v1/NOPE/projects", "/api/v1/STCSM/ip_transactions", "/api/v1/STCSM", "/other"):
        assert requests.get(api.base_url + path, headers=auth, timeout=5).status_code == 404, path
    for bad in ({"updated_since": "yesterday"}, {"page": "0"}, {"page": "4"}, {"page_size": "0"},
                {"page_size": "x"}, {"updated_until": "2017-01-01"}, {"since": "2018-01-01"}):
        r = requests.get(url, params={**params, **bad}, headers=auth, timeout=5)
        assert r.status_code == 400 and r.json()["error"], bad


def test_every_feed_is_deterministic_and_valid_for_the_warehouse(tmp_path):
    for agency, kinds in AGENCY_KINDS.items():
        for kind in kinds:
            rows = agency_api.feed(agency, kind)
            assert rows, (agency, kind)
            assert rows == agency_api.feed.__wrapped__(agency, kind)  # same seed, same data
            assert len({r["record_id"] for r in rows}) == len(rows)
            assert agency_api.FIRST_UPDATE.isoformat()[:4] <= rows[0]["updated_at"][:4] <= rows[-1]["updated_at"][:4] <= "2019"
            for col in KINDS[kind].columns:
                if col.type == CODE:
                    for r in rows:
                        if r[col.name] is not None:
                            assert codes.resolve(col.codelist, r[col.name]) == r[col.name]
            # Each year of the feed, as the client writes it, passes every critical row rule of a load.
            for year in range(2014, 2020):
                recs = [r for r in rows if r["updated_at"].startswith(str(year))]
                if not recs:
                    continue
                path = tmp_path / f"{agency}-{kind}-{year}.json"
                path.write_bytes(agency_pull.document(agency, kind, utc(year, 1, 1), utc(year + 1, 1, 1), recs))
                out = check_file(path, kind)
                assert out.rejected is None and out.rows_quarantined == 0, (agency, kind, year, out.problems[:3])
                assert out.rows_loaded == len(recs)
    by_type = {r["facility_type"] for r in agency_api.feed("SHDRC", "facilities")}
    assert by_type == {"national_major_infrastructure"}
    assert {r["transaction_type"] for r in agency_api.feed("SHIPA", "ip_transactions")} == {"technology_export"}


def test_the_document_of_an_interval_is_byte_deterministic(api):
    recs = expected(api)
    shuffled = recs[:]
    random.Random(1).shuffle(shuffled)
    assert agency_pull.document("STCSM", "projects", SINCE, UNTIL, recs) == \
        agency_pull.document("STCSM", "projects", SINCE, UNTIL, shuffled)


# ------------------------------------------------------------------------------------------ ingestion


def test_three_pages_load_every_record_once_and_advance_the_watermark(api, clean_warehouse, warehouse_url):
    c = clean_warehouse
    assert watermark(c) is None
    out = ingest(api, warehouse_url)
    assert out["status"] == "published", out
    want = expected(api)
    assert out["records"] == out["rows_loaded"] == len(want) == 13
    assert sum(1 for path, status in api.log if status == 200) == 3
    assert raw_codes(c) == sorted(r["project_code"] for r in want)
    [(sub_id, status, channel, period, name, _)] = ledger(c)
    assert (status, channel, period, name) == ("published", "api", "2018", "STCSM-projects-20180101T0000-20180401T0000.json")
    assert watermark(c) == UNTIL
    # money arrives in yuan and stays exact
    money = c.execute("select funding_municipal_yuan from raw.projects where project_code = %s",
                      (want[0]["project_code"],)).fetchone()[0]
    assert money == want[0]["funding_municipal_yuan"]


def test_pulling_the_same_interval_again_loads_nothing_new(api, clean_warehouse, warehouse_url):
    c = clean_warehouse
    first = ingest(api, warehouse_url)
    second = ingest(api, warehouse_url, page_size=7)  # other pages, same interval: the same bytes
    assert first["status"] == "published" and second["status"] == "duplicate"
    subs = ledger(c)
    assert [s[1] for s in subs] == ["published", "duplicate"] and subs[1][5] == first["submission_id"]
    assert len(raw_codes(c)) == 13
    assert watermark(c) == UNTIL
    # the same register -> process as a landing file's: a registration that ended at once gets its receipt too
    from stic.reports import receipts

    assert all(p.exists() for sid in (first["submission_id"], second["submission_id"])
               for p in receipts.receipt_paths(sid))


def test_an_empty_interval_registers_nothing_and_advances_the_watermark(api, clean_warehouse, warehouse_url):
    since, until = utc(2018, 6, 1), utc(2018, 6, 1, 0, 1)
    assert expected(api, since=since, until=until) == []
    out = ingest(api, warehouse_url, since=since, until=until)
    assert out["status"] == "empty" and out["submission_id"] is None
    assert ledger(clean_warehouse) == [] and watermark(clean_warehouse) == until


def test_the_watermark_never_moves_back(api, clean_warehouse, warehouse_url):
    ingest(api, warehouse_url)
    ingest(api, warehouse_url, since=utc(2017, 12, 1), until=utc(2018, 1, 1))  # a backfill of an older interval
    assert watermark(clean_warehouse) == UNTIL


def test_pull_since_watermark_goes_on_where_the_last_pull_stopped(api, clean_warehouse, warehouse_url):
    c = clean_warehouse
    kw = {"base_url": api.base_url, "token_provider": lambda: TOKEN, "url": warehouse_url,
          "retry": FAST, "page_size": 50}
    first = agency_pull.pull_since_watermark("STCSM", "projects", since=utc(2017, 11, 1), until=SINCE + dt.timedelta(days=20), **kw)
    second = agency_pull.pull_since_watermark("STCSM", "projects", until=UNTIL, **kw)
    assert [(r["updated_since"], r["updated_until"]) for r in first + second] == [
        ("2017-11-01T00:00:00Z", "2018-01-01T00:00:00Z"),  # cut at new year: each submission's period is its year
        ("2018-01-01T00:00:00Z", "2018-01-21T00:00:00Z"),
        ("2018-01-21T00:00:00Z", "2018-04-01T00:00:00Z"),
    ]
    assert [s[3] for s in ledger(c)] == ["2017", "2018", "2018"]
    assert len(raw_codes(c)) == len(expected(api, since=utc(2017, 11, 1))) == sum(r["records"] for r in first + second)
    assert watermark(c) == UNTIL


def test_no_token_is_a_clean_error_naming_the_agency(api, clean_warehouse, warehouse_url):
    with pytest.raises(AgencyPullError, match=r"agency STCSM.*refused the token.*STIC_AGENCY_TOKEN_STCSM") as e:
        ingest(api, warehouse_url, token=lambda: None)
    assert e.value.agency == "STCSM"
    with pytest.raises(AgencyPullError, match="agency SIPTC"):
        ingest(api, warehouse_url, agency="SIPTC", kind="ip_transactions", token=lambda: "wrong")
    assert ledger(clean_warehouse) == [] and watermark(clean_warehouse) is None


def test_the_token_comes_from_the_environment(api, clean_warehouse, warehouse_url, monkeypatch):
    monkeypatch.delenv("STIC_AGENCY_TOKEN", raising=False)
    monkeypatch.setenv("STIC_AGENCY_TOKEN_STCSM", TOKEN)
    assert ingest(api, warehouse_url, token=agency_pull.env_token_provider("STCSM"))["status"] == "published"
    with pytest.raises(AgencyPullError, match="agency SHTO"):  # STCSM's token is not SHTO's
        ingest(api, warehouse_url, agency="SHTO", token=agency_pull.env_token_provider("SHTO"))


def rotating(*tokens):
    """A secret store read again after the API refused a token: it has been rotated in between."""
    it = iter(tokens)
    last = [None]

    def get():
        last[0] = next(it, last[0])
        return last[0]
    return get


# Faults the client rides out: the interval is loaded completely, once.
RECOVERED = {
    "500": dict,  # 2 failures a page < 3 retries
    "slow:1.5": dict,  # page 2 sleeps 1.5 s once; the client gives up after 0.5 s and asks again
    "malformed": dict,
    "expire_token:2": lambda: {"token": rotating(TOKEN, f"{TOKEN}-rotated")},  # expires before page 3
    "changing_page": dict,  # page 2 finds a new record: total changes, the pull starts again and gets 14
}


@pytest.mark.parametrize("fault", list(RECOVERED))
def test_a_fault_the_client_rides_out_loads_the_interval_completely(fault, api, clean_warehouse, warehouse_url):
    api.set_faults(fault)
    out = ingest(api, warehouse_url, **RECOVERED[fault]())
    want = expected(api)  # after the fault: changing_page added a record to the interval
    assert out["status"] == "published"
    assert out["rows_loaded"] == len(want) == (14 if fault == "changing_page" else 13)
    assert raw_codes(clean_warehouse) == sorted(r["project_code"] for r in want)
    assert len(ledger(clean_warehouse)) == 1 and watermark(clean_warehouse) == UNTIL
    statuses = [s for _, s in api.log]
    assert {"500": 500, "expire_token:2": 401}.get(fault, 200) in statuses


# Faults the client cannot ride out: a clean error, nothing registered; the next run without the fault loads all.
FATAL = {
    "500:9": ("HTTP 500 from the agency API after 3 retries", {}),
    "malformed:9": ("page 2 failed 3 times", {}),  # a page that stays broken
    "expire_token:1": ("refused the token \\(token expired\\)", {}),  # no new token in the configuration
    "changing_page:9": ("the feed kept changing", {}),
}


@pytest.mark.parametrize("fault", list(FATAL))
def test_a_fault_the_client_cannot_ride_out_fails_cleanly_and_a_later_run_completes(fault, api, clean_warehouse,
                                                                                      warehouse_url, monkeypatch):
    if fault.startswith("malformed"):  # "malformed" breaks a page once; make it stay broken
        monkeypatch.setattr(api, "_first", lambda key: True)
    api.set_faults(fault)
    message, kw = FATAL[fault]
    with pytest.raises(AgencyPullError, match=message):
        ingest(api, warehouse_url, **kw)
    c = clean_warehouse
    assert ledger(c) == [] and raw_codes(c) == [] and watermark(c) is None
    monkeypatch.undo()
    api.set_faults()
    out = ingest(api, warehouse_url)
    assert out["status"] == "published" and out["rows_loaded"] == len(expected(api))
    assert len(ledger(c)) == 1 and watermark(c) == UNTIL


def test_a_slow_page_is_asked_again_after_the_client_timeout(api):
    api.set_faults("slow:3")
    t = time.perf_counter()
    recs = agency_pull.pull_interval(api.base_url, "STCSM", "projects", SINCE, UNTIL, lambda: TOKEN,
                                     timeout=0.3, page_size=PAGE_SIZE, retry=FAST)
    elapsed = time.perf_counter() - t
    assert len(recs) == 13 and elapsed < 2.0, elapsed  # did not wait the 3 s out
    page2 = [p for p, _ in api.log if "page=2" in p]
    assert len(page2) >= 1  # the slow first answer is logged only when its sleep ends
