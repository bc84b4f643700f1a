"""Writing a file spec in its style: CSV (UTF-8, BOM, GB18030), XLSX with fixed timestamps, JSON."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import re
import zipfile
from decimal import Decimal
from pathlib import Path

from stic.contract import codes
from stic.contract.kinds import BOOLEAN, INTEGER, KINDS, MONEY, NUMBER, SHARE, Column, Kind

from .common import DISTRICTS, FIXED_ZIP_TIME, STYLES, UNIT_DIVISOR, UNIT_LABEL, FileSpec

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
