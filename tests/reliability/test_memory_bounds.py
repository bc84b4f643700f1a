"""Hostile files cannot take the loader's memory: each is read in a subprocess whose peak RSS stays under 300 MB.

Each case is generated at test time (fast streaming writes) and read by a child process — `check_file` (the
parsing and row rules of a load, no database) or, where rows are quarantined, `register` + `pipeline.load_step`
against a database of its own. The child's own peak RSS comes from `os.wait4` (the kernel's ru_maxrss of
that child alone). Each case must also end clearly: rejected with the rule named, or loaded with its bad rows
in audit.rejected_rows holding a truncated, small row_data. Prints `memory bounds: N/M under 300 MB` and the
peak of each case (docs/reliability.md lists the caps and the measurements before the caps existed).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import psycopg
import pytest

from .harness import ROOT, create_database, drop_database

LIMIT_MB = 300
MiB = 1024 * 1024
PROJECT_HEADER = ["项目编号", "项目名称", "级别", "领域", "牵头单位", "区", "立项日期", "状态"]
GOOD_ROW = ["N-01", "正常项目", "市级", "能源", "上海电力大学", "浦东", "2018-01-01", "在研"]

CHECK = """
import json, sys
from stic.load import check_file
o = check_file(sys.argv[1], "projects")
print(json.dumps({"rule": o.rejected_rule, "rejected": o.rejected, "loaded": o.rows_loaded,
                  "quarantined": o.rows_quarantined}, ensure_ascii=False))
"""

LOAD = """
import json, sys
from pathlib import Path
from stic import ledger
from stic.warehouse import db
from stic.pipeline import load_step
with db.connect(autocommit=True) as conn:
    reg = ledger.register(conn, Path(sys.argv[1]), submitter="PD", kind="projects", period="2018")
    o = load_step(conn, reg.submission_id)
    status = conn.execute("select status from audit.submissions where submission_id = %s",
                          (reg.submission_id,)).fetchone()[0]
print(json.dumps({"submission_id": reg.submission_id, "status": status, "rule": o.rejected_rule,
                  "rejected": o.rejected, "loaded": o.rows_loaded, "quarantined": o.rows_quarantined},
                 ensure_ascii=False))
