"""Load one registered submission into its raw table: parse, normalise, quarantine, COPY — all or nothing."""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from stic import faults
from stic.config import settings
from stic.contract import headers
from stic.contract.kinds import KINDS, LINEAGE_COLUMNS, PG_TYPES, TRAILING_COLUMNS, Kind
from stic.intake.columnar import BatchNormaliser
from stic.intake.normalise import RULES, Problem, map_headers, row_normaliser
from stic.intake.readers import FileRejected, open_table
from stic.intake.spill import SpillList
from stic.ledger.status import Status

log = logging.getLogger(__name__)


@dataclass
class ParseOutcome:
    """What parsing a file found, loaded or not (shared by `stic check` and the loader)."""

    rows_received: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_with_warnings: int = 0
    rejected: str | None = None  # file-level reason: nothing is loaded
    rejected_rule: str | None = None
    # One per rule broken, with row and column; past 10,000 they wait on disk (stic.intake.spill), not in memory.
    problems: SpillList = field(default_factory=SpillList)
    warnings: SpillList = field(default_factory=SpillList)
    notes: list[str] = field(default_factory=list)
    format: str | None = None
    encoding: str | None = None
    # The header mapping applied, one dict per mapped column: {header, column, unit, factor}.
    header_mapping: list[dict] = field(default_factory=list)
    # Headers read but mapped to nothing (and not carrying amounts, which would reject the file).
    ignored_columns: list[str] = field(default_factory=list)
    # Rows recognised as layout, not data (total/subtotal rows, signature and notes lines): {row, sheet, reason, text}.
    skipped_rows: list[dict] = field(default_factory=list)

    def intake_details(self) -> dict:
        """What audit.loads.intake_details keeps of this outcome (receipts read it back)."""
        return {"header_mapping": self.header_mapping, "ignored_columns": self.ignored_columns,
                "skipped_rows": self.skipped_rows[:1000], "skipped_rows_total": len(self.skipped_rows),
                "notes": self.notes}

    @property
    def would_publish(self) -> bool:
        return self.rejected is None and self.rows_loaded > 0


def parse_rows(path: Path, kind: Kind, outcome: ParseOutcome, display_name: str | None = None,
               check_keys: bool = True, *, submitter: str | None = None,
               owner_districts: Mapping[str, frozenset[str]] | None = None, period: str | None = None):
    """Yield (row_number, sheet, values, warnings) of good rows; record problems in `outcome`.

    `submitter` (a district or agency code) lets the row rules check that a district reports only its own
    district's rows; `owner_districts` (platform code -> districts the warehouse knows it in) does the same
    for kinds without a district column. `period` (the submission's reporting period) adds the
    reporting-period warnings (a completed project ending after it, …). Raises FileRejected for a file that cannot be accepted at all.
    """
    name = display_name or path.name
    try:
        yield from _parse_rows(path, kind, outcome, name, check_keys, submitter, owner_districts, period)
    except FileRejected as e:
        # The archive stores the bytes under their sha256; messages name the file as the submitter sent it.
        raise FileRejected(e.reason, str(e).replace(path.name, name)) from None


def _open_rows(path: Path, kind: Kind, outcome: ParseOutcome, name: str, submitter: str | None):
    """The file's table, its header map and its data rows; the file-level rules (FileRejected)."""
    table = open_table(path, kind)
    outcome.format, outcome.encoding = table.format, table.encoding
    outcome.notes += table.notes
    outcome.skipped_rows = table.skipped  # the reader fills it as the rows are read (totals, signature lines)
    hm = map_headers(kind, table.headers, submitter=submitter)
    outcome.header_mapping, outcome.ignored_columns = hm.mapping, hm.ignored
    if hm.missing:
        found = [str(h) for h in table.headers if h not in (None, "")]
        raise FileRejected(
            "missing_columns",
            f"{name}: required column(s) missing: {', '.join(hm.missing)} (header row {table.header_row} has: "
            f"{', '.join(found[:20])}); use the template headers or an alias from include/stic/contract/kinds.py",
        )
    if hm.problems:
        raise FileRejected("bad_columns", f"{name}: " + "; ".join(hm.problems))
    # A column nothing maps but that looks like amounts rejects the file: a number is never dropped silently.
    rows, sample = headers.peek(table.rows, headers.SAMPLE_ROWS)
    lost = headers.unmapped_amounts(kind, table.headers, hm.positions, hm.unit_position, sample, submitter)
    if lost:
        outcome.ignored_columns = [h for i, h in zip(hm.ignored_positions, hm.ignored, strict=True) if i not in lost]
        raise FileRejected("unmapped_amount", f"{name}: " + "; ".join(lost.values()))
    return table, hm, rows


