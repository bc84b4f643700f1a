"""Run the Great Expectations suites (expectations/*.py) in the database and keep the results in audit.*.

A load's batch is a query asset filtered by its load id, so PostgreSQL does the work and only that
submission's rows are read. A suite runs cheaply (run_suite, stic.quality.passes): one statement counts the
unexpected rows of every check it can state as GX does, GX validates the rest (BOOLEAN_ONLY), then GX
validates in SUMMARY only what failed, for its counts and examples (STIC_GX_THOROUGH=1: one SUMMARY pass of
the whole suite).
Results go to audit.validation_runs / audit.validation_results and to the GX Data Docs site. A critical
failure on a load rejects the submission; warnings never block.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import logging
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import psycopg

from stic.config import settings, switch_off_telemetry
from stic.ledger.status import Status
from stic.quality import passes
from stic.warehouse import db

log = logging.getLogger(__name__)
DATASOURCE = "warehouse"
EXAMPLES = passes.EXAMPLES


@dataclass
class SuiteRun:
    suite_name: str
    success: bool
    critical_failures: int
    warnings: int
    evaluated: int
    results: list[dict]
    validation_run_id: int | None = None
    data_docs_path: str | None = None

    @property
    def failed_rules(self) -> list[str]:
        return sorted({r["rule"] for r in self.results if not r["success"] and r["severity"] == "critical"})


SUITES_PACKAGE = "stic_expectations"
_SUITE_MTIMES: dict[str, int] = {}


def load_suite_module(name: str):
    """Import expectations/<name>.py (suites are code, kept beside the project, not in the package).

    The folder is imported by its location as the package SUITES_PACKAGE (a suite imports `._common`), so it
    works from any cwd without touching sys.path; a suite whose file changed since is imported again."""
    exp_dir = settings().expectations_dir.resolve()
    path = exp_dir / f"{name}.py"
    if not path.exists():
        raise LookupError(f"no suite {name!r}: {path} does not exist")
    pkg = sys.modules.get(SUITES_PACKAGE)
    if pkg is None or list(getattr(pkg, "__path__", [])) != [str(exp_dir)]:
        # First use, or another project's suites (settings changed): import this folder afresh.
        for mod_name in [m for m in sys.modules if m == SUITES_PACKAGE or m.startswith(f"{SUITES_PACKAGE}.")]:
            del sys.modules[mod_name]
        spec = importlib.util.spec_from_file_location(SUITES_PACKAGE, exp_dir / "__init__.py",
                                                      submodule_search_locations=[str(exp_dir)])
        pkg = importlib.util.module_from_spec(spec)
        sys.modules[SUITES_PACKAGE] = pkg
        try:
            spec.loader.exec_module(pkg)
        except BaseException:
            del sys.modules[SUITES_PACKAGE]
            raise
    full = f"{SUITES_PACKAGE}.{name}"
    mtime = path.stat().st_mtime_ns
    mod = sys.modules.get(full)
    if mod is None:
        mod = importlib.import_module(full)
    elif _SUITE_MTIMES.get(full) != mtime:
        mod = importlib.reload(mod)
    _SUITE_MTIMES[full] = mtime
    return mod


# Per process: the GX context, and what this process has already registered in it. A DAG run validates
# hundreds of batches in one worker; re-reading the project and re-writing unchanged suites and data
# sources for each of them cost more than the validation itself (profiled: ~0.5 s of ~1.4 s per batch).
_CONTEXTS: dict[str, object] = {}
_REGISTERED: dict[tuple, object] = {}


@contextmanager
def _gx_context(url: str):
    """The file-backed GX context under .stic/gx, one process at a time (its YAML is not concurrency-safe)."""
    switch_off_telemetry()
    gx_dir = settings().gx_dir
    gx_dir.mkdir(parents=True, exist_ok=True)
    with open(gx_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        os.environ["STIC_GX_URL"] = db.sqlalchemy_url(url)
        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        import great_expectations as gx

        ctx = _CONTEXTS.get(str(gx_dir))
        if ctx is None or not (gx_dir / "gx" / "great_expectations.yml").exists():
            ctx = gx.get_context(mode="file", project_root_dir=str(gx_dir))
            try:
                ctx.variables.progress_bars = {"globally": False}
            except Exception:  # older/newer config shapes: progress bars are cosmetic
                pass
            _CONTEXTS[str(gx_dir)] = ctx
            for k in [k for k in _REGISTERED if k[0] == str(gx_dir)]:
                del _REGISTERED[k]
        yield gx, ctx


def _registered(key: tuple, make):
    """make() once per process for this key (a data source, a suite of an unchanged module)."""
    if key not in _REGISTERED:
        _REGISTERED[key] = make()
    return _REGISTERED[key]


def _jsonable(v):
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if v is None or isinstance(v, bool | int | float | str):
        return v
    return str(v)


def _exception_message(info) -> str | None:
    """GX nests exception info per metric; the first message is enough to say what broke."""
    if not info:
        return None
    if isinstance(info, dict) and "exception_message" in info:
        return info.get("exception_message") if info.get("raised_exception") else None
    if isinstance(info, dict):
        for v in info.values():
            m = _exception_message(v if isinstance(v, dict) else getattr(v, "to_json_dict", lambda: {})())
            if m:
                return m
    return None


def _suite_and_source(ctx, suite_module: str):
    """The suite (saved once per process, again when its module changed) and the warehouse data source."""
    gx_dir = str(settings().gx_dir)
    module_file = settings().expectations_dir / f"{suite_module}.py"
    suite = _registered((gx_dir, "suite", suite_module, module_file.stat().st_mtime_ns),
                        lambda: ctx.suites.add_or_update(load_suite_module(suite_module).build_suite()))
    ds = _registered((gx_dir, "datasource", os.environ["STIC_GX_URL"]), lambda: ctx.data_sources.add_or_update_postgres(
        DATASOURCE, connection_string="${STIC_GX_URL}"))
    return suite, ds


def _new_query_asset(ds, asset_name: str, query: str):
    """A query asset of this name, made afresh, and its whole-table batch definition."""
    try:
        ds.delete_asset(asset_name)
    except Exception:
        pass
    return ds.add_query_asset(asset_name, query=query).add_batch_definition_whole_table("batch")


def prepare(suite_modules: list[str] | None = None, url: str | None = None) -> None:
    """What a process does once before its first batch: the GX context, the data source, the suites (the raw
    ones by default) and their batches' query assets registered (validate_batch sets each batch's query), and
    the column listing of query assets (passes)."""
    with _gx_context(url or db.warehouse_url()) as (_gx, ctx):
        for name in suite_modules or sorted(p.stem for p in settings().expectations_dir.glob("raw_*.py")):
            _suite, ds = _suite_and_source(ctx, name)
            if name.startswith("raw_"):  # validate_batch's asset
                _batch_definition(ds, f"{name}_batch", f"select * from raw.{name.removeprefix('raw_')} where false")
    passes.register_column_listing()


def _batch_definition(ds, asset_name: str, query: str):
    """The query asset of this name, written to the GX project once per process; each batch sets its query in
    memory (the batch's own query is in its stored result's batch_spec): three YAML writes less per batch."""
    definition = _registered((str(settings().gx_dir), "asset", asset_name, id(ds)),
                             lambda: _new_query_asset(ds, asset_name, query))
    definition.data_asset.query = query
    return definition


def run_suite(suite_module: str, query: str, asset_name: str, url: str | None = None,
              thorough: bool | None = None, rows: int | None = None) -> SuiteRun:
    """Run the suite on the batch `query` (passes.two_pass: the gate, then GX); `thorough`: once in SUMMARY.

    The stored GX validation result (Data Docs) and the rows for audit.validation_results carry the same
    facts either way: per expectation its success, counts and, for a failure, up to EXAMPLES examples.
    """
    url = url or db.warehouse_url()
    thorough = os.environ.get("STIC_GX_THOROUGH") == "1" if thorough is None else thorough
    with _gx_context(url) as (gx, ctx):
        suite, ds = _suite_and_source(ctx, suite_module)
        asset_key = (str(settings().gx_dir), "asset", asset_name, id(ds))
        if thorough:
            _REGISTERED.pop(asset_key, None)
            batch_definition = _new_query_asset(ds, asset_name, query)
            passes.register_column_listing()
            vd = ctx.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=f"vd_{asset_name}", data=batch_definition, suite=suite))
            cp = ctx.checkpoints.add_or_update(gx.Checkpoint(
                name=f"cp_{asset_name}", validation_definitions=[vd],
                actions=[],  # Data Docs are rebuilt once per warehouse build (build_data_docs), not per batch
                result_format=passes.SUMMARY,
            ))
            [suite_result] = cp.run().run_results.values()
            results = [_result_row(er) for er in suite_result.results]
        else:
            batch_definition = _batch_definition(ds, asset_name, query)
            results = []
            for er, derived in passes.two_pass(gx, ctx, ds, suite, batch_definition, query, rows=rows):
                results.append(_result_row(er) | (derived or {}))
    critical = sum(1 for r in results if not r["success"] and r["severity"] == "critical")
    warnings = sum(1 for r in results if not r["success"] and r["severity"] == "warning")
    return SuiteRun(suite.name, critical == 0, critical, warnings, len(results), results,
                    data_docs_path=str(data_docs_index()))


def _result_row(er) -> dict:
    cfg = er.expectation_config
    m = cfg.meta or {}
    r = er.result or {}
    return {
        "expectation_type": cfg.type,
        "column": cfg.kwargs.get("column"),
        "rule": m.get("rule", cfg.type),
        "severity": m.get("severity", "critical"),
        "description": m.get("description") or cfg.description or cfg.type,
        "success": bool(er.success),
        "observed_value": _jsonable(r.get("observed_value")),
        "element_count": r.get("element_count"),
        "unexpected_count": r.get("unexpected_count", None if er.success else r.get("observed_value")),
        "unexpected_percent": r.get("unexpected_percent"),
        "examples": _jsonable((r.get("partial_unexpected_list") or r.get("details", {}).get("unexpected_rows") or [])[:EXAMPLES]),
        "exception": _exception_message(er.exception_info) if not er.success else None,
    }


def store_run(conn: psycopg.Connection, run: SuiteRun, target: str, submission_id: int | None = None,
              load_id: int | None = None, rows_checked: int | None = None) -> int:
    run_id = conn.execute(
        "insert into audit.validation_runs (target, suite_name, submission_id, load_id, success, critical_failures, "
        "warnings, evaluated, rows_checked, data_docs_path) values (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) returning validation_run_id",
        (target, run.suite_name, submission_id, load_id, run.success, run.critical_failures, run.warnings,
         run.evaluated, rows_checked, run.data_docs_path),
    ).fetchone()[0]
    with conn.cursor() as cur:
        cur.executemany(
            "insert into audit.validation_results (validation_run_id, expectation_type, column_name, rule, severity, "
            "description, success, observed_value, element_count, unexpected_count, unexpected_percent, unexpected_examples) "
            "values (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
            [(run_id, r["expectation_type"], r["column"], r["rule"], r["severity"], r["description"], r["success"],
              None if r["observed_value"] is None else json.dumps(r["observed_value"], ensure_ascii=False),
              r["element_count"], r["unexpected_count"], r["unexpected_percent"],
              json.dumps(r["examples"], ensure_ascii=False)) for r in run.results],
        )
    run.validation_run_id = run_id
    return run_id


def validate_batch(sub: dict, url: str | None = None) -> SuiteRun:
    """Run the kind's raw suite on a parsed submission's load (a ledger row); nothing is written."""
    kind, load_id = sub["kind"], sub["load_id"]
    query = f"select * from raw.{kind} where load_id = {int(load_id)}"
    return run_suite(f"raw_{kind}", query, asset_name=f"raw_{kind}_batch", url=url, rows=sub.get("rows_loaded"))


def verdict(run: SuiteRun) -> tuple[Status, str]:
    """Where a load's suite run sends its submission (a critical failure rejects it), and why."""
    if run.success:
        return Status.VALIDATED, f"suite {run.suite_name}: {run.evaluated} checks, {run.warnings} warning(s)"
    return Status.REJECTED, f"failed critical validation rule(s): {', '.join(run.failed_rules)} (suite {run.suite_name})"


