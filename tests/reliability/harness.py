"""Shared helpers of the reliability tests: a small landing set, private databases and folders, snapshots.

A snapshot is what the comparison with a clean run looks at:

* every table of the schemas raw, audit and marts (listed from information_schema): row count and a
  sha256 over its rows, sorted, with the volatile columns left out (see `volatile_columns`);
* the receipts folder: the set of files, and each JSON receipt minus its volatile fields;
* the archive: the set of content-addressed files (each file's name is its sha256, checked too).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg

from stic.warehouse import db

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ("raw", "audit", "marts")

# Generated files kept for the landing set (seed 42, scale 0.01): every kind, CSV / XLSX / JSON, a
# correction (XH 2015 _v2), a file rejected for a missing column (CM), and rows quarantined.
GENERATED = (
    "XH/projects/2015/projects_XH_2015.csv",
    "XH/projects/2015/projects_XH_2015_v2.csv",
    "CM/facilities/2016Q2/facilities_CM_2016Q2.csv",
    "PD/facilities/2018/facilities_PD_2018.xlsx",
    "SIPTC/ip_transactions/2014/listings_SIPTC_2014.json",
    "SHFB/platform_assessments/2019/platform_assessments_SHFB_2019.csv",
    "YRDN/facilities/2018/instruments_YRDN_2018.csv",
)
BIG_ROWS = 2_500  # load.copy fires every 1,000 rows loaded: twice in this file


def with_db(url: str, dbname: str) -> str:
    return db.database_url(url, dbname)


def create_database(admin_url: str) -> tuple[str, str]:
    name = db.scratch_name("stic_rel")
    return name, db.create_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    db.drop_database(admin_url, name)


def write_big_projects(path: Path, rows: int = BIG_ROWS) -> None:
    """A district's projects file big enough for several load.copy points; every 97th row breaks a rule."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["project_code", "title", "level", "field", "lead_institution", "district", "start_date",
                    "status", "funding_municipal_yuan"])
        for i in range(rows):
            amount = -5 if i % 97 == 0 else 1000 + i % 977  # negative: quarantined (amount_non_negative)
            w.writerow([f"BIG{i:05d}", f"项目 {i} 张江", "municipal", "fintech", "复旦大学", "YP", "2017-01-01",
                        "underway", amount])


def make_landing_set(dest: Path) -> Path:
    """dest/incoming/<SUBMITTER>/<kind>/<period>/<file>: the landing set every run starts from."""
    from stic.dev.sample import generate

    gen = dest / "generated"
    generate(gen / "incoming", scale=0.01, seed=42)
    incoming = dest / "incoming"
    for rel in GENERATED:
        target = incoming / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(gen / "incoming" / rel, target)
    # the same bytes sent again under another name: a duplicate (registered between the original and _v2)
    shutil.copyfile(gen / "incoming" / GENERATED[0], incoming / "XH/projects/2015/projects_XH_2015_resent.csv")
    write_big_projects(incoming / "YP/projects/2017/projects_YP_2017_all.csv")
    shutil.rmtree(gen)
    return incoming


@dataclass
class RunDirs:
    base: Path
    url: str

    @property
    def landing(self) -> Path:
        return self.base / "landing"

    @property
    def reports(self) -> Path:
        return self.base / "reports"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "STIC_CRASH_AT"}
        env.update({
            "WAREHOUSE_URL": self.url,
            "STIC_DATA_DIR": str(self.base / "data"),
            "STIC_LANDING_DIR": str(self.landing),
            "STIC_REPORTS_DIR": str(self.reports),
            "DBT_TARGET_PATH": str(self.base / "dbt-target"),
            "DBT_LOG_PATH": str(self.base / "dbt-logs"),
            "PYTHONPATH": str(ROOT),
        })
        env.update(extra)
        return env


def prepare_run(base: Path, url: str, incoming: Path) -> RunDirs:
    d = RunDirs(base, url)
    base.mkdir(parents=True, exist_ok=True)
    shutil.copytree(incoming, d.landing / "incoming")
    return d