def _parse_rows(path: Path, kind: Kind, outcome: ParseOutcome, name: str, check_keys: bool,
                submitter: str | None = None, owner_districts: Mapping[str, frozenset[str]] | None = None,
                period: str | None = None):
    table, hm, rows = _open_rows(path, kind, outcome, name, submitter)
    seen_keys: dict[str, int] = {}
    normalise_row = row_normaliser(kind, hm, submitter=submitter, owner_districts=owner_districts, period=period)
    for row_number, sheet, cells in rows:
        outcome.rows_received += 1
        values, problems, warns = normalise_row(cells)
        key = values.get(kind.key)
        if check_keys and key is not None and not problems:
            if key in seen_keys:
                problems.append(Problem(kind.key, key, "duplicate_key",
                                        f"{kind.key} {key!r} already appeared on row {seen_keys[key]}"))
            else:
                seen_keys[key] = row_number
        if problems:
            _quarantine(outcome, table.headers, hm, row_number, sheet, cells, problems)
            continue
        if warns:
            _warn(outcome, row_number, sheet, warns)
        outcome.rows_loaded += 1
        yield row_number, sheet, values, warns


def _quarantine(outcome: ParseOutcome, headers: list, hm, row_number: int, sheet: str | None, cells: list,
                problems: list[Problem]) -> None:
    outcome.rows_quarantined += 1
    row_data = quarantined_row_data(headers, cells, hm.positions.values())
    for p in problems:
        outcome.problems.append({
            "row": row_number, "sheet": sheet, "column": p.column, "value": p.value,
            "rule": p.rule, "severity": p.severity, "message": p.message,
            "row_data": row_data,
        })


def _warn(outcome: ParseOutcome, row_number: int, sheet: str | None, warns: list[str]) -> None:
    outcome.rows_with_warnings += 1
    for w in warns:
        outcome.warnings.append({"row": row_number, "sheet": sheet, "rule": w, "message": RULES[w][1]})


BATCH_ROWS = 1000  # rows normalised column-wise at a time (stic.intake.columnar); memory stays flat
BATCH_CELLS = 100_000  # and cells: 1,000 rows of 16k columns held 486 MB, so a wide file's batches are shorter


def parse_batches(path: Path, kind: Kind, outcome: ParseOutcome, display_name: str | None = None, *,
                  submitter: str | None = None, owner_districts: Mapping[str, frozenset[str]] | None = None,
                  period: str | None = None, prefix: str = ""):
    """parse_rows for the loader: yield the good rows as COPY text (each line `prefix` + row number, sheet,
    the contract columns, row warnings), a batch at a time, recording the same problems and warnings in
    `outcome` as parse_rows (without the in-memory duplicate-key rule: the loader asks PostgreSQL)."""
    name = display_name or path.name
    try:
        yield from _parse_batches(path, kind, outcome, name, submitter, owner_districts, period, prefix)
    except FileRejected as e:
        raise FileRejected(e.reason, str(e).replace(path.name, name)) from None