def data_docs_index() -> Path:
    return settings().gx_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def build_data_docs(url: str | None = None) -> Path:
    """Rebuild the GX Data Docs site from every stored validation result."""
    with _gx_context(url or db.warehouse_url()) as (_gx, ctx):
        ctx.build_data_docs()
    return data_docs_index()


class MartValidationFailed(RuntimeError):
    pass


def mart_suites() -> list[str]:
    return sorted(p.stem for p in settings().expectations_dir.glob("marts_*.py"))


def validate_marts(url: str | None = None, fail: bool = True) -> list[SuiteRun]:
    """Run every mart suite after a build; store the runs (target 'build'); a critical failure raises."""
    url = url or db.warehouse_url()
    runs = []
    with db.connect(url, autocommit=True) as conn:
        for name in mart_suites():
            table = load_suite_module(name).TABLE
            if not conn.execute("select to_regclass(%s) is not null", (table,)).fetchone()[0]:
                log.warning("mart suite %s: %s does not exist (not built yet); skipped", name, table)
                continue
            schema, rel = table.split(".")
            run = run_suite(name, f'select * from "{schema}"."{rel}"', asset_name=name, url=url)
            rows = conn.execute(f'select count(*) from "{schema}"."{rel}"').fetchone()[0]
            with conn.transaction():
                store_run(conn, run, "build", rows_checked=rows)
            runs.append(run)
    failed = [f"{r.suite_name}: {', '.join(r.failed_rules)}" for r in runs if not r.success]
    if failed and fail:
        raise MartValidationFailed("critical mart validation failure(s) after the build — " + "; ".join(failed))
    return runs