def run_driver(d: RunDirs, crash_at: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    extra = {"STIC_CRASH_AT": crash_at} if crash_at else {}
    return subprocess.run([sys.executable, "-m", "tests.reliability.driver"], cwd=ROOT, env=d.env(**extra),
                          capture_output=True, text=True, timeout=timeout)


# ------------------------------------------------------------------------------------------ snapshots

VOLATILE_NAMES = {"data_docs_path", "dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to",
                  "valid_from", "valid_to"}
TIME_TYPES = {"timestamp without time zone", "timestamp with time zone", "time without time zone",
              "time with time zone", "interval"}


def sequence_columns(conn: psycopg.Connection) -> set[str]:
    """Names of the columns a sequence fills (bigserial / identity) anywhere in raw and audit."""
    return {r[0] for r in conn.execute(
        "select column_name from information_schema.columns where table_schema = any(%s) "
        "and (column_default like 'nextval(%%' or is_identity = 'YES')", (list(SCHEMAS),))}


def _md5_key_columns(conn: psycopg.Connection, schema: str, table: str, columns: list[tuple[str, str]]) -> set[str]:
    """Text columns named *_id whose every value is 32 hex digits: md5 surrogate keys (dbt_scd_id and the like)."""
    out = set()
    for name, dtype in columns:
        if not name.endswith("_id") or dtype not in ("text", "character varying", "character"):
            continue
        n, md5ish = conn.execute(
            f'select count("{name}"), count(*) filter (where "{name}" ~ \'^[0-9a-f]{{32}}$\') from "{schema}"."{table}"'
        ).fetchone()
        if n and n == md5ish:
            out.add(name)
    return out


def volatile_columns(columns: list[tuple[str, str]], seq: set[str]) -> set[str]:
    """Columns left out of a table's checksum: they differ between two correct runs.

    * time: every timestamp / time / interval column (when a row was written, not what it says);
    * sequence-generated surrogate keys and their copies in other tables (load_id, event_id,
      validation_run_id, …): a crashed transaction consumes sequence values that it never commits,
      so a recovered run has gaps where a clean one has none (PostgreSQL sequences are not transactional).
      submission_id is kept: it is assigned in the committed registration transaction only, in landing-path
      order, and receipts, supersession and duplicate links name it — recovering must give the same ids;
    * md5 surrogate keys (text *_id columns of 32 hex digits, found by `_md5_key_columns`): a hash of other
      columns, some of them volatile (dim_facility.facility_version_id is the snapshot's dbt_scd_id, a hash
      of the key and the snapshot time); the natural columns they hash are compared themselves;
    * named volatile columns: GX Data Docs paths (temp folders), dbt snapshot bookkeeping.
    """
    out = set()
    for name, dtype in columns:
        if dtype in TIME_TYPES or name in VOLATILE_NAMES or name.endswith("_at"):
            out.add(name)
        elif name in seq and name != "submission_id":
            out.add(name)
    return out


def _canon(v) -> str:
    if v is None:
        return "\\N"
    if isinstance(v, dict | list):
        return json.dumps(v, sort_keys=True, ensure_ascii=False)
    return str(v)


def table_snapshot(conn: psycopg.Connection) -> dict[str, dict]:
    seq = sequence_columns(conn)
    tables = [(s, t) for s, t in conn.execute(
        "select table_schema, table_name from information_schema.tables where table_schema = any(%s) "
        "and table_type = 'BASE TABLE' order by 1, 2", (list(SCHEMAS),))]
    snap = {}
    for schema, table in tables:
        cols = [(n, t) for n, t in conn.execute(
            "select column_name, data_type from information_schema.columns where table_schema = %s and table_name = %s "
            "order by ordinal_position", (schema, table))]
        skip = volatile_columns(cols, seq) | _md5_key_columns(conn, schema, table, cols)
        keep = [n for n, _ in cols if n not in skip]
        select = ", ".join(f'"{n}"' for n in keep) or "1"
        rows = conn.execute(f'select {select} from "{schema}"."{table}"').fetchall()
        lines = sorted("\x1f".join(_canon(v) for v in r) for r in rows)
        h = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
        snap[f"{schema}.{table}"] = {"rows": len(rows), "sha256": h, "columns": keep, "lines": lines}
    return snap


RECEIPT_VOLATILE = {"frozen_at", "received_at", "status_changed_at", "published_at", "run_at", "at",
                    "validation_run_id", "data_docs_path"}


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in RECEIPT_VOLATILE}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def receipts_snapshot(reports: Path) -> dict[str, str]:
    """Every file under reports/receipts (dot-files are temp files): JSON minus volatile fields; HTML present."""
    root = reports / "receipts"
    out = {}
    if not root.exists():
        return out
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name.startswith("."):
            continue
        rel = p.relative_to(root).as_posix()
        if p.suffix == ".json":
            out[rel] = json.dumps(_strip(json.loads(p.read_text(encoding="utf-8"))), sort_keys=True, ensure_ascii=False)
        else:
            out[rel] = "present"
    return out