def _parse_batches(path: Path, kind: Kind, outcome: ParseOutcome, name: str, submitter, owner_districts, period,
                   prefix: str):
    table, hm, rows = _open_rows(path, kind, outcome, name, submitter)
    normalise = BatchNormaliser(kind, hm, submitter=submitter, owner_districts=owner_districts, period=period,
                                text_cells=table.format == "csv")
    rows = iter(rows)
    while True:
        numbers, sheets, cells = [], [], []  # of the batch's rows, taken apart as they are read
        error, ended = None, True
        try:  # the rows read before a file turns out unreadable count as before
            held = 0  # cells in the batch
            for n, sheet, row in rows:
                numbers.append(n)
                sheets.append(sheet)
                cells.append(row)
                held += len(row)
                if len(cells) >= BATCH_ROWS or held >= BATCH_CELLS:
                    ended = False
                    break
        except FileRejected as e:
            error = e
        if cells:
            res = normalise(cells, numbers, sheets, prefix)
            outcome.rows_received += len(cells)
            for i, problems in res.quarantined:
                _quarantine(outcome, table.headers, hm, numbers[i], sheets[i], cells[i], problems)
            if res.warned:
                outcome.rows_with_warnings += len(res.warned)
                outcome.warnings.extend([{"row": numbers[i], "sheet": sheets[i], "rule": w, "message": RULES[w][1]}
                                         for i, warns in res.warned for w in warns])
            outcome.rows_loaded += res.loaded
            yield res.text
        if error is not None:
            raise error
        if ended:
            return


ROW_DATA_CELLS = 200  # cells of a quarantined row kept in audit.rejected_rows.row_data
ROW_DATA_CHARS = 20_000  # and characters (each value at most 500): 150k columns x 300 rows stored 171 MB
TRUNCATED = "…"  # the key under which row_data says what was left out


def quarantined_row_data(headers: list, cells: list, mapped=()) -> dict[str, str]:
    """The non-empty cells of a quarantined row by header, the mapped columns first, capped in cells and
    characters; what is left out is counted under the key '…' ("[truncated: N more cells]")."""
    first = {i for i in mapped if i < len(cells)}
    order = sorted(first) + [i for i in range(len(cells)) if i not in first]
    out: dict[str, str] = {}
    chars, left_out = 0, 0
    for i in order:
        v = cells[i]
        if v in (None, ""):
            continue
        k = str(headers[i])[:200] if i < len(headers) else f"column {i + 1}"
        text = str(v)[:500]
        if len(out) >= ROW_DATA_CELLS or chars + len(k) + len(text) > ROW_DATA_CHARS:
            left_out += 1
            continue
        out[k] = text
        chars += len(k) + len(text)
    if left_out:
        out[TRUNCATED] = f"[truncated: {left_out:,} more cells]"
    return out


def check_file(path: Path, kind_name: str, *, submitter: str | None = None, period: str | None = None) -> ParseOutcome:
    """A dry run: the same parsing and row rules as a load, nothing written.

    Without the warehouse, a district's platform assessments cannot be checked against the platforms'
    districts; the load does that (see `platform_districts`).
    """
    outcome = ParseOutcome()
    try:
        for _ in parse_rows(Path(path), KINDS[kind_name], outcome, submitter=submitter, period=period):
            pass
    except FileRejected as e:
        outcome.rejected, outcome.rejected_rule = str(e), e.reason
    if outcome.rejected is None and outcome.rows_loaded == 0:
        outcome.rejected = f"{Path(path).name}: no row passed the critical rules ({outcome.rows_quarantined} quarantined)"
        outcome.rejected_rule = "no_valid_rows"
    return outcome


