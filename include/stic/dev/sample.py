"""Generate realistic submissions (the awkward files real offices send), deterministic for a seed.

`generate(out_dir, scale, seed)` writes files for all four kinds into the landing layout
``out_dir/<SUBMITTER>/<kind>/<period>/<file>`` and returns a `Manifest`; the same seed gives
byte-identical files (XLSX zips are written with fixed timestamps). `rows_for(kind, scale, seed)` gives
the rows a correct load publishes, in memory, and `control_figures(scale, seed)` the figures below.

Who sends what
--------------
* projects: districts (by start year; some districts send quarterly files) and, with municipal-level
  projects only, STCSM, SHEITC, SHDRC, SHTO and SSTIC. All 854 ``national_major`` projects and all 73
  ``zhangjiang_science_city`` projects come from districts (the latter from PD).
* facilities: SHDRC the national major infrastructure (period 2019); STCSM the functional platforms
  (period 2018) and a few laboratories; SHEITC and SSTIC laboratories; districts the foreign-funded R&D
  centres (2014–2019, in the period of the year they opened), laboratories and the maker-space incubators
  (all in 2019 periods); YRDN the large instruments (one big file per period: 2014–2018 yearly,
  2019Q1, 2019Q2; a period holds the instruments that joined the network then).
* platform_assessments: SHFB only (2018 and 2019), one row per functional platform and year.
* ip_transactions: SIPTC the listings on the Shanghai IP transaction centre (transfer, license, pledge,
  equity contribution; never technology_export); a listing's row is in the file of its listing period and
  carries the deal closed on it by the period's end, if any. SHIPA the technology-export contracts (all
  rows transaction_type technology_export; yearly files 2014–2018, and 2019Q1). The two submitters
  never share a row, so the listing figures and the export figures cannot double count.

Every business key (project_code, facility_code, transaction_code, platform_code + assessment_year)
appears in exactly one published submission, so "count rows" and "count distinct codes" agree below.

Control figures (the reconciliation mart must compute exactly these; values are for scale 1, and
`Manifest.control_figures` holds the values for the scale generated). "Published rows" are the rows
of submissions that end up published: loaded rows of every accepted file, except files superseded by a
correction (the rows of the correction count instead); quarantined rows and rejected files never count.

* siptc_listings_2018 = 3,200: ip_transactions published rows, submitter SIPTC, listing_date in
  2018-01-01..2018-12-31; count.
* siptc_deal_value_2018 = 218,400,000.00 yuan: ip_transactions, submitter SIPTC, deal_date in
  2018-01-01..2018-12-31; sum(deal_amount_yuan).
* tech_exports_yrd_count = 3,312: ip_transactions, transaction_type technology_export, buyer_region in
  (jiangsu, zhejiang, anhui), deal_date <= 2018-12-31 (all such rows come from SHIPA; SHIPA also sends
  exports to other regions and 2019 exports, which must be filtered out); count.
* tech_exports_yrd_value = 17,300,000,000.00 yuan: same rows; sum(deal_amount_yuan).
* national_major_infrastructure = 14: facilities, facility_type national_major_infrastructure, status in
  (under_construction, in_operation) (SHDRC also lists planned ones, which do not count); count.
* national_major_projects = 854: projects, level national_major; count.
* foreign_rd_centers_2018 = 441: facilities, facility_type foreign_rd_center, operation_start_date <=
  2018-12-31 (districts also report centres opened in 2019, which do not count); count.
* incubators_2019 = 612: facilities, facility_type incubator; count.
* large_instruments_units = 45,120 and large_instruments_value = 51,900,000,000.00 yuan: facilities,
  submitter YRDN, facility_type large_instrument, is_shared true (YRDN also lists unshared instruments,
  which do not count); count, and sum(original_value_yuan).
* functional_platforms_2018 = 18: facilities, facility_type functional_platform, submitter STCSM,
  period 2018; count.
* zhangjiang_first_round_started = 73 and zhangjiang_first_round_completed = 32: projects, programme
  zhangjiang_science_city; count, and count with status completed.
* functional_platforms_started_2019 = 16: the 18 platforms but two still planned (no construction start).
* municipal_major_st_projects = 8 and municipal_major_st_local_money = 4,120,000,000 yuan ("exceeded 4
  billion"): STCSM's projects of level municipal_major and programme municipal_major_st; count, and
  sum(funding_municipal_yuan + funding_district_yuan).
* national_major_science_2014_2018 = 11: national_major projects of programme national_major_science
  started 2014-2018 (a twelfth starts in 2019 and does not count).
* large_instruments_value is 51,930,000,000 yuan: the briefing says "more than 51.9 billion".
At another scale a count is max(1, round(value * scale)) and an amount round(value * scale) to 100 yuan,
except the 14 infrastructures and the 18 (16 started) platforms, which do not scale. `FIGURE_CODES` maps
these names to the seed's figure codes (rpt_control_totals).

Findings planted on purpose (`Manifest.findings`, from `intended_findings`; the marts must report exactly
these): the platform rules of the 2018 guideline (PLANTED: district operating money below the city's,
fiscal operating money and share rising after the initial contract, money not reduced after a missed
assessment, a well-assessed platform cut with no reason; platforms that rise within their contract or
carry construction money are there so the rules are seen not to fire), award shares below the 70 % floor
(about 2 % of the transfers and licences by universities and research institutes), and reporting-period
warnings (two completed projects ending after their period, a laboratory in operation only after its
period, a project started in 1999 and a laboratory built in 1996). A district file only holds rows of that
district.

Messy but valid: files rotate through STYLES (plain UTF-8 CSV; UTF-8 with BOM and Chinese headers;
GB18030 with Chinese headers, 万元 and thousands separators; a unit column with 元/万元 per row; XLSX with a
merged title row and numbers stored as text; XLSX with an instructions sheet and two data sheets; JSON
``{"records": [...]}``). Amounts are whole yuan, so every 万元 value is written with enough decimals.
`warning_rows` per file counts the loader's award_share_below_floor warnings (a transfer or licence by a
university or research institute awarding less than 0.7).

Invalid rows: about 1.5 % extra rows per file, each breaking exactly one critical rule (unknown code,
negative amount, end before start, missing required field, award share above 1, deal before listing,
year out of range); they never replace a valid row, so the figures above hold. One file per run is
rejected as a whole (a district facilities CSV without its ``field`` column) and one district projects
file is corrected by a later file of the same submitter/kind/period whose name sorts after it (``_v2``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import re
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

from stic.contract import codes
from stic.contract.kinds import BOOLEAN, INTEGER, KINDS, MONEY, NUMBER, SHARE, Column, Kind

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


# ---------------------------------------------------------------------------------------------- writing

def _zh_header(c: Column) -> str | None:
    return next((a for a in c.aliases if any("\u4e00" <= ch <= "\u9fff" for ch in a)), None)


def _header(c: Column, style: dict) -> str:
    zh = _zh_header(c)
    if style["headers"] == "zh" and zh:
        base = zh
    elif style["headers"] == "en_plain":
        base = c.name.removesuffix("_yuan").replace("_", " ")
    else:
        return c.name  # canonical: "…_yuan" names its unit
    if c.type == MONEY and not style.get("unit_column"):
        return f"{base}（{UNIT_LABEL[style['unit']]}）"
    return base


def _money_text(value, unit: str, separators: bool) -> str:
    amount = Decimal(value) / UNIT_DIVISOR[unit]
    text = f"{amount.normalize():f}"
    if separators and amount >= 1000:
        whole, _, frac = text.partition(".")
        text = f"{int(whole):,}" + (f".{frac}" if frac else "")  # thousands separators
    return text


def _cell(c: Column, value, style: dict, rng: random.Random, unit: str) -> str:
    """The text an office would type for a value."""
    if value is None:
        return ""
    zh = style["headers"] == "zh"
    if c.type == MONEY:
        return _money_text(value, unit, zh and rng.random() < 0.5)
    if c.type == BOOLEAN:
        return ("是" if value else "否") if zh else ("yes" if value else "no")
    if c.codelist and isinstance(value, str):
        if zh and rng.random() < 0.7:
            entry = codes.entries(c.codelist).get(value) or (
                codes.entries("district").get(value) if c.codelist == "region" else None)
            if entry:
                return entry["zh"]  # the Chinese label, as offices write it
        if c.codelist in ("district", "region") and value in DISTRICTS and rng.random() < 0.3:
            entry = codes.entries("district")[value]
            return rng.choice([entry["en"], entry["zh"], entry["zh"].removesuffix("区"), f" {value} "])
        if rng.random() < 0.1:
            entry = codes.entries(c.codelist).get(value)
            if entry:
                return entry["en"].upper() if rng.random() < 0.5 else entry["en"]
        return value
    if isinstance(value, dt.date):
        return value.strftime("%Y年%-m月%-d日") if zh and rng.random() < 0.5 else value.isoformat()
    return str(value)


def _columns(kind: Kind, drop: str | None) -> list[Column]:
    return [c for c in kind.columns if c.name != drop]


def _text_table(spec: FileSpec, style: dict, rng: random.Random) -> list[list[str]]:
    """Header and data rows as text (CSV and the 'numbers stored as text' XLSX)."""
    kind = KINDS[spec.kind]
    cols = _columns(kind, spec.drop_column)
    unit_col = style.get("unit_column")
    out = [[_header(c, style) for c in cols] + (["单位"] if unit_col else [])]
    for r in spec.rows:
        unit = style["unit"]
        if unit_col and rng.random() < 0.3:
            unit = "yuan"
        out.append([_cell(c, r.get(c.name), style, rng, unit) for c in cols] + ([UNIT_LABEL[unit]] if unit_col else []))
    return out


def _write_csv(spec: FileSpec, style: dict, rng: random.Random) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(_text_table(spec, style, rng))
    return buf.getvalue().encode(style["encoding"])


def _typed(c: Column, value):
    """A value as a spreadsheet or JSON would hold it: numbers as numbers, codes as codes."""
    if value is None:
        return None
    if c.type in (MONEY, NUMBER, INTEGER, SHARE):
        d = Decimal(value)
        return int(d) if d == d.to_integral_value() else (str(d) if c.type == MONEY else float(d))
    return value


def _stable_zip(data: bytes) -> bytes:
    """The same workbook bytes for the same content: fixed zip times and document dates."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)",
                                 rb"\g<1>2019-05-01T00:00:00Z\g<3>", content)
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            z.writestr(zi, content)
    return out.getvalue()


