"""`stic bench`: the pipeline measured against the machine's own limits, as ratios against same-run baselines.

Absolute times on a shared machine wander, so every figure is a ratio against a baseline measured in the
same run on the same machine (issue "Performance: a benchmark that measures the pipeline against the
machine's own limits"):

1. ingest throughput — `load_submission` (parse, normalise, lineage, COPY, ledger) of an N-row district
   CSV against `psql \\copy` of the same rows, already clean, into a table like raw.projects;
2. memory — peak RSS of a subprocess ingesting a CSV and an XLSX at two sizes (10x apart): flat, and
   under 300 MB for the CSV;
3. incremental cost — one new submission end to end (ingest, batch validation, `dbt build` of what it
   touches) into a warehouse of N rows against one of 10N rows;
4. validation overhead — the GX suite on the N-row batch against loading that batch;
5. orchestration overhead — the dbt task group inside `airflow dags test build_warehouse` against one
   plain `dbt build` of the same models with the same threads;
6. DAG parse — the slowest DAG file's import time (airflow.sdk pre-imported), against a trivial DAG.

Data is generated here (streaming, canonical headers of kinds.PROJECTS) under --data (default
bench/data, git-ignored). The warehouse is a fresh database `stic_bench_<suffix>` on WAREHOUSE_URL's
server when set, else on the local PostgreSQL (127.0.0.1:5432, user postgres); it is dropped at the end.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from stic.config import environ, settings, switch_off_telemetry
from stic.contract.kinds import LINEAGE_COLUMNS, PROJECTS, TRAILING_COLUMNS

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
MB = 1024 * 1024

# Full scale is what the issue names; --quick is a tenth of it; --scale F multiplies full scale.
FULL = dict(rows=1_000_000, csv_mb=(100.0, 1000.0), xlsx_mb=(10.0, 100.0),
            warehouse=(1_000_000, 10_000_000), submission=10_000)
BULK_ROWS = 1_000_000  # the warehouse is filled with submissions of at most this many rows

DOCS_BEGIN, DOCS_END = "<!-- bench:begin -->", "<!-- bench:end -->"

_LEVELS = ("national_major", "national_key", "municipal_major", "municipal", "district")
_PROGRAMMES = ("national_2030", "national_key_rd", "municipal_major_st", "functional_platform", "other", "")
_FIELDS = ("integrated_circuits", "artificial_intelligence", "biomedicine", "photonics", "quantum_information",
           "brain_science", "marine", "energy", "aerospace", "advanced_manufacturing", "new_materials",
           "new_energy_vehicles", "fintech", "other")
_INST_TYPES = ("university", "research_institute", "enterprise", "hospital", "foreign_rd_center", "other")
_DISTRICTS = ("HP", "XH", "CN", "JA", "PT", "HK", "YP", "MH", "BS", "JD", "PD", "JS", "SJ", "QP", "FX", "CM")
_STATUSES = ("planned", "underway", "completed", "terminated")
_INST_NAMES = ("复旦大学", "上海交通大学", "同济大学", "华东师范大学", "中国科学院上海分院", "上海科技大学",
               "Shanghai Institute of Microsystem", "Zhangjiang Lab", "上海华力微电子有限公司", "联影医疗")


# ------------------------------------------------------------------------------------------- scales


@dataclass
class Scale:
    name: str
    rows: int  # figures 1 and 4: the batch
    csv_mb: tuple[float, float]  # figure 2: small and large CSV
    xlsx_mb: tuple[float, float]  # figure 2: small and large XLSX
    warehouse: tuple[int, int]  # figure 3: rows in the warehouse, small and large (10x)
    submission: int  # figure 3: rows of the new submission
    parse_repeat: int = 3  # figure 6: fresh processes per DAG file (the median is taken)

    @classmethod
    def of(cls, quick: bool = False, scale: float | None = None, rows: int | None = None) -> Scale:
        f = scale if scale is not None else (0.1 if quick else 1.0)
        name = "full" if f == 1.0 else ("quick" if quick and scale is None else f"scale {f:g}")
        wh = tuple(max(1000, round(n * f)) for n in FULL["warehouse"])
        s = cls(
            name=name,
            rows=max(100, round(FULL["rows"] * f)),
            csv_mb=tuple(round(m * f, 3) for m in FULL["csv_mb"]),
            xlsx_mb=tuple(round(m * f, 3) for m in FULL["xlsx_mb"]),
            warehouse=wh,
            submission=min(FULL["submission"], max(100, wh[0] // 10)),
            parse_repeat=3 if f >= 0.01 else 1,
        )
        if rows is not None:
            s.rows = rows
            s.name += f", --rows {rows:,}"
        return s


# ----------------------------------------------------------------------------------- data generation


def project_row(i: int, prefix: str) -> list:
    """Row i of a synthetic projects file: canonical codes, ISO dates, whole yuan — deterministic, cheap."""
    year = 2014 + i % 6
    start = dt.date(year, 1 + i % 12, 1 + i % 28)
    end = start + dt.timedelta(days=180 + (i * 37) % 1500)
    central = (i * 7919) % 5_000_000 * 100 if i % 3 else None
    return [
        f"{prefix}-{i:09d}",
        f"面向{_FIELDS[i % 14].replace('_', ' ')}的关键技术研究 Project {i}",
        _LEVELS[i % 5],
        _PROGRAMMES[i % 6] or None,
        _FIELDS[(i // 5) % 14],
        f"{_INST_NAMES[i % 10]} {i % 997}",
        _INST_TYPES[i % 6],
        _DISTRICTS[i % 16],
        start,
        end,
        _STATUSES[(i // 7) % 4],
        central,
        (i * 104_729) % 2_000_000 * 100,
        (i * 1_299_709) % 800_000 * 100 if i % 2 else None,
        (i * 15_485_863) % 3_000_000 * 100,
        None,  # joint_with: every row is the submitter's own
    ]


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def write_projects_csv(path: Path, rows: int | None = None, *, target_bytes: int | None = None, prefix: str = "P",
                       start: int = 0, clean_path: Path | None = None) -> int:
    """Write a projects CSV (canonical headers) of `rows` rows, or until it holds `target_bytes`; return rows.

    With `clean_path`, also write the same rows as raw.projects holds them after normalisation, with the
    lineage columns filled (the input of the `\\copy` baseline).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with contextlib.ExitStack() as stack:
        f = stack.enter_context(path.open("w", encoding="utf-8", newline=""))
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(PROJECTS.column_names)
        cw = None
        if clean_path is not None:
            cf = stack.enter_context(clean_path.open("w", encoding="utf-8", newline=""))
            cw = csv.writer(cf, lineterminator="\n")
            cw.writerow([*(c for c, _ in LINEAGE_COLUMNS), "source_sheet", *PROJECTS.column_names,
                         *(c for c, _ in TRAILING_COLUMNS)])
        while True:
            if rows is not None and n >= rows:
                break
            if target_bytes is not None and n % 1000 == 0 and f.tell() >= target_bytes:
                break
            values = [_text(v) for v in project_row(start + n, prefix)]
            w.writerow(values)
            if cw is not None:
                cw.writerow([0, 0, n + 2, "", *values, "{}"])
            n += 1
    return n