def quarantine_duplicates(conn: psycopg.Connection, kind: Kind, load_id: int, outcome: ParseOutcome) -> int:
    """Keep the first row of each business key in this load; move the others to the quarantine list."""
    table, key = sql.Identifier("raw", kind.raw_table), sql.Identifier(kind.key)
    # Asked first with one hash aggregate (~0.1 s per 100k rows): the ranking below sorts the whole load
    # (~0.3 s), and a load rarely repeats a key. Both group null keys together.
    if not conn.execute(sql.SQL("select exists (select from {t} where load_id = %(load)s group by {k} "
                                "having count(*) > 1)").format(t=table, k=key), {"load": load_id}).fetchone()[0]:
        return 0
    dupes = conn.execute(sql.SQL(
        "with ranked as (select ctid, row_number() over w as n, first_value(source_row_number) over w as first_row "
        "from {t} where load_id = %(load)s window w as (partition by {k} order by source_sheet, source_row_number)) "
        "delete from {t} r using ranked where r.ctid = ranked.ctid and ranked.n > 1 "
        "returning r.source_row_number, nullif(r.source_sheet, ''), r.{k}, ranked.first_row"
    ).format(t=table, k=key), {"load": load_id}).fetchall()
    for row_number, sheet, value, first_row in sorted(dupes, key=lambda d: (d[1] or "", d[0])):
        outcome.problems.append({
            "row": row_number, "sheet": sheet, "column": kind.key, "value": value, "rule": "duplicate_key",
            "severity": RULES["duplicate_key"][0], "row_data": {kind.key: value},
            "message": f"{kind.key} {value!r} already appeared on row {first_row}",
        })
    outcome.rows_loaded -= len(dupes)
    outcome.rows_quarantined += len(dupes)
    return len(dupes)


def platform_districts(conn: psycopg.Connection) -> dict[str, frozenset[str]]:
    """Functional platform code -> the districts published facility records place it in.

    Platform assessments carry no district: a district may report a platform the warehouse places in its
    own district, or one it does not know yet (its facility record may come later, from an agency).
    """
    rows = conn.execute(
        "select f.facility_code, array_agg(distinct f.district) from raw.facilities as f "
        "join audit.submissions as s on s.submission_id = f.submission_id "
        "where s.status = 'published' and f.facility_type = 'functional_platform' and f.district is not null "
        "group by f.facility_code"
    ).fetchall()
    return {code: frozenset(districts) for code, districts in rows}


def copy_types(kind: Kind) -> list[str]:
    """The PostgreSQL type of each column written by the loader's COPY, in its order (without modifiers)."""
    declared = ([t for _, t in LINEAGE_COLUMNS] + ["text"] + [PG_TYPES[c.type] for c in kind.contract_columns]
                + [t for _, t in TRAILING_COLUMNS])
    return [t.split(" not null")[0].split("(")[0] for t in declared]


@dataclass
class LoadOutcome(ParseOutcome):
    """A load's outcome: what parsing found, the load's id, and where the ledger moves the submission."""

    load_id: int | None = None

    @property
    def status(self) -> Status:
        return Status.REJECTED if self.rejected else Status.PARSED

    @property
    def reason(self) -> str:
        return self.rejected or f"{self.rows_loaded} rows loaded, {self.rows_quarantined} quarantined"

    def ledger_fields(self) -> dict:
        """The ledger columns the load fills in: its id and counts."""
        return dict(
            load_id=self.load_id, rows_received=self.rows_received,
            rows_loaded=0 if self.rejected else self.rows_loaded,
            rows_quarantined=self.rows_quarantined, rows_with_warnings=self.rows_with_warnings,
            file_format=self.format, encoding=self.encoding,
        )


@contextmanager
def _few_gc_passes():
    """Python's cyclic GC runs a pass each time 700 more containers are alive than before; the rows of a
    batch (lists, tuples) set that off hundreds of times per batch though they hold no cycles and are freed
    by reference counting: ~0.3 s of a 100k-row load's 2.5 s of Python (measured). While rows stream, a
    pass waits for 100,000; garbage with cycles is still collected, later."""
    first, *rest = gc.get_threshold()
    gc.set_threshold(max(first, 100_000), *rest)
    try:
        yield
    finally:
        gc.set_threshold(first, *rest)


