"""Shared helpers for the suites: every expectation carries its severity and the rule it enforces; a mart's columns
and key come from its dbt contract (mart_contract), so a suite names only its own checks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import great_expectations as gx
import great_expectations.expectations as gxe
import yaml

from stic.config import settings
from stic.contract import codes
from stic.contract.kinds import CODE, MONEY, NUMBER, SHARE, Kind
from stic.warehouse.dbt_runner import manifest_path

CRITICAL, WARNING = "critical", "warning"


def meta(severity: str, rule: str, description: str) -> dict:
    return {"severity": severity, "rule": rule, "description": description}


def add(suite: gx.ExpectationSuite, expectation, severity: str, rule: str, description: str) -> None:
    expectation.meta = meta(severity, rule, description)
    expectation.description = description
    # Appended, not suite.add_expectation(): that would write the whole suite to the GX store once per
    # expectation when a suite of this name was saved before (1 s per batch); it is saved once, by the runner.
    suite.expectations.append(expectation)


# The submission of a batch row, for rules on who reported it (b: the batch's rows, s: the submission).
SUBMISSION_JOIN = "join audit.submissions as s on s.submission_id = b.submission_id"


def row_rule(suite: gx.ExpectationSuite, where: str, severity: str, rule: str, description: str, *,
             submission: bool = False) -> None:
    """A rule on single rows: the batch's rows where `where` holds are unexpected (an UnexpectedRowsExpectation).

    The condition is also kept in the expectation's meta (`where`), so that the runner can check every row rule
    of a suite in one scan of the batch first (stic.quality.passes). `submission`: the condition reads the row's
    submission as `s` (its submitter_code only) and the row as `b`."""
    query = (f"select b.* from {{batch}} as b {SUBMISSION_JOIN} where {where}" if submission
             else f"select * from {{batch}} where {where}")
    expectation = gxe.UnexpectedRowsExpectation(unexpected_rows_query=query)
    add(suite, expectation, severity, rule, description)
    expectation.meta.update(where=where, submission=submission)


def raw_kind_suite(kind: Kind, name: str) -> gx.ExpectationSuite:
    """The rules every raw batch of a kind obeys, as expectations on that batch."""
    suite = gx.ExpectationSuite(name=name)
    add(suite, gxe.ExpectTableRowCountToBeBetween(min_value=1), CRITICAL, "not_empty",
        "The submission holds at least one accepted row.")
    for col in kind.columns:
        if col.required:
            add(suite, gxe.ExpectColumnValuesToNotBeNull(column=col.name), CRITICAL, "required",
                f"Every row has a {col.name.replace('_', ' ')}.")
        if col.type == CODE:
            add(suite, gxe.ExpectColumnValuesToBeInSet(column=col.name, value_set=list(codes.codes(col.codelist))),
                CRITICAL, "code_list", f"{col.name.replace('_', ' ').capitalize()} is in the {col.codelist.replace('_', ' ')} code list.")
        if col.type in (MONEY, NUMBER):
            add(suite, gxe.ExpectColumnValuesToBeBetween(column=col.name, min_value=0), CRITICAL, "amount_non_negative",
                f"{col.name.replace('_', ' ').capitalize()} is not negative.")
        if col.type == SHARE:
            add(suite, gxe.ExpectColumnValuesToBeBetween(column=col.name, min_value=0, max_value=1), CRITICAL, "share_range",
                "The inventors' award share is between 0 and 1.")
    add(suite, gxe.ExpectColumnValuesToBeUnique(column=kind.key), CRITICAL, "duplicate_key",
        f"Each {kind.key.replace('_', ' ')} appears at most once in a submission.")
    for rule, earlier, later in kind.order_rules:
        row_rule(suite, f"{later} < {earlier}",
                 CRITICAL, rule, f"{earlier.replace('_', ' ').capitalize()} is not after {later.replace('_', ' ')}.")
    return suite


def submitter_rules(suite: gx.ExpectationSuite, kind: Kind) -> None:
    """Who may report what, and classifying codes outside their list (DOMAIN.md, Rules, corrected 2026-11-30).

    The normaliser already quarantines a district's row booked to another district (district_mismatch)
    and publishes an unlisted field or institution type as `other`; these check the batch as loaded.
    """
    districts = ", ".join(f"'{d}'" for d in codes.codes("district"))
    if "district" in kind.column_names:
        joint = ("coalesce(b.joint_with, '')" if "joint_with" in kind.column_names else "''")
        row_rule(suite, f"s.submitter_code in ({districts}) and b.district <> s.submitter_code "
                        f"and not s.submitter_code = any(string_to_array({joint}, ','))",
                 CRITICAL, "district_mismatch", "A district reports only its own district's rows, or joint projects naming it.",
                 submission=True)
    if "joint_with" in kind.column_names:
        row_rule(suite, f"joint_with is not null and not (string_to_array(joint_with, ',') <@ array[{districts}])",
                 CRITICAL, "code_list", "Every partner district of a joint project is in the district code list.")
    kept = []
    for col in kind.derived_columns:
        coded = col.name.removesuffix("_submitted")
        add(suite, gxe.ExpectColumnValuesToBeNull(column=col.name), WARNING, "code_unlisted",
            f"The {coded.replace('_', ' ')} is in its code list (an unlisted one is published as other; rpt_unmapped_codes).")
        kept.append(f"({col.name} is not null and {coded} <> 'other')")
    if kept:
        row_rule(suite, " or ".join(kept),
                 CRITICAL, "unlisted_published_as_other", "A code kept as submitted text is published as other.")


CODE_COLUMNS = {
    "district_code": "district", "seller_district_code": "district", "field_code": "field",
    "project_level": "project_level", "facility_type": "facility_type", "ip_type": "ip_type",
    "transaction_type": "transaction_type", "buyer_region": "region",
}


@dataclass(frozen=True)
class MartContract:
    """A mart's columns, in order, and primary key, as its dbt contract declares them."""

    model: str
    columns: tuple[str, ...]
    primary_key: tuple[str, ...]
    enforced: bool
    source: str


