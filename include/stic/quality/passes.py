"""The cheap way through a suite (run_suite's default): GX validates the batch in two passes.

Pass 1, BOOLEAN_ONLY: GX folds every column-map count of the suite into one aggregate query over the
batch (SUMMARY adds one example query, a scan of the batch, per column-map expectation, even when it
passes), and the suite's row rules (expectations/_common.row_rule: UnexpectedRowsExpectations that name
their condition) are checked together by one UnexpectedRowsExpectation that counts every rule's rows in
one scan, instead of two queries per rule. Pass 2, SUMMARY, only for the expectations that failed
(counts and examples) or whose summary cannot be told from success alone, and for every row rule when
the combined one failed. A passing expectation's summary is exact without it: nothing unexpected among
the batch's rows (counted once). The suite's GX result is stored like a checkpoint's, with the
failures' SUMMARY results in place of their pass-1 results; a row rule that passed within the combined
check gets the result GX gives a passing UnexpectedRowsExpectation in BOOLEAN_ONLY.
tests/include/test_validation_passes.py holds all this against one SUMMARY run of the whole suite.

Also here: GX lists a query asset's columns by running its query and reading every row
(column_reflection_fallback); `register_column_listing` makes that a `limit 0` of the same query.
"""

from __future__ import annotations

import datetime as dt

EXAMPLES = 5
SUMMARY = {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES}
ROWS_RULE = "unexpected_rows_expectation"
_ROW_COUNT = {"expect_table_row_count_to_be_between", "expect_table_row_count_to_equal"}
# Column-map expectations whose SUMMARY unexpected_percent is over the column's non-null values.
_NONNULL_PERCENT = {"expect_column_values_to_be_in_set", "expect_column_values_to_be_between",
                    "expect_column_values_to_be_unique"}


def two_pass(gx, ctx, ds, suite, batch_definition, query: str) -> list[tuple[object, dict | None]]:
    """Per expectation of the suite, in order: its GX result, and the SUMMARY facts known without asking GX."""
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
    rules = [e for e in expectations if e.expectation_type == ROWS_RULE and (e.meta or {}).get("where")]
    if len(rules) < 2:
        rules = []
    ruled = {id(e) for e in rules}
    first_suite = gx.ExpectationSuite(name=suite.name)  # not saved: appended as is, ids kept to match results
    first_suite.expectations.extend(e for e in expectations if id(e) not in ruled)
    if rules:
        first_suite.expectations.append(combined_rows_rule(rules))
    first = batch.validate(first_suite, result_format={"result_format": "BOOLEAN_ONLY"})
    by_id = {er.expectation_config.id: er for er in first.results if er.expectation_config.id is not None}
    [combined] = [er for er in first.results if er.expectation_config.id is None] or [None]
    results: list = []
    for e in expectations:
        if id(e) not in ruled:
            results.append(by_id[e.id])
        elif combined.success:  # what GX returns for a passing UnexpectedRowsExpectation in BOOLEAN_ONLY
            config = e.configuration
            config.kwargs["batch_id"] = combined.expectation_config.kwargs["batch_id"]
            results.append(ExpectationValidationResult(success=True, expectation_config=config))
        else:
            results.append(None)
    passed = [er.expectation_config for er in results if er is not None and er.success]
    counts = _counts(ds, query, [c.kwargs["column"] for c in passed if c.type in _NONNULL_PERCENT]) if passed else {}
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


def combined_rows_rule(rules):
    """One UnexpectedRowsExpectation for all the row rules: one row of per-rule counts when any rule has rows.

    The batch is scanned once (GX runs the query and counts its rows: two statements, against two per rule).
    A rule on the submission reads `s.submitter_code` and the row as `b` (row_rule(submission=True)); a left
    join keeps every batch row, and a rule's condition is false on a row without a submission, as in the
    rule's own inner join."""
    import great_expectations.expectations as gxe

    if any(r.meta.get("submission") for r in rules):
        source = ("{batch} as b left join (select submission_id, submitter_code from audit.submissions) as s "
                  "using (submission_id)")
    else:
        source = "{batch}"
    counts = ", ".join(f"count(*) filter (where {r.meta['where']}) as rule_{i}" for i, r in enumerate(rules))
    any_rows = " or ".join(f"rule_{i} > 0" for i in range(len(rules)))
    return gxe.UnexpectedRowsExpectation(
        unexpected_rows_query=f"select * from (select {counts} from {source}) as rule_rows where {any_rows}",
        description="The suite's row rules, checked together (each is validated on its own when this fails).")


def _counts(ds, query: str, columns: list[str]) -> dict:
    """The batch's rows and each column's non-null values, in one scan."""
    import sqlalchemy as sa

    columns = sorted(set(columns))
    quoted = ", ".join(['count(*)', *('count("{}")'.format(c.replace('"', '""')) for c in columns)])
    with ds.get_engine().connect() as c:
        row = c.execute(sa.text(f"select {quoted} from ({query}) as batch")).one()
    return {"rows": row[0], **{("nonnull", col): n for col, n in zip(columns, row[1:], strict=True)}}


def _passing_summary(cfg, counts: dict) -> dict | None:
    """What GX's SUMMARY result says of this passing expectation, known without asking GX; None: ask GX.

    Passing without `mostly` means nothing was unexpected; GX's element_count is the batch's row count
    and its unexpected_percent is 0 of the rows (not null) or of the non-null values (None if there are
    none). tests/include/test_validation_passes.py checks this against a SUMMARY run.
    """
    kw, rows = cfg.kwargs, counts.get("rows")
    if cfg.type in _ROW_COUNT:
        return {"observed_value": rows}
    if cfg.type == ROWS_RULE:
        return {"observed_value": 0}
    if kw.get("mostly", 1) != 1 or kw.get("row_condition"):
        return None
    if cfg.type == "expect_column_values_to_not_be_null":
        return {"element_count": rows, "unexpected_count": 0, "unexpected_percent": 0.0 if rows else None}
    if cfg.type in _NONNULL_PERCENT:
        nonnull = counts[("nonnull", kw["column"])]
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
