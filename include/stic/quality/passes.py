"""The cheap way through a suite (run_suite's default): one statement for most checks, GX for the rest.

The gate: one statement over the batch counts the unexpected rows of every check it can state exactly as
GX does (row rules, null / not-null, in-set, between, uniqueness without `mostly`; gate_condition), with
the batch's row count and each column's non-null values. Pass 1, BOOLEAN_ONLY: GX validates the other
expectations (at least one: the row count), which gives the suite's result its batch and metadata. Pass
2, SUMMARY, only for the expectations that failed in pass 1 or counted unexpected rows in the gate, or
whose summary cannot be told from success alone: so counts, examples and exceptions of every failure are
GX's own. A passing expectation's summary is exact without GX: nothing unexpected among the batch's rows
(counted once); a gated check that passed gets the result GX gives it, passing, in BOOLEAN_ONLY.
The suite's GX result is stored like a checkpoint's (Data Docs). STIC_GX_THOROUGH=1 runs one SUMMARY
pass of the whole suite instead; tests/include/test_validation_passes.py holds all this against it.

Also here: GX lists a query asset's columns by running its query and reading every row
(column_reflection_fallback); `register_column_listing` makes that a `limit 0` of the same query.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

EXAMPLES = 5
SUMMARY = {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES}
log = logging.getLogger(__name__)
ROWS_RULE = "unexpected_rows_expectation"
_ROW_COUNT = {"expect_table_row_count_to_be_between", "expect_table_row_count_to_equal"}
# Column-map expectations whose SUMMARY unexpected_percent is over the column's non-null values.
_NONNULL_PERCENT = {"expect_column_values_to_be_in_set", "expect_column_values_to_be_between",
                    "expect_column_values_to_be_unique"}


def two_pass(gx, ctx, ds, suite, batch_definition, query: str, rows: int | None = None
             ) -> list[tuple[object, dict | None]]:
    """Per expectation of the suite, in order: its GX result, and the SUMMARY facts known without asking GX.
    `rows`: the batch's row count if known (a load's), for the gate's plan."""
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )
    from great_expectations.validator.validation_statistics import calc_validation_statistics

    register_column_listing()
    batch = batch_definition.get_batch()
    expectations = list(suite.expectations)
    unique = any(e.expectation_type == "expect_column_values_to_be_unique" for e in expectations)
    texts = text_columns(ds, query) if unique else frozenset()  # only uniqueness asks a column's type
    conditions = {id(e): gate_condition(e, query, f"g{i}", texts) for i, e in enumerate(expectations)}
    gated = [e for e in expectations if conditions[id(e)] is not None and e.expectation_type not in _ROW_COUNT]
    columns = [e.column for e in expectations if e.expectation_type in _NONNULL_PERCENT]
    parallel = rows is not None and rows >= PARALLEL_ROWS
    counts = gate(ds, query, columns, [conditions[id(e)] for e in gated], parallel=parallel)
    if counts is None or len(gated) == len(expectations):  # pass 1 needs one expectation for GX to validate
        gated = []
        counts = gate(ds, query, columns, []) or {}
    slot = {id(e): i for i, e in enumerate(gated)}
    first_suite = gx.ExpectationSuite(name=suite.name)  # not saved: appended as is, ids kept to match results
    first_suite.expectations.extend(e for e in expectations if id(e) not in slot)
    first = batch.validate(first_suite, result_format={"result_format": "BOOLEAN_ONLY"})
    by_id = {er.expectation_config.id: er for er in first.results}
    results: list = []
    for e in expectations:
        if id(e) not in slot:
            results.append(by_id[e.id])
        elif counts[("gate", slot[id(e)])] == 0:  # what GX returns for it, passing, in BOOLEAN_ONLY
            config = e.configuration
            config.kwargs["batch_id"] = batch.id
            results.append(ExpectationValidationResult(success=True, expectation_config=config))
        else:
            results.append(None)
    derived: dict[int, dict] = {}
    redo = []
    for i, er in enumerate(results):
        summary = _passing_summary(er.expectation_config, counts) if er is not None and er.success else None
        if summary is None:
            redo.append(i)
        else:
            derived[i] = summary
    if redo:
        subset = gx.ExpectationSuite(name=suite.name)
        subset.expectations.extend(expectations[i] for i in redo)
        second = batch.validate(subset, result_format=SUMMARY)
        again = {er.expectation_config.id: er for er in second.results}
        for i in redo:
            results[i] = again[expectations[i].id]
    stats = calc_validation_statistics(results)
    first.results = results
    first.success = stats.success
    first.statistics = {"evaluated_expectations": stats.evaluated_expectations,
                        "successful_expectations": stats.successful_expectations,
                        "unsuccessful_expectations": stats.unsuccessful_expectations,
                        "success_percent": stats.success_percent}
    run_id = RunIdentifier(run_time=dt.datetime.now(dt.UTC))
    first.meta.update(run_id=run_id, validation_time=run_id.run_time, batch_parameters=None)
    ctx.validation_results_store.store_validation_results(
        suite_validation_result=first,
        suite_validation_result_identifier=ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
            run_id=run_id, batch_identifier=first.batch_id),
    )
    return [(er, derived.get(i)) for i, er in enumerate(results)]