"""


PEAK = """
import re as _re
print("PEAK_KB", _re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read())[1])
"""


def say(capsys, *args) -> None:
    with capsys.disabled():
        print(*args, flush=True)


def run_child(code: str, path: Path, env: dict[str, str], timeout: float = 600) -> tuple[dict, float, str]:
    """(the child's JSON line, its peak RSS in MB, its output) — the peak of this child alone (its VmHWM)."""
    out_path = path.with_name(path.name + ".out")

    def limits() -> None:
        # Without the caps a case takes several GB: fail with MemoryError rather than swap the machine.
        resource.setrlimit(resource.RLIMIT_AS, (4096 * MiB, 4096 * MiB))

    with out_path.open("w+") as out:
        p = subprocess.Popen([sys.executable, "-c", code + PEAK, str(path)], cwd=ROOT, env=env, stdout=out,
                             stderr=subprocess.STDOUT, preexec_fn=limits)
        timer = threading.Timer(timeout, p.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    lines = [line for line in text.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if p.returncode == 0 and lines else {"exit": p.returncode}
    # The child's own high-water mark since its exec (VmHWM): ru_maxrss also counts the forked copy of this
    # test process before the exec, ~500 MB late in a full suite. A child that died early reports none.
    peaks = [int(line.split()[1]) for line in text.splitlines() if line.startswith("PEAK_KB ")]
    return result, (peaks[-1] if peaks else usage.ru_maxrss) / 1024, text[-2000:]


# ------------------------------------------------------------------------------------------ the files


def write_json_of_empty_objects(path: Path, size: int = 199 * MiB) -> None:
    """`[{},{},…]` of `size` bytes (under the 200 MB JSON cap): 69 million records holding nothing."""
    block = b"{}," * (MiB // 3)
    with path.open("wb") as f:
        f.write(b"[")
        written = 1
        while written + len(block) < size - 3:
            f.write(block)
            written += len(block)
        f.write(b"{}," * ((size - 3 - written) // 3) + b"{}]")


def write_xlsx_with_giant_cell(path: Path, cell: int = 1400 * MiB) -> None:
    """A valid workbook whose one shared string is `cell` bytes, under the zip bomb limits.

    The string compresses ~230:1; a member of random bytes brings the whole package under MAX_XLSX_RATIO
    (200:1) and its expanded size stays under MAX_XLSX_UNCOMPRESSED (1,500 MB), so only the cell cap stops it.
    """
    from stic.intake.readers import MAX_XLSX_RATIO, MAX_XLSX_UNCOMPRESSED

    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    cells = "".join(f'<c r="{chr(65 + j)}1" t="inlineStr"><is><t>{h}</t></is></c>' for j, h in enumerate(PROJECT_HEADER))
    row2 = "".join(f'<c r="{chr(65 + j)}2" t="inlineStr"><is><t>{v}</t></is></c>' for j, v in enumerate(GOOD_ROW[1:], 1))
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
        'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        f'package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>",
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook {ns} xmlns:r="{rel}"><sheets>'
        '<sheet name="项目" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        f'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" '
        f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{rel}/sharedStrings" '
        'Target="sharedStrings.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}><sheetData>'
        f'<row r="1">{cells}</row><row r="2"><c r="A2" t="s"><v>0</v></c>{row2}</row></sheetData></worksheet>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, text in parts.items():
            z.writestr(name, text)
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as w:
            w.write(f'<?xml version="1.0" encoding="UTF-8"?><sst {ns} count="1" uniqueCount="1"><si><t>'.encode())
            block = b"A" * MiB
            for _ in range(cell // MiB):
                w.write(block)
            w.write(b"</t></si></sst>")
        infos = z.infolist()
        total = sum(i.file_size for i in infos)
        packed = sum(i.compress_size for i in infos)
        pad = max(0, int(total / (MAX_XLSX_RATIO * 0.95)) - packed)
        z.writestr(zipfile.ZipInfo("xl/media/image1.png"), b"\x89PNG" + os.urandom(pad))  # stored, incompressible
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
    total, packed = sum(i.file_size for i in infos), sum(i.compress_size for i in infos)
    assert total <= MAX_XLSX_UNCOMPRESSED and total / packed <= MAX_XLSX_RATIO, (total, packed)


def _names(n: int) -> list[str]:
    """n distinct header names of 5 characters that name no column of any kind (and differ in more than case)."""
    first, rest = "qvxzjk", "0123456789qvxzjk"
    return [first[i // 16**4] + "".join(rest[i // 16**k % 16] for k in (3, 2, 1, 0)) for i in range(n)]


def write_wide_csv(path: Path, columns: int, bad_rows: int, value: str) -> None:
    """The project columns, then `columns` more; `bad_rows` rows with an unreadable start date, one good row."""
    extra = columns - len(PROJECT_HEADER)
    filler = ("," + value) * extra
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(",".join(PROJECT_HEADER + _names(extra)) + "\n")
        f.write(",".join(GOOD_ROW) + filler + "\n")
        for i in range(bad_rows):
            f.write(f"B-{i:04d},坏项目,市级,能源,复旦大学,浦东,not-a-date,在研{filler}\n")


def write_utf16_giant_line(path: Path, chars: int = 150 * MiB) -> None:
    """A UTF-16 (BOM) CSV: a header line, then one line of `chars` characters ("a,a,a,…") without a newline."""
    with path.open("wb") as f:
        f.write(("\ufeff" + ",".join(PROJECT_HEADER) + "\r\n").encode("utf-16-le"))
        block = ("a," * (MiB // 2)).encode("utf-16-le")
        for _ in range(chars // MiB):
            f.write(block)


# ------------------------------------------------------------------------------------------ the test


@pytest.fixture
def memtest_db(rel_admin_url):
    from stic.warehouse import db

    name, url = create_database(rel_admin_url)
    with psycopg.connect(url, autocommit=True) as c:
        db.init_schema(c)
    try:
        yield url
    finally:
        drop_database(rel_admin_url, name)


@pytest.mark.slow  # ~2 minutes: the 199 MB of `{}` alone is 139 million parser events, read twice
def test_hostile_files_stay_under_300_mb(memtest_db, tmp_path, capsys):
    env = {k: v for k, v in os.environ.items() if k != "STIC_CRASH_AT"}
    env.update({
        "WAREHOUSE_URL": memtest_db,
        "STIC_DATA_DIR": str(tmp_path / "data"),
        "STIC_LANDING_DIR": str(tmp_path / "landing"),
        "STIC_REPORTS_DIR": str(tmp_path / "reports"),
        # PYTHONPATH given to pytest first: the same test can measure another checkout (before the caps)
        "PYTHONPATH": os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p),
    })
    results, failures, clear = [], [], []

    def case(name: str, code: str, path: Path, check) -> None:
        started = time.monotonic()
        result, peak, output = run_child(code, path, env)
        path.unlink()
        results.append(f"{name}: peak {peak:.0f} MB in {time.monotonic() - started:.0f}s, "
                       f"{result.get('rule') or result.get('status') or result}")
        try:
            assert peak < LIMIT_MB, f"peak RSS {peak:.0f} MB"
            check(result)
            clear.append(name)
        except AssertionError as e:
            failures.append(f"{name}: {e} — {result} {output[-600:]}")

    def rejected(rule: str, *words: str):
        def check(r: dict) -> None:
            assert r.get("rule") == rule, r
            for w in words:
                assert w in r["rejected"], r["rejected"]
        return check

    p = tmp_path / "empty_objects.json"
    write_json_of_empty_objects(p)
    case("199 MB JSON of {}", CHECK, p, rejected("missing_columns", "empty_objects.json", "required column"))

    p = tmp_path / "giant_cell.xlsx"
    write_xlsx_with_giant_cell(p)
    case("XLSX with one 1.4 GB cell", CHECK, p,
         rejected("cell_too_large", "giant_cell.xlsx", "xl/sharedStrings.xml"))

    p = tmp_path / "columns_150k.csv"
    write_wide_csv(p, 150_000, 300, "v")
    case("150k columns x 300 bad rows", CHECK, p, rejected("too_many_columns", "columns_150k.csv", "line 1"))

    p = tmp_path / "utf16_giant_line.csv"
    write_utf16_giant_line(p)
    case("UTF-16, one 150M-character line", CHECK, p, rejected("line_too_long", "utf16_giant_line.csv", "line 2"))

    # Under the column cap, the bad rows are quarantined: what audit.rejected_rows keeps of each stays small.
    p = tmp_path / "columns_16k.csv"
    write_wide_csv(p, 16_000, 300, "a cell of thirty characters xx")
    sub: dict = {}

    def quarantined(r: dict) -> None:
        assert (r.get("status"), r.get("loaded"), r.get("quarantined")) == ("parsed", 1, 300), r
        sub.update(r)

    case("16k columns x 300 bad rows, loaded", LOAD, p, quarantined)
    if sub:
        with psycopg.connect(memtest_db) as c:
            n, stored, biggest, marked = c.execute(
                "select count(*), sum(octet_length(row_data::text)), max(octet_length(row_data::text)), "
                "count(*) filter (where row_data->>'…' like '[truncated: %% more cells]') "
                "from audit.rejected_rows where submission_id = %s", (sub["submission_id"],)).fetchone()
        results.append(f"  audit.rejected_rows: {n} rows, row_data {stored / MiB:.1f} MB in all, "
                       f"{biggest / 1024:.0f} KB at most, {marked} marked truncated")
        if not (n == 300 and biggest <= 64 * 1024 and marked == n):
            failures.append(f"row_data not capped: {n} rows, {stored} bytes, largest {biggest}, {marked} marked")

    say(capsys, "\n" + "\n".join(results))
    say(capsys, f"memory bounds: {len(clear)}/5 under {LIMIT_MB} MB with a clear outcome")
    assert not failures, failures


# ------------------------------------------------------------------------- each cap, on small files (fast)


def _rejected(path: Path):
    from stic.contract.kinds import PROJECTS
    from stic.intake.readers import FileRejected, open_table

    with pytest.raises(FileRejected) as e:
        list(open_table(path, PROJECTS).rows)
    return e.value


def test_json_caps_and_shapes(tmp_path):
    from decimal import Decimal

    from stic.contract.kinds import PROJECTS
    from stic.intake.readers import MAX_COLUMNS, MAX_FIELD_CHARS, open_table
    from stic.intake.readers.json_stream import MAX_JSON_DEPTH

    def write(name: str, data: bytes) -> Path:
        (tmp_path / name).write_bytes(data)
        return tmp_path / name

    record = ", ".join(f'"{h}": "{v}"' for h, v in zip(PROJECT_HEADER, GOOD_ROW, strict=True))
    # the shapes json.loads read: BOM, records before data, numbers as Decimal, headers the union of keys
    p = write("shapes.json", b"\xef\xbb\xbf" + f'{{"data": [{{"x": 1}}], "records": [{{{record}, "funding": 1.10}}, '
              f'{{"late": 2}}]}}'.encode())
    t = open_table(p, PROJECTS)
    assert t.headers == [*PROJECT_HEADER, "funding", "late"]
    assert [cells[-2:] for _, _, cells in t.rows] == [[Decimal("1.10"), None], [None, 2]]
    wide = ", ".join(f'"k{i}": 1' for i in range(150_000))
    e = _rejected(write("wide.json", f"[{{{wide}}}]".encode()))
    assert e.reason == "too_many_columns" and "record 1" in str(e) and f"{MAX_COLUMNS:,}" in str(e)
    many = ", ".join(f'{{"k{i}": 1}}' for i in range(MAX_COLUMNS + 1))
    assert _rejected(write("many_keys.json", f"[{many}]".encode())).reason == "too_many_columns"
    e = _rejected(write("long.json", f'[{{{record}}}, {{"title": "{"x" * (MAX_FIELD_CHARS + 1)}"}}]'.encode()))
    assert e.reason == "cell_too_large" and "record 2" in str(e) and "'title'" in str(e)
    # a string the parser would hold whole, twice, is refused from its bytes first — escaped quotes do not hide it
    giant = b'[{"title": "' + (b"x" * MiB + b'\\"') * 9 + b'"}]'
    e = _rejected(write("giant_string.json", giant))
    assert e.reason == "cell_too_large" and "more than 8 MB" in str(e)
    # ... but a CSV whose first cell starts with '[' and has no quote in 8 MB is still read as CSV
    rows = "".join(f"P-{i},{','.join(GOOD_ROW[1:])}\n" for i in range(150_000))
    p = write("bracket.csv", ("[项目编号]," + ",".join(PROJECT_HEADER[1:]) + "\n" + rows).encode())
    t = open_table(p, PROJECTS)
    assert t.format == "csv" and sum(1 for _ in t.rows) == 150_000
    deep = b'[{"a": ' + b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH + b"}]"
    assert "nested more than" in str(_rejected(write("deep.json", deep)))
    e = _rejected(write("dup.json", b'[{"a": 1}, {"a": 1, "b": 2, "a": 3}]'))
    assert (e.reason, "record 2" in str(e), "'a' twice" in str(e)) == ("bad_columns", True, True)
    e = _rejected(write("records_empty.json", b'{"records": [], "data": [{"a": 1}]}'))
    assert e.reason == "empty"  # "records" is first, as json.loads' reading chose it
    assert _rejected(write("not_utf8.json", b'[{"a": "\xff"}]')).reason == "encoding"


def test_csv_columns_and_utf16_line_caps(tmp_path):
    from stic.intake.readers import MAX_COLUMNS, MAX_LINE_BYTES

    p = tmp_path / "wide.csv"
    p.write_text(",".join(PROJECT_HEADER) + "\n" + ",".join(GOOD_ROW) + "," * MAX_COLUMNS + "\n", encoding="utf-8")
    e = _rejected(p)
    assert e.reason == "too_many_columns" and "wide.csv: line 2" in str(e)
    p = tmp_path / "utf16.csv"
    p.write_bytes(("\ufeff" + ",".join(PROJECT_HEADER) + "\r\n" + "a" * (MAX_LINE_BYTES + 1)).encode("utf-16-le"))
    e = _rejected(p)
    assert e.reason == "line_too_long" and "utf16.csv: line 2" in str(e)


@pytest.mark.parametrize("form", ["plain", "cdata", "utf16"])
def test_xlsx_cell_cap_before_any_reader(tmp_path, form):
    """A 5 MB cell refused by the zip pre-check — also in CDATA (whose text may hold '<') and in UTF-16 XML."""
    from stic.intake.readers import MAX_XML_RUN_BYTES, _check_xml_cells

    text = "x" * (MAX_XML_RUN_BYTES + MiB)
    if form == "cdata":
        text = "<![CDATA[" + ("x" * 1000 + "<") * ((MAX_XML_RUN_BYTES + MiB) // 1001) + "]]>"
    xml = f'<?xml version="1.0"?><sst><si><t>{text}</t></si></sst>'
    data = ("\ufeff" + xml.replace('"1.0"?', '"1.0" encoding="UTF-16"?')).encode("utf-16-le") if form == "utf16" \
        else xml.encode()
    p = tmp_path / "cell.xlsx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/sharedStrings.xml", data)
    from stic.intake.readers import FileRejected

    with pytest.raises(FileRejected) as e:
        _check_xml_cells(p)
    assert e.value.reason == "cell_too_large" and "xl/sharedStrings.xml" in str(e.value)
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:  # the same text in cells of 1,000: fine
        z.writestr("xl/sharedStrings.xml", xml.replace("x" * 1000, "x" * 999 + "</t><t>"))
    if form == "plain":
        _check_xml_cells(p)


def test_quarantined_row_data_is_capped_with_a_marker():
    from stic.load import ROW_DATA_CELLS, ROW_DATA_CHARS, quarantined_row_data

    headers = [f"h{i}" for i in range(20_000)]
    cells = ["v" * 600] * 20_000
    out = quarantined_row_data(headers, cells, mapped=[19_999, 5])
    assert list(out)[:2] == ["h5", "h19999"]  # the mapped columns first
    assert all(len(v) <= 500 for v in out.values())
    assert len(out) <= ROW_DATA_CELLS + 1 and sum(len(k) + len(v) for k, v in out.items()) < ROW_DATA_CHARS + 100
    assert out["…"] == f"[truncated: {20_000 - (len(out) - 1):,} more cells]"
    assert quarantined_row_data(["a", "b"], ["1", ""]) == {"a": "1"}
