"""The benchmark's scales and the data it ingests: project rows written as CSV and XLSX of a target size."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

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
    parse_repeat: int = 3  # figure 6: dag-processor runs (the median per file is taken)
    stack_runs: int = 3  # figure 5: dbt commands and build_warehouse runs (the median of each is taken)

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
            stack_runs=3 if f >= 0.01 else 1,
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