def write_projects_xlsx(path: Path, target_bytes: int, prefix: str = "X") -> int:
    """A one-sheet workbook (openpyxl write-only, streaming) of about target_bytes; return its rows."""
    import openpyxl

    path.parent.mkdir(parents=True, exist_ok=True)
    # Bytes per row of this data, compressed: measured on a sample, then the full file written once.
    probe = path.with_suffix(".probe.xlsx")
    sample = 1000 if target_bytes < 20 * MB else 5000
    _xlsx(probe, sample, prefix)
    per_row = max(1.0, (probe.stat().st_size - 6000) / sample)
    probe.unlink()
    rows = max(50, int(target_bytes / per_row))
    _xlsx(path, rows, prefix)
    del openpyxl
    return rows


def _xlsx(path: Path, rows: int, prefix: str) -> None:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("projects")
    ws.append(PROJECTS.column_names)
    for i in range(rows):
        ws.append(project_row(i, prefix))
    wb.save(path)


# -------------------------------------------------------------------------------------- the figures


@dataclass
class Figure:
    id: str
    name: str
    target: str
    unit: str = "s"
    measured: float | None = None
    baseline: float | None = None
    ratio: float | None = None
    passed: bool | None = None
    status: str = "pending"  # pass | miss | error | skipped
    baseline_name: str = ""
    details: dict = field(default_factory=dict)
    error: str | None = None

    def decide(self, ok: bool) -> None:
        self.passed = bool(ok)
        self.status = "pass" if ok else "miss"


def _figures() -> dict[str, Figure]:
    return {f.id: f for f in (
        Figure("1", "Ingest throughput (rows/s): load_submission vs psql \\copy", "ratio ≥ 0.5", unit="rows/s",
               baseline_name="psql \\copy of the same rows, clean"),
        Figure("2a", "Memory: peak RSS ingesting the large CSV", "< 300 MB and large/small ≤ 1.25", unit="MB",
               baseline_name="peak RSS ingesting a CSV 10x smaller"),
        Figure("2b", "Memory: peak RSS ingesting the large XLSX", "large/small ≤ 1.25 (flat)", unit="MB",
               baseline_name="peak RSS ingesting an XLSX 10x smaller"),
        Figure("3", "Incremental cost: one new submission end to end into 10x the warehouse", "ratio ≤ 1.2",
               baseline_name="the same into the 1x warehouse"),
        Figure("4", "Validation overhead: GX on the batch vs loading it", "ratio ≤ 0.25",
               baseline_name="load_submission of the batch"),
        Figure("5", "Orchestration overhead: dbt task group in the DAG vs plain dbt build", "ratio ≤ 1.5",
               baseline_name="one `dbt build` of the same models, same threads"),
        Figure("6", "DAG parse: slowest DAG file's import time", "< 1 s (absolute)",
               baseline_name="import of a trivial one-task DAG"),
    )}


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


