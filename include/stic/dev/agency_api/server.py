"""The reference agency API's HTTP server: paging, the bearer token, the injected faults; in the foreground or a thread."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import Counter
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

from stic.agencies.pull import iso
from stic.contract.kinds import AGENCY_KINDS

from .faults import Faults
from .records import (
    API_PREFIX,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    feed,
    in_interval,
    make_record,
    parse_ts,
)

log = logging.getLogger("stic.dev.agency_api")  # the name it had before the split

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