def _quoted(name: str) -> str:
    return '"{}"'.format(name.replace('"', '""'))


_NUMBER = (int, float, Decimal)


def text_columns(ds, query: str) -> frozenset[str]:
    """The batch's columns of a text type (from a `limit 0` of its query: no row is read)."""
    import sqlalchemy as sa

    text_types = {25, 1042, 1043}  # text, char(n), varchar(n)
    try:
        with ds.get_engine().connect() as c:
            description = c.execute(sa.text(f"select * from ({query}) as batch limit 0")).cursor.description
    except sa.exc.DBAPIError:
        return frozenset()
    return frozenset(d.name for d in description if d.type_code in text_types)


def gate_condition(e, query: str, key: str, texts: frozenset[str] = frozenset()) -> tuple[str, dict] | None:
    """How the gate counts this expectation's unexpected rows (SQL and its parameters, named after `key`), or
    None: GX checks it in pass 1.

    Gated, each in GX's own sense (its SQLAlchemy conditions; nulls are not unexpected but for not-null):
    a row rule (expectations/_common.row_rule) by the rows of its condition; not-null and null; in-set with a
    list of values; between with numeric bounds; uniqueness, by the non-null values less their distinct ones
    (GX's own check is a window over the sorted column), on a text column (`texts`) the distinct 64-bit
    hashes of the values: equal values have equal hashes, so duplicates always count; two values sharing a
    hash (odds ~1e-10 for 100k values) only send the check to GX. Only the exact forms (no `mostly`, no row
    condition); anything else is GX's."""
    kind = e.expectation_type
    if kind == ROWS_RULE:
        where = (e.meta or {}).get("where")
        return (f"count(*) filter (where {where})", {}) if where else None
    if not kind.startswith("expect_column_values_to_") or e.mostly != 1 or e.row_condition:
        return None
    col = _quoted(e.column)
    if kind == "expect_column_values_to_not_be_null":
        return f"count(*) filter (where b.{col} is null)", {}
    if kind == "expect_column_values_to_be_null":
        return f"count(*) filter (where b.{col} is not null)", {}
    if kind == "expect_column_values_to_be_unique":
        distinct = f"hashtextextended({col}, 0)" if e.column in texts else col
        return f"(select count({col}) - count(distinct {distinct}) from ({query}) as u)", {}
    if kind == "expect_column_values_to_be_in_set":
        values = e.value_set
        if not isinstance(values, list | tuple | set) or not values or not all(isinstance(v, str) for v in values):
            return None
        params = {f"{key}_{i}": v for i, v in enumerate(sorted(values))}
        listed = ", ".join(f":{p}" for p in params)
        return f"count(*) filter (where b.{col} is not null and b.{col} not in ({listed}))", params
    if kind == "expect_column_values_to_be_between":
        bounds, params = [], {}
        for name, value, strict, op in (("min", e.min_value, e.strict_min, ">"), ("max", e.max_value, e.strict_max, "<")):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, _NUMBER):
                return None
            params[f"{key}_{name}"] = value
            bounds.append(f"b.{col} {op}{'' if strict else '='} :{key}_{name}")
        if not bounds or (len(bounds) == 2 and e.min_value > e.max_value):
            return None
        return f"count(*) filter (where b.{col} is not null and not ({' and '.join(bounds)}))", params
    return None


PARALLEL_ROWS = 50_000  # a batch this large is counted by parallel workers


