"""The figures of the performance issue: what each measures, its target, and how a failed one is recorded."""

from __future__ import annotations

from dataclasses import dataclass, field

from .environment import _log

# -------------------------------------------------------------------------------------- the figures


@dataclass
class Figure:
    id: str
    name: str
    target: str
    unit: str = "s"
    measured: float | None = None
    baseline: float | None = None
    ratio: float | None = None
    passed: bool | None = None
    status: str = "pending"  # pass | miss | error | skipped
    baseline_name: str = ""
    details: dict = field(default_factory=dict)
    error: str | None = None

    def decide(self, ok: bool) -> None:
        self.passed = bool(ok)
        self.status = "pass" if ok else "miss"


def _figures() -> dict[str, Figure]:
    return {f.id: f for f in (
        Figure("1", "Ingest throughput (rows/s): load_step vs psql \\copy", "ratio ≥ 0.6", unit="rows/s",
               baseline_name="psql \\copy of the same rows, clean"),
        Figure("2a", "Memory: peak RSS ingesting the large CSV", "< 300 MB and large/small ≤ 1.25", unit="MB",
               baseline_name="peak RSS ingesting a CSV 10x smaller"),
        Figure("2b", "Memory: peak RSS ingesting the large XLSX", "large/small ≤ 1.25 (flat)", unit="MB",
               baseline_name="peak RSS ingesting an XLSX 10x smaller"),
        Figure("3", "Incremental cost: one new submission end to end into 10x the warehouse", "ratio ≤ 1.2",
               baseline_name="the same into the 1x warehouse"),
        Figure("4", "Validation overhead: GX on the batch vs loading it", "ratio ≤ 0.25",
               baseline_name="load_submission of the batch"),
        Figure("5", "Orchestration overhead: dbt task group under the scheduler vs plain dbt build", "ratio ≤ 1.5",
               baseline_name="one `dbt build` command of the same models, same threads"),
        Figure("6", "DAG parse: slowest DAG file's parse time in Airflow's dag-processor", "< 1 s (absolute)",
               baseline_name="a trivial one-task DAG parsed alongside"),
        Figure("7", "A day's drop: the demo sample from landing to published marts through the scheduler",
               "ratio ≤ 1.5", baseline_name="`stic ingest --landing && stic build` in one process, same files"),
    )}


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b



def _error(fig: Figure, e: BaseException) -> None:
    fig.status, fig.passed, fig.error = "error", False, f"{type(e).__name__}: {str(e)[:1500]}"
    _log(f"fig {fig.id}: ERROR {fig.error}")