def _title(spec: FileSpec) -> str:
    who = codes.submitters()[spec.submitter]["zh"]
    what = {"projects": "科研项目", "facilities": "科技设施", "platform_assessments": "功能型平台考核",
            "ip_transactions": "知识产权与技术交易"}[spec.kind]
    return f"{who} {spec.period} {what}情况报送表"


def _write_xlsx(spec: FileSpec, style: dict, rng: random.Random) -> bytes:
    import openpyxl
    from openpyxl.utils import get_column_letter

    kind = KINDS[spec.kind]
    if style.get("title"):
        # A merged title cell above the header, a blank row, then every value stored as text.
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "报送表"
        table = _text_table(spec, style, rng)
        ws.append([_title(spec)])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(table[0]))
        ws.append([])
        for row in table:
            ws.append(row)
        ws.column_dimensions[get_column_letter(1)].width = 18
    else:
        # An instructions sheet first, then the rows split over two data sheets with the same header.
        wb = openpyxl.Workbook(write_only=True)
        info = wb.create_sheet("填报说明")
        for line in (_title(spec), "请按模板填写，金额单位见表头。", "Fill in one row per record; amounts in the unit of the header.",
                     "日期格式：2018-06-30", "联系人：科创中心数据组"):
            info.append([line])
        cols = _columns(kind, spec.drop_column)
        header = [_header(c, style) for c in cols]
        half = (len(spec.rows) + 1) // 2
        for i, part in enumerate((spec.rows[:half], spec.rows[half:]), start=1):
            ws = wb.create_sheet(f"数据{i}")
            ws.append(header)
            for r in part:
                ws.append([_typed(c, r.get(c.name)) for c in cols])
    buf = io.BytesIO()
    wb.save(buf)
    return _stable_zip(buf.getvalue())


def _write_json(spec: FileSpec, style: dict, rng: random.Random) -> bytes:
    cols = _columns(KINDS[spec.kind], spec.drop_column)
    records = []
    for r in spec.rows:
        rec = {}
        for c in cols:
            v = _typed(c, r.get(c.name))
            if isinstance(v, dt.date):
                v = v.isoformat()
            rec[c.name] = v
        records.append(rec)
    doc = {"submitter": spec.submitter, "kind": spec.kind, "period": spec.period, "records": records}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


WRITERS = {"csv": _write_csv, "xlsx": _write_xlsx, "json": _write_json}


def write_file(out_dir: Path, spec: FileSpec, seed: int) -> Path:
    style = STYLES[spec.style]
    rng = random.Random(f"{seed}:file:{spec.rel_path}")
    path = out_dir / spec.rel_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(WRITERS[style["format"]](spec, style, rng))
    return path


# ------------------------------------------------------------------------------------------- row helpers

def _date(rng: random.Random, year: int, last: dt.date | None = None) -> dt.date:
    start = dt.date(year, 1, 1)
    end = min(last or dt.date(year, 12, 31), dt.date(year, 12, 31))
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def _money(rng: random.Random, lo: int, hi: int) -> Decimal:
    """An amount in yuan, a whole number of 万元 more often than not (as budgets are)."""
    wan = rng.randint(lo, hi)
    return Decimal(wan * 10_000) if rng.random() < 0.8 else Decimal(wan * 10_000 + rng.randint(1, 9999))


