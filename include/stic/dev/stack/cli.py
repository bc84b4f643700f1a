"""`python -m stic.dev.stack e2e|up|down`: the stack on the command line."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from stic.config import TELEMETRY_OFF, settings

from .core import Stack, drop_databases, running
from .e2e import both_workers_ran, e2e, render
from .processes import _signal_group
from .services import StackFailed, StackUnavailable, release_redis_db

# --- command line --------------------------------------------------------------------------------------

def cmd_e2e(args) -> int:
    try:
        result = e2e(scale=args.scale, max_files=args.max_files, timeout=args.timeout, settle=not args.no_settle,
                     keep=args.keep, concurrency=args.concurrency, executor=args.executor)
    except StackUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    except StackFailed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: the stack was stopped and its databases dropped", file=sys.stderr)
        return 130
    print(render(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    if args.executor == "local":
        print("OK: both DAG runs succeeded (LocalExecutor)")
        return 0
    ok = both_workers_ran(result)
    print("OK: both DAG runs succeeded; both workers executed tasks" if ok
          else "FAILED: a worker executed no task")
    return 0 if ok else 1


def cmd_up(args) -> int:
    stack = Stack(concurrency=args.concurrency, executor=args.executor)
    stack.detached = args.detach
    if args.detach:
        try:
            stack.prepare()
            stack.start()
        except BaseException:
            stack.stop()
            stack.drop()
            raise
        print(f"stack up: {stack.api_url} (admin / admin); folder {stack.base_dir}\n"
              f"  env for the airflow CLI: {stack.base_dir / 'env.sh'}\n  stop it: python -m stic.dev.stack down")
        _write_env_sh(stack)
        return 0
    with running(stack, keep=True):
        _write_env_sh(stack)
        print(f"stack up: {stack.api_url} (admin / admin); logs in {stack.logs}; "
              f"`source {stack.base_dir / 'env.sh'}` to use the airflow CLI on it. Ctrl-C stops it.", flush=True)
        try:
            while True:
                stack._check_alive()
                time.sleep(2)
        except KeyboardInterrupt:
            print("stopping …", flush=True)
    return 0


def _write_env_sh(stack: Stack) -> None:
    keys = [k for k in stack.env if k.startswith(("AIRFLOW", "STIC_", "WAREHOUSE", "DBT_")) or k in TELEMETRY_OFF]
    (stack.base_dir / "env.sh").write_text("".join(f"export {k}='{stack.env[k]}'\n" for k in sorted(keys)))


def cmd_down(args) -> int:
    root = settings().data_dir / "stack"
    states = sorted(root.glob("*/stack.json")) if root.is_dir() else []
    if not states:
        print("no stack to stop")
        return 0
    stopped = 0
    for path in states:
        st = json.loads(path.read_text())
        pids = st.get("pids", {})
        # A stack of `up --detach`, or the leftovers of one that crashed; never an `e2e` or `up` still running.
        if not (st.get("detached") or not any(_alive(pid) for pid in pids.values())):
            continue
        stopped += 1
        for name, pid in pids.items():
            if _alive(pid):
                _signal_group(pid, signal.SIGTERM)
                print(f"SIGTERM {name} (pid {pid})")
        deadline = time.monotonic() + 30
        for pid in pids.values():
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.5)
            _signal_group(pid, signal.SIGKILL)
        drop_databases(st["pg_url"], [st["meta_db"], st.get("warehouse_db")])
        if st.get("redis_db"):
            release_redis_db(st["redis_url"], st["redis_db"], st["suffix"])
        if args.keep:
            path.unlink()
        else:
            shutil.rmtree(st["base_dir"], ignore_errors=True)
        print(f"stack {st['suffix']} down: databases dropped")
    if not stopped:
        print("no detached or stale stack to stop")
    return 0


def _alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def build_parser() -> argparse.ArgumentParser:
    doc = sys.modules[__package__].__doc__  # the package's docstring: what the stack is, its commands
    p = argparse.ArgumentParser(prog="python -m stic.dev.stack", description=doc.split("\n\n")[0],
                                epilog=doc.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    e = sub.add_parser("e2e", help="start the stack, run sample files through both DAGs, show who ran what, stop")
    e.add_argument("--scale", type=float, default=0.02, help="sample size for `stic generate` (default 0.02)")
    e.add_argument("--max-files", type=int, default=None, help="only this many sample files, of every kind")
    e.add_argument("--timeout", type=float, default=900, help="seconds to wait for the DAG runs (default 900)")
    e.add_argument("--no-settle", action="store_true",
                   help="stop at the first successful build_warehouse run (default: wait until no run is queued)")
    e.add_argument("--concurrency", type=int, default=2,
                   help="task slots per worker (default 2; with --executor local: the scheduler's parallelism)")
    e.add_argument("--executor", choices=("celery", "local"), default="celery",
                   help="celery (default: Redis, two Celery workers) or local (LocalExecutor in the scheduler)")
    e.add_argument("--keep", action="store_true", help="keep the stack's folder (logs) after a successful run")
    e.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    e.set_defaults(func=cmd_e2e)
    u = sub.add_parser("up", help="start the stack and keep it running until Ctrl-C")
    u.add_argument("--detach", action="store_true", help="return once healthy; `down` stops it")
    u.add_argument("--concurrency", type=int, default=2)
    u.add_argument("--executor", choices=("celery", "local"), default="celery")
    u.set_defaults(func=cmd_up)
    d = sub.add_parser("down", help="stop stacks started with `up --detach`; drop their databases")
    d.add_argument("--keep", action="store_true", help="keep their folders (logs)")
    d.set_defaults(func=cmd_down)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
