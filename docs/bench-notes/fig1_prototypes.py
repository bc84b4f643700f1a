# Run: .venv/bin/python docs/bench-notes/fig1_prototypes.py [ROWS] (needs /tmp/ingest_work/ingest-ROWS.csv and -clean.csv
# from stic.dev.bench.data.write_projects_csv(path, ROWS, prefix="I", clean_path=clean)); REPS=n runs.
"""Prototypes of figure 1's two options on the same 100k-row CSV: CPU of Python and of the server backend, wall.

A: vectorised in Python (columns of a batch, C-level map/dict conversions) -> text COPY straight into raw.projects
B: the raw cells COPYed into an unlogged staging table -> set-based SQL normalisation into raw.projects
Baseline: COPY of the clean rows (what psql \\copy sends), through the same connection.
Only the fast path of this clean data is implemented (the prototypes measure cost, not the rules).
"""
import datetime as dt, os, sys, time
from pathlib import Path
import psycopg
from psycopg import sql
from stic.contract import codes
from stic.contract.kinds import LINEAGE_COLUMNS, PROJECTS, TRAILING_COLUMNS
from stic.intake.readers import open_table
from stic.warehouse import db

W = Path("/tmp/ingest_work"); N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
src, clean = W / f"ingest-{N}.csv", W / f"ingest-{N}-clean.csv"
COLS = PROJECTS.contract_column_names
BASE = [c for c, _ in LINEAGE_COLUMNS] + ["source_sheet"] + PROJECTS.column_names + [c for c, _ in TRAILING_COLUMNS]
ALL = [c for c, _ in LINEAGE_COLUMNS] + ["source_sheet"] + COLS + [c for c, _ in TRAILING_COLUMNS]
BATCH = 4096
TK = os.sysconf("SC_CLK_TCK")

def backend_cpu(pid):
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TK

def esc(s):
    return s.replace("\\", "\\\\") if "\\" in s else s

def batches(rows):
    b = []
    for r in rows:
        b.append(r)
        if len(b) == BATCH:
            yield b; b = []
    if b: yield b

def measure(label, conn, fn):
    pid = conn.info.backend_pid
    b0, c0, w0 = backend_cpu(pid), time.process_time(), time.perf_counter()
    fn()
    w, c, b = time.perf_counter() - w0, time.process_time() - c0, backend_cpu(pid) - b0
    print(f"{label:<28} wall {w:6.3f}s  python cpu {c:6.3f}s  server cpu {b:6.3f}s", flush=True)
    return w

def baseline(conn):
    conn.execute("drop table if exists public.bench_copy")
    conn.execute("create table public.bench_copy (like raw.projects including all)")
    def run():
        with conn.cursor() as cur, cur.copy(sql.SQL("copy public.bench_copy ({}) from stdin with (format csv, header, force_not_null (source_sheet))").format(
                sql.SQL(", ").join(map(sql.Identifier, BASE)))) as cp, clean.open("rb") as f:
            while chunk := f.read(1 << 20):
                cp.write(chunk)
    return measure("baseline COPY clean csv", conn, run)

# ---------------------------------------------------------------- option A
def option_a(conn, sid, lid, period_end="2014-03-31"):
    tb = open_table(src, PROJECTS)
    caches = {c.name: {} for c in PROJECTS.columns if c.codelist}
    def code_col(col, name, codelist):
        seen = caches[name]
        out = list(map(seen.get, col))
        if None in out:
            for i, (v, o) in enumerate(zip(col, out)):
                if o is None:
                    if v == "": out[i] = "\\N"; continue
                    try: seen[v] = out[i] = codes.resolve(codelist, v)
                    except codes.CodeError: out[i] = False
        return out
    def run():
        copy_sql = sql.SQL("copy raw.projects ({}) from stdin").format(sql.SQL(", ").join(map(sql.Identifier, ALL)))
        with conn.cursor() as cur, cur.copy(copy_sql) as cp:
            for b in batches(tb.rows):
                nums = [str(n) for n, _, _ in b]
                cols = list(zip(*[c for _, _, c in b]))
                out = []
                for j, c in enumerate(PROJECTS.columns):
                    col = cols[j]
                    if c.type == "text" or c.type == "codes":
                        ok = all(map(str.isascii, col)) or all(map(str.isprintable, col))
                        out.append([esc(v.strip()) or "\\N" for v in col])
                    elif c.type == "code":
                        out.append(code_col(col, c.name, c.codelist))
                    elif c.type == "date":
                        seen = caches.setdefault(c.name, {})
                        o = list(map(seen.get, col))
                        if None in o:
                            for i, v in enumerate(col):
                                if o[i] is None:
                                    if v == "": o[i] = "\\N"; continue
                                    try: d = dt.date.fromisoformat(v); seen[v] = o[i] = v if 1900 <= d.year <= 2100 else False
                                    except ValueError: o[i] = False
                        out.append(o)
                    elif c.type == "money":
                        out.append([v if v.isdigit() else ("\\N" if v == "" else False) for v in col])
                out.append(["\\N"] * len(b)); out.append(["\\N"] * len(b))  # field_submitted, institution_type_submitted
                # row rules, column-wise: start <= end, completed after period end
                st, en, stat = out[8], out[9], out[10]
                warns = ["{completed_end_after_period}" if s == "completed" and e != "\\N" and e > period_end else "{}" for s, e in zip(stat, en)]
                bad = [a != "\\N" and e != "\\N" and a > e for a, e in zip(st, en)]
                head = f"{sid}\t{lid}\t"
                lines = "\n".join(map("\t".join, zip(*([nums, [""] * len(b)] + out + [warns])))).replace("\n", "\n" + head)
                cp.write((head + lines + "\n").encode())
    return measure("A: columnar python -> COPY", conn, run)