def split_total(total: Decimal, weights: list[float], unit: int = 100) -> list[Decimal]:
    """Amounts proportional to weights, each a positive multiple of `unit`, summing exactly to total."""
    units = int(total) // unit
    n = len(weights)
    if n == 0:
        return []
    assert units >= n and int(total) % unit == 0, (total, n)
    s = sum(weights)
    raw = [w / s * (units - n) for w in weights]
    fl = [int(x) for x in raw]
    rest = units - n - sum(fl)
    for i in sorted(range(n), key=lambda i: (fl[i] - raw[i], i))[:rest]:
        fl[i] += 1
    out = [Decimal((f + 1) * unit) for f in fl]
    assert sum(out) == total
    return out


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _spread(n: int, weights: list[float]) -> list[int]:
    """n split into len(weights) whole parts proportional to weights (largest remainders)."""
    s = sum(weights)
    raw = [w / s * n for w in weights]
    fl = [int(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: (fl[i] - raw[i], i))[: n - sum(fl)]:
        fl[i] += 1
    return fl


def _quarter(d: dt.date) -> int:
    return (d.month - 1) // 3 + 1


def _period_end(period: str) -> dt.date:
    y, q = int(period[:4]), (int(period[5]) if "Q" in period else 4)
    return dt.date(y, 12, 31) if q == 4 else dt.date(y, 3 * q + 1, 1) - dt.timedelta(days=1)


INSTITUTIONS = {
    "university": ["Fudan University", "Shanghai Jiao Tong University", "Tongji University", "East China Normal University",
                   "ShanghaiTech University", "Shanghai University", "East China University of Science and Technology"],
    "research_institute": ["Shanghai Institute of Materia Medica, CAS", "Shanghai Institute of Microsystem and Information Technology",
                           "Shanghai Advanced Research Institute, CAS", "Zhangjiang Laboratory", "Institute of Neuroscience, CAS",
                           "Shanghai Institute of Optics and Fine Mechanics, CAS", "Shanghai Institute of Applied Physics, CAS"],
    "enterprise": ["SMIC", "Huahong Group", "United Imaging", "Advanced Micro-Fabrication Equipment", "Unisoc",
                   "Shanghai Micro Electronics Equipment", "Commercial Aircraft Corporation of China", "SAIC Motor",
                   "Shanghai Electric", "Baosteel"],
    "hospital": ["Ruijin Hospital", "Zhongshan Hospital", "Renji Hospital", "Huashan Hospital"],
    "foreign_rd_center": ["Microsoft Research Asia Shanghai", "SAP Labs China", "Amazon AWS Shanghai AI Lab",
                          "Roche Innovation Center Shanghai", "GE China Technology Center"],
}
MUNICIPAL_MAJOR_TITLES = ["Hard X-ray free electron laser device: preliminary stage study", "Silicon photonics",
                         "Brain-inspired chips and intelligence", "Advanced IC packaging etchers",
                         "Heavy-duty gas turbine key technologies", "Domestic high-end medical imaging equipment",
                         "Quantum communication network", "Marine deep-sea exploration equipment"]
HOSTS = [h for k in ("university", "research_institute", "hospital", "enterprise") for h in INSTITUTIONS[k]]
DISTRICT_WEIGHTS = {"PD": 30, "XH": 12, "YP": 10, "MH": 10, "JD": 7, "CN": 4, "JA": 4, "HP": 3, "PT": 3, "HK": 3,
                    "BS": 4, "SJ": 5, "QP": 2, "FX": 2, "JS": 1, "CM": 1}


def _key_name(kind: str) -> str:
    return KINDS[kind].key


# Each invalid row breaks exactly one critical rule; the loader must quarantine exactly these.
SPOILERS = {
    "projects": ["code_list", "amount_non_negative", "start_before_end", "required"],
    "facilities": ["code_list", "amount_non_negative", "construction_before_operation", "required"],
    "platform_assessments": ["amount_non_negative", "required", "year_range", "number_parse"],
    "ip_transactions": ["code_list", "amount_non_negative", "listing_before_deal", "required", "share_range"],
}


def spoil(rng: random.Random, row: dict, kind: str, rule: str | None = None) -> dict:
    bad = dict(row)
    rule = rule or rng.choice(SPOILERS[kind])
    if rule == "code_list":
        col = {"projects": "district", "facilities": "facility_type", "ip_transactions": "ip_type"}[kind]
        bad[col] = {"district": "Atlantis", "facility_type": "spaceport", "ip_type": "perpetual motion"}[col]
    elif rule == "amount_non_negative":
        col = {"projects": "funding_self_raised_yuan", "facilities": "total_investment_yuan",
               "platform_assessments": "municipal_fund_yuan", "ip_transactions": "listed_price_yuan"}[kind]
        bad[col] = Decimal(-rng.randint(1, 50) * 10_000)
    elif rule == "start_before_end":
        bad["end_date"] = bad["start_date"] - dt.timedelta(days=rng.randint(1, 400))
    elif rule == "construction_before_operation":
        op = bad.get("operation_start_date") or dt.date(2017, 6, 30)
        bad["operation_start_date"] = op
        bad["construction_start_date"] = op + dt.timedelta(days=rng.randint(30, 700))
    elif rule == "listing_before_deal":
        bad["deal_date"] = bad["listing_date"] - dt.timedelta(days=rng.randint(1, 90))
        bad["deal_amount_yuan"] = bad.get("deal_amount_yuan") or Decimal(100_000)
    elif rule == "share_range":
        bad["inventor_award_share"] = Decimal(rng.choice(["1.2", "1.5", "7", "70"]))
    elif rule == "year_range":
        bad["assessment_year"] = rng.choice([2009, 2031, 1918])
    elif rule == "number_parse":
        bad["score"] = rng.choice(["优秀", "良好", "pass"])
    elif rule == "required":
        col = {"projects": "title", "facilities": "name", "platform_assessments": "assessment_year",
               "ip_transactions": "seller"}[kind]
        bad[col] = None
    bad["_broken"] = rule
    return bad


def _with_invalid(rng: random.Random, rows: list[dict], kind: str, share: float, new_key) -> list[dict]:
    """The file's rows plus about `share` extra rows (copies of valid ones under a new code), each spoiled."""
    n_bad = int(len(rows) * share + rng.random())
    out = list(rows)
    for _ in range(n_bad):
        base = dict(rng.choice(rows))
        base[_key_name(kind)] = new_key(base)
        out.insert(rng.randrange(len(out) + 1), spoil(rng, base, kind))
    return out


def _rotate(specs: list[FileSpec], styles: list[str]) -> None:
    for i, s in enumerate(sorted(specs, key=lambda s: s.rel_path)):
        s.style = styles[i % len(styles)]


# -------------------------------------------------------------------------------------------- projects

def build_projects(seed: int, scale: float, share: float) -> list[FileSpec]:
    """Projects at scale 1: 854 national major projects, the 73 first-round Zhangjiang projects (32
    completed), and municipal and district projects besides (districts), plus agencies' municipal projects."""
    rng = random.Random(f"{seed}:projects")
    rows: list[dict] = []
    counter = iter(range(1, 10**7))

    def code(row: dict) -> str:
        return f"P{row['start_date'].year}{row['district']}{next(counter):05d}"

    def add(level, programme, district, year, status, title, submitter=None):
        itype = rng.choice(list(INSTITUTIONS))
        start = _date(rng, year, dt.date(2019, 4, 30))
        end = start + dt.timedelta(days=rng.randint(365, 5 * 365))
        if status == "completed":
            end = max(min(end, dt.date(2019, 3, 31)), start + dt.timedelta(days=180))
        big = level in ("national_major", "municipal_major")
        row = {
            "title": title, "level": level, "programme": programme,
            "field": rng.choice(FIELDS[:10]) if big else rng.choice(FIELDS),
            "lead_institution": rng.choice(INSTITUTIONS[itype]), "institution_type": itype,
            "district": district, "start_date": start, "end_date": end if status != "planned" or rng.random() < 0.5 else None,
            "status": status,
            "funding_central_yuan": _money(rng, 500, 20000) if level.startswith("national") else None,
            "funding_municipal_yuan": _money(rng, 100, 5000) if level != "district" else None,
            "funding_district_yuan": _money(rng, 20, 800) if rng.random() < 0.6 else None,
            "funding_self_raised_yuan": _money(rng, 0, 3000),
            "_submitter": submitter or district,
        }
        row = {"project_code": code(row), **row}
        rows.append(row)

    heavy = ["PD", "XH", "YP", "MH", "JD"]
    n_science = n_of(11, scale)  # "participated in 11 of the 50 major national scientific projects" (2014-2018)
    science = 0
    for i in range(n_of(854, scale)):
        year = YEARS[i % len(YEARS)]
        district = heavy[i % len(heavy)] if i % 3 else DISTRICTS[i % len(DISTRICTS)]
        prog = "national_2030" if year >= 2017 and i % 4 == 0 else "national_key_rd"
        if i % 4 == 1 and (science < n_science and year <= 2018 or science == n_science and year == 2019):
            prog, science = "national_major_science", science + 1  # the one of 2019 is outside the figure
        add("national_major", prog, district, year, rng.choice(["underway", "underway", "completed"]),
            f"National major project {i + 1}")
    done = n_of(32, scale)
    for i in range(n_of(73, scale)):
        add("municipal_major", "zhangjiang_science_city", "PD", 2017 + (i % 2), "completed" if i < done else "underway",
            f"Zhangjiang Science City first-round project {i + 1}")
    for i in range(n_of(600, scale)):
        year = YEARS[i % len(YEARS)]
        level = rng.choice(["national_key", "municipal", "municipal", "district"])
        prog = {"national_key": "national_key_rd", "municipal": "municipal_major_st", "district": "other"}[level]
        add(level, prog, DISTRICTS[i % len(DISTRICTS)], year, rng.choice(["planned", "underway", "completed", "terminated"]),
            f"{level.replace('_', ' ').capitalize()} project {i + 1}")
    agency_projects = {"STCSM": ("municipal", "other"), "SHEITC": ("municipal", "other"),
                       "SHDRC": ("municipal_major", "functional_platform"), "SHTO": ("municipal", "other"),
                       "SSTIC": ("municipal", "other")}
    for agency, (level, prog) in agency_projects.items():
        for i in range(n_of(24, scale)):
            add(level, prog, _weighted(rng, DISTRICT_WEIGHTS), 2016 + i % 3,
                rng.choice(["underway", "underway", "completed"]), f"{agency} {prog.replace('_', ' ')} project {i + 1}",
                submitter=agency)
    # STCSM: the eight municipal S&T major projects, local (municipal + district) money above 4 billion.
    major = []
    for i in range(n_of(8, scale)):
        add("municipal_major", "municipal_major_st", "PD" if i % 2 else "XH", 2015 + i % 3, "underway",
            MUNICIPAL_MAJOR_TITLES[i % len(MUNICIPAL_MAJOR_TITLES)], submitter="STCSM")
        major.append(rows[-1])
    for r, v in zip(major, split_total(target("municipal_major_st_local_money", scale), [3 + i % 4 for i in range(len(major))]),
                        strict=True):
        r["funding_municipal_yuan"], r["funding_district_yuan"] = v, None
    # Period consistency: a district cannot report in 2015 that a project was completed in 2017, so a
    # completed project's end date falls in its reporting period; a few rows break this on purpose
    # (warnings in rpt_period_consistency, listed in Manifest.findings).
    old = {"title": "Legacy district programme project (started 1999)", "level": "district", "programme": "other",
           "field": "other", "lead_institution": "Shanghai University", "institution_type": "university",
           "district": "CM", "start_date": dt.date(1999, 9, 1), "end_date": None, "status": "underway",
           "funding_central_yuan": None, "funding_municipal_yuan": None, "funding_district_yuan": Decimal(300_000),
           "funding_self_raised_yuan": None, "_submitter": "CM"}
    rows.append({"project_code": f"P1999CM{next(counter):05d}", **old})

    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    quarterly = {(d, y) for d in DISTRICTS for y in YEARS if rng.random() < 0.25} - {("PD", 2018)}
    for r in rows:
        y = max(r["start_date"].year, YEARS[0])  # a project started before the programme is first reported in 2014
        period = f"{y}Q{_quarter(r['start_date'])}" if (r["_submitter"], y) in quarterly else str(y)
        r["_period"] = period
        if r["status"] == "completed" and r["end_date"] and r["end_date"] > _period_end(period):
            r["end_date"] = _period_end(period)
        groups[(r["_submitter"], period)].append(r)
    late = [r for r in rows if r["status"] == "completed" and r["level"] == "district" and r["_submitter"] != "PD"]
    for r in late[:2]:
        r["end_date"] = _period_end(r["_period"]) + dt.timedelta(days=45)

    specs = [FileSpec(sub, "projects", period, f"projects_{sub}_{period}", "plain",
                      _with_invalid(rng, grp, "projects", share, code))
             for (sub, period), grp in sorted(groups.items())]
    _rotate(specs, ["plain", "bom_zh", "gb18030_wan", "unit_column", "xlsx_title", "xlsx_sheets", "json"])

    # The correction: PD's 2018 file is sent again with every row right; the first stays superseded.
    first = next((s for s in specs if s.submitter == "PD" and s.period == "2018"), None) or max(
        (s for s in specs if s.submitter in DISTRICTS), key=lambda s: (s.valid, s.rel_path))
    good = [r for r in first.rows if not r.get("_broken")]
    wrong = [dict(r) for r in good]
    if len(wrong) >= 2:
        wrong.pop()  # a project forgotten in the first file
    if wrong[0].get("funding_municipal_yuan") is not None:
        wrong[0]["funding_municipal_yuan"] += Decimal(1_000_000)  # a typo in an amount
    for i in rng.sample(range(len(wrong)), k=min(len(wrong) - 1, max(1, round(len(wrong) * 0.03)))):
        wrong[i] = spoil(rng, wrong[i], "projects", "start_before_end")  # dates swapped by hand
    first.rows = wrong + [r for r in first.rows if r.get("_broken")]
    first.status = "superseded"
    first.note = f"corrected by {first.stem}_v2"
    specs.append(FileSpec(first.submitter, "projects", first.period, f"{first.stem}_v2", "plain", good,
                          note=f"correction of {first.name}: replaces it for {first.submitter}/projects/{first.period}"))
    return specs


# ------------------------------------------------------------------------------------------ facilities

NATIONAL_INFRASTRUCTURE = [  # name, field, district, host, status, construction start, operation start, investment (亿元)
    ("Shanghai Synchrotron Radiation Facility", "photonics", "PD", "Shanghai Advanced Research Institute, CAS",
     "in_operation", "2004-12-25", "2009-05-06", 12),
    ("Shanghai Synchrotron Radiation Facility Phase II Beamline Project", "photonics", "PD",
     "Shanghai Advanced Research Institute, CAS", "under_construction", "2016-11-29", None, 17),
    ("National Facility for Protein Science in Shanghai", "biomedicine", "PD", "Shanghai Advanced Research Institute, CAS",
     "in_operation", "2010-01-01", "2015-07-01", 8),
    ("Shanghai Soft X-ray Free Electron Laser Facility", "photonics", "PD", "Shanghai Advanced Research Institute, CAS",
     "under_construction", "2014-12-30", None, 8),
    ("Shanghai High Repetition Rate XFEL and Extreme Light Facility (hard X-ray FEL)", "photonics", "PD",
     "ShanghaiTech University", "under_construction", "2018-04-27", None, 100),
    ("Shanghai Superintense Ultrafast Laser Facility", "photonics", "PD",
     "Shanghai Institute of Optics and Fine Mechanics, CAS", "in_operation", "2016-07-01", "2018-12-01", 3),
    ("National Facility for Translational Medicine (Shanghai)", "biomedicine", "XH", "Ruijin Hospital",
     "under_construction", "2014-12-01", None, 9),
    ("Living Cell Structure and Function Imaging Facility", "biomedicine", "PD", "ShanghaiTech University",
     "under_construction", "2017-12-01", None, 6),
    ("Shanghai Laser Electron Gamma Source", "photonics", "PD", "Shanghai Advanced Research Institute, CAS",
     "under_construction", "2018-06-01", None, 1),
    ("Tianma 65 m Radio Telescope", "aerospace", "SJ", "Shanghai Astronomical Observatory, CAS",
     "in_operation", "2008-10-01", "2012-10-28", 2),
    ("High-efficiency Low-carbon Gas Turbine Test Facility", "energy", "PD", "Shanghai Electric",
     "under_construction", "2018-10-01", None, 61),
    ("International Human Phenome Facility (Shanghai)", "biomedicine", "PD", "Fudan University",
     "under_construction", "2018-09-01", None, 15),
    ("Marine Scientific Research Vessel and Deep-sea Test Facility", "marine", "PD", "Tongji University",
     "under_construction", "2018-11-01", None, 10),
    ("Shanghai Brain-Inspired Intelligence Imaging Facility", "brain_science", "XH", "Institute of Neuroscience, CAS",
     "under_construction", "2018-12-01", None, 5),
]
PLANNED_INFRASTRUCTURE = [
    ("Quantum Information Science Facility (planned)", "quantum_information", "PD", "Zhangjiang Laboratory", 20),
    ("Next-generation Supercomputing Facility (planned)", "other", "PD", "Shanghai Advanced Research Institute, CAS", 30),
]
FUNCTIONAL_PLATFORMS = [  # name, field, district, host
    ("SITRI MEMS and Sensor R&D and Transformation Platform", "integrated_circuits", "JD",
     "Shanghai Industrial μTechnology Research Institute"),
    ("Integrated Circuit R&D and Transformation Platform", "integrated_circuits", "PD", "Shanghai IC R&D Center"),
    ("Biomedicine Pilot Manufacturing Platform", "biomedicine", "PD", "Shanghai Institute of Materia Medica, CAS"),
    ("Industrial Internet Innovation Platform", "advanced_manufacturing", "YP", "Shanghai Industrial Internet Institute"),
    ("Artificial Intelligence Open Innovation Platform", "artificial_intelligence", "XH", "Shanghai Jiao Tong University"),
    ("Brain-inspired Chips and Intelligence Technology Platform", "brain_science", "PD", "Zhangjiang Laboratory"),
    ("Quantum Information Technology Transformation Platform", "quantum_information", "XH",
     "Shanghai Institute of Microsystem and Information Technology"),
    ("Additive Manufacturing R&D and Transformation Platform", "advanced_manufacturing", "JD", "Shanghai Electric"),
    ("Intelligent Connected Vehicle Testing Platform", "new_energy_vehicles", "JD", "SAIC Motor"),
    ("Advanced Materials Pilot Platform", "new_materials", "BS", "Baosteel"),
    ("Large Animal Models for Biomedical Research Platform", "biomedicine", "SJ", "Fudan University"),
    ("Medical Device Innovation and Transformation Platform", "biomedicine", "PD", "United Imaging"),
    ("Marine Equipment R&D Platform", "marine", "PD", "Shanghai Jiao Tong University"),
    ("Aerospace Materials and Structures Platform", "aerospace", "MH", "Commercial Aircraft Corporation of China"),
    ("Energy Storage and Hydrogen Technology Platform", "energy", "JS", "Shanghai Advanced Research Institute, CAS"),
    ("Fintech Innovation Platform", "fintech", "HP", "Shanghai University"),
    ("Microelectronics Packaging and Testing Platform", "integrated_circuits", "SJ", "Huahong Group"),
    ("Technology Transfer Service Platform", "other", "YP", "Tongji University"),
]
FOREIGN_COMPANIES = [("Microsoft", "artificial_intelligence"), ("SAP", "other"), ("Roche", "biomedicine"),
                     ("Novartis", "biomedicine"), ("AstraZeneca", "biomedicine"), ("GE", "energy"), ("Siemens", "advanced_manufacturing"),
                     ("Intel", "integrated_circuits"), ("IBM", "artificial_intelligence"), ("Bosch", "new_energy_vehicles"),
                     ("BASF", "new_materials"), ("Dow", "new_materials"), ("Honeywell", "aerospace"), ("Philips", "biomedicine"),
                     ("Johnson & Johnson", "biomedicine"), ("Pfizer", "biomedicine"), ("Sanofi", "biomedicine"),
                     ("3M", "new_materials"), ("Covestro", "new_materials"), ("Volkswagen", "new_energy_vehicles"),
                     ("General Motors", "new_energy_vehicles"), ("Texas Instruments", "integrated_circuits"),
                     ("Applied Materials", "integrated_circuits"), ("Airbus", "aerospace"), ("Schneider Electric", "energy"),
                     ("ABB", "advanced_manufacturing"), ("Unilever", "other"), ("L'Oréal", "other"), ("Nokia", "other"),
                     ("Hitachi", "advanced_manufacturing"), ("Panasonic", "energy"), ("Samsung", "integrated_circuits")]
INCUBATOR_BRANDS = ["XNode", "Chuangyi Space", "Sky Ladder", "Innospace", "Venture Cup", "MetaLab", "C-Incubation",
                    "Zhangjiang Inno Hub", "Tus Star", "Bee Park", "Maker Garage", "Dream Factory", "WeWork Labs"]
INSTRUMENTS = [  # name, field, typical value in yuan
    ("Transmission electron microscope", "new_materials", 8_000_000), ("Scanning electron microscope", "new_materials", 2_500_000),
    ("Cryo-electron microscope", "biomedicine", 40_000_000), ("NMR spectrometer 600 MHz", "biomedicine", 6_000_000),
    ("LC-MS/MS mass spectrometer", "biomedicine", 2_000_000), ("X-ray diffractometer", "new_materials", 1_500_000),
    ("Confocal laser scanning microscope", "biomedicine", 1_800_000), ("Flow cytometer", "biomedicine", 900_000),
    ("High-throughput gene sequencer", "biomedicine", 3_000_000), ("Atomic force microscope", "new_materials", 1_200_000),
    ("Raman spectrometer", "photonics", 600_000), ("Thermal analysis system", "new_materials", 400_000),
    ("Femtosecond laser system", "photonics", 3_500_000), ("Electron beam lithography system", "integrated_circuits", 20_000_000),
    ("Wafer probe station", "integrated_circuits", 1_500_000), ("Wind tunnel balance system", "aerospace", 5_000_000),
    ("High-performance computing node", "artificial_intelligence", 500_000), ("Gas chromatograph", "energy", 300_000),
    ("Fatigue testing machine", "advanced_manufacturing", 800_000), ("Ocean profiling buoy system", "marine", 1_000_000),
]


def platform_start(i: int) -> dt.date:
    """Construction (contract) start of functional platform number i (1-based): 2016, 2017 or 2018."""
    return dt.date(2016 + i % 3, 1 + (i * 5) % 6, 1 + (i * 7) % 28)


def _facility(code, name, ftype, field_, district, host, status, cstart=None, ostart=None, invest=None, **extra) -> dict:
    return {"facility_code": code, "name": name, "facility_type": ftype, "field": field_, "district": district,
            "host_institution": host, "status": status, "construction_start_date": cstart, "operation_start_date": ostart,
            "total_investment_yuan": invest, "original_value_yuan": extra.get("value"), "is_shared": extra.get("shared"),
            "service_hours": extra.get("hours"), "external_users": extra.get("users")}


def build_facilities(seed: int, scale: float, share: float) -> list[FileSpec]:
    rng = random.Random(f"{seed}:facilities")
    specs: list[FileSpec] = []
    counter = iter(range(1, 10**7))

    def new_key(row: dict) -> str:
        return f"{row['facility_code'].split('-')[0]}-X{next(counter):05d}"

    def spec(sub, period, stem, rows, style="plain"):
        for r in rows:
            r["_submitter"], r["_period"] = sub, period
        specs.append(FileSpec(sub, "facilities", period, stem, style, _with_invalid(rng, rows, "facilities", share, new_key)))

    # SHDRC: national major infrastructure, built or under construction, and two planned.
    infra = []
    for i, (name, fld, d, host, status, cs, os_, inv) in enumerate(NATIONAL_INFRASTRUCTURE[: target("national_major_infrastructure", scale)], start=1):
        infra.append(_facility(f"NMI-{i:02d}", name, "national_major_infrastructure", fld, d, host, status,
                               dt.date.fromisoformat(cs), os_ and dt.date.fromisoformat(os_), Decimal(inv * 100_000_000)))
    for i, (name, fld, d, host, inv) in enumerate(PLANNED_INFRASTRUCTURE, start=len(infra) + 1):
        infra.append(_facility(f"NMI-{i:02d}", name, "national_major_infrastructure", fld, d, host, "planned",
                               invest=Decimal(inv * 100_000_000)))
    spec("SHDRC", "2019", "facilities_SHDRC_2019", infra, "xlsx_title")

    # STCSM: the 18 functional platforms determined in 2018, 16 of them started (construction start =
    # the platform's contract start, from which Item Ten counts its years); laboratories in other years.
    platforms = []
    for i, (name, fld, d, host) in enumerate(FUNCTIONAL_PLATFORMS[: target("functional_platforms_2018", scale)], start=1):
        _date(rng, 2016 + i % 3, dt.date(2018, 6, 30))  # drawn as before, so later rows stay the same
        days = rng.randint(120, 500) if i % 3 else None
        invest = Decimal(rng.randint(5_000, 60_000) * 10_000)
        if i > target("functional_platforms_started_2019", scale):
            platforms.append(_facility(f"FP2018-{i:02d}", name, "functional_platform", fld, d, host, "planned",
                                       invest=invest))
            continue
        cs = platform_start(i)
        op = min(cs + dt.timedelta(days=days), dt.date(2018, 12, 31)) if days else None
        platforms.append(_facility(f"FP2018-{i:02d}", name, "functional_platform", fld, d, host,
                                   "in_operation" if op else "under_construction", cs, op, invest))
    spec("STCSM", "2018", "facilities_STCSM_2018", platforms, "bom_zh")
    for agency, years in (("STCSM", (2016, 2017)), ("SHEITC", (2017, 2018)), ("SSTIC", (2018, 2019))):
        for y in years:
            labs = []
            for _ in range(n_of(12, scale)):
                fld = rng.choice(FIELDS[:12])
                cs = _date(rng, y - 2)
                labs.append(_facility(f"LAB-{agency}{next(counter):05d}", f"Shanghai Key Laboratory of "
                                      f"{codes.entries('field')[fld]['en']} {rng.randint(1, 99)}", "laboratory", fld,
                                      _weighted(rng, DISTRICT_WEIGHTS), rng.choice(HOSTS), "in_operation", cs,
                                      cs + dt.timedelta(days=rng.randint(200, 700)), _money(rng, 500, 8000)))
            spec(agency, str(y), f"facilities_{agency}_{y}", labs)

    # Districts: foreign-funded R&D centres (441 by the end of 2018, some more in 2019), laboratories,
    # and the maker-space incubators (all reported in 2019).
    district_rows: list[dict] = []
    n_foreign = n_of(441, scale)
    for y, k in zip(range(2014, 2019), _spread(n_foreign, [70, 80, 88, 95, 108]), strict=True):
        for _ in range(k):
            company, fld = rng.choice(FOREIGN_COMPANIES)
            d = _weighted(rng, DISTRICT_WEIGHTS)
            op = _date(rng, y)
            district_rows.append(_facility("", f"{company} {rng.choice(['R&D Center', 'Innovation Center', 'Research Institute', 'Open Innovation Lab'])} (Shanghai)",
                                           "foreign_rd_center", fld, d, company, "in_operation",
                                           op - dt.timedelta(days=rng.randint(60, 400)), op, _money(rng, 2000, 50000)))
    for _ in range(n_of(25, scale)):  # opened in 2019: not in the end-of-2018 figure
        company, fld = rng.choice(FOREIGN_COMPANIES)
        op = _date(rng, 2019, dt.date(2019, 4, 30))
        district_rows.append(_facility("", f"{company} Innovation Hub (Shanghai)", "foreign_rd_center", fld,
                                       _weighted(rng, DISTRICT_WEIGHTS), company, "in_operation", None, op,
                                       _money(rng, 2000, 30000)))
    for _ in range(n_of(612, scale)):
        d = rng.choice(DISTRICTS)
        op = _date(rng, rng.choice(YEARS), dt.date(2019, 4, 30))
        district_rows.append(_facility("", f"{rng.choice(INCUBATOR_BRANDS)} {codes.entries('district')[d]['en']} "
                                           f"{rng.randint(1, 40)}", "incubator", rng.choice(FIELDS), d,
                                       None, "in_operation", None, op, _money(rng, 50, 3000) if rng.random() < 0.7 else None))
        district_rows[-1]["_year"] = 2019
    for _ in range(n_of(60, scale)):
        fld = rng.choice(FIELDS)
        y = rng.choice(YEARS)
        cs = _date(rng, y)
        district_rows.append(_facility("", f"{codes.entries('field')[fld]['en']} Engineering Laboratory {rng.randint(1, 99)}",
                                       "laboratory", fld, _weighted(rng, DISTRICT_WEIGHTS), rng.choice(HOSTS),
                                       rng.choice(["planned", "under_construction"]), cs, None, _money(rng, 100, 5000)))
        district_rows[-1]["_year"] = y
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    quarterly = {(d, y) for d in DISTRICTS for y in YEARS if rng.random() < 0.3}
    for r in district_rows:
        when = r["operation_start_date"] or r["construction_start_date"]
        y = r.pop("_year", when.year)
        q = _quarter(when) if when.year == y else rng.randint(1, 4)
        period = f"{y}Q{q}" if (r["district"], y) in quarterly else str(y)
        r["facility_code"] = f"F{r['district']}{y}{next(counter):05d}"
        groups[(r["district"], period)].append(r)
    # Period consistency warnings (Manifest.findings), added to an existing file with their own random
    # draws so that every other row and file stays as it was: a laboratory in operation only after the
    # period that reports it, and one built in 1996, far before the programme.
    prng = random.Random(f"{seed}:facilities:planted")
    d, period = min(groups)
    y = int(period[:4])
    for cs, op in ((dt.date(y, 1, 15), _period_end(period) + dt.timedelta(days=60)),
                   (dt.date(1996, 5, 1), dt.date(1998, 10, 1))):
        fld = prng.choice(FIELDS)
        groups[(d, period)].append(_facility(
            f"F{d}{y}{next(counter):05d}", f"{codes.entries('field')[fld]['en']} Engineering Laboratory "
            f"{prng.randint(1, 99)}", "laboratory", fld, d, prng.choice(HOSTS), "in_operation", cs, op,
            _money(prng, 100, 5000)))
    start = len(specs)
    for (d, period), rows in sorted(groups.items()):
        spec(d, period, f"facilities_{d}_{period}", rows)
    _rotate(specs[start:], ["plain", "gb18030_wan", "bom_zh", "xlsx_title", "unit_column", "json", "xlsx_sheets"])

    # The rejected file: a district sends facilities without the required field column.
    taken = {s.period for s in specs if s.submitter == "CM"}
    period = next(p for p in ("2016Q2", "2016Q3", "2015Q2", "2015Q3", "2017Q2") if p not in taken)
    bad_rows = []
    for _ in range(max(3, n_of(12, scale))):
        d_op = _date(rng, int(period[:4]))
        bad_rows.append({**_facility(f"FCM{period[:4]}{next(counter):05d}", f"Chongming Eco-Island Incubator {rng.randint(1, 9)}",
                                     "incubator", "other", "CM", None, "in_operation", None, d_op, _money(rng, 50, 500)),
                         "_submitter": "CM", "_period": period})
    specs.append(FileSpec("CM", "facilities", period, f"facilities_CM_{period}", "plain", bad_rows,
                          status="rejected", drop_column="field",
                          note="required column 'field' missing: the whole file is rejected"))

    # YRDN: large instruments on the Yangtze River Delta sharing network, a few big files.
    n_shared = n_of(45_120, scale)
    periods = ["2014", "2015", "2016", "2017", "2018", "2019Q1", "2019Q2"]
    per_period = _spread(n_shared, [6, 9, 12, 16, 22, 18, 17])
    instruments: list[dict] = []
    weights: list[float] = []
    for period, k in zip(periods, per_period, strict=True):
        y = int(period[:4])
        for j in range(k + round(k * 0.02)):  # about 2% not shared: not in the network's figure
            name, fld, typical = rng.choice(INSTRUMENTS)
            shared = j < k
            op = _date(rng, rng.randint(2005, y), _period_end(period))
            value = Decimal(round(typical * rng.lognormvariate(0, 0.5) / 100) * 100 + 100)
            row = _facility(f"LI{next(counter):07d}", name, "large_instrument", fld, _weighted(rng, DISTRICT_WEIGHTS),
                            rng.choice(HOSTS), "in_operation", None, op, None, value=value, shared=shared,
                            hours=Decimal(rng.randint(2000, 30000)) / 10 if shared else None,
                            users=rng.randint(0, 300) if shared else None)
            row["_submitter"], row["_period"] = "YRDN", period
            instruments.append(row)
            if shared:
                weights.append(float(value))
    shared_rows = [r for r in instruments if r["is_shared"]]
    for r, v in zip(shared_rows, split_total(target("large_instruments_value", scale), weights), strict=True):
        r["original_value_yuan"] = v
    for i, period in enumerate(periods):
        rows = [r for r in instruments if r["_period"] == period]
        style = ["plain", "gb18030_wan", "plain", "unit_column", "bom_zh", "xlsx_sheets", "plain"][i]
        spec("YRDN", period, f"instruments_YRDN_{period}", rows, style)
    return specs


# -------------------------------------------------------------------------------- platform assessments

PASS_MARK = 60  # dbt var platform_pass_mark
ITEMS = (("common_tech_services", (50, 400)), ("commercialisation", (5, 60)), ("startups_incubated", (2, 30)),
         ("talent_trained", (20, 300)), ("cooperation", (5, 80)))
# Platform numbers (1-based, FP2018-NN) that break a rule on purpose; every other platform year obeys them all.
# Start years (platform_start): NN % 3 == 0 -> 2016, 1 -> 2017, 2 -> 2018; the initial contract is three
# years unless contract_years says otherwise, so only 2016 platforms are past it in 2019 (their year 4).
PLANTED = {
    "district_below": {3, 8, 14},  # 2019: district operating money below the city's
    "rising": {6, 12},  # 2016 starts: 2019 fiscal operating money and its share rise (year 4)
    "rising_in_contract": {9, 5},  # rise too, but 9 has a five-year contract and 5 started in 2018: no warning
    "missed_targets": {4, 10},  # 2018: one item below target, yet 2019 money not lower (Item Twelve)
    "low_score": {13},  # 2018: score under the pass mark, yet 2019 money not lower (Item Twelve)
    "cut_no_reason": {2, 7},  # 2018 well assessed, 2019 money cut with no reason recorded (informational)
}
DIMINISHING_REASON = "按合同递减 diminishing as contracted (Item Ten)"


def _assessment(rng: random.Random, achieved: float | None) -> dict:
    """Targets and actuals of the five items; `achieved` None = every target met, else each actual is
    that fraction of its target (the first item only when achieved > 0.7)."""
    row, met = {}, Decimal(0)
    for j, (item, (lo, hi)) in enumerate(ITEMS):
        t = rng.randint(lo, hi)
        if achieved is None:
            a = t + rng.randint(0, max(1, t // 4))
        elif achieved > 0.7 and j > 0:
            a = t + rng.randint(0, max(1, t // 4))
        else:
            a = int(t * achieved)
        row[f"{item}_target"], row[f"{item}_actual"] = t, a
        met += min(Decimal(a) / t, Decimal(1))
    row["score"] = (met * 17 + Decimal(rng.randint(0, 150)) / 10).quantize(Decimal("0.1"))
    return row


def build_platform_assessments(seed: int, scale: float, share: float) -> tuple[list[FileSpec], dict]:
    """SHFB's yearly assessment of each started functional platform, 2018 and 2019, with its operating
    money (city, district, market) and construction money. The platforms of PLANTED break the guideline's
    rules on purpose; `findings` lists them by finding code, as rpt_platform_funding_findings ids."""
    rng = random.Random(f"{seed}:platform_assessments")
    n = target("functional_platforms_started_2019", scale)
    findings: dict[str, list[str]] = defaultdict(list)
    by_year: dict[int, list[dict]] = {2018: [], 2019: []}
    for nn in range(1, n + 1):
        code = f"FP2018-{nn:02d}"
        start = platform_start(nn)
        muni = rng.randint(1500, 5000)  # 万元, operating money
        dist = muni + rng.randint(0, muni * 2 // 5)
        market = rng.randint(300, 3000)
        achieved = 0.8 if nn in PLANTED["missed_targets"] else 0.4 if nn in PLANTED["low_score"] else None
        rows = {}
        for year in (2018, 2019):
            row = {"platform_code": code, "assessment_year": year, **_assessment(rng, achieved if year == 2018 else None)}
            reason = None
            if year == 2019:
                if nn in PLANTED["rising"] or nn in PLANTED["rising_in_contract"]:
                    muni, market = muni * 6 // 5, market * 4 // 5
                    dist = max(muni, dist * 11 // 10)  # the new city amount: the match rule still holds
                elif nn in PLANTED["missed_targets"] or nn in PLANTED["low_score"]:
                    market = market * 11 // 10
                else:
                    muni, market = muni * rng.randint(75, 95) // 100, market * rng.randint(12, 18) // 10
                    dist = max(muni, dist * rng.randint(75, 95) // 100)
                    reason = None if nn in PLANTED["cut_no_reason"] else DIMINISHING_REASON
                if nn in PLANTED["district_below"]:
                    dist = muni * rng.randint(50, 90) // 100
            row["municipal_fund_yuan"] = Decimal(muni * 10_000)
            row["district_match_yuan"] = Decimal(dist * 10_000)
            row["market_revenue_yuan"] = Decimal(market * 10_000)
            # Construction money (outside the match): the city pays while a platform is being built.
            row["construction_fund_yuan"] = Decimal(rng.randint(3000, 9000) * 10_000) if start.year + 1 >= year else None
            row["contract_years"] = 5 if nn == 9 else None
            row["funding_change_reason"] = reason
            row["_submitter"], row["_period"] = "SHFB", str(year)
            by_year[year].append(row)
            rows[year] = row
        if nn in PLANTED["district_below"]:
            findings["district_operating_match_below_city"].append(f"{code}|2019")
        if nn in PLANTED["rising"]:
            findings["fiscal_operating_rising"].append(f"{code}|2019")
            findings["fiscal_share_rising"].append(f"{code}|2019")
        if nn in PLANTED["missed_targets"] or nn in PLANTED["low_score"]:
            findings["assessment_missed_funding_not_reduced"].append(f"{code}|2018")
        if nn in PLANTED["cut_no_reason"]:
            findings["well_assessed_funding_cut"].append(f"{code}|2018")
    extra = iter(range(n + 1, 10**6))
    specs = [FileSpec("SHFB", "platform_assessments", str(y), f"platform_assessments_SHFB_{y}", style,
                      _with_invalid(rng, rows, "platform_assessments", share, lambda r: f"FP2018-{next(extra):02d}"))
             for (y, rows), style in zip(sorted(by_year.items()), ["xlsx_title", "gb18030_wan"], strict=True)]
    return specs, {k: sorted(v) for k, v in sorted(findings.items())}


# ------------------------------------------------------------------------------------- IP transactions

SYLLABLES = ["Hua", "Xin", "Zhong", "Tian", "Rui", "Kang", "Bo", "Yuan", "Feng", "Ling", "Chuang", "Da", "Jia", "Heng"]
REGION_CITY = {"jiangsu": ["Suzhou", "Wuxi", "Nanjing", "Changzhou", "Nantong"], "zhejiang": ["Hangzhou", "Ningbo", "Jiaxing", "Huzhou"],
               "anhui": ["Hefei", "Wuhu", "Ma'anshan"], "other_province": ["Shenzhen", "Chengdu", "Wuhan", "Xi'an"],
               "overseas": ["Singapore", "Munich", "Boston"]}
IP_TYPES = {"invention_patent": 50, "utility_model": 15, "software_copyright": 12, "design_patent": 5,
            "ic_layout_design": 5, "technical_know_how": 8, "trademark": 5}


def _company(rng: random.Random, city: str = "Shanghai") -> str:
    return f"{city} {rng.choice(SYLLABLES)}{rng.choice(SYLLABLES).lower()} {rng.choice(['Technology', 'Biotech', 'Microelectronics', 'Intelligent Systems', 'New Materials'])} Co., Ltd."


def _seller(rng: random.Random) -> tuple[str, str]:
    t = rng.choices(["university", "research_institute", "enterprise", "hospital"], weights=[35, 20, 40, 5])[0]
    return (rng.choice(INSTITUTIONS[t]) if t != "enterprise" or rng.random() < 0.3 else _company(rng)), t


AWARD_RULE_SELLERS = ("university", "research_institute")
AWARD_RULE_TYPES = ("transfer", "license")


def _award(rng: random.Random, seller_type: str, transaction_type: str) -> Decimal | None:
    """The share of net revenue awarded to the inventors. The 2017 Rules set a floor of 70 % for transfers
    and licences by universities and research institutes: about 2 % of those fall below it (findings,
    Manifest.findings); other sellers and transaction types are outside the rule."""
    if seller_type == "enterprise":
        return None
    if seller_type in AWARD_RULE_SELLERS and transaction_type in AWARD_RULE_TYPES:
        if rng.random() < 0.02:
            return Decimal(rng.randint(50, 69)) / 100
        return Decimal(rng.randint(70, 95)) / 100
    return Decimal(rng.randint(30, 90)) / 100


def build_ip_transactions(seed: int, scale: float, share: float) -> list[FileSpec]:
    rng = random.Random(f"{seed}:ip_transactions")
    specs: list[FileSpec] = []

    # SIPTC listings: quarterly files from 2016 on; a row carries the deal closed by the period's end.
    listings = {2014: 900, 2015: 1300, 2016: 1800, 2017: 2500, 2018: 3200, 2019: 1700}
    siptc: list[dict] = []
    for year, base in listings.items():
        k = target("siptc_listings_2018", scale) if year == 2018 else n_of(base, scale)
        last = dt.date(2019, 6, 30) if year == 2019 else None
        for i in range(k):
            listing = _date(rng, year, last)
            period = str(year) if year < 2016 else f"{year}Q{_quarter(listing)}"
            seller, stype = _seller(rng)
            region = rng.choices(["PD", "XH", "MH", "JD", "YP", "SJ", "jiangsu", "zhejiang", "anhui", "other_province",
                                  "overseas"], weights=[14, 8, 8, 6, 6, 5, 12, 10, 5, 20, 6])[0]
            dealt = rng.random() < 0.4 or (year == 2018 and i == 0)
            deal_date = min(listing + dt.timedelta(days=rng.randint(0, 120)), _period_end(period)) if dealt else None
            ttype = rng.choices(["transfer", "license", "pledge", "equity_contribution"], weights=[45, 35, 10, 10])[0]
            weight = rng.lognormvariate(0, 1.0)
            siptc.append({
                "transaction_code": f"SIPTC{year}{i + 1:06d}", "listing_date": listing, "deal_date": deal_date,
                "ip_type": _weighted(rng, IP_TYPES), "transaction_type": ttype, "field": rng.choice(FIELDS),
                "seller": seller, "seller_type": stype, "seller_district": _weighted(rng, DISTRICT_WEIGHTS),
                "buyer": _company(rng, rng.choice(REGION_CITY.get(region, ["Shanghai"]))) if dealt else None,
                "buyer_region": region if dealt else None,
                "listed_price_yuan": Decimal(round(170_000 * weight * rng.uniform(0.9, 1.4) / 100) * 100 + 1000),
                "deal_amount_yuan": Decimal(round(170_000 * weight / 100) * 100 + 100) if dealt else None,
                "net_revenue_yuan": None, "inventor_award_share": None,
                "_weight": weight, "_submitter": "SIPTC", "_period": period,
            })
    deals_2018 = [r for r in siptc if r["deal_date"] and r["deal_date"].year == 2018]
    for r, v in zip(deals_2018, split_total(target("siptc_deal_value_2018", scale), [r["_weight"] for r in deals_2018]),
                    strict=True):
        r["deal_amount_yuan"] = v
        r["listed_price_yuan"] = Decimal(round(int(v) * rng.uniform(1.0, 1.4) / 100) * 100)
    for r in siptc:
        del r["_weight"]
        if r["deal_amount_yuan"] is not None and r["transaction_type"] in ("transfer", "license"):
            r["net_revenue_yuan"] = Decimal(round(int(r["deal_amount_yuan"]) * rng.uniform(0.6, 0.95) / 100) * 100)
            r["inventor_award_share"] = _award(rng, r["seller_type"], r["transaction_type"])
    judged = [r for r in siptc if r["inventor_award_share"] is not None and r["seller_type"] in AWARD_RULE_SELLERS]
    if judged and all(r["inventor_award_share"] >= Decimal("0.7") for r in judged):
        judged[0]["inventor_award_share"] = Decimal("0.6")  # at least one finding however small the sample

    # SHIPA technology-export contracts: to the Yangtze River Delta (the figure) and elsewhere.
    n_exp = target("tech_exports_yrd_count", scale)
    shipa: list[dict] = []
    counter = iter(range(1, 10**7))

    def export(year: int, region: str, last: dt.date | None = None) -> dict:
        listing = _date(rng, year, last)
        deal = min(listing + dt.timedelta(days=rng.randint(0, 60)), last or dt.date(year, 12, 31))
        seller, stype = _seller(rng)
        amount = Decimal(round(5_200_000 * rng.lognormvariate(0, 0.8) / 100) * 100 + 100)
        net = Decimal(round(int(amount) * rng.uniform(0.5, 0.9) / 100) * 100)
        return {"transaction_code": f"TE{year}{next(counter):06d}", "listing_date": listing, "deal_date": deal,
                "ip_type": rng.choice(["invention_patent", "technical_know_how", "software_copyright", "ic_layout_design"]),
                "transaction_type": "technology_export", "field": rng.choice(FIELDS), "seller": seller, "seller_type": stype,
                "seller_district": _weighted(rng, DISTRICT_WEIGHTS), "buyer": _company(rng, rng.choice(REGION_CITY[region])),
                "buyer_region": region, "listed_price_yuan": None, "deal_amount_yuan": amount, "net_revenue_yuan": net,
                "inventor_award_share": _award(rng, stype, "technology_export") if rng.random() < 0.5 else None,
                "_submitter": "SHIPA", "_period": str(year) if last is None else f"{year}Q1"}

    yrd = {"jiangsu": 45, "zhejiang": 35, "anhui": 20}
    for year, k in zip(range(2014, 2019), _spread(n_exp, [380, 480, 600, 780, 1072]), strict=True):
        shipa += [export(year, _weighted(rng, yrd)) for _ in range(k)]
        shipa += [export(year, rng.choice(["other_province", "overseas"])) for _ in range(max(1, round(k * 0.15)))]
    yrd_rows = [r for r in shipa if r["buyer_region"] in yrd]
    for r, v in zip(yrd_rows, split_total(target("tech_exports_yrd_value", scale),
                                          [float(r["deal_amount_yuan"]) for r in yrd_rows]), strict=True):
        r["deal_amount_yuan"] = v
        r["net_revenue_yuan"] = Decimal(round(int(v) * rng.uniform(0.5, 0.9) / 100) * 100)
    shipa += [export(2019, _weighted(rng, yrd), dt.date(2019, 3, 31)) for _ in range(n_of(300, scale))]

    def new_key(row: dict) -> str:
        return f"{row['transaction_code'][:-6]}{900000 + next(counter) % 100000:06d}"

    for sub, rows, styles in (("SIPTC", siptc, ["json", "plain", "gb18030_wan", "xlsx_title", "bom_zh", "unit_column",
                                                   "xlsx_sheets"]),
                              ("SHIPA", shipa, ["plain", "json", "bom_zh", "xlsx_sheets", "gb18030_wan", "unit_column"])):
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in rows:
            groups[r["_period"]].append(r)
        stem = "listings" if sub == "SIPTC" else "tech_exports"
        part = [FileSpec(sub, "ip_transactions", p, f"{stem}_{sub}_{p}", "plain",
                         _with_invalid(rng, g, "ip_transactions", share, new_key)) for p, g in sorted(groups.items())]
        _rotate(part, styles)
        specs += part
    return specs


# -------------------------------------------------------------------------------------------- assembly

@cache
def build(scale: float = 1.0, seed: int = 42, invalid_share: float = INVALID_SHARE) -> tuple[tuple[FileSpec, ...], dict]:
    """Every file of a run (in path order) and the platform findings. Cached: do not mutate the result."""
    pa, findings = build_platform_assessments(seed, scale, invalid_share)
    specs = (build_projects(seed, scale, invalid_share) + build_facilities(seed, scale, invalid_share) + pa
             + build_ip_transactions(seed, scale, invalid_share))
    paths = [s.rel_path for s in specs]
    assert len(paths) == len(set(paths)), "two files at one path"
    return tuple(sorted(specs, key=lambda s: s.rel_path)), findings


def rows_for(kind: str, scale: float = 1.0, seed: int = 42, invalid_share: float = INVALID_SHARE) -> list[dict]:
    """The rows a correct load publishes for a kind (with `_submitter` and `_period`), in file order."""
    specs, _ = build(scale, seed, invalid_share)
    return [r for s in specs if s.kind == kind and s.status == "published" for r in s.rows if not r.get("_broken")]


CONTROL_DEFINITIONS = {
    "siptc_listings_2018": "ip_transactions, submitter SIPTC, listing_date in 2018: count",
    "siptc_deal_value_2018": "ip_transactions, submitter SIPTC, deal_date in 2018: sum(deal_amount_yuan)",
    "tech_exports_yrd_count": "ip_transactions, transaction_type technology_export, buyer_region in (jiangsu, zhejiang, anhui), "
                              "deal_date <= 2018-12-31 (all from SHIPA): count",
    "tech_exports_yrd_value": "same rows as tech_exports_yrd_count: sum(deal_amount_yuan)",
    "national_major_infrastructure": "facilities, facility_type national_major_infrastructure, status in "
                                     "(under_construction, in_operation) (from SHDRC): count",
    "national_major_projects": "projects, level national_major: count",
    "foreign_rd_centers_2018": "facilities, facility_type foreign_rd_center, operation_start_date <= 2018-12-31: count",
    "incubators_2019": "facilities, facility_type incubator (all in 2019 periods): count",
    "large_instruments_units": "facilities, submitter YRDN, facility_type large_instrument, is_shared true: count",
    "large_instruments_value": "same rows as large_instruments_units: sum(original_value_yuan)",
    "functional_platforms_2018": "facilities, submitter STCSM, period 2018, facility_type functional_platform: count",
    "zhangjiang_first_round_started": "projects, programme zhangjiang_science_city: count",
    "zhangjiang_first_round_completed": "projects, programme zhangjiang_science_city, status completed: count",
    "functional_platforms_started_2019": "facilities, facility_type functional_platform, construction_start_date "
                                         "<= 2019-12-31: count",
    "municipal_major_st_projects": "projects, level municipal_major, programme municipal_major_st (from STCSM): count",
    "municipal_major_st_local_money": "same rows: sum(funding_municipal_yuan + funding_district_yuan)",
    "national_major_science_2014_2018": "projects, level national_major, programme national_major_science, "
                                        "start_date in 2014-01-01..2018-12-31: count",
}


FIGURE_CODES = {  # generator name -> figure_code of the seed control_figures (rpt_control_totals)
    "siptc_listings_2018": "ip_centre_listings_2018",
    "siptc_deal_value_2018": "ip_centre_transaction_value_2018",
    "tech_exports_yrd_count": "tech_exports_yrd_count_2018",
    "tech_exports_yrd_value": "tech_exports_yrd_turnover_2018",
    "national_major_infrastructure": "national_major_infrastructure_2019",
    "national_major_projects": "national_major_projects_2019",
    "foreign_rd_centers_2018": "foreign_rd_centres_2018",
    "incubators_2019": "incubators_2019",
    "large_instruments_units": "shared_instruments_count_2019",
    "large_instruments_value": "shared_instruments_value_2019",
    "functional_platforms_2018": "functional_platforms_2018",
    "zhangjiang_first_round_started": "zhangjiang_first_round_started_2019",
    "zhangjiang_first_round_completed": "zhangjiang_first_round_completed_2019",
    "functional_platforms_started_2019": "functional_platforms_started_2019",
    "municipal_major_st_projects": "municipal_major_st_projects_2019",
    "municipal_major_st_local_money": "municipal_major_st_local_money_2019",
    "national_major_science_2014_2018": "national_major_science_projects_2014_2018",
}


def control_figures(scale: float = 1.0, seed: int = 42, invalid_share: float = INVALID_SHARE) -> dict[str, Decimal | int]:
    """The control figures computed from the published rows, by the definitions of the module docstring."""
    ip = rows_for("ip_transactions", scale, seed, invalid_share)
    fac = rows_for("facilities", scale, seed, invalid_share)
    proj = rows_for("projects", scale, seed, invalid_share)
    y2018 = (dt.date(2018, 1, 1), dt.date(2018, 12, 31))
    siptc_l = [r for r in ip if r["_submitter"] == "SIPTC" and y2018[0] <= r["listing_date"] <= y2018[1]]
    siptc_d = [r for r in ip if r["_submitter"] == "SIPTC" and r["deal_date"] and y2018[0] <= r["deal_date"] <= y2018[1]]
    exports = [r for r in ip if r["transaction_type"] == "technology_export" and r["buyer_region"] in ("jiangsu", "zhejiang", "anhui")
               and r["deal_date"] and r["deal_date"] <= y2018[1]]
    instruments = [r for r in fac if r["_submitter"] == "YRDN" and r["facility_type"] == "large_instrument" and r["is_shared"]]
    zj = [r for r in proj if r["programme"] == "zhangjiang_science_city"]
    major = [r for r in proj if r["level"] == "municipal_major" and r["programme"] == "municipal_major_st"]
    return {
        "siptc_listings_2018": len(siptc_l),
        "siptc_deal_value_2018": sum((r["deal_amount_yuan"] for r in siptc_d), Decimal(0)),
        "tech_exports_yrd_count": len(exports),
        "tech_exports_yrd_value": sum((r["deal_amount_yuan"] for r in exports), Decimal(0)),
        "national_major_infrastructure": sum(1 for r in fac if r["facility_type"] == "national_major_infrastructure"
                                             and r["status"] in ("under_construction", "in_operation")),
        "national_major_projects": sum(1 for r in proj if r["level"] == "national_major"),
        "foreign_rd_centers_2018": sum(1 for r in fac if r["facility_type"] == "foreign_rd_center"
                                       and r["operation_start_date"] <= y2018[1]),
        "incubators_2019": sum(1 for r in fac if r["facility_type"] == "incubator"),
        "large_instruments_units": len(instruments),
        "large_instruments_value": sum((r["original_value_yuan"] for r in instruments), Decimal(0)),
        "functional_platforms_2018": sum(1 for r in fac if r["_submitter"] == "STCSM" and r["_period"] == "2018"
                                         and r["facility_type"] == "functional_platform"),
        "zhangjiang_first_round_started": len(zj),
        "zhangjiang_first_round_completed": sum(1 for r in zj if r["status"] == "completed"),
        "functional_platforms_started_2019": sum(1 for r in fac if r["facility_type"] == "functional_platform"
                                                 and r["construction_start_date"]
                                                 and r["construction_start_date"] <= dt.date(2019, 12, 31)),
        "municipal_major_st_projects": len(major),
        "municipal_major_st_local_money": sum(((r["funding_municipal_yuan"] or 0) + (r["funding_district_yuan"] or 0)
                                               for r in major), Decimal(0)),
        "national_major_science_2014_2018": sum(1 for r in proj if r["level"] == "national_major"
                                                and r["programme"] == "national_major_science"
                                                and dt.date(2014, 1, 1) <= r["start_date"] <= y2018[1]),
    }


PERIOD_FLOOR = dt.date(2000, 1, 1)  # dbt var period_start_floor: a start date before it is "far before the programme"


def period_findings(scale: float = 1.0, seed: int = 42, invalid_share: float = INVALID_SHARE) -> dict[str, list[str]]:
    """Reporting-period warnings the published rows carry (rpt_period_consistency ids kind|code|check)."""
    out: dict[str, list[str]] = defaultdict(list)
    for r in rows_for("projects", scale, seed, invalid_share):
        if r["status"] == "completed" and r["end_date"] and r["end_date"] > _period_end(r["_period"]):
            out["completed_end_after_period"].append(f"projects|{r['project_code']}")
        if r["start_date"] < PERIOD_FLOOR:
            out["start_before_floor"].append(f"projects|{r['project_code']}")
    for r in rows_for("facilities", scale, seed, invalid_share):
        if (r["status"] == "in_operation" and r["operation_start_date"]
                and r["operation_start_date"] > _period_end(r["_period"])):
            out["operation_start_after_period"].append(f"facilities|{r['facility_code']}")
        first = r["construction_start_date"] or r["operation_start_date"]
        if first and first < PERIOD_FLOOR:
            out["start_before_floor"].append(f"facilities|{r['facility_code']}")
    return {k: sorted(f"{v}|{k}" for v in vals) for k, vals in sorted(out.items())}


def award_findings(scale: float = 1.0, seed: int = 42, invalid_share: float = INVALID_SHARE) -> list[str]:
    """Transaction codes whose inventors' award share is below the 70 % floor (rpt_award_share_findings)."""
    return sorted(r["transaction_code"] for r in rows_for("ip_transactions", scale, seed, invalid_share)
                  if r["transaction_type"] in AWARD_RULE_TYPES and r["seller_type"] in AWARD_RULE_SELLERS
                  and r["inventor_award_share"] is not None and r["inventor_award_share"] < Decimal("0.7"))


def intended_findings(scale: float = 1.0, seed: int = 42, invalid_share: float = INVALID_SHARE) -> dict[str, list[str]]:
    """Every finding the marts must report for this sample, by finding code: the platform rules
    (platform_code|year, rpt_platform_funding_findings), the award-share floor (transaction codes,
    rpt_award_share_findings) and the reporting-period checks (kind|code|check, rpt_period_consistency)."""
    _, platform = build(scale, seed, invalid_share)
    return {**platform, "award_share_below_0_7": award_findings(scale, seed, invalid_share),
            **period_findings(scale, seed, invalid_share)}


def generate(out_dir: Path, scale: float = 1.0, seed: int = 42, invalid_share: float = INVALID_SHARE) -> Manifest:
    """Write every kind's files to out_dir/<SUBMITTER>/<kind>/<period>/<file>; return the manifest
    (also written to generated-manifest.json beside out_dir)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    specs, _ = build(scale, seed, invalid_share)
    manifest = Manifest(str(out_dir), seed, scale)
    for spec in specs:
        path = write_file(out_dir, spec, seed)
        manifest.add(spec, path)
        if spec.status == "rejected":
            manifest.rejected_files.append({"path": spec.rel_path, "rule": "missing_columns", "reason": spec.note})
        if spec.status == "superseded":
            manifest.corrections.append({
                "key": f"{spec.submitter}/{spec.kind}/{spec.period}", "superseded": spec.rel_path,
                "by": next(s.rel_path for s in specs if s.stem == f"{spec.stem}_v2" and s.kind == spec.kind),
            })
    figures = control_figures(scale, seed, invalid_share)
    manifest.control_figures = {
        name: {"value": str(v) if isinstance(v, Decimal) else v, "target_at_scale_1": TARGETS[name],
               "definition": CONTROL_DEFINITIONS[name], "figure_code": FIGURE_CODES[name]}
        for name, v in figures.items()
    }
    manifest.findings = intended_findings(scale, seed, invalid_share)
    (out_dir.parent / "generated-manifest.json").write_text(json.dumps(manifest.as_dict(), indent=2, ensure_ascii=False),
                                                            encoding="utf-8")
    return manifest
