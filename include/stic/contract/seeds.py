"""The dbt seeds that copy the maintained reference files (codelists.yml, calendar.yml): written and checked here.

codelists.yml and calendar.yml are the one source; the seeds under dbt_project/seeds/ are their copies for
dbt. `stic seeds` rewrites the copies, `stic seeds --check` (and tests/dbt/test_dimensions.py) fails when a
copy and its source disagree, so a label changed in one place cannot quietly differ in the marts.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from stic.contract import codes, load_yaml
from stic.contract.kinds import AGENCY_KINDS, DISTRICT_KINDS, KINDS

FREQUENCIES = ("yearly", "quarterly")

# Code lists that get a bilingual dimension (dbt_project/models/marts/dimensions/) through seed code_labels.
LABELLED_CODELISTS = ("programme", "project_level", "project_status", "facility_status", "facility_type",
                      "ip_type", "transaction_type", "region", "institution_type", "district", "agency", "field")


class CalendarError(ValueError):
    """calendar.yml says something the warehouse cannot schedule (an unknown submitter, kind or frequency)."""


@dataclass(frozen=True)
class Seed:
    name: str
    header: tuple[str, ...]
    rows: list[tuple]

    def text(self) -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(self.header)
        w.writerows(self.rows)
        return out.getvalue()


def _reference(name: str) -> dict:
    return load_yaml(resources.files("stic").joinpath(f"contract/reference/{name}").read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------------ code lists
def code_labels() -> Seed:
    rows = []
    for codelist in LABELLED_CODELISTS:
        for order, (code, e) in enumerate(codes.entries(codelist).items(), start=1):
            rows.append((codelist, str(code), e["en"], e["zh"], order))
    return Seed("code_labels", ("codelist", "code", "name_en", "name_zh", "sort_order"), rows)


def districts() -> Seed:
    return Seed("districts", ("district_code", "district_name_en", "district_name_zh"),
                [(c, e["en"], e["zh"]) for c, e in codes.entries("district").items()])


def fields() -> Seed:
    return Seed("fields", ("field_code", "field_name_en", "field_name_zh"),
                [(c, e["en"], e["zh"]) for c, e in codes.entries("field").items()])


def submitters() -> Seed:
    # precedence_rank: an agency administers its kinds and wins over a district reporting the same key.
    rows = [(c, "district", e["en"], e["zh"], 2) for c, e in codes.entries("district").items()]
    rows += [(c, "agency", e["en"], e["zh"], 1) for c, e in codes.entries("agency").items()]
    return Seed("submitters", ("submitter_code", "submitter_type", "submitter_name_en", "submitter_name_zh",
                               "precedence_rank"), rows)


# ------------------------------------------------------------------------------------------ calendar
def _entry(where: str, kind: str, spec, defaults: dict, due: dict) -> dict:
    if isinstance(spec, str):
        spec = {"frequency": spec}
    if not isinstance(spec, dict):
        raise CalendarError(f"calendar.yml {where}.{kind}: expected a frequency (yearly, quarterly) or a mapping, "
                            f"got {spec!r}")
    unknown = set(spec) - {"frequency", "first_year", "last_year", "grace_days"}
    if unknown:
        raise CalendarError(f"calendar.yml {where}.{kind}: unknown setting(s) {', '.join(sorted(unknown))}; "
                            f"expected frequency, first_year, last_year, grace_days")
    freq = spec.get("frequency")
    if freq not in FREQUENCIES:
        raise CalendarError(f"calendar.yml {where}.{kind}: frequency {freq!r} is not one of {', '.join(FREQUENCIES)}")
    if kind not in KINDS:
        raise CalendarError(f"calendar.yml {where}: unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if KINDS[kind].yearly_only and freq != "yearly":
        raise CalendarError(f"calendar.yml {where}.{kind}: {kind} are assessed once a year, not {freq}")
    merged = {**defaults, **spec}
    first, last = int(merged["first_year"]), int(merged["last_year"])
    if first > last:
        raise CalendarError(f"calendar.yml {where}.{kind}: first_year {first} is after last_year {last}")
    return {"frequency": freq, "first_year": first, "last_year": last, "grace_days": int(merged["grace_days"]),
            "due_months": int(due[freq]["months"]), "due_days": int(due[freq]["days"])}


def calendar_entries(data: dict | None = None) -> list[dict]:
    """One entry per submitter and kind it must send, from calendar.yml; CalendarError names a bad entry."""
    data = data if data is not None else _reference("calendar.yml")
    defaults = data.get("defaults") or {}
    due = data.get("due") or {}
    for f in FREQUENCIES:
        if f not in due:
            raise CalendarError(f"calendar.yml due: no due rule for {f} periods (e.g. {f}: {{months: 3, days: 0}})")
    out = []
    district_kinds = data.get("districts") or {}
    bad = set(district_kinds) - DISTRICT_KINDS
    if bad:
        raise CalendarError(f"calendar.yml districts: districts may not send {', '.join(sorted(bad))}")
    for code in codes.codes("district"):
        for kind, spec in district_kinds.items():
            out.append({"submitter_code": code, "submitter_type": "district", "submission_kind": kind,
                        **_entry("districts", kind, spec, defaults, due)})
    for agency, kinds in (data.get("agencies") or {}).items():
        if agency not in AGENCY_KINDS:
            raise CalendarError(f"calendar.yml agencies: unknown agency {agency!r}; expected one of "
                                f"{', '.join(AGENCY_KINDS)}")
        bad = set(kinds) - AGENCY_KINDS[agency]
        if bad:
            raise CalendarError(f"calendar.yml agencies.{agency}: {agency} may not send {', '.join(sorted(bad))} "
                                f"(kinds.py AGENCY_KINDS: {', '.join(sorted(AGENCY_KINDS[agency]))})")
        for kind, spec in kinds.items():
            out.append({"submitter_code": agency, "submitter_type": "agency", "submission_kind": kind,
                        **_entry(f"agencies.{agency}", kind, spec, defaults, due)})
    return out


CALENDAR_COLUMNS = ("submitter_code", "submitter_type", "submission_kind", "frequency", "first_year", "last_year",
                    "due_months", "due_days", "grace_days")


def submission_calendar() -> Seed:
    return Seed("submission_calendar", CALENDAR_COLUMNS,
                [tuple(e[c] for c in CALENDAR_COLUMNS) for e in calendar_entries()])


# ------------------------------------------------------------------------------------------ write / check
GENERATED = (code_labels, districts, fields, submitters, submission_calendar)


def seeds_dir() -> Path:
    from stic.config import settings

    return Path(settings().dbt_project_dir) / "seeds"


def check(directory: Path | None = None) -> list[str]:
    """What differs between each seed and its source, as sentences naming the seed and the first difference."""
    directory = Path(directory or seeds_dir())
    problems = []
    for make in GENERATED:
        seed = make()
        path = directory / f"{seed.name}.csv"
        if not path.exists():
            problems.append(f"{path}: missing; run `stic seeds` to write it from the reference files")
            continue
        have = path.read_text(encoding="utf-8").splitlines()
        want = seed.text().splitlines()
        if have != want:
            n = next((i for i, (a, b) in enumerate(zip(have, want, strict=False)) if a != b), min(len(have), len(want)))
            problems.append(
                f"{path}: differs from its source at line {n + 1}: seed has {have[n] if n < len(have) else '(nothing)'!r}, "
                f"the reference files say {want[n] if n < len(want) else '(nothing)'!r}; run `stic seeds` and commit")
    return problems


def write(directory: Path | None = None) -> list[Path]:
    """Rewrite every generated seed from the reference files; returns the files that changed."""
    directory = Path(directory or seeds_dir())
    changed = []
    for make in GENERATED:
        seed = make()
        path = directory / f"{seed.name}.csv"
        text = seed.text()
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def cmd_seeds(args) -> int:
    if args.check:
        problems = check()
        for p in problems:
            print(p)
        if not problems:
            print("seeds agree with codelists.yml and calendar.yml")
        return 1 if problems else 0
    changed = write()
    print("\n".join(f"wrote {p}" for p in changed) or "seeds already agree with codelists.yml and calendar.yml")
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("seeds", help="write the dbt seeds copied from codelists.yml and calendar.yml (or --check them)")
    p.add_argument("--check", action="store_true", help="only compare; exit 1 naming each seed that differs")
    p.set_defaults(func=cmd_seeds)