# ---------------------------------------------------------------- option B
def option_b(conn, sid, lid, period_end="2014-03-31"):
    tb = open_table(src, PROJECTS)
    def run():
        conn.execute("create unlogged table if not exists stage (line int, " + ", ".join(f"c{j} text" for j in range(16)) + ")")
        with conn.cursor() as cur, cur.copy("copy stage from stdin") as cp:
            for b in batches(tb.rows):
                lines = "\n".join(f"{n}\t" + "\t".join(map(esc, c)) for n, _, c in b)
                cp.write((lines + "\n").encode())
        # code resolution by join: the distinct values of each code column, resolved once, in a temp map
        conn.execute("create unlogged table if not exists codemap (col int, submitted text, code text, primary key (col, submitted))")
        rows = []
        for j, c in enumerate(PROJECTS.columns):
            if c.type == "code":
                for (v,) in conn.execute(sql.SQL("select distinct {} from stage").format(sql.Identifier(f"c{j}"))).fetchall():
                    if v is None or v.strip() == "": continue
                    try: rows.append((j, v, codes.resolve(c.codelist, v)))
                    except codes.CodeError: pass
        with conn.cursor() as cur, cur.copy("copy codemap from stdin") as cp:
            for r in rows: cp.write_row(r)
        conn.execute("analyze codemap"); conn.execute("analyze stage")
        sel, joins, conds = [], [], []
        for j, c in enumerate(PROJECTS.columns):
            x = f"nullif(btrim(s.c{j}), '')"
            if c.type in ("text", "codes"):
                sel.append(x); conds.append(f"s.c{j} ~ '^[ -~]*$' or s.c{j} = normalize(s.c{j}, NFKC)")
            elif c.type == "code":
                joins.append(f"left join codemap m{j} on m{j}.col = {j} and m{j}.submitted = s.c{j}")
                sel.append(f"m{j}.code"); conds.append(f"(s.c{j} = '' or m{j}.code is not null)")
            elif c.type == "date":
                sel.append(f"{x}::date"); conds.append(f"s.c{j} ~ '^(\\d{{4}}-\\d\\d-\\d\\d)?$'")
            elif c.type == "money":
                sel.append(f"{x}::numeric"); conds.append(f"s.c{j} ~ '^\\d{{0,19}}$'")
        sel += ["null", "null"]
        warn = f"case when m10.code = 'completed' and nullif(s.c9,'')::date > date '{period_end}' then array['completed_end_after_period'] else '{{}}'::text[] end"
        q = (f"insert into raw.projects ({', '.join(ALL)}) select {sid}, {lid}, s.line, '', {', '.join(sel)}, {warn} from stage s "
             + " ".join(joins) + " where " + " and ".join(f"({c})" for c in conds)
             + " and (nullif(s.c8,'')::date <= nullif(s.c9,'')::date or s.c8 = '' or s.c9 = '')")
        b0 = backend_cpu(conn.info.backend_pid); w0 = time.perf_counter()
        conn.execute(q)
        print(f"   B's insert ... select alone: wall {time.perf_counter() - w0:.3f}s server cpu {backend_cpu(conn.info.backend_pid) - b0:.3f}s", flush=True)
        conn.execute("drop table stage"); conn.execute("drop table codemap")
    return measure("B: staging + SQL normalise", conn, run)

def option_final(conn, sid, lid, period="2014Q1"):
    """What was built (stic.load.parse_batches, stic.intake.columnar), the same COPY."""
    from stic.load import ParseOutcome, parse_batches
    def run():
        copy_sql = sql.SQL("copy raw.projects ({}) from stdin").format(sql.SQL(", ").join(map(sql.Identifier, ALL)))
        with conn.cursor() as cur, cur.copy(copy_sql) as cp:
            for text in parse_batches(src, PROJECTS, ParseOutcome(), submitter="STCSM", period=period, prefix=f"{sid}\t{lid}\t"):
                cp.write(text)
    return measure("A as built (parse_batches)", conn, run)

admin = "postgresql://postgres@127.0.0.1:5432/postgres"
with db.scratch_database(admin, "stic_ingestp") as url, psycopg.connect(url, autocommit=True) as conn:
    db.init_schema(conn)
    conn.execute("insert into audit.submissions (submission_id, submitter_code, kind, period, original_name, sha256, status) values (1, 'STCSM', 'projects', '2014Q1', 'x', 'x', 'received') on conflict do nothing") if False else None
    for rep in range(int(os.environ.get("REPS", "3"))):
        base = baseline(conn)
        for name, fn in (("A", option_a), ("A built", option_final), ("B", option_b)):
            conn.execute("truncate raw.projects")
            with conn.transaction():
                w = fn(conn, 1, 1)
            n = conn.execute("select count(*) from raw.projects").fetchone()[0]
            print(f"   {name}: {n} rows; ratio vs baseline {base / w:.2f}", flush=True)
        if rep == 0:
            conn.execute("truncate raw.projects")
            with conn.transaction(): option_a(conn, 1, 1)
            a = conn.execute("select md5(string_agg(t::text, '|' order by source_row_number)) from raw.projects t").fetchone()[0]
            conn.execute("truncate raw.projects")
            with conn.transaction(): option_b(conn, 1, 1)
            b = conn.execute("select md5(string_agg(t::text, '|' order by source_row_number)) from raw.projects t").fetchone()[0]
            print("   same rows from A and B:", a == b, flush=True)