def load_rows(conn: psycopg.Connection, sub: dict, progress: Callable[[int], None] | None = None) -> LoadOutcome:
    """Load a received submission's rows (a ledger row) into raw.<kind>, its bad rows into audit.rejected_rows,
    and record the load in audit.loads; nothing of a rejected file stays in raw.

    Runs in the caller's transaction and moves no status: the caller asks the ledger to move the submission
    to `outcome.status` in the same transaction (stic.pipeline.load_step), so rows and status commit together.
    """
    outcome = LoadOutcome()
    submission_id, kind_name, original_name = sub["submission_id"], sub["kind"], sub["original_name"]
    submitter, period = sub["submitter_code"], sub["period"]
    kind = KINDS[kind_name]
    path = settings().landing_dir / sub["archive_path"]
    load_id = outcome.load_id = conn.execute(
        "insert into audit.loads (submission_id) values (%s) returning load_id", (submission_id,)
    ).fetchone()[0]
    columns = ([n for n, _ in LINEAGE_COLUMNS] + ["source_sheet"] + kind.contract_column_names
               + [n for n, _ in TRAILING_COLUMNS])
    copy_sql = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier("raw", kind.raw_table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    try:
        # Read before the COPY starts: the connection runs no other query while a COPY is open.
        owners = platform_districts(conn) if kind.name == "platform_assessments" else None
        # A savepoint: a file found unreadable half-way aborts its COPY, not the ledger update after it.
        with conn.transaction(), conn.cursor() as cur, cur.copy(copy_sql) as copy, _few_gc_passes():
            # The rows come as COPY text, a batch at a time, normalised column-wise (stic.intake.columnar);
            # duplicate keys are found by PostgreSQL after the COPY (quarantine_duplicates), so memory
            # stays flat however many rows a file has.
            for text in parse_batches(path, kind, outcome, display_name=original_name, submitter=submitter,
                                      owner_districts=owners, period=period, prefix=f"{submission_id}\t{load_id}\t"):
                before = outcome.rows_loaded - text.count("\n")
                copy.write(text)
                for _ in range(before // 1000, outcome.rows_loaded // 1000):
                    faults.point("load.copy")
                if progress and outcome.rows_received % 50_000 == 0:
                    progress(outcome.rows_received)
    except FileRejected as e:
        outcome.rejected, outcome.rejected_rule = str(e), e.reason
    if outcome.rejected is None and outcome.rows_loaded:
        quarantine_duplicates(conn, kind, load_id, outcome)
    if outcome.rejected is None and outcome.rows_loaded == 0:
        outcome.rejected = f"{original_name}: no row passed the critical rules ({outcome.rows_quarantined} quarantined)"
        outcome.rejected_rule = "no_valid_rows"
    if outcome.rejected and outcome.rows_loaded:
        # Nothing of a rejected file stays in raw; the ledger and the archive keep the evidence.
        conn.execute(sql.SQL("delete from {} where load_id = %s").format(sql.Identifier("raw", kind.raw_table)), (load_id,))
    if outcome.problems:
        with conn.cursor() as cur, cur.copy(
            "copy audit.rejected_rows (submission_id, load_id, source_row_number, source_sheet, column_name, "
            "submitted_value, rule, severity, message, row_data) from stdin"
        ) as copy:
            for p in outcome.problems:
                copy.write_row((submission_id, load_id, p["row"], p["sheet"], p["column"],
                                None if p["value"] is None else str(p["value"])[:1000],
                                p["rule"], p["severity"], p["message"], json.dumps(p["row_data"], ensure_ascii=False)))
    conn.execute(
        "update audit.loads set finished_at = now(), rows_loaded = %s, rows_quarantined = %s, intake_details = %s "
        "where load_id = %s",
        (0 if outcome.rejected else outcome.rows_loaded, outcome.rows_quarantined,
         json.dumps(outcome.intake_details(), ensure_ascii=False, default=str), load_id),
    )
    return outcome
