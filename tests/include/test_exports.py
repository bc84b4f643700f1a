"""Files the project writes for people to open in a spreadsheet never carry a live formula.

Submitted values are stored unchanged; a value such as =HYPERLINK(...) becomes dangerous only when it is
written back out into a CSV/XLSX someone opens. Today the project writes none for people (receipts and the
auditors' site are HTML, autoescaped); this test keeps it so: every module that writes CSV or XLSX is either
one of the listed writers of machine files, or passes its values through stic.intake.normalise.neutralise_formula.
"""

from __future__ import annotations

import re
from pathlib import Path

from stic.intake.normalise import neutralise_formula

PACKAGE = Path(__file__).resolve().parents[2] / "include" / "stic"
WRITES = re.compile(r"csv\.(?:writer|DictWriter)\(|Workbook\(|\.to_csv\(|\.to_excel\(|xlsxwriter")
# Writers of files no person is handed as a report: synthetic submissions (the developer tooling under dev/,
# the sample and the benchmark, writes the very files a district would send, hostile ones included, on
# purpose) and the dbt seeds copied from the maintained reference lists.
MACHINE_FILES = {"contract/seeds.py"}
MACHINE_DIRS = ("dev/",)


def test_every_csv_or_xlsx_writer_for_people_neutralises_formulas():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(PACKAGE).as_posix()
        if not WRITES.search(text) or rel in MACHINE_FILES or rel.startswith(MACHINE_DIRS):
            continue
        if "neutralise_formula" not in text:
            offenders.append(rel)
    assert offenders == [], f"these modules write CSV/XLSX without stic.intake.normalise.neutralise_formula: {offenders}"


def test_neutralised_values_stay_text_in_a_spreadsheet(tmp_path):
    import openpyxl

    values = ["=HYPERLINK(\"http://x\",\"click\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "张江", 12, None]
    wb = openpyxl.Workbook()
    wb.active.append([neutralise_formula(v) for v in values])
    wb.save(tmp_path / "out.xlsx")
    cells = [c.value for c in openpyxl.load_workbook(tmp_path / "out.xlsx").active[1]]
    assert all(not (isinstance(v, str) and v.startswith(("=", "+", "-", "@"))) for v in cells), cells
    assert cells[5] == "张江" and cells[6] == "12"