# ------------------------------------------------------------------------------------- environment


def _with_db(url: str, dbname: str) -> str:
    p = urlparse(url)
    return urlunparse(p._replace(path=f"/{dbname}"))


def admin_url() -> str:
    """The server the benchmark's own database lives on: WAREHOUSE_URL's, else the local PostgreSQL."""
    return os.environ.get("WAREHOUSE_URL") or DEFAULT_ADMIN_URL


@contextlib.contextmanager
def _database(admin: str, suffix: str):
    import psycopg

    name = f"stic_bench_{suffix}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'create database "{name}"')
    try:
        yield _with_db(admin, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'drop database if exists "{name}" with (force)')


def machine() -> dict:
    import psutil

    info = {
        "host": platform.node(),
        "nproc": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        import psycopg

        with psycopg.connect(admin_url(), autocommit=True) as c:
            info["postgresql"] = c.execute("show server_version").fetchone()[0]
    except Exception as e:  # noqa: BLE001 - informative only
        info["postgresql"] = f"unknown ({e})"
    return info


def _peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: on Linux ru_maxrss carries over the peak of the parent
    process that forked us (the bench itself, hundreds of MB after dbt and GX), which would hide the figure."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KB


def _log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ----------------------------------------------------------------------------------------- helpers


def _register(conn, path: Path, submitter: str, period: str) -> int:
    from stic import ledger

    reg = ledger.register(conn, path, submitter=submitter, kind="projects", period=period)
    if reg.status != "received":
        raise RuntimeError(f"{path.name}: registered as {reg.status}, expected received")
    return reg.submission_id


# Agencies that send projects: the bench files book rows to all 16 districts, which a district may not
# (it reports only its own district's rows: district_mismatch); an agency may report any district.
_SUBMITTERS = ("STCSM", "SHEITC", "SHDRC", "SHTO", "SSTIC")
_slots = iter((s, f"{y}Q{q}") for y in range(2014, 2031) for q in (1, 2, 3, 4) for s in _SUBMITTERS)


def _slot() -> tuple[str, str]:
    """A (submitter, period) not used yet in this run: every bench submission stands on its own."""
    return next(_slots)


def fill_warehouse(conn, url: str, rows: int, data: Path, tag: str) -> float:
    """Publish `rows` more project rows through the real pipeline (load, validate, publish). Returns seconds."""
    from stic import ledger
    from stic.load import load_submission
    from stic.quality.gx import validate_load

    t0 = time.perf_counter()
    done, k = 0, 0
    while done < rows:
        n = min(BULK_ROWS, rows - done)
        path = data / f"bulk-{tag}-{k}.csv"
        write_projects_csv(path, n, prefix=f"B{tag}{k}")
        submitter, period = _slot()
        sid = _register(conn, path, submitter, period)
        out = load_submission(conn, sid)
        if out.rejected:
            raise RuntimeError(f"bulk submission rejected: {out.rejected}")
        validate_load(conn, sid, url=url)
        status = ledger.publish(conn, sid)
        if status != "published":
            raise RuntimeError(f"bulk submission {sid} ended {status}: {ledger.get(conn, sid)['status_reason']}")
        path.unlink()
        _drop_archive(conn, sid)
        done += n
        k += 1
        _log(f"  warehouse +{done:,}/{rows:,} rows")
    conn.execute("analyze raw.projects")
    return time.perf_counter() - t0


def _drop_archive(conn, submission_id: int) -> None:
    """Bench data is scratch: the archived copy of a big file goes (the ledger row stays)."""
    rel = conn.execute("select archive_path from audit.submissions where submission_id = %s",
                       (submission_id,)).fetchone()[0]
    (settings().landing_dir / rel).unlink(missing_ok=True)


def _dbt(args: list[str], url: str) -> float:
    from stic.warehouse import dbt_runner as dbt

    t0 = time.perf_counter()
    dbt.run(args, url=url, quiet=True)
    return time.perf_counter() - t0


# ------------------------------------------------------------------------------ figure 1 and 4


def measure_ingest(figs: dict[str, Figure], sc: Scale, url: str, data: Path) -> None:
    import psycopg

    from stic import ledger
    from stic.load import load_submission
    from stic.quality.gx import validate_load
    from stic.warehouse import db

    f1, f4 = figs["1"], figs["4"]
    src, clean = data / "ingest.csv", data / "ingest-clean.csv"
    t = time.perf_counter()
    n = write_projects_csv(src, sc.rows, prefix="I", clean_path=clean)
    _log(f"fig 1: wrote {n:,} rows ({src.stat().st_size / MB:.0f} MB) in {time.perf_counter() - t:.0f}s")
    with psycopg.connect(url, autocommit=True) as conn:
        db.init_schema(conn)
        conn.execute("drop table if exists public.bench_copy")
        conn.execute("create table public.bench_copy (like raw.projects including all)")
        # The baseline: psql's \copy of the same rows, already clean, into an equivalent table.
        cols = ", ".join([*(c for c, _ in LINEAGE_COLUMNS), "source_sheet", *PROJECTS.column_names,
                          *(c for c, _ in TRAILING_COLUMNS)])
        t = time.perf_counter()
        subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c",
                        f"\\copy public.bench_copy ({cols}) from '{clean}' with (format csv, header, force_not_null (source_sheet))"], check=True)
        copy_s = time.perf_counter() - t
        copied = conn.execute("select count(*) from public.bench_copy").fetchone()[0]
        conn.execute("drop table public.bench_copy")
        _log(f"fig 1: psql \\copy {copied:,} rows in {copy_s:.1f}s")
        # The pipeline: register (hash + archive) first, then load_submission timed.
        submitter, period = _slot()
        t = time.perf_counter()
        sid = _register(conn, src, submitter, period)
        register_s = time.perf_counter() - t
        t = time.perf_counter()
        out = load_submission(conn, sid)
        load_s = time.perf_counter() - t
        if out.rejected or out.rows_loaded != n:
            raise RuntimeError(f"ingest: {out.rows_loaded} of {n} rows loaded ({out.rejected})")
        _log(f"fig 1: load_submission {out.rows_loaded:,} rows in {load_s:.1f}s (register {register_s:.1f}s)")
        f1.measured, f1.baseline = n / load_s, copied / copy_s
        f1.ratio = _ratio(f1.measured, f1.baseline)
        f1.details = {"rows": n, "csv_mb": round(src.stat().st_size / MB, 1), "load_submission_s": round(load_s, 2),
                      "psql_copy_s": round(copy_s, 2), "register_s": round(register_s, 2),
                      "rows_per_s_incl_register": round(n / (load_s + register_s))}
        f1.decide(f1.ratio >= 0.5)
        # Figure 4: the suite on that very batch (a query asset on its load id).
        try:
            # A worker imports GX once per process (2.5-3 s: scipy, altair), not once per batch: the
            # import is timed on its own and reported beside the figure, not in it.
            t = time.perf_counter()
            import great_expectations  # noqa: F401
            gx_import_s = time.perf_counter() - t
            t = time.perf_counter()
            run = validate_load(conn, sid, url=url)
            gx_s = time.perf_counter() - t
            f4.measured, f4.baseline, f4.ratio = gx_s, load_s, gx_s / load_s
            f4.details = {"rows": n, "gx_s": round(gx_s, 2), "load_s": round(load_s, 2),
                          "gx_import_s_once_per_process": round(gx_import_s, 2),
                          "expectations": run.evaluated, "success": run.success}
            f4.decide(f4.ratio <= 0.25)
            _log(f"fig 4: GX {gx_s:.1f}s on {n:,} rows ({run.evaluated} expectations)")
            ledger.publish(conn, sid)
        except Exception as e:  # noqa: BLE001 - a figure that breaks is reported, the others go on
            _error(f4, e)
        _drop_archive(conn, sid)
        conn.execute("analyze raw.projects")
    src.unlink(missing_ok=True)
    clean.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------- figure 2