def mart_contract(model: str) -> MartContract:
    """The contract of marts.<model>: read from the dbt manifest when it is at least as new as the marts' yml
    (dbt_project/models/marts/**), else from the yml itself, so a suite never restates the model's columns."""
    ymls = sorted((settings().dbt_project_dir / "models" / "marts").rglob("*.yml"))
    yml_stamps = tuple((str(p), p.stat().st_mtime_ns) for p in ymls)
    found = None
    manifest = manifest_path()
    try:
        stamp = manifest.stat().st_mtime_ns
    except FileNotFoundError:
        stamp = None
    if stamp is not None and stamp >= max((t for _p, t in yml_stamps), default=0):
        found = _manifest_contracts(str(manifest), stamp).get(model)
    if found is None:  # no manifest, an older one, or one parsed before this model existed
        found = _yml_contracts(yml_stamps).get(model)
    if found is None:
        raise LookupError(f"marts.{model}: no model of that name under dbt_project/models/marts declares its columns")
    if not found.enforced:
        raise LookupError(f"marts.{model}: its columns in {found.source} are not an enforced contract "
                          "(config: {contract: {enforced: true}}), so its suite cannot rely on them")
    return found


def _primary_key(columns: list[dict], constraints: list[dict] | None) -> tuple[str, ...]:
    on_columns = [c["name"] for c in columns if any(k.get("type") == "primary_key" for k in c.get("constraints") or [])]
    on_model = [k.get("columns") or [] for k in constraints or [] if k.get("type") == "primary_key"]
    return tuple(on_columns or (on_model[0] if on_model else ()))


@lru_cache(maxsize=2)
def _manifest_contracts(path: str, _stamp: int) -> dict[str, MartContract]:
    nodes = json.loads(Path(path).read_text(encoding="utf-8"))["nodes"].values()
    out = {}
    for n in nodes:
        if n["resource_type"] == "model" and n["original_file_path"].startswith("models/marts/"):
            columns = list(n["columns"].values())
            out[n["name"]] = MartContract(
                n["name"], tuple(c["name"] for c in columns), _primary_key(columns, n.get("constraints")),
                bool(((n.get("config") or {}).get("contract") or {}).get("enforced")), path)
    return out


@lru_cache(maxsize=2)
def _yml_contracts(stamps: tuple[tuple[str, int], ...]) -> dict[str, MartContract]:
    out = {}
    for path, _stamp in stamps:
        for m in (yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}).get("models") or []:
            columns = m.get("columns") or []
            out[m["name"]] = MartContract(
                m["name"], tuple(c["name"] for c in columns), _primary_key(columns, m.get("constraints")),
                bool(((m.get("config") or {}).get("contract") or {}).get("enforced")), path)
    return out


