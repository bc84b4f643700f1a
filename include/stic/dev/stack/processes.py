"""The stack's processes: one per Airflow component and Celery worker, each in a process group of its own,
watched while they run and stopped workers first."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .layout import StackLayout
from .services import StackFailed, _say, free_port


@dataclass
class Proc:
    name: str
    args: list[str]
    log: Path
    popen: subprocess.Popen | None = None
    env_extra: dict[str, str] = field(default_factory=dict)


def airflow_procs(layout: StackLayout) -> list[Proc]:
    """api-server, scheduler, dag-processor, triggerer and one Celery worker per worker name."""
    logs = layout.logs
    procs = [
        Proc("api-server", ["api-server", "--port", str(layout.api_port), "--host", "127.0.0.1",
                            "--workers", "1"], logs / "api-server.log"),
        Proc("scheduler", ["scheduler"], logs / "scheduler.log"),
        Proc("dag-processor", ["dag-processor"], logs / "dag-processor.log"),
        Proc("triggerer", ["triggerer"], logs / "triggerer.log"),
    ]
    for name in layout.worker_names:
        procs.append(Proc(
            f"celery-{name}",
            ["celery", "worker", "--celery-hostname", f"{name}@%h", "--concurrency", str(layout.concurrency)],
            logs / f"celery-{name}.log",
            env_extra={"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())},
        ))
    return procs


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the process was started with start_new_session: its group id is its pid
    except (ProcessLookupError, PermissionError):
        pass


class ProcessGroup:
    """The processes of one stack: started, checked for an early exit, waited on, stopped."""

    def __init__(self):
        self.procs: list[Proc] = []

    def pids(self) -> dict[str, int]:
        return {p.name: p.popen.pid for p in self.procs if p.popen}

    def launch(self, procs: list[Proc], env: dict[str, str], cwd: Path) -> None:
        from stic.ops import airflow_env

        self.procs = procs
        for p in self.procs:
            fh = open(p.log, "ab")  # noqa: SIM115 - the child keeps it; closed with the process
            p.popen = subprocess.Popen([airflow_env.airflow_bin(), *p.args], env={**env, **p.env_extra},
                                       stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       cwd=cwd, start_new_session=True)
            fh.close()
            _say(f"started {p.name} (pid {p.popen.pid}): airflow {' '.join(p.args)}  > {p.log}")

    def check_alive(self) -> None:
        for p in self.procs:
            if p.popen and p.popen.poll() is not None:
                tail = "\n".join(p.log.read_text(errors="replace").splitlines()[-40:])
                raise StackFailed(f"{p.name} exited (code {p.popen.returncode}); {p.log}:\n{tail}")

    def wait(self, what: str, check: Callable[[], bool], timeout: float, logs: Path) -> None:
        """Until check() is true (exceptions count as not yet), while every process stays alive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if check():
                    _say(f"healthy: {what}")
                    return
            except Exception:  # not up yet
                pass
            time.sleep(1)
        raise StackFailed(f"{what}: not healthy after {timeout:.0f}s (logs in {logs})")

    def stop(self, grace: float = 30) -> None:
        """SIGTERM every process group (workers first), then SIGKILL what is left, descendants included."""
        import psutil

        alive = [p for p in self.procs if p.popen and p.popen.poll() is None]
        family: dict[int, list] = {}
        for p in alive:
            try:
                family[p.popen.pid] = psutil.Process(p.popen.pid).children(recursive=True)
            except psutil.Error:
                family[p.popen.pid] = []
        ordered = sorted(alive, key=lambda p: 0 if p.name.startswith("celery") else 1)
        for p in ordered:
            _signal_group(p.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for p in ordered:
            try:
                p.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _say(f"{p.name} (pid {p.popen.pid}) did not stop in {grace:.0f}s: SIGKILL")
        for p in ordered:
            _signal_group(p.popen.pid, signal.SIGKILL)
            for child in family.get(p.popen.pid, []):
                try:
                    child.kill()
                except psutil.Error:
                    pass
            try:
                p.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if alive:
            _say(f"stopped {', '.join(p.name for p in ordered)}")