def _worker(path: Path | None, url: str, submitter: str, period: str) -> dict:
    """In a fresh process: ingest one file (register + load_submission) and report peak RSS."""
    import psycopg

    from stic.load import load_submission
    from stic.warehouse import db

    out = {"rss_before_mb": round(_peak_rss_mb(), 1)}
    with psycopg.connect(url, autocommit=True) as conn:
        db.init_schema(conn)
        if path is not None:
            t = time.perf_counter()
            sid = _register(conn, path, submitter, period)
            o = load_submission(conn, sid)
            out.update(rows=o.rows_loaded, rejected=o.rejected, seconds=round(time.perf_counter() - t, 2))
            _drop_archive(conn, sid)
            conn.execute("truncate raw.projects")
    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    return out


def _run_worker(path: Path | None, url: str, env: dict) -> dict:
    submitter, period = _slot()
    cmd = [sys.executable, "-m", "stic.dev.bench", "_worker", "--url", url, "--submitter", submitter, "--period", period]
    if path is not None:
        cmd += ["--path", str(path)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"ingest worker failed: {p.stderr[-2000:]}")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    if res.get("rejected"):
        raise RuntimeError(f"ingest worker: file rejected: {res['rejected']}")
    return res


def measure_memory(figs: dict[str, Figure], sc: Scale, admin: str, suffix: str, data: Path) -> None:
    """Each ingest in its own process, in a scratch database of its own (the warehouse is not touched)."""
    with _database(admin, f"{suffix}_mem") as url:
        env = {**os.environ, "WAREHOUSE_URL": url}
        idle = _run_worker(None, url, env)
        _log(f"fig 2: idle worker (imports + connection) peak RSS {idle['peak_rss_mb']:.0f} MB")
        for fig, fmt, sizes in ((figs["2a"], "csv", sc.csv_mb), (figs["2b"], "xlsx", sc.xlsx_mb)):
            if fig.status == "skipped":
                continue
            try:
                res = []
                for mb in sizes:
                    path = data / f"memory-{mb:g}MB.{fmt}"
                    t = time.perf_counter()
                    if fmt == "csv":
                        n = write_projects_csv(path, target_bytes=int(mb * MB), prefix="M")
                    else:
                        n = write_projects_xlsx(path, int(mb * MB), prefix="M")
                    size = path.stat().st_size / MB
                    _log(f"fig 2: wrote {fmt} {size:.1f} MB ({n:,} rows) in {time.perf_counter() - t:.0f}s")
                    r = _run_worker(path, url, env)
                    path.unlink()
                    r["file_mb"] = round(size, 1)
                    _log(f"fig 2: {fmt} {size:.1f} MB: peak RSS {r['peak_rss_mb']:.0f} MB "
                         f"({r['rows']:,} rows in {r['seconds']:.0f}s)")
                    res.append(r)
                small, large = res
                fig.measured, fig.baseline = large["peak_rss_mb"], small["peak_rss_mb"]
                fig.ratio = fig.measured / fig.baseline
                fig.details = {"small": small, "large": large, "idle_worker_peak_rss_mb": idle["peak_rss_mb"]}
                ok = fig.ratio <= 1.25 and (fmt != "csv" or fig.measured < 300)
                fig.decide(ok)
            except Exception as e:  # noqa: BLE001
                _error(fig, e)