def mart_suite(table: str, *, key: list[str] | None = None, published_only: bool = True) -> gx.ExpectationSuite:
    """The checks every mart gets after a build: its key, its codes, its money, its provenance.

    The columns and, unless `key` names another (a natural key), the key are the model's dbt contract's
    (mart_contract); the suite is named after the table (marts.fct_projects: marts_fct_projects).
    `published_only=False` is for the auditors' trail (rpt_row_lineage), which keeps the rows of superseded and
    other unpublished submissions on purpose; its suite checks that only published rows are shown in a mart."""
    schema, model = table.split(".")
    contract = mart_contract(model)
    key = list(key or contract.primary_key)
    if not key:
        raise LookupError(f"{table}: its dbt contract ({contract.source}) declares no primary key; name one (key=)")
    columns = contract.columns
    suite = gx.ExpectationSuite(name=f"{schema}_{model}")
    for col in key:
        add(suite, gxe.ExpectColumnValuesToNotBeNull(column=col), CRITICAL, "primary_key",
            f"Every row of {table} has its {col.replace('_', ' ')}.")
    if len(key) == 1:
        add(suite, gxe.ExpectColumnValuesToBeUnique(column=key[0]), CRITICAL, "primary_key",
            f"{key[0].replace('_', ' ').capitalize()} identifies one row of {table}.")
    else:
        add(suite, gxe.ExpectCompoundColumnsToBeUnique(column_list=key), CRITICAL, "primary_key",
            f"{', '.join(key)} identify one row of {table}.")
    for col in columns:
        if col in CODE_COLUMNS:
            add(suite, gxe.ExpectColumnValuesToBeInSet(column=col, value_set=list(codes.codes(CODE_COLUMNS[col]))),
                CRITICAL, "code_list", f"{col.replace('_', ' ').capitalize()} is in its code list.")
        if col.endswith("_yuan"):
            add(suite, gxe.ExpectColumnValuesToBeBetween(column=col, min_value=0), CRITICAL, "amount_non_negative",
                f"{col.replace('_', ' ').capitalize()} is not negative.")
    if published_only and "submission_id" in columns:
        add(suite, gxe.UnexpectedRowsExpectation(
            unexpected_rows_query="select * from {batch} where submission_id not in "
                                  "(select submission_id from audit.submissions where status = 'published')"),
            CRITICAL, "published_only", f"Every row of {table} comes from a published (validated, not superseded) submission.")
    return suite


def history_suite(table: str, key: str, noun: str) -> gx.ExpectationSuite:
    """The checks of a history mart (one row per version of a `key`, from a dbt snapshot).

    A history keeps the versions of superseded submissions on purpose (they are what was reported then), so it
    does not get the marts' published-only check; instead, the current version must come from a published
    submission, every version's submission must be in the ledger, and a key's versions must follow one another
    without overlapping (so that "as reported at T" finds at most one). A version is a key from a time on: the
    contract keys it by the snapshot's id instead."""
    suite = mart_suite(table, key=[key, "valid_from"], published_only=False)
    add(suite, gxe.UnexpectedRowsExpectation(
        unexpected_rows_query="select * from {batch} where is_current and submission_id not in "
                              "(select submission_id from audit.submissions where status = 'published')"),
        CRITICAL, "published_only", f"A {noun}'s current version comes from a published (validated, not superseded) submission.")
    add(suite, gxe.UnexpectedRowsExpectation(
        unexpected_rows_query="select * from {batch} where submission_id not in (select submission_id from audit.submissions)"),
        CRITICAL, "lineage", "Every version's submission is in the ledger (audit.submissions).")
    add(suite, gxe.UnexpectedRowsExpectation(
        unexpected_rows_query="select * from {batch} where is_current is distinct from (valid_to is null) "
                              "or valid_to <= valid_from"),
        CRITICAL, "history_validity", "A version ends after it starts, and only the version without an end is current.")
    add(suite, gxe.UnexpectedRowsExpectation(
        unexpected_rows_query=f"select * from (select *, lead(valid_from) over (partition by {key} order by valid_from) "
                              "as next_valid_from from {batch}) as versions "
                              "where next_valid_from is not null and (valid_to is null or valid_to > next_valid_from)"),
        CRITICAL, "history_validity", f"A {noun}'s versions do not overlap: each ends before the next begins.")
    return suite