def archive_snapshot(landing: Path) -> tuple[set[str], list[str]]:
    """(archived sha256 names, each checked against its bytes; stray temp files a crash left behind)."""
    root = landing / "archive" / "sha256"
    names, stray = set(), []
    if not root.exists():
        return names, stray
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        if p.name.startswith("."):
            stray.append(p.relative_to(root).as_posix())
            continue
        got = hashlib.sha256(p.read_bytes()).hexdigest()
        names.add(p.name if got == p.name else f"{p.name} (content {got})")
    return names, stray


@dataclass
class Snapshot:
    tables: dict[str, dict]
    receipts: dict[str, str]
    archive: set[str]
    stray: list[str]


def snapshot(d: RunDirs) -> Snapshot:
    with psycopg.connect(d.url, autocommit=True) as conn:
        tables = table_snapshot(conn)
    archive, stray = archive_snapshot(d.landing)
    return Snapshot(tables, receipts_snapshot(d.reports), archive, stray)


def differences(clean: Snapshot, got: Snapshot, limit: int = 3) -> list[str]:
    """What differs from the clean run, in words (empty: identical)."""
    out = []
    for name in sorted(set(clean.tables) | set(got.tables)):
        a, b = clean.tables.get(name), got.tables.get(name)
        if a is None or b is None:
            out.append(f"{name}: {'missing' if b is None else 'unexpected'} table")
            continue
        if (a["rows"], a["sha256"]) != (b["rows"], b["sha256"]):
            only_a = sorted(set(a["lines"]) - set(b["lines"]))[:limit]
            only_b = sorted(set(b["lines"]) - set(a["lines"]))[:limit]
            out.append(f"{name}: {b['rows']} rows vs {a['rows']} clean; columns {a['columns']}; "
                       f"only clean: {only_a}; only recovered: {only_b}")
    ra, rb = clean.receipts, got.receipts
    if set(ra) != set(rb):
        out.append(f"receipts: files only clean {sorted(set(ra) - set(rb))}, only recovered {sorted(set(rb) - set(ra))}")
    for k in sorted(set(ra) & set(rb)):
        if ra[k] != rb[k]:
            ja, jb = json.loads(ra[k]), json.loads(rb[k])
            keys = sorted(f"{x}: {ja.get(x)!r:.80} vs {jb.get(x)!r:.80}" for x in set(ja) | set(jb) if ja.get(x) != jb.get(x))
            out.append(f"receipts/{k}: content differs (clean vs recovered) — {'; '.join(keys)}")
    if clean.archive != got.archive:
        out.append(f"archive: only clean {sorted(clean.archive - got.archive)}, only recovered "
                   f"{sorted(got.archive - clean.archive)}")
    return out
