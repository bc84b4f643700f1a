"""Pull agency feeds over HTTP and load each interval as one ledger submission (channel 'api'), exactly once.

An interval [updated_since, updated_until) of one agency's feed of one kind is pulled whole or not at
all: every page is fetched (with bounded retries) and checked for consistency, or `AgencyPullError` is
raised and nothing is registered. A complete pull is written as one byte-deterministic JSON document
(sorted keys, records sorted by record_id), registered through the ledger and run through the pipeline
like any file. Pulling the same interval again gives the same bytes, which the ledger records as a
duplicate and loads nothing from. The watermark (audit.agency_watermarks) says how far a feed has been
read; it moves forward only after the interval's submission is in the ledger (or the interval was empty).

Configuration: STIC_AGENCY_API_URL (the API's base URL), STIC_AGENCY_TOKEN_<AGENCY> or STIC_AGENCY_TOKEN
(the bearer token; read again when the API says it expired). In Airflow, the connection `stic_agency_api`
(host = base URL, password = token) comes first.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from stic.contract.kinds import AGENCY_KINDS, FIRST_YEAR

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
EMPTY = "empty"  # the status of an interval's result when the interval had no records (no submission)
TokenProvider = Callable[[], "str | None"]


class AgencyPullError(RuntimeError):
    """An interval could not be pulled completely; nothing of it was registered."""

    def __init__(self, agency: str, kind: str, message: str):
        self.agency, self.kind = agency, kind
        super().__init__(f"agency {agency}, {kind}: {message}; nothing was registered and the watermark did not move")


class _FeedChanged(Exception):
    """The feed changed between two pages of one pull (total/pages moved, or a record came twice)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a pull tries. Every loop is bounded, so a pull always ends: complete, or an error."""

    attempts: int = 4  # urllib3: retries of one request after 5xx, connection errors, timeouts
    bad_body_attempts: int = 3  # by hand: requests whose body is malformed or of the wrong shape
    backoff: float = 0.5  # seconds; doubles after each failed attempt
    backoff_max: float = 10.0
    restarts: int = 2  # whole-pull restarts when the feed changes under the pull

    def sleep(self, attempt: int) -> None:
        time.sleep(min(self.backoff_max, self.backoff * 2 ** (attempt - 1)))


DEFAULT_RETRY = RetryPolicy()


# ------------------------------------------------------------------------------------ configuration


def env_token(agency: str) -> str | None:
    return os.environ.get(f"STIC_AGENCY_TOKEN_{agency.upper()}") or os.environ.get("STIC_AGENCY_TOKEN") or None


def env_token_provider(agency: str) -> TokenProvider:
    """A provider that reads the token from the environment each time it is asked (so a rotated token is seen)."""
    return lambda: env_token(agency)


def env_base_url() -> str:
    url = os.environ.get("STIC_AGENCY_API_URL")
    if not url:
        raise ValueError("set STIC_AGENCY_API_URL to the agency API's base URL (e.g. http://127.0.0.1:8765)")
    return url


def base_url_from_connection(host: str | None, port: int | None = None, schema: str | None = None,
                             conn_type: str | None = None) -> str | None:
    """The base URL of an Airflow connection whose host is a URL ('http://h:p') or a host name."""
    if not host:
        return None
    if "://" in host:
        return host.rstrip("/")
    scheme = schema if schema in ("http", "https") else ("https" if conn_type == "https" else "http")
    return f"{scheme}://{host}{f':{port}' if port else ''}"


# ----------------------------------------------------------------------------------------------- pull


def utc(ts: dt.datetime | str) -> dt.datetime:
    if isinstance(ts, str):
        ts = dt.datetime.fromisoformat(ts)
    return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)


def iso(ts: dt.datetime) -> str:
    return utc(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


def session(retry: RetryPolicy = DEFAULT_RETRY) -> requests.Session:
    s = requests.Session()
    policy = Retry(
        total=retry.attempts, connect=retry.attempts, read=retry.attempts, status=retry.attempts, other=0,
        backoff_factor=retry.backoff, backoff_max=retry.backoff_max,
        status_forcelist=(500, 502, 503, 504), allowed_methods=frozenset({"GET"}),
        raise_on_status=False,  # the last 5xx comes back as a response, and becomes an AgencyPullError below
        respect_retry_after_header=True,
    )
    s.mount("http://", HTTPAdapter(max_retries=policy))
    s.mount("https://", HTTPAdapter(max_retries=policy))
    s.headers["Accept"] = "application/json"
    s.headers["User-Agent"] = "stic-warehouse agency-pull"
    return s


class _Token:
    """The bearer token of one pull: re-read from configuration once when the API refuses it."""

    def __init__(self, provider: TokenProvider):
        self.provider = provider
        self.value = provider()
        self.refreshed = False

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.value}"} if self.value else {}

    def refresh(self) -> bool:
        if self.refreshed:
            return False
        self.refreshed = True
        new = self.provider()
        if new and new != self.value:
            self.value = new
            return True
        return False


def _error_text(resp: requests.Response) -> str:
    try:
        return str(resp.json().get("error") or resp.reason)
    except ValueError:
        return resp.reason or f"HTTP {resp.status_code}"


def _check_page(body, agency: str, kind: str, page: int, page_size: int) -> None:
    """ValueError unless the body has the shape of the page asked for."""
    if not isinstance(body, dict):
        raise ValueError("the body is not a JSON object")
    for key, typ in (("page", int), ("pages", int), ("total", int), ("records", list)):
        if not isinstance(body.get(key), typ):
            raise ValueError(f"{key!r} is missing or not a {typ.__name__}")
    if (body.get("agency"), body.get("kind"), body["page"]) != (agency, kind, page):
        raise ValueError(f"asked for {agency}/{kind} page {page}, got {body.get('agency')}/{body.get('kind')} page {body['page']}")
    if len(body["records"]) > page_size or not all(isinstance(r, dict) and r.get("record_id") for r in body["records"]):
        raise ValueError("records must be at most page_size objects, each with a record_id")
    if (body.get("next") is None) != (page >= body["pages"]):
        raise ValueError(f"'next' disagrees with page {page} of {body['pages']}")


def _get_page(s: requests.Session, token: _Token, url: str, params: dict, agency: str, kind: str,
              timeout: float, retry: RetryPolicy) -> dict:
    page = params["page"]
    problem = ""
    for attempt in range(1, retry.bad_body_attempts + 1):
        try:
            resp = s.get(url, params=params, headers=token.headers(), timeout=(timeout, timeout))
        except requests.RequestException as e:
            # urllib3 has already retried connection errors and timeouts; a timeout while the body was
            # being read (after the headers) lands here and is worth the same bounded retry.
            problem = f"{type(e).__name__}: {e}"
            log.warning("%s %s page %s: %s (attempt %s of %s)", agency, kind, page, problem, attempt, retry.bad_body_attempts)
            if attempt < retry.bad_body_attempts:
                retry.sleep(attempt)
            continue
        if resp.status_code == 401:
            if token.refresh():
                log.warning("%s %s: the agency API refused the token (%s); retrying once with the token read again",
                            agency, kind, _error_text(resp))
                resp = s.get(url, params=params, headers=token.headers(), timeout=(timeout, timeout))
            if resp.status_code == 401:
                raise AgencyPullError(
                    agency, kind,
                    f"the agency API refused the token ({_error_text(resp)})"
                    + ("; no token is configured" if not token.value else "")
                    + f": set STIC_AGENCY_TOKEN_{agency} (or STIC_AGENCY_TOKEN, or the password of the Airflow "
                      "connection stic_agency_api) to a valid token")
        if resp.status_code == 404:
            raise AgencyPullError(agency, kind, f"the agency API has no such feed at {resp.url} ({_error_text(resp)})")
        if 400 <= resp.status_code < 500:
            raise AgencyPullError(agency, kind, f"the agency API rejected the request {resp.url}: "
                                                f"HTTP {resp.status_code} {_error_text(resp)}")
        if resp.status_code >= 500:
            raise AgencyPullError(agency, kind, f"page {page}: HTTP {resp.status_code} from the agency API after "
                                                f"{retry.attempts} retries ({_error_text(resp)}); try again later")
        try:
            body = json.loads(resp.content.decode("utf-8"))
            _check_page(body, agency, kind, page, params["page_size"])
            return body
        except ValueError as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            problem = f"malformed response: {str(e)[:200]}"
            log.warning("%s %s page %s: %s (attempt %s of %s)", agency, kind, page, problem, attempt, retry.bad_body_attempts)
            if attempt < retry.bad_body_attempts:
                retry.sleep(attempt)
    raise AgencyPullError(agency, kind, f"page {page} failed {retry.bad_body_attempts} times (last: {problem})")


def _pull_once(s, token, url, agency, kind, since, until, page_size, timeout, retry) -> list[dict]:
    records: list[dict] = []
    seen: set[str] = set()
    shape = None
    page = 1
    while True:
        params = {"updated_since": iso(since), "updated_until": iso(until), "page": page, "page_size": page_size}
        body = _get_page(s, token, url, params, agency, kind, timeout, retry)
        if shape is None:
            shape = (body["total"], body["pages"])
        elif (body["total"], body["pages"]) != shape:
            raise _FeedChanged(f"page {page} says total {body['total']} in {body['pages']} pages, "
                               f"page 1 said {shape[0]} in {shape[1]}")
        for r in body["records"]:
            if r["record_id"] in seen:
                raise _FeedChanged(f"record {r['record_id']} came twice")
            seen.add(r["record_id"])
            try:
                ts = utc(str(r.get("updated_at")))
            except ValueError:
                raise AgencyPullError(agency, kind, f"record {r['record_id']} has no valid updated_at ({r.get('updated_at')!r})") from None
            if not since <= ts < until:
                # The API ignored the filter: loading this would load records of other intervals twice.
                raise AgencyPullError(agency, kind, f"record {r['record_id']} (updated {r['updated_at']}) is outside "
                                                    f"the interval {iso(since)} – {iso(until)} asked for")
        records += body["records"]
        if page >= body["pages"]:
            break
        page += 1
    if len(records) != shape[0]:
        raise _FeedChanged(f"{len(records)} records on {shape[1]} pages, but total says {shape[0]}")
    return records


def pull_interval(base_url: str, agency: str, kind: str, since: dt.datetime, until: dt.datetime,
                  token_provider: TokenProvider, timeout: float = 30.0, page_size: int = 100,
                  retry: RetryPolicy = DEFAULT_RETRY) -> list[dict]:
    """Every record of the feed updated in [since, until), all pages, or AgencyPullError."""
    since, until = utc(since), utc(until)
    if since > until:
        raise AgencyPullError(agency, kind, f"updated_since {iso(since)} is after updated_until {iso(until)}")
    if since == until:
        return []
    url = f"{base_url.rstrip('/')}{API_PREFIX}/{agency}/{kind}"
    token = _Token(token_provider)
    with session(retry) as s:
        for n in range(1, retry.restarts + 2):
            try:
                records = _pull_once(s, token, url, agency, kind, since, until, page_size, timeout, retry)
                log.info("%s %s %s – %s: %s records", agency, kind, iso(since), iso(until), len(records))
                return records
            except _FeedChanged as e:
                log.warning("%s %s: the feed changed during the pull (%s); %s", agency, kind, e,
                            "starting again" if n <= retry.restarts else "giving up")
                last = e
    raise AgencyPullError(agency, kind, f"the feed kept changing during the pull ({last}; {retry.restarts + 1} tries); "
                                        "try again later")


# --------------------------------------------------------------------------------------------- ingest


def original_name(agency: str, kind: str, since: dt.datetime, until: dt.datetime) -> str:
    return f"{agency}-{kind}-{utc(since):%Y%m%dT%H%M}-{utc(until):%Y%m%dT%H%M}.json"


def document(agency: str, kind: str, since: dt.datetime, until: dt.datetime, records: list[dict]) -> bytes:
    """The interval as one JSON document, the same bytes for the same records (whatever the page order)."""
    doc = {"agency": agency, "kind": kind, "updated_since": iso(since), "updated_until": iso(until),
           "records": sorted(records, key=lambda r: str(r["record_id"]))}
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def watermark(conn, agency: str, kind: str) -> dt.datetime | None:
    row = conn.execute("select updated_since from audit.agency_watermarks where agency_code = %s and kind = %s",
                       (agency, kind)).fetchone()
    return row[0] if row else None


def advance_watermark(conn, agency: str, kind: str, until: dt.datetime, submission_id: int | None = None,
                      sha256: str | None = None) -> dt.datetime:
    """Move the feed's watermark to `until` (never back), after checking, in the same transaction, that the
    interval's submission is in the ledger. Returns the watermark now."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"stic.agency_watermark:{agency}:{kind}",))
        if submission_id is not None:
            row = conn.execute(
                "select sha256, channel, submitter_code, kind from audit.submissions where submission_id = %s",
                (submission_id,)).fetchone()
            if row is None or tuple(row) != (sha256, "api", agency, kind):
                raise AgencyPullError(agency, kind, f"submission {submission_id} is not the interval's in the ledger ({row})")
        return conn.execute(
            "insert into audit.agency_watermarks as w (agency_code, kind, updated_since) values (%s, %s, %s) "
            "on conflict (agency_code, kind) do update "
            "set updated_since = greatest(w.updated_since, excluded.updated_since), updated_at = now() "
            "returning updated_since",
            (agency, kind, utc(until)),
        ).fetchone()[0]


