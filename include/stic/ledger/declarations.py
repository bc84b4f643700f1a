""""Nothing to report" declarations: a submission of zero rows that satisfies its calendar obligation.

A submitter with nothing to send for a period says so, instead of being chased as `missing`
(rpt_submission_calendar shows `nil_declared`). Two ways, both published and receipted like any file:

- `stic declare-nil --submitter PD --kind projects --period 2018 [--note "no project started in 2018"]`;
- a file named NIL.txt (or 无数据申报.txt; case does not matter) in the landing folder of the period,
  landing/incoming/PD/projects/2018/NIL.txt; its text, if any, is kept as the note.

The declaration is registered in the ledger like a file (its bytes archived, channel `file`), flagged
audit.submissions.is_nil_declaration, and moved received -> validated -> published without a load: there are
no rows to read. Being a file of its key, it follows the correction rules: a later file with data supersedes
it. A declaration for a period that already has published data would withdraw that data, so it is rejected
unless the declaration says `replace published: yes` (the CLI's --replace-published).
"""

from __future__ import annotations

import argparse
import tempfile
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from stic import ledger
from stic.config import settings

NIL_FILE_NAMES = frozenset({"nil.txt", "无数据申报.txt"})
REPLACE_LINE = "replace published: yes"
NOTE_CHARS = 2000


def is_nil_file_name(name: str) -> bool:
    return unicodedata.normalize("NFKC", Path(name).name).strip().lower() in NIL_FILE_NAMES


def _text(sub: dict) -> str:
    """The declaration's text (its note), from the archived original; GB18030 from older Windows clients."""
    raw = (settings().landing_dir / sub["archive_path"]).read_bytes()[: NOTE_CHARS * 4]
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc).strip()[:NOTE_CHARS]
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace").strip()[:NOTE_CHARS]


def accept(conn: psycopg.Connection, submission_id: int) -> str:
    """received -> validated (or rejected) for a declaration; the pipeline publishes it next, as any file."""
    sub = ledger.get(conn, submission_id)
    if sub["status"] != ledger.Status.RECEIVED:
        return sub["status"]
    text = _text(sub)
    replace = REPLACE_LINE in text.lower()
    with conn.transaction():
        ledger.key_lock(conn, sub["submitter_code"], sub["kind"], sub["period"])
        conn.execute("update audit.submissions set is_nil_declaration = true where submission_id = %s",
                     (submission_id,))
        data = conn.execute(
            "select submission_id from audit.submissions where submitter_code = %s and kind = %s and period = %s "
            "and status = 'published' and not is_nil_declaration order by submission_id desc limit 1",
            (sub["submitter_code"], sub["kind"], sub["period"]),
        ).fetchone()
        counts = {"rows_received": 0, "rows_loaded": 0, "rows_quarantined": 0, "rows_with_warnings": 0}
        if data and not replace:
            ledger.transition(
                conn, submission_id, ledger.Status.RECEIVED, ledger.Status.REJECTED,
                f"declared nothing to report for {sub['submitter_code']} {sub['kind']} {sub['period']}, but submission "
                f"{data[0]} with data is published for it; nothing was changed. If that data must be withdrawn, send "
                f"the declaration again with the line '{REPLACE_LINE}' (stic declare-nil --replace-published)",
                **counts)
            return ledger.Status.REJECTED
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        # a declaration written by `stic declare-nil` states its note on a line of its own
        stated = [line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("note:")]
        note = stated[0] if stated else " ".join(line for line in lines if line.lower() != REPLACE_LINE)
        ledger.transition(
            conn, submission_id, ledger.Status.RECEIVED, ledger.Status.VALIDATED,
            f"declared nothing to report (0 rows){': ' + note[:500] if note else ''}"
            + (f"; withdraws the data of submission {data[0]}" if data else ""),
            **counts)
    return ledger.Status.VALIDATED


def declaration_text(submitter: str, kind: str, period: str, note: str | None, replace_published: bool) -> str:
    lines = [
        "无数据申报 / Nothing to report",
        f"submitter: {submitter}",
        f"kind: {kind}",
        f"period: {period}",
        f"declared at: {datetime.now(UTC).isoformat(timespec='seconds')}",
    ]
    if note:
        lines.append(f"note: {note}")
    if replace_published:
        lines.append(REPLACE_LINE)
    return "\n".join(lines) + "\n"


def declare_nil(submitter: str, kind: str, period: str, note: str | None = None, *, replace_published: bool = False,
                url: str | None = None):
    """Register, publish and receipt a declaration; returns the pipeline's Outcome."""
    from stic import pipeline

    with tempfile.TemporaryDirectory(prefix="stic-nil-") as tmp:
        path = Path(tmp) / "NIL.txt"
        path.write_text(declaration_text(submitter, kind, period, note, replace_published), encoding="utf-8")
        return pipeline.ingest_file(path, submitter=submitter, kind=kind, period=period, original_name="NIL.txt",
                                    url=url)


def cmd_declare_nil(args) -> int:
    out = declare_nil(args.submitter.strip().upper(), args.kind.strip(), args.period.strip().upper(), args.note,
                      replace_published=args.replace_published)
    what = f"{out.submitter_code} {out.kind} {out.period}"
    if out.status == ledger.Status.PUBLISHED:
        print(f"{what}: declared nothing to report — submission {out.submission_id} published "
              f"(receipt: stic receipt {out.submission_id})")
        return 0
    print(f"{what}: declaration not published — submission {out.submission_id} is {out.status}: {out.reason}")
    return 1


def add_cli(sub) -> None:
    p = sub.add_parser(
        "declare-nil", help="declare that a submitter has nothing to report for a kind and period",
        description="Publish a 'nothing to report' declaration (zero rows) so the submission calendar shows "
                    "nil_declared instead of missing. The same as a file NIL.txt / 无数据申报.txt in "
                    "landing/incoming/<SUBMITTER>/<kind>/<period>/.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--submitter", required=True, help="district (PD) or agency (STCSM) code")
    p.add_argument("--kind", required=True, help="projects | facilities | platform_assessments | ip_transactions")
    p.add_argument("--period", required=True, help="2018 or 2018Q4")
    p.add_argument("--note", help="why there is nothing to report (kept with the declaration)")
    p.add_argument("--replace-published", action="store_true",
                   help="withdraw data already published for this period (otherwise the declaration is refused)")
    p.set_defaults(func=cmd_declare_nil)
