"""The whole pipeline once, as the reliability tests run it: the SAME code for clean runs and crashed runs.

    python -m tests.reliability.driver          (cwd: the project root)

Reads WAREHOUSE_URL, STIC_LANDING_DIR, STIC_REPORTS_DIR, STIC_DATA_DIR, DBT_TARGET_PATH, DBT_LOG_PATH from
the environment (the tests point each at private temp folders) and STIC_CRASH_AT (stic.faults) when a
crash is wanted. Steps, in the order the DAGs take them:

1. register every landing file (stic.pipeline.register_landing_files) — and pick up what a crash left half-way;
2. process each submission to its end (stic.pipeline.process_submission): load, validate, publish, receipt;
3. `stic build`: dbt build, then grants and row-level security (stic.cli.cmd_build, with its build.roles point);
4. the auditors' site, which backfills every missing receipt (stic.reports.site.build_site).

Exit status 0 when everything ran; a crash point kills the process with SIGKILL (returncode -9).
"""

from __future__ import annotations

import logging
import os
import sys
import time


def _trace_fault_points(path: str) -> None:
    """STIC_FAULT_TRACE=<file>: append one line per pass through a crash point (name, submission id if any).

    The matrix test reads the trace of the clean run to choose where to crash; tracing changes nothing else.
    """
    from stic import faults

    real = faults.point

    def point(name: str) -> None:
        caller = sys._getframe(1).f_locals
        sid = caller.get("submission_id") or caller.get("sub_id") or ""
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{name}\t{sid}\n")
        real(name)

    faults.point = point


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if os.environ.get("STIC_FAULT_TRACE"):
        _trace_fault_points(os.environ["STIC_FAULT_TRACE"])
    from stic import cli, pipeline
    from stic.reports import site

    t0 = time.monotonic()

    def step(what: str) -> None:
        print(f"driver: {what} at {time.monotonic() - t0:.1f}s", file=sys.stderr, flush=True)

    todo = pipeline.register_landing_files()
    step(f"{len(todo)} submission(s) to process")
    for t in todo:
        pipeline.process_submission(t["submission_id"])
        step(f"submission {t['submission_id']} processed")
    rc = cli.main(["build"])
    if rc:
        return rc
    step("built")
    site.build_site()
    step("site written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