def ingest_interval(agency: str, kind: str, since: dt.datetime, until: dt.datetime, base_url: str,
                    token_provider: TokenProvider, url: str | None = None, **pull_kw) -> dict:
    """Pull one interval and take it through the ledger and the pipeline. Safe to run again for the same
    interval: the same records make the same bytes, which the ledger finds and loads nothing from."""
    from stic import ledger, pipeline
    from stic.warehouse import db

    since, until = utc(since), utc(until)
    if kind not in AGENCY_KINDS.get(agency, ()):
        raise AgencyPullError(agency, kind, f"agency {agency} does not send {kind} "
                                            f"(see stic.contract.kinds.AGENCY_KINDS: {sorted(AGENCY_KINDS.get(agency, ()))})")
    records = pull_interval(base_url, agency, kind, since, until, token_provider, **pull_kw)
    result = {"agency": agency, "kind": kind, "updated_since": iso(since), "updated_until": iso(until),
              "records": len(records), "submission_id": None, "status": EMPTY, "is_new": False}
    url = url or db.warehouse_url()
    with db.connect(url, autocommit=True) as conn:
        db.init_schema(conn)
        if not records:
            result["watermark"] = iso(advance_watermark(conn, agency, kind, until))
            return result
        name = original_name(agency, kind, since, until)
        with tempfile.TemporaryDirectory(prefix="stic-agency-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(document(agency, kind, since, until, records))
            sha, _ = ledger.sha256_file(path)

            def registered(reg: ledger.Registration) -> None:
                # The watermark moves once the interval is in the ledger, before it is loaded.
                result["watermark"] = iso(advance_watermark(conn, agency, kind, until, reg.submission_id, sha))

            # The same register -> process as a landing file's, receipt of a registration that ended at once included.
            out = pipeline.register_and_process(conn, path, submitter=agency, kind=kind, period=str(since.year),
                                                channel="api", original_name=name, url=url,
                                                on_registered=registered)
    result.update(out.as_dict(), records=len(records), updated_since=iso(since), updated_until=iso(until))
    return result


def year_chunks(since: dt.datetime, until: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """[since, until) cut at new year, so that each chunk's period (its year) is the year of its records."""
    out, start = [], utc(since)
    until = utc(until)
    while start < until:
        end = min(until, dt.datetime(start.year + 1, 1, 1, tzinfo=dt.UTC))
        out.append((start, end))
        start = end
    return out


def pull_since_watermark(agency: str, kind: str, until: dt.datetime | None = None, since: dt.datetime | None = None,
                         base_url: str | None = None, token_provider: TokenProvider | None = None,
                         url: str | None = None, **pull_kw) -> list[dict]:
    """Ingest the feed from its watermark (or `since`, or the start of 2014) to `until` (default: now), a
    year at a time; the watermark moves after each year, so a failure keeps the years done before it."""
    from stic.warehouse import db

    base_url = base_url or env_base_url()
    token_provider = token_provider or env_token_provider(agency)
    url = url or db.warehouse_url()
    if since is None:
        with db.connect(url, autocommit=True) as conn:
            db.init_schema(conn)
            since = watermark(conn, agency, kind)
    since = utc(since or dt.datetime(FIRST_YEAR, 1, 1))
    until = utc(until or dt.datetime.now(dt.UTC).replace(second=0, microsecond=0))
    return [ingest_interval(agency, kind, a, b, base_url, token_provider, url=url, **pull_kw)
            for a, b in year_chunks(since, until)]


# ------------------------------------------------------------------------------------------------ CLI


def cmd_pull(args) -> int:
    from stic.ledger import Status

    try:
        results = pull_since_watermark(
            args.agency.upper(), args.kind, until=args.until and utc(args.until),
            since=args.since and utc(args.since), base_url=args.url,
            timeout=args.timeout, page_size=args.page_size)
    except (AgencyPullError, ValueError) as e:  # ValueError: a bad timestamp or no STIC_AGENCY_API_URL
        print(f"error: {e}")
        return 1
    for r in results:
        print(f"{r['agency']} {r['kind']} {r['updated_since']} – {r['updated_until']}: {r['records']} records, "
              f"{r['status']}" + (f" (submission {r['submission_id']}: {r.get('reason')})" if r["submission_id"] else "")
              # an internal error: recorded, and retried by the next run until STIC_MAX_ATTEMPTS rejects it
              + (f"; internal error {r['attempts_failed']} time(s): {r['error']}" if r.get("error") else ""))
    print(json.dumps(results, indent=2, ensure_ascii=False, default=str) if args.json else "", end="")
    return 0 if all(r["status"] in (Status.PUBLISHED, Status.DUPLICATE, EMPTY) for r in results) else 1


def add_cli(subparsers) -> None:
    """Register `stic pull` on the `stic` command line's subparsers."""
    p = subparsers.add_parser("pull", help="pull an agency feed from the agency API into the warehouse")
    p.add_argument("--agency", required=True, help=f"agency code: {', '.join(sorted(AGENCY_KINDS))}")
    p.add_argument("--kind", required=True, help="projects, facilities, platform_assessments or ip_transactions")
    p.add_argument("--since", help="ISO timestamp (UTC unless zoned); default: the feed's watermark, else 2014-01-01")
    p.add_argument("--until", help="ISO timestamp (UTC unless zoned); default: now")
    p.add_argument("--url", help="the agency API's base URL (default: $STIC_AGENCY_API_URL)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    p.add_argument("--page-size", type=int, default=100)
    p.add_argument("--json", action="store_true", help="also print the results as JSON")
    p.set_defaults(func=cmd_pull)