# ------------------------------------------------------------------------------------- figure 3


def one_submission(conn, url: str, sc: Scale, data: Path, tag: str) -> dict:
    """A new submission end to end: ingest_file (register, load, GX, publish, receipt) + dbt of what it touches."""
    from stic import pipeline

    path = data / f"new-{tag}.csv"
    write_projects_csv(path, sc.submission, prefix=f"N{tag}")
    submitter, period = _slot()
    t = time.perf_counter()
    out = pipeline.ingest_file(path, submitter=submitter, kind="projects", period=period, url=url)
    ingest_s = time.perf_counter() - t
    if out.status != "published":
        raise RuntimeError(f"new submission ended {out.status}: {out.reason}")
    dbt_s = _dbt(["build", "--select", "stg_raw__projects+"], url)
    path.unlink()
    return {"ingest_validate_publish_s": round(ingest_s, 2), "dbt_build_s": round(dbt_s, 2),
            "total_s": round(ingest_s + dbt_s, 2), "rows": sc.submission}


# ------------------------------------------------------------------------------------- figure 5


_TASK_LINE = re.compile(r"^(?P<ts>\S+Z) .*\[DAG TEST\] (?P<what>starting|end task) task_id=(?P<task>\S+)")


def _ts(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def dag_dbt_stage(url: str, data: Path) -> dict:
    """`airflow dags test build_warehouse`; the dbt task group's span from the log. Stopped once it is over."""
    from stic.ops import airflow_env

    home = Path(os.environ["AIRFLOW_HOME"])
    log_file = data / "airflow-build_warehouse.log"
    first = last = None
    dbt_tasks, failed = set(), False  # watcher sensors that reschedule start and end more than once
    t0 = time.perf_counter()
    with log_file.open("w") as log, subprocess.Popen(
        [airflow_env.airflow_bin(), "dags", "test", "build_warehouse"], env=airflow_env.env(url),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True,
        cwd=str(home),
    ) as proc:
        stopped = False
        for line in proc.stdout:
            log.write(line)
            if "state=failed" in line or "Task failed" in line:
                failed = failed or ("dbt." in line)
            m = _TASK_LINE.search(line)
            if not m:
                continue
            is_dbt = m["task"].startswith("dbt.")
            if m["what"] == "starting" and is_dbt and first is None:
                first = _ts(m["ts"])
            elif m["what"] == "end task" and is_dbt:
                last = _ts(m["ts"])
                dbt_tasks.add(m["task"])
            elif m["what"] == "starting" and not is_dbt and first is not None:
                # The dbt group is over; what follows (grants, mart suites, reports) is not measured.
                os.killpg(proc.pid, signal.SIGTERM)
                stopped = True
                break
        if stopped:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if first is None or last is None:
        raise RuntimeError(f"no dbt task ran in the DAG; see {log_file}")
    text = log_file.read_text(errors="replace")
    bad = re.findall(r"task_id=(dbt\.\S+).*(?:state=failed|Marking task as FAILED)", text)
    if bad or failed:
        raise RuntimeError(f"dbt task(s) failed in the DAG: {', '.join(sorted(set(bad))) or 'see log'}; see {log_file}")
    return {"dbt_group_s": (last - first).total_seconds(), "dbt_tasks": len(dbt_tasks),
            "dag_test_wall_s": round(time.perf_counter() - t0, 1), "log": str(log_file)}


def prepare_airflow(data: Path) -> Path:
    """A migrated Airflow home for this run: the SQLite metadata is migrated once and copied per run."""
    from stic.ops import airflow_env

    template = data / "airflow-template"
    if not (template / "airflow.db").exists():
        with environ({"AIRFLOW_HOME": str(template)}):
            airflow_env.migrate()
    home = data / "airflow_home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copyfile(template / "airflow.db", home / "airflow.db")
    return home


# ------------------------------------------------------------------------------------- figure 6


_TRIVIAL_DAG = '''
from datetime import datetime
from airflow.sdk import dag, task


@dag(schedule=None, start_date=datetime(2026, 1, 1))
def bench_trivial():
    @task
    def one():
        return 1

    one()


bench_trivial()
'''

_IMPORT_PROBE = (
    "import sys, time, runpy\n"
    "sys.path.insert(0, sys.argv[2])\n"
    "import airflow.sdk  # noqa\n"
    "t = time.perf_counter()\n"
    "runpy.run_path(sys.argv[1], run_name='bench_dag')\n"
    "print(time.perf_counter() - t)\n"
)


def import_time(path: Path, dags_dir: Path, env: dict, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        p = subprocess.run([sys.executable, "-c", _IMPORT_PROBE, str(path), str(dags_dir)], env=env,
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{path.name} failed to import: {p.stderr[-1500:]}")
        times.append(float(p.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def measure_dag_parse(fig: Figure, url: str, data: Path, repeat: int = 3) -> None:
    from stic.ops import airflow_env

    dags_dir = settings().root / "dags"
    env = airflow_env.env(url)
    trivial = data / "bench_trivial_dag.py"
    trivial.write_text(_TRIVIAL_DAG)
    base = import_time(trivial, dags_dir, env, repeat)
    per_file = {p.name: round(import_time(p, dags_dir, env, repeat), 3)
                for p in sorted(dags_dir.glob("*.py")) if not p.name.startswith("_")}
    slowest = max(per_file, key=per_file.get)
    fig.measured, fig.baseline = per_file[slowest], base
    fig.ratio = _ratio(fig.measured, base)
    fig.details = {"slowest": slowest, "per_file_s": per_file, "trivial_dag_s": round(base, 3),
                   "method": f"median of {repeat} fresh process(es), airflow.sdk imported first"}
    fig.decide(fig.measured < 1.0)
    _log(f"fig 6: slowest DAG file {slowest} {fig.measured:.2f}s (trivial DAG {base:.2f}s)")


# ----------------------------------------------------------------------------------------- the run


def _error(fig: Figure, e: BaseException) -> None:
    fig.status, fig.passed, fig.error = "error", False, f"{type(e).__name__}: {str(e)[:1500]}"
    _log(f"fig {fig.id}: ERROR {fig.error}")


def run_bench(sc: Scale, out_dir: Path, data: Path, docs: Path | None = None,
              skip: tuple[str, ...] = (), progress: Callable[[str], None] | None = None) -> dict:
    switch_off_telemetry()
    import psycopg

    from stic.warehouse import db

    data = data.resolve()
    data.mkdir(parents=True, exist_ok=True)
    started = time.time()
    t_run = time.perf_counter()
    figs = _figures()
    info = machine()
    admin = admin_url()
    suffix = uuid.uuid4().hex[:8]
    _log(f"scale: {sc.name} — {asdict(sc)}")
    env = {
        "STIC_LANDING_DIR": str(data / "landing"),
        "STIC_DATA_DIR": str(data / "stic"),
        "STIC_REPORTS_DIR": str(data / "reports"),
        "DBT_TARGET_PATH": str(data / "dbt-target"),
        "DBT_LOG_PATH": str(data / "dbt-logs"),
    }
    for k in skip:
        if k in figs or any(f.startswith(k) for f in figs):
            for fid, f in figs.items():
                if fid == k or fid.startswith(k):
                    f.status = "skipped"
    with environ(env), _database(admin, suffix) as url, environ({"WAREHOUSE_URL": url}):
        shutil.rmtree(data / "landing", ignore_errors=True)
        with psycopg.connect(url, autocommit=True) as conn:
            db.init_schema(conn)
        from stic.warehouse import dbt_runner as dbt

        dbt.parse()  # the manifest Cosmos reads (figures 5 and 6)

        if figs["6"].status == "pending":
            try:
                measure_dag_parse(figs["6"], url, data, sc.parse_repeat)
            except Exception as e:  # noqa: BLE001
                _error(figs["6"], e)

        if figs["1"].status == "pending":
            try:
                measure_ingest(figs, sc, url, data)
            except Exception as e:  # noqa: BLE001
                _error(figs["1"], e)
                if figs["4"].status == "pending":
                    _error(figs["4"], e)

        if figs["2a"].status == "pending" or figs["2b"].status == "pending":
            try:
                measure_memory(figs, sc, admin, suffix, data)
            except Exception as e:  # noqa: BLE001
                for k in ("2a", "2b"):
                    if figs[k].status == "pending":
                        _error(figs[k], e)

        if figs["3"].status == "pending" or figs["5"].status == "pending":
            with psycopg.connect(url, autocommit=True) as conn:
                have = conn.execute("select count(*) from raw.projects r join audit.submissions s using (submission_id) "
                                    "where s.status = 'published'").fetchone()[0]
                small, large = sc.warehouse
                try:
                    if have < small:
                        _log(f"fig 3: filling the warehouse to {small:,} rows")
                        fill_warehouse(conn, url, small - have, data, "s")
                    t = _dbt(["build"], url)
                    _log(f"dbt build (first, creates the marts): {t:.1f}s")
                except Exception as e:  # noqa: BLE001
                    for k in ("3", "5"):
                        if figs[k].status == "pending":
                            _error(figs[k], e)
                if figs["5"].status == "pending":
                    fig = figs["5"]
                    try:
                        home = prepare_airflow(data)
                        with environ({"AIRFLOW_HOME": str(home)}):
                            plain = _dbt(["build"], url)
                            _log(f"fig 5: plain dbt build {plain:.1f}s")
                            dag = dag_dbt_stage(url, data)
                        _log(f"fig 5: dbt task group in the DAG {dag['dbt_group_s']:.1f}s ({dag['dbt_tasks']} tasks)")
                        fig.measured, fig.baseline = dag["dbt_group_s"], plain
                        fig.ratio = _ratio(fig.measured, plain)
                        fig.details = {**dag, "plain_dbt_build_s": round(plain, 2),
                                       "threads": int(os.environ.get("STIC_DBT_THREADS", "2")),
                                       "warehouse_rows": max(have, small)}
                        fig.decide(fig.ratio <= 1.5)
                    except Exception as e:  # noqa: BLE001
                        _error(fig, e)
                if figs["3"].status == "pending":
                    fig = figs["3"]
                    try:
                        a = one_submission(conn, url, sc, data, "a")
                        _log(f"fig 3: into {small:,} rows: {a}")
                        _log(f"fig 3: filling the warehouse to {large:,} rows")
                        fill_s = fill_warehouse(conn, url, large - small - sc.submission, data, "l")
                        # Bring what the projects touch up to date at 10x (untimed), then measure.
                        t = _dbt(["build", "--select", "stg_raw__projects+"], url)
                        _log(f"dbt build --select stg_raw__projects+ at {large:,} rows (catch-up): {t:.1f}s")
                        b = one_submission(conn, url, sc, data, "b")
                        _log(f"fig 3: into {large:,} rows: {b}")
                        fig.measured, fig.baseline = b["total_s"], a["total_s"]
                        fig.ratio = _ratio(fig.measured, fig.baseline)
                        fig.details = {"small_warehouse_rows": small, "large_warehouse_rows": large,
                                       "small": a, "large": b, "fill_large_s": round(fill_s, 1),
                                       "catch_up_build_at_large_s": round(t, 1)}
                        fig.decide(fig.ratio <= 1.2)
                    except Exception as e:  # noqa: BLE001
                        _error(fig, e)
    result = {
        "issue": "Performance: a benchmark that measures the pipeline against the machine's own limits",
        "scale": sc.name, "parameters": asdict(sc), "machine": info,
        "started_at": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - t_run, 1),
        "figures": [asdict(f) for f in figs.values()],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{dt.date.today().isoformat()}-{platform.node() or 'host'}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    result["result_file"] = str(out)
    if docs is not None:
        write_docs(docs, result)
    return result


# --------------------------------------------------------------------------------------- reporting


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "rows/s":
        return f"{v:,.0f} rows/s"
    if unit == "MB":
        return f"{v:,.0f} MB"
    return f"{v:,.2f} s"


def rows_of(result: dict) -> list[list[str]]:
    out = []
    for f in result["figures"]:
        ratio = "—" if f["ratio"] is None else f"{f['ratio']:.2f}"
        status = f["status"].upper() if f["status"] in ("miss", "error") else f["status"]
        out.append([f["id"], f["name"], _fmt(f["measured"], f["unit"]),
                    f"{_fmt(f['baseline'], f['unit'])} ({f['baseline_name']})", ratio, f["target"], status])
    return out


HEADERS = ["#", "figure", "measured", "baseline", "ratio", "target", "pass/miss"]


def print_table(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"stic bench — scale: {result['scale']} — {result['machine']['host']} "
                    f"({result['machine']['nproc']} cores, {result['machine']['ram_gb']} GB, "
                    f"PostgreSQL {result['machine']['postgresql']}) — {result['duration_s']:.0f}s")
    for h in HEADERS:
        t.add_column(h, overflow="fold")
    for r in rows_of(result):
        style = {"pass": "green", "MISS": "red", "ERROR": "red"}.get(r[-1], "yellow")
        t.add_row(*r[:-1], f"[{style}]{r[-1]}[/{style}]")
    Console(width=max(160, shutil.get_terminal_size().columns)).print(t)
    for f in result["figures"]:
        if f["error"]:
            print(f"  figure {f['id']}: {f['error']}")
    print(f"result: {result.get('result_file')}")


def markdown_table(result: dict) -> str:
    m = result["machine"]
    lines = [
        f"Latest run: **{result['started_at']}**, scale **{result['scale']}** "
        f"(`{json.dumps(result['parameters'], ensure_ascii=False)}`), {result['duration_s']:.0f} s, on "
        f"`{m['host']}`: {m['nproc']} cores, {m['ram_gb']} GB RAM, PostgreSQL {m['postgresql']}, "
        f"Python {m['python']}, load average at start {m['load_avg_at_start']}.",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join("---" for _ in HEADERS) + "|",
    ]
    for r in rows_of(result):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return "\n".join(lines)


def write_docs(path: Path, result: dict) -> None:
    """Replace the table between the bench markers (the rest of the page is written by hand)."""
    block = f"{DOCS_BEGIN}\n{markdown_table(result)}\n{DOCS_END}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    if DOCS_BEGIN in text and DOCS_END in text:
        head, rest = text.split(DOCS_BEGIN, 1)
        _, tail = rest.split(DOCS_END, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------------------------- CLI


def cmd_bench(args) -> int:
    root = settings().root
    # A terminated run still drops its database (the `finally` blocks run on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sc = Scale.of(quick=args.quick, scale=args.scale, rows=args.rows)
    docs = None if args.docs in ("", "-") else Path(args.docs or root / "docs" / "benchmarks.md")
    skip = tuple(s.strip() for s in (args.skip or "").split(",") if s.strip())
    result = run_bench(sc, Path(args.out or root / "bench" / "results"), Path(args.data or root / "bench" / "data"),
                       docs=docs, skip=skip)
    print_table(result)
    return 0 if all(f["status"] in ("pass", "miss", "skipped") for f in result["figures"]) else 1


def add_cli(subparsers) -> None:
    b = subparsers.add_parser(
        "bench", help="measure the pipeline against the machine's own limits (ratios against same-run baselines)",
        description="Generate data at a scale, measure the six figures of the performance issue, print them with "
                    "their targets, write bench/results/<date>-<host>.json and the table in docs/benchmarks.md.",
    )
    b.add_argument("--scale", type=float, default=None,
                   help="multiply the full scale (1M-row ingest, 1 GB CSV, 10M-row warehouse) by F")
    b.add_argument("--rows", type=int, default=None, help="rows of the ingest/validation batch (figures 1 and 4)")
    b.add_argument("--quick", action="store_true", help="a tenth of full scale (100k rows, 100 MB CSV, 1M warehouse)")
    b.add_argument("--out", default=None, help="folder of the JSON result (default bench/results)")
    b.add_argument("--data", default=None, help="scratch folder for generated data (default bench/data)")
    b.add_argument("--docs", default=None, help="markdown page whose table is replaced (default docs/benchmarks.md; "
                                                "'-' for none)")
    b.add_argument("--skip", default=None, help="figures not to measure, e.g. 2,5")
    b.set_defaults(func=cmd_bench)


def _main(argv: list[str]) -> int:
    """`python -m stic.dev.bench [--quick …]` runs the benchmark (as `stic bench`); `_worker` is figure 2's ingest."""
    import argparse

    if argv[:1] != ["_worker"]:
        p = argparse.ArgumentParser(prog="python -m stic.dev.bench")
        add_cli(p.add_subparsers(dest="command"))
        return cmd_bench(p.parse_args(["bench", *argv]))
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["_worker"])
    p.add_argument("--url", required=True)
    p.add_argument("--path")
    p.add_argument("--submitter", required=True)
    p.add_argument("--period", required=True)
    a = p.parse_args(argv)
    switch_off_telemetry()
    print(json.dumps(_worker(Path(a.path) if a.path else None, a.url, a.submitter, a.period)))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