def gate(ds, query: str, columns: list[str], conditions: list[tuple[str, dict]], parallel: bool = False
         ) -> dict | None:
    """One scan of the batch: its rows, each column's non-null values and each gated check's unexpected count;
    None if the database refused the statement (a column of another type than a check expects, say): GX
    then checks everything itself.

    A row rule on the submission reads `s.submitter_code` and the row as `b` (row_rule(submission=True)); a
    left join keeps every batch row, and a rule's condition is false on a row without a submission, as in
    the rule's own inner join. GX validates on its own (SUMMARY, pass 2) every gated check counted here
    above 0, so counts, examples and exceptions of failures are GX's own."""
    import sqlalchemy as sa

    columns = sorted(set(columns))
    selected = ["count(*)", *(f"count(b.{_quoted(c)})" for c in columns), *(sql for sql, _ in conditions)]
    params = {k: v for _, p in conditions for k, v in p.items()}
    source = f"({query}) as b"
    if any("s.submitter_code" in sql for sql, _ in conditions):
        source += " left join (select submission_id, submitter_code from audit.submissions) as s using (submission_id)"
    try:
        with ds.get_engine().connect() as c, c.begin():
            # A fresh load's table has no statistics yet: the planner takes the batch for a few hundred rows.
            # With the default 4 MB a large batch's distinct values spill to disk; and a large batch (the
            # caller knows its rows) is worth parallel workers, which the planner would not start for it.
            c.execute(sa.text("set local work_mem = '64MB'"))
            if parallel:
                for setting in ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size"):
                    c.execute(sa.text(f"set local {setting} = 0"))
            row = c.execute(sa.text(f"select {', '.join(selected)} from {source}"), params).one()
    except sa.exc.DBAPIError as exc:
        log.warning("validation gate refused, GX checks every expectation of the batch: %s", exc.orig)
        return None
    n = 1 + len(columns)
    return {"rows": row[0], **{("nonnull", col): v for col, v in zip(columns, row[1:n], strict=True)},
            **{("gate", i): v for i, v in enumerate(row[n:])}}


def _passing_summary(cfg, counts: dict) -> dict | None:
    """What GX's SUMMARY result says of this passing expectation, known without asking GX; None: ask GX.

    Passing without `mostly` means nothing was unexpected; GX's element_count is the batch's row count
    and its unexpected_percent is 0 of the rows (not null) or of the non-null values (None if there are
    none). tests/include/test_validation_passes.py checks this against a SUMMARY run.
    """
    kw, rows = cfg.kwargs, counts.get("rows")
    if "rows" not in counts:
        return None
    if cfg.type in _ROW_COUNT:
        return {"observed_value": rows}
    if cfg.type == ROWS_RULE:
        return {"observed_value": 0}
    if kw.get("mostly", 1) != 1 or kw.get("row_condition"):
        return None
    if cfg.type in ("expect_column_values_to_not_be_null", "expect_column_values_to_be_null"):
        return {"element_count": rows, "unexpected_count": 0, "unexpected_percent": 0.0 if rows else None}
    if cfg.type in _NONNULL_PERCENT:
        nonnull = counts.get(("nonnull", kw["column"]))
        if nonnull is None:
            return None
        return {"element_count": rows, "unexpected_count": 0, "unexpected_percent": 0.0 if nonnull else None}
    return None


_LISTING: list = []


def register_column_listing() -> None:
    """GX's `table.column_types` for a query asset, from a `limit 0` of its query instead of all its rows.

    For raw SQL GX cannot reflect, it runs the query and keeps the cursor's column names
    (expectations.metrics.util.column_reflection_fallback): a second read of the whole batch, sent to the
    client, per validation (~0.15 s of 100k rows). Same names, same metadata built by GX's own helper, from
    the query's description only. Other batches (tables) go to GX's implementation unchanged."""
    if _LISTING:
        return
    import logging

    import sqlalchemy as sa
    from great_expectations.execution_engine import SqlAlchemyExecutionEngine
    from great_expectations.expectations.metrics.metric_provider import metric_value
    from great_expectations.expectations.metrics.table_metrics import table_column_types
    from great_expectations.expectations.metrics.util import _build_column_metadata_result

    gx_log = logging.getLogger("great_expectations.expectations.registry")
    level = gx_log.level
    gx_log.setLevel(logging.ERROR)  # "overwriting metric_provider": that is the point
    try:
        class QueryColumnTypes(table_column_types.ColumnTypes):
            @metric_value(engine=SqlAlchemyExecutionEngine)
            def _sqlalchemy(cls, execution_engine, metric_domain_kwargs, metric_value_kwargs, metrics,
                            runtime_configuration):
                batch_id = metric_domain_kwargs.get("batch_id") or execution_engine.batch_manager.active_batch_data_id
                batch_data = execution_engine.batch_manager.batch_data_cache.get(batch_id)
                selectable = getattr(batch_data, "selectable", None)
                if not isinstance(selectable, sa.TextClause):
                    return table_column_types._get_sqlalchemy_column_metadata(execution_engine, batch_data)
                with execution_engine.engine.connect() as c:
                    names = list(c.execute(sa.text(f"select * from ({selectable.text}) as batch limit 0")).keys())
                return _build_column_metadata_result([{"name": n} for n in names], set(), execution_engine)
        _LISTING.append(QueryColumnTypes)
    finally:
        gx_log.setLevel(level)
