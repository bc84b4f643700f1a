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

# The reference API lives in submodules by concern; its names stay here, where callers find them
# (`from stic.dev import agency_api`, `agency_api.running`, `agency_api.feed`, …).
from .cli import (  # noqa: F401
    add_cli,
    cmd_serve,
)
from .faults import (  # noqa: F401
    FAULT_NAMES,
    Faults,
)
from .records import (  # noqa: F401
    API_PREFIX,
    DEFAULT_PAGE_SIZE,
    DISTRICTS,
    FEED_SIZES,
    FIELDS,
    FIRST_UPDATE,
    INSTITUTIONS,
    LAST_UPDATE,
    MAX_PAGE_SIZE,
    N_PLATFORMS,
    TOPICS,
    feed,
    in_interval,
    iso,
    make_record,
    parse_ts,
)
from .server import (  # noqa: F401
    AgencyAPIServer,
    log,
    running,
    serve,
)
