"""What every part of the sample shares: code lists, file styles, control-figure targets, the file spec and the manifest."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from stic.contract import codes

DISTRICTS = list(codes.codes("district"))
YEARS = list(range(2014, 2020))
FIELDS = list(codes.codes("field"))
INVALID_SHARE = 0.015
FIXED_ZIP_TIME = (2019, 5, 1, 0, 0, 0)

# How a file is written: format, encoding, header language, money unit, BOM, title rows, sheets.
STYLES = {
    "plain": dict(format="csv", encoding="utf-8", headers="en", unit="yuan"),
    "bom_zh": dict(format="csv", encoding="utf-8-sig", headers="zh", unit="yuan"),
    "gb18030_wan": dict(format="csv", encoding="gb18030", headers="zh", unit="wan_yuan"),
    "unit_column": dict(format="csv", encoding="utf-8", headers="en_plain", unit="wan_yuan", unit_column=True),
    "xlsx_title": dict(format="xlsx", headers="zh", unit="wan_yuan", title=True),
    "xlsx_sheets": dict(format="xlsx", headers="en_plain", unit="yuan", sheets=2),
    "json": dict(format="json", headers="en", unit="yuan"),
}
EXT = {"csv": "csv", "xlsx": "xlsx", "json": "json"}
UNIT_LABEL = {"yuan": "元", "wan_yuan": "万元", "yi_yuan": "亿元"}
UNIT_DIVISOR = {"yuan": Decimal(1), "wan_yuan": Decimal(10_000), "yi_yuan": Decimal(100_000_000)}
META = ("_submitter", "_period", "_broken")  # row keys that are not columns


def n_of(base: int, scale: float) -> int:
    """A count at this scale."""
    return max(1, round(base * scale))


def amount_of(base: int, scale: float) -> Decimal:
    """An amount in yuan at this scale, a whole number of hundreds of yuan."""
    return Decimal(max(1, round(base * scale / 100)) * 100)


TARGETS = {  # scale-1 values of the control figures (see the module docstring)
    "siptc_listings_2018": 3_200,
    "siptc_deal_value_2018": 218_400_000,
    "tech_exports_yrd_count": 3_312,
    "tech_exports_yrd_value": 17_300_000_000,
    "national_major_infrastructure": 14,
    "national_major_projects": 854,
    "foreign_rd_centers_2018": 441,
    "incubators_2019": 612,
    "large_instruments_units": 45_120,
    "large_instruments_value": 51_930_000_000,  # "more than 51.9 billion yuan"
    "functional_platforms_2018": 18,
    "zhangjiang_first_round_started": 73,
    "zhangjiang_first_round_completed": 32,
    "functional_platforms_started_2019": 16,
    "municipal_major_st_projects": 8,
    "municipal_major_st_local_money": 4_120_000_000,  # "local financial investment has exceeded 4 billion yuan"
    "national_major_science_2014_2018": 11,
}
AMOUNT_FIGURES = {"siptc_deal_value_2018", "tech_exports_yrd_value", "large_instruments_value",
                  "municipal_major_st_local_money"}


FIXED_FIGURES = {"national_major_infrastructure", "functional_platforms_2018",
                 "functional_platforms_started_2019"}  # too few to scale


def target(name: str, scale: float):
    """A control figure's value at this scale."""
    if name in FIXED_FIGURES:
        return TARGETS[name]
    return amount_of(TARGETS[name], scale) if name in AMOUNT_FIGURES else n_of(TARGETS[name], scale)


@dataclass
class FileSpec:
    """One file to write: who sends it, for which period, in which style, with which rows."""

    submitter: str
    kind: str
    period: str
    stem: str
    style: str
    rows: list[dict]  # in file order; a row with "_broken" set breaks that critical rule
    status: str = "published"  # published | superseded | rejected
    drop_column: str | None = None  # a rejected file lacks this required column
    note: str = ""

    @property
    def name(self) -> str:
        return f"{self.stem}.{EXT[STYLES[self.style]['format']]}"

    @property
    def rel_path(self) -> str:
        return f"{self.submitter}/{self.kind}/{self.period}/{self.name}"

    @property
    def invalid(self) -> int:
        return 0 if self.status == "rejected" else sum(1 for r in self.rows if r.get("_broken"))

    @property
    def valid(self) -> int:
        return 0 if self.status == "rejected" else len(self.rows) - self.invalid


@dataclass
class Manifest:
    out_dir: str
    seed: int
    scale: float
    files: list[dict] = field(default_factory=list)
    valid_rows: dict[str, int] = field(default_factory=dict)  # rows published, per kind
    invalid_rows: dict[str, int] = field(default_factory=dict)  # rows quarantined (every loaded file), per kind
    rejected_files: list[dict] = field(default_factory=list)
    corrections: list[dict] = field(default_factory=list)
    control_figures: dict[str, dict] = field(default_factory=dict)
    findings: dict[str, list] = field(default_factory=dict)

    def add(self, spec: FileSpec, path: Path) -> None:
        broken = Counter(r["_broken"] for r in spec.rows if r.get("_broken")) if spec.status != "rejected" else {}
        warn = sum(1 for r in spec.rows if not r.get("_broken") and r.get("inventor_award_share") is not None
                   and r["inventor_award_share"] < Decimal("0.7") and r.get("transaction_type") in ("transfer", "license")
                   and r.get("seller_type") in ("university", "research_institute")) if spec.status != "rejected" else 0
        style = STYLES[spec.style]
        self.files.append({
            "path": str(path.relative_to(self.out_dir)), "submitter": spec.submitter, "kind": spec.kind,
            "period": spec.period, "style": spec.style, "format": style["format"],
            "encoding": style.get("encoding", "utf-8" if style["format"] == "json" else None),
            "rows": len(spec.rows), "valid_rows": spec.valid, "invalid_rows": spec.invalid,
            "warning_rows": warn, "broken_rules": dict(sorted(broken.items())), "status": spec.status,
            "note": spec.note,
        })
        self.valid_rows.setdefault(spec.kind, 0)
        self.invalid_rows.setdefault(spec.kind, 0)
        if spec.status == "published":
            self.valid_rows[spec.kind] += spec.valid
        self.invalid_rows[spec.kind] += spec.invalid

    def as_dict(self) -> dict:
        return {"out_dir": self.out_dir, "seed": self.seed, "scale": self.scale, "files": self.files,
                "valid_rows": self.valid_rows, "invalid_rows": self.invalid_rows,
                "rejected_files": self.rejected_files, "corrections": self.corrections,
                "control_figures": self.control_figures, "findings": self.findings}
