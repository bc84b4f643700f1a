"""The loader's column-wise normaliser (stic.intake.columnar) against the per-row one it replaces on the load.

On every generated file and every fixture file, `parse_batches` (what `load_rows` COPYs) must give the same
rows, values, problems, warnings and counts as `parse_rows` (the per-row normaliser, which `stic check` still
uses) — and its COPY text must put the same values in PostgreSQL as psycopg's `write_row` of the per-row values.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from psycopg import sql

from stic.contract.kinds import KINDS, LINEAGE_COLUMNS, TRAILING_COLUMNS
from stic.dev import sample as g
from stic.intake.columnar import copy_text
from stic.intake.readers import FileRejected
from stic.load import ParseOutcome, copy_types, parse_batches, parse_rows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FIXTURE_FILES = sorted(p for d in ("files", "hostile", "pipeline") for p in (FIXTURES / d).rglob("*")
                       if p.is_file() and p.suffix.lower() in (".csv", ".xlsx", ".xls", ".ods", ".json", ".txt", ".tsv"))
CORPUS = sorted(d for d in (FIXTURES / "intake_corpus").iterdir() if (d / "case.yml").is_file())


def _both(path: Path, kind_name: str, submitter: str | None, period: str | None, owners=None):
    """(per-row outcome, its rows as the COPY lines the loader would write, batch outcome, batch COPY text)."""
    kind = KINDS[kind_name]
    kw = dict(submitter=submitter, period=period, owner_districts=owners)
    ref, lines = ParseOutcome(), []
    try:
        for n, sheet, values, warns in parse_rows(path, kind, ref, check_keys=False, **kw):
            lines.append("\t".join([str(n), copy_text(sheet or ""), *(copy_text(values[c]) for c in
                                                                       kind.contract_column_names), copy_text(warns)]))
    except FileRejected as e:
        ref.rejected, ref.rejected_rule = str(e), e.reason
    new, text = ParseOutcome(), ""
    try:
        for t in parse_batches(path, kind, new, **kw):
            text += t
    except FileRejected as e:
        new.rejected, new.rejected_rule = str(e), e.reason
    return ref, lines, new, text


def _assert_same(path, kind_name, submitter, period, owners=None):
    ref, lines, new, text = _both(path, kind_name, submitter, period, owners)
    where = f"{path.name} as {kind_name} from {submitter} for {period}"
    assert (new.rejected, new.rejected_rule) == (ref.rejected, ref.rejected_rule), where
    for attr in ("rows_received", "rows_loaded", "rows_quarantined", "rows_with_warnings", "format", "encoding",
                 "notes", "header_mapping", "ignored_columns", "skipped_rows"):
        assert getattr(new, attr) == getattr(ref, attr), (where, attr)
    assert list(new.problems) == list(ref.problems), where
    assert list(new.warnings) == list(ref.warnings), where
    assert text.splitlines() == lines, where
    return len(lines)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "incoming"
    # More broken rows than the demo sample: every row rule and cell problem gets exercised.
    return out, g.generate(out, scale=0.05, seed=7, invalid_share=0.2)


def test_generated_files_give_the_same_rows_problems_and_warnings(generated):
    out, m = generated
    rows = 0
    for f in m.files:
        rows += _assert_same(out / f["path"], f["kind"], f["submitter"], f["period"])
    assert rows > 1000


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_files_give_the_same_outcome_as_any_kind_from_any_submitter(path):
    for kind_name in KINDS:
        for submitter, period in ((None, None), ("PD", "2018"), ("STCSM", "2018Q4")):
            _assert_same(path, kind_name, submitter, period)


@pytest.mark.parametrize("case", CORPUS, ids=lambda d: d.name)
def test_intake_corpus_gives_the_same_outcome(case):
    c = yaml.safe_load((case / "case.yml").read_text(encoding="utf-8"))
    _assert_same(case / c["file"], c["kind"], c["submitter"], str(c["period"]))


def test_platforms_placed_in_another_district_are_decided_by_the_row_rules(generated):
    out, m = generated
    owners = {f"PLAT-{i}": frozenset({"XH"}) for i in range(1000)}
    for f in m.files:
        if f["kind"] == "platform_assessments":
            rows = [v["platform_code"] for _, _, v, _ in parse_rows(out / f["path"], KINDS[f["kind"]], ParseOutcome())]
            owners.update({code: frozenset({"XH"}) for code in rows[::2]})
            _assert_same(out / f["path"], f["kind"], "PD", f["period"], owners)


def test_copy_text_puts_the_same_values_in_postgresql_as_psycopg(generated, conn):
    """The per-row values written by psycopg's write_row (the loader before) and the batch's COPY text
    (the loader now), into two copies of each raw table: not one value differs."""
    out, m = generated
    for kind in KINDS.values():
        cols = [n for n, _ in LINEAGE_COLUMNS] + ["source_sheet"] + kind.contract_column_names + [
            n for n, _ in TRAILING_COLUMNS]
        ident = sql.SQL(", ").join(map(sql.Identifier, cols))
        with conn.transaction():
            for t in ("a", "b"):
                conn.execute(sql.SQL("create temp table {} (like {} including defaults) on commit drop").format(
                    sql.Identifier(f"{kind.name}_{t}"), sql.Identifier("raw", kind.raw_table)))
            n = 0
            for f in (f for f in m.files if f["kind"] == kind.name and f["status"] != "rejected"):
                path, kw = out / f["path"], dict(submitter=f["submitter"], period=f["period"])
                with conn.cursor() as cur, cur.copy(sql.SQL("copy {} ({}) from stdin").format(
                        sql.Identifier(f"{kind.name}_a"), ident)) as cp:
                    cp.set_types(copy_types(kind))
                    for rn, sheet, values, warns in parse_rows(path, kind, ParseOutcome(), check_keys=False, **kw):
                        cp.write_row((n, 0, rn, sheet or "", *(values[c] for c in kind.contract_column_names), warns))
                with conn.cursor() as cur, cur.copy(sql.SQL("copy {} ({}) from stdin").format(
                        sql.Identifier(f"{kind.name}_b"), ident)) as cp:
                    for text in parse_batches(path, kind, ParseOutcome(), prefix=f"{n}\t0\t", **kw):
                        cp.write(text)
                n += 1
            diff = conn.execute(sql.SQL("select (select count(*) from (table {a} except all table {b}) x), "
                                        "(select count(*) from (table {b} except all table {a}) y), (select count(*) from {a})")
                                .format(a=sql.Identifier(f"{kind.name}_a"), b=sql.Identifier(f"{kind.name}_b"))).fetchone()
            assert diff[:2] == (0, 0) and diff[2] > 0, (kind.name, diff)


def test_utf8_blocks_read_the_lines_readline_reads(monkeypatch):
    """The CSV reader takes a UTF-8 file a block at a time: the same lines, and the same rejection at the same
    line (too long, not UTF-8, cut inside a character), as reading it line by line; tiny blocks, odd line breaks."""
    import io
    import random

    from stic.intake.readers import text as t

    def lines(read):
        out = []
        try:
            out.extend(read())
        except FileRejected as e:
            out.append((e.reason, str(e)))
        return out

    monkeypatch.setattr(t, "BLOCK_BYTES", 64)
    rnd = random.Random(1)
    pieces = [b"a,b\n", b"\r\n", b"x\ry\n", "张江,1\n".encode(), b"\xe5\xbc", b"\x0b\x0c", "\u2028".encode(), b"\xff",
              b"q" * 500, b'"m\nn",2\n', b"\n"]
    for k in range(600):
        data = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 30)))
        if k % 50 == 0:
            data += b"z" * (t.MAX_LINE_BYTES + rnd.randint(-2, 2))
        per_line = lines(lambda d=data: t._decoded_lines(
            t._capped_lines(io.BytesIO(d).readline, "f", f"{t.MAX_LINE_BYTES // 1024} KB"), "utf-8", "f"))
        assert lines(lambda d=data: t._lines(io.BytesIO(d), "utf-8", "f")) == per_line, data[:200]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_records_are_what_csv_reader_gives_with_its_line_numbers(delimiter):
    """A line without a quote is split at the delimiter, others go to csv.reader: the same records, line numbers
    and errors as csv.reader alone, on random lines with quotes, quoted line breaks, carriage returns, NULs,
    empty lines, other line breaks and fields over the size limit."""
    import csv
    import random

    from stic.intake.readers.text import Records

    def read(make, lines):
        out = []
        try:
            reader = make(iter(lines))
            for cells in reader:
                out.append((reader.line_num, cells))
        except csv.Error as e:
            out.append(("error", str(e), reader.line_num))
        return out

    limit = csv.field_size_limit()
    rnd = random.Random(7)
    pieces = ["a", "b", "张江", delimiter, ",", '"', '""', "\r", " ", "\x00", "\x0b", "\u2028", "1"]
    ends = ["\n", "\r\n", "\r", ""]
    try:
        csv.field_size_limit(40)
        for _ in range(3000):
            lines = []
            for _i in range(rnd.randint(0, 8)):
                body = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 12)))
                if rnd.random() < 0.05:
                    body = "x" * rnd.randint(38, 45)
                lines.append(body + rnd.choice(ends[:2]))
            if lines and rnd.random() < 0.3:
                lines[-1] = lines[-1].rstrip("\r\n") + rnd.choice(ends[2:])
            expected = read(lambda it: csv.reader(it, delimiter=delimiter), lines)
            assert read(lambda it: Records(it, delimiter), lines) == expected, lines
    finally:
        csv.field_size_limit(limit)
