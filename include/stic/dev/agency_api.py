"""The reference agency API: a small HTTP server that publishes agency feeds as paginated JSON, with faults.

It stands in for the municipal agencies' systems in tests and demos, and documents the contract the
pull client (`stic.agencies.pull`) relies on:

    GET /api/v1/<AGENCY>/<kind>?updated_since=ISO&updated_until=ISO&page=N&page_size=M
    Authorization: Bearer <token>

    200 {"agency", "kind", "page", "pages", "total", "records": [...], "next": url | null}
    400 a bad parameter · 401 a missing, wrong or expired token · 404 an unknown agency, kind or path

The interval is half-open: updated_since <= updated_at < updated_until (both optional, ISO 8601; a
time without a zone is UTC). Records are ordered by (updated_at, record_id) and carry the canonical
columns of `stic.contract.kinds` (money in yuan, in the `*_yuan` columns) plus `updated_at` and `record_id`.
The data is generated deterministically from a seed for every feed an agency may send
(`kinds.AGENCY_KINDS`), a few hundred records per feed at scale 1, updated 2014–2019. Codes carry
the agency and an "A" (e.g. ``STCSM-AP2016-0042``) so they never collide with the district sample files.

Faults (`--fault NAME[:N]`, several allowed; each feed meets a "once" fault once per server):
  500[:K]           the first K (default 2) requests of every page answer 500
  slow[:S]          page 2 (page 1 of a one-page interval) sleeps S seconds (default 3) before answering, once
  malformed         page 2 (or 1) answers truncated JSON, once
  expire_token[:N]  after N (default 3) requests the token expires; only `rotated_token` works from then on
  changing_page[:K] the first K (default 1) requests of page 2 find a record added to the interval since
                    page 1 was served (the feed changes under the client: `total` and the pages shift)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import random
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

from stic.contract.kinds import AGENCY_KINDS, KINDS

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
FIRST_UPDATE = dt.datetime(2014, 1, 1, tzinfo=dt.UTC)
LAST_UPDATE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)  # exclusive
FAULT_NAMES = ("500", "slow", "malformed", "expire_token", "changing_page")
_FAULT_DEFAULTS = {"500": 2, "slow": 3.0, "malformed": 1, "expire_token": 3, "changing_page": 1}


# ------------------------------------------------------------------------------------------ the data

# Records per feed at scale 1: a few hundred where the agency runs a large register, fewer where the
# real-world population is small (the 14 national infrastructures, the functional platforms).
FEED_SIZES = {
    ("STCSM", "projects"): 300, ("SHEITC", "projects"): 200, ("SHDRC", "projects"): 150,
    ("SHTO", "projects"): 120, ("SSTIC", "projects"): 150,
    ("STCSM", "facilities"): 80, ("SHEITC", "facilities"): 100, ("SHDRC", "facilities"): 20,
    ("SSTIC", "facilities"): 120, ("YRDN", "facilities"): 300,
    ("SIPTC", "ip_transactions"): 300, ("SHIPA", "ip_transactions"): 250,
}
N_PLATFORMS = 12  # STCSM's functional platforms in this feed world (codes STCSM-AFP-01..)

FIELDS = ("integrated_circuits", "artificial_intelligence", "biomedicine", "photonics", "quantum_information",
          "brain_science", "marine", "energy", "aerospace", "advanced_manufacturing", "new_materials",
          "new_energy_vehicles", "fintech", "other")
DISTRICTS = ("HP", "XH", "CN", "JA", "PT", "HK", "YP", "MH", "BS", "JD", "PD", "JS", "SJ", "QP", "FX", "CM")
INSTITUTIONS = (
    ("Fudan University", "university"), ("Shanghai Jiao Tong University", "university"),
    ("Tongji University", "university"), ("East China Normal University", "university"),
    ("ShanghaiTech University", "university"), ("Shanghai Institute of Materia Medica, CAS", "research_institute"),
    ("Shanghai Institute of Optics and Fine Mechanics, CAS", "research_institute"),
    ("Shanghai Advanced Research Institute, CAS", "research_institute"),
    ("Ruijin Hospital", "hospital"), ("Zhongshan Hospital", "hospital"),
    ("Shanghai Huahong Microelectronics Co., Ltd.", "enterprise"), ("Shanghai Zhangjiang Biotech Co., Ltd.", "enterprise"),
    ("Shanghai Lingang Intelligent Systems Co., Ltd.", "enterprise"), ("Shanghai Research Center of Siemens", "foreign_rd_center"),
)
TOPICS = ("key technology research", "platform construction", "applied basic research", "demonstration project",
          "pilot industrialisation", "core component development")


def _ts(rng: random.Random, lo: dt.datetime = FIRST_UPDATE, hi: dt.datetime = LAST_UPDATE) -> dt.datetime:
    return lo + dt.timedelta(seconds=rng.randrange(int((hi - lo).total_seconds())))


def iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(ts: dt.datetime, lo: dt.date, rng: random.Random) -> dt.date:
    """A date between lo and the day of ts (or lo when ts is earlier)."""
    hi = ts.date()
    return lo if hi <= lo else lo + dt.timedelta(days=rng.randrange((hi - lo).days + 1))


def _project(rng: random.Random, agency: str, i: int, updated: dt.datetime) -> dict:
    start = _day(updated, dt.date(2013, 1, 1), rng)
    end = start + dt.timedelta(days=rng.randint(365, 4 * 365))
    level = "municipal_major" if rng.random() < 0.3 else "municipal"
    programme = {"STCSM": "municipal_major_st" if level == "municipal_major" else "other",
                 "SSTIC": "functional_platform"}.get(agency, "other")
    field_ = rng.choice(FIELDS)
    inst, inst_type = rng.choice(INSTITUTIONS)
    return {
        "project_code": f"{agency}-AP{start.year}-{i:04d}",
        "title": f"{field_.replace('_', ' ').capitalize()} {rng.choice(TOPICS)} {i}",
        "level": level, "programme": programme, "field": field_,
        "lead_institution": inst, "institution_type": inst_type, "district": rng.choice(DISTRICTS),
        "start_date": start.isoformat(), "end_date": end.isoformat(),
        "status": "completed" if end < updated.date() else "underway",
        "funding_central_yuan": None,
        "funding_municipal_yuan": rng.randint(50, 2000) * 10_000,
        "funding_district_yuan": rng.randint(0, 500) * 10_000,
        "funding_self_raised_yuan": rng.randint(0, 1000) * 10_000,
    }


def _facility(rng: random.Random, agency: str, i: int, updated: dt.datetime) -> dict:
    field_ = rng.choice(FIELDS)
    host, _ = rng.choice(INSTITUTIONS)
    cstart = _day(updated, dt.date(2012, 1, 1), rng)
    row = {"facility_code": f"{agency}-AF-{i:04d}", "name": "", "facility_type": "laboratory", "field": field_,
           "district": rng.choice(DISTRICTS), "host_institution": host, "status": "in_operation",
           "construction_start_date": cstart.isoformat(), "operation_start_date": None,
           "total_investment_yuan": None, "original_value_yuan": None, "is_shared": None,
           "service_hours": None, "external_users": None}
    label = field_.replace("_", " ").capitalize()
    if agency == "SHDRC":  # the national major science and technology infrastructures
        status = rng.choice(("planned", "under_construction", "under_construction", "in_operation"))
        row.update(facility_type="national_major_infrastructure", name=f"{label} national facility {i}", status=status,
                   total_investment_yuan=rng.randint(10, 200) * 100_000_000)
    elif agency == "STCSM" and i < N_PLATFORMS:
        row.update(facility_code=f"STCSM-AFP-{i + 1:02d}", facility_type="functional_platform",
                   name=f"{label} R&D and transformation functional platform",
                   total_investment_yuan=rng.randint(5, 50) * 10_000_000)
    elif agency == "YRDN":
        row.update(facility_type="large_instrument", name=f"{label} instrument {i}", construction_start_date=None,
                   original_value_yuan=rng.randint(50, 5000) * 10_000, is_shared=rng.random() < 0.85,
                   service_hours=rng.randint(100, 4000), external_users=rng.randint(0, 300))
        row["operation_start_date"] = _day(updated, dt.date(2010, 1, 1), rng).isoformat()
        return row
    elif agency == "SSTIC" and rng.random() < 0.5:
        row.update(facility_type="incubator", name=f"{label} maker space {i}")
    else:
        row.update(name=f"{label} key laboratory {i}", total_investment_yuan=rng.randint(1, 30) * 1_000_000)
    if row["status"] == "in_operation":
        row["operation_start_date"] = _day(updated, cstart, rng).isoformat()
    return row


def _assessments(agency: str, seed: int) -> list[dict]:
    """Each STCSM platform's yearly assessment, published in the first half of the next year: STCSM
    reports the five contract items and the score, SHFB the funding (each its own part of the contract)."""
    rng = random.Random(f"{seed}:platform_assessments")  # shared: both agencies describe the same platforms
    out = []
    for p in range(1, N_PLATFORMS + 1):
        first = 2014 + rng.randint(0, 3)
        muni = rng.randint(1500, 5000) * 10_000
        for year in range(first, 2019):
            items = {}
            score = 0.0
            for item, (lo, hi) in (("common_tech_services", (50, 400)), ("commercialisation", (5, 60)),
                                   ("startups_incubated", (2, 30)), ("talent_trained", (20, 300)), ("cooperation", (5, 80))):
                t = rng.randint(lo, hi)
                a = max(0, round(t * rng.uniform(0.6, 1.3)))
                items[f"{item}_target"], items[f"{item}_actual"] = t, a
                score += min(a / t, 1.2) * 20
            dist = round(muni * rng.uniform(1.0, 1.4), -4)
            market = rng.randint(300, 3000) * 10_000
            updated = _ts(rng, dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC), dt.datetime(year + 1, 7, 1, tzinfo=dt.UTC))
            row = {"platform_code": f"STCSM-AFP-{p:02d}", "assessment_year": year, "updated_at": updated}
            if agency == "STCSM":
                row.update(items, score=round(min(score, 100.0), 1))
            else:
                row.update(municipal_fund_yuan=muni, district_match_yuan=int(dist), market_revenue_yuan=market)
            out.append(row)
            muni = round(muni * rng.uniform(0.75, 1.0), -4)  # "constant at the beginning, diminishing later on"
    return out


def _ip_transaction(rng: random.Random, agency: str, i: int, updated: dt.datetime) -> dict:
    listing = _day(updated, dt.date(2013, 6, 1), rng)
    deal = _day(updated, listing, rng) if agency == "SHIPA" or rng.random() < 0.6 else None
    seller, seller_type = rng.choice(INSTITUTIONS)
    if agency == "SHIPA":
        ttype = "technology_export"
        region = rng.choices(("jiangsu", "zhejiang", "anhui", "other_province", "overseas"), (35, 30, 15, 15, 5))[0]
    else:
        ttype = rng.choices(("transfer", "license", "pledge", "equity_contribution"), (50, 30, 10, 10))[0]
        region = rng.choice(DISTRICTS + ("jiangsu", "zhejiang", "anhui", "other_province"))
    price = rng.randint(1, 500) * 10_000
    amount = round(price * rng.uniform(0.7, 1.2), -2) if deal else None
    return {
        "transaction_code": f"{agency}-AT-{i:05d}", "listing_date": listing.isoformat(),
        "deal_date": deal.isoformat() if deal else None,
        "ip_type": rng.choices(("invention_patent", "utility_model", "software_copyright", "design_patent",
                                "ic_layout_design", "technical_know_how", "trademark"), (50, 15, 12, 5, 5, 8, 5))[0],
        "transaction_type": ttype, "field": rng.choice(FIELDS), "seller": seller, "seller_type": seller_type,
        "seller_district": rng.choice(DISTRICTS), "buyer": f"Buyer {i} Co., Ltd.", "buyer_region": region,
        "listed_price_yuan": price, "deal_amount_yuan": int(amount) if amount else None,
        "net_revenue_yuan": int(round(amount * 0.8, -2)) if amount else None,
        "inventor_award_share": round(rng.uniform(0.3, 0.7), 2) if amount and seller_type in ("university", "research_institute") else None,
    }


_MAKERS = {"projects": _project, "facilities": _facility, "ip_transactions": _ip_transaction}


def make_record(agency: str, kind: str, i: int, updated: dt.datetime, seed: int) -> dict:
    """Record i of a feed, last updated at `updated` (also used to add records to a feed at run time)."""
    rng = random.Random(f"{seed}:{agency}:{kind}:{i}")
    row = _MAKERS[kind](rng, agency, i, updated)
    # every contract column, null when the feed has no value (e.g. joint_with): the API's documented shape
    return {**dict.fromkeys(KINDS[kind].column_names), **row, "updated_at": iso(updated),
            "record_id": f"{agency}/{kind}/{i:06d}"}


@cache
def feed(agency: str, kind: str, seed: int = 42, scale: float = 1.0) -> tuple[dict, ...]:
    """Every record of one feed, ordered by (updated_at, record_id). Deterministic for the seed."""
    if kind not in AGENCY_KINDS.get(agency, ()):
        raise KeyError(f"{agency}/{kind}")
    if kind == "platform_assessments":
        rows = [{**{c: None for c in KINDS[kind].column_names}, **r,
                 "updated_at": iso(r["updated_at"]), "record_id": f"{agency}/{kind}/{r['platform_code']}/{r['assessment_year']}"}
                for r in _assessments(agency, seed)]
    else:
        n = max(1, round(FEED_SIZES[(agency, kind)] * scale))
        rng = random.Random(f"{seed}:{agency}:{kind}")
        rows = [make_record(agency, kind, i, _ts(rng), seed) for i in range(n)]
    return tuple(sorted(rows, key=lambda r: (r["updated_at"], r["record_id"])))


def parse_ts(value: str) -> dt.datetime:
    """An ISO 8601 timestamp (or date) as an aware datetime; no zone means UTC. ValueError otherwise."""
    ts = dt.datetime.fromisoformat(value.strip())
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)


def in_interval(record: dict, since: dt.datetime | None, until: dt.datetime | None) -> bool:
    ts = parse_ts(record["updated_at"])
    return (since is None or ts >= since) and (until is None or ts < until)


# --------------------------------------------------------------------------------------------- faults


@dataclass
class Faults:
    """Which faults a server injects, and their parameter (see the module docstring)."""

    active: dict[str, float] = field(default_factory=dict)

    @classmethod
    def parse(cls, specs: list[str] | tuple[str, ...] | None) -> Faults:
        active: dict[str, float] = {}
        for spec in specs or ():
            name, _, arg = spec.partition(":")
            if name not in FAULT_NAMES:
                raise ValueError(f"unknown fault {name!r}: expected one of {', '.join(FAULT_NAMES)} (NAME or NAME:N)")
            try:
                active[name] = float(arg) if arg else _FAULT_DEFAULTS[name]
            except ValueError:
                raise ValueError(f"fault {spec!r}: the parameter after ':' must be a number") from None
        return cls(active)

    def __contains__(self, name: str) -> bool:
        return name in self.active

    def n(self, name: str) -> float:
        return self.active[name]


# --------------------------------------------------------------------------------------------- server


class _Handler(BaseHTTPRequestHandler):
    server: AgencyAPIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        log.debug("agency api: " + format, *args)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout); it will ask again

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps({"error": message}).encode(), headers)

    def do_GET(self):  # noqa: N802 - the stdlib's name
        try:
            self.server.handle_get(self)
        except Exception as e:  # a bug in the reference server must still answer (and show in tests)
            log.exception("agency api: %s", e)
            self._error(500, f"internal error: {e}")


class AgencyAPIServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str = "", faults: Faults | None = None,
                 seed: int = 42, scale: float = 1.0, rotated_token: str | None = None,
                 only: set[tuple[str, str]] | None = None):
        super().__init__((host, port), _Handler)
        self.token = token
        self.rotated_token = rotated_token or f"{token}-rotated"
        self.faults = faults or Faults()
        self.seed, self.scale = seed, scale
        self.only = only  # feeds that hold records; every other feed answers with no records (tests)
        self._lock = threading.Lock()
        self._added: dict[tuple[str, str], list[dict]] = {}  # records added at run time (changing_page)
        self._counts: Counter = Counter()
        self._once: set[tuple] = set()
        self.requests = 0  # authenticated requests, for expire_token
        self.log: list[tuple[str, int]] = []  # (path with query, status) of every request, for tests

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def set_faults(self, *specs: str) -> None:
        """Change the faults of a running server (and forget which "once" faults already happened)."""
        with self._lock:
            self.faults = Faults.parse(list(specs))
            self._counts.clear()
            self._once.clear()
            self.requests = 0

    def records(self, agency: str, kind: str) -> list[dict]:
        """The feed as served now (with any records added by the changing_page fault)."""
        if self.only is not None and (agency, kind) not in self.only:
            return []
        with self._lock:
            added = list(self._added.get((agency, kind), ()))
        rows = list(feed(agency, kind, self.seed, self.scale)) + added
        return sorted(rows, key=lambda r: (r["updated_at"], r["record_id"]))

    def _first(self, key: tuple) -> bool:
        with self._lock:
            if key in self._once:
                return False
            self._once.add(key)
            return True

    def _count(self, key: tuple) -> int:
        with self._lock:
            self._counts[key] += 1
            return self._counts[key]

    def handle_get(self, h: _Handler) -> None:
        url = urlparse(h.path)
        status = self._dispatch(h, url)
        with self._lock:
            self.log.append((h.path, status))

    def _dispatch(self, h: _Handler, url) -> int:
        f = self.faults
        # ---- authentication
        auth = h.headers.get("Authorization", "")
        given = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        with self._lock:
            expired = "expire_token" in f and self.requests >= f.n("expire_token")
            valid = {self.rotated_token} if expired else {self.token}
            if given in valid:
                self.requests += 1
        if given not in valid:
            why = "token expired" if expired and given == self.token else "missing or invalid bearer token"
            h._error(401, why, {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{why}"'})
            return 401
        # ---- the feed
        parts = url.path.rstrip("/").split("/")
        if url.path.startswith(API_PREFIX + "/") and len(parts) == 5:
            agency, kind = parts[3], parts[4]
        else:
            h._error(404, f"no such resource {url.path}; expected {API_PREFIX}/<AGENCY>/<kind>")
            return 404
        if kind not in AGENCY_KINDS.get(agency, ()):
            h._error(404, f"agency {agency!r} publishes no feed {kind!r}"
                          + (f"; its feeds: {', '.join(sorted(AGENCY_KINDS[agency]))}" if agency in AGENCY_KINDS else ""))
            return 404
        # ---- parameters
        q = parse_qs(url.query, keep_blank_values=True)
        unknown = set(q) - {"updated_since", "updated_until", "page", "page_size"}
        if unknown:
            h._error(400, f"unknown parameter(s): {', '.join(sorted(unknown))}")
            return 400
        try:
            since = parse_ts(q["updated_since"][-1]) if "updated_since" in q else None
            until = parse_ts(q["updated_until"][-1]) if "updated_until" in q else None
        except ValueError as e:
            h._error(400, f"updated_since/updated_until must be ISO 8601 timestamps ({e})")
            return 400
        if since and until and since > until:
            h._error(400, f"updated_since {iso(since)} is after updated_until {iso(until)}")
            return 400
        try:
            page = int(q.get("page", ["1"])[-1])
            size = int(q.get("page_size", [str(DEFAULT_PAGE_SIZE)])[-1])
        except ValueError:
            h._error(400, "page and page_size must be whole numbers")
            return 400
        if not 1 <= size <= MAX_PAGE_SIZE:
            h._error(400, f"page_size must be 1..{MAX_PAGE_SIZE}, not {size}")
            return 400
        rows = [r for r in self.records(agency, kind) if in_interval(r, since, until)]
        pages = max(1, math.ceil(len(rows) / size))
        if not 1 <= page <= pages:
            h._error(400, f"page must be 1..{pages}, not {page}")
            return 400
        # ---- faults
        feed_key = (agency, kind)
        fault_page = min(2, pages)
        if "500" in f and self._count(("500", *feed_key, since, until, page)) <= f.n("500"):
            h._error(500, "internal server error (injected)")
            return 500
        if "changing_page" in f and pages >= 2 and page == 2 and \
                self._count(("changing", *feed_key)) <= f.n("changing_page"):
            with self._lock:
                added = self._added.setdefault(feed_key, [])
                i = 900_000 + len(added)
                ts = since or parse_ts(rows[0]["updated_at"])
                added.append(make_record(agency, kind, i, ts, self.seed) if kind != "platform_assessments" else
                             {**rows[0], "platform_code": f"STCSM-AFP-{90 + len(added):02d}",
                              "updated_at": iso(ts), "record_id": f"{agency}/{kind}/added/{i}"})
            rows = [r for r in self.records(agency, kind) if in_interval(r, since, until)]
            pages = max(1, math.ceil(len(rows) / size))
        if "slow" in f and page == fault_page and self._first(("slow", *feed_key)):
            time.sleep(f.n("slow"))
        body = {
            "agency": agency, "kind": kind, "page": page, "pages": pages, "total": len(rows),
            "records": rows[(page - 1) * size: page * size],
            "next": None,
        }
        if page < pages:
            params = {k: v[-1] for k, v in q.items()}
            params.update(page=str(page + 1), page_size=str(size))
            body["next"] = f"{self.base_url}{url.path}?{urlencode(params)}"
        data = json.dumps(body, ensure_ascii=False).encode()
        if "malformed" in f and page == fault_page and self._first(("malformed", *feed_key)):
            data = data[: len(data) // 2]
        h._send(200, data)
        return 200


def serve(host: str = "127.0.0.1", port: int = 8765, token: str = "", faults: list[str] | None = None,
          seed: int = 42, scale: float = 1.0, rotated_token: str | None = None) -> None:
    """Run the reference agency API in the foreground until interrupted."""
    if not token:
        raise ValueError("the agency API needs a token (--token or STIC_AGENCY_TOKEN)")
    server = AgencyAPIServer(host, port, token, Faults.parse(faults), seed, scale, rotated_token)
    print(f"agency API on {server.base_url}{API_PREFIX}/<AGENCY>/<kind> (faults: {', '.join(faults or []) or 'none'})",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@contextmanager
def running(token: str = "secret", faults: list[str] | tuple[str, ...] | None = None, seed: int = 42,
            scale: float = 1.0, port: int = 0, rotated_token: str | None = None,
            only: set[tuple[str, str]] | None = None):
    """The API in a background thread on 127.0.0.1 (port 0: a free port); yields the server (`.base_url`)."""
    server = AgencyAPIServer("127.0.0.1", port, token, Faults.parse(list(faults or ())), seed, scale,
                             rotated_token, only)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="agency-api", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ------------------------------------------------------------------------------------------------ CLI


def cmd_serve(args) -> int:
    import os

    token = args.token or os.environ.get("STIC_AGENCY_TOKEN") or ""
    try:
        serve(args.host, args.port, token, args.fault, args.seed, args.scale, args.rotated_token)
    except ValueError as e:
        print(f"error: {e}")
        return 2
    return 0


def add_cli(subparsers) -> None:
    """Register `stic agency-api serve` on the `stic` command line's subparsers."""
    p = subparsers.add_parser("agency-api", help="the reference agency API (for demos and tests)")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    s = sub.add_parser("serve", help="serve the agency feeds over HTTP on loopback until interrupted")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8765)
    s.add_argument("--token", help="the bearer token clients must send (default: $STIC_AGENCY_TOKEN)")
    s.add_argument("--rotated-token", help="the token that works after expire_token (default: <token>-rotated)")
    s.add_argument("--fault", action="append", default=[], metavar="NAME[:N]",
                   help=f"inject a fault: {', '.join(FAULT_NAMES)} (repeatable; see `pydoc stic.dev.agency_api`)")
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("--scale", type=float, default=1.0, help="records per feed relative to the default few hundred")
    s.set_defaults(func=cmd_serve)
