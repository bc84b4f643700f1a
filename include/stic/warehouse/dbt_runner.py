"""Run dbt on the project's dbt_project against the warehouse (in-process, through dbtRunner)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from stic.config import environ, settings, switch_off_telemetry
from stic.ledger import PUBLICATION_LOCK
from stic.warehouse import db

log = logging.getLogger(__name__)

# Vars every dbt invocation gets, so that the names dbt and the Python side share cannot drift apart:
# the advisory lock the incremental facts take (macro lock_ledger_publications) is the one the ledger takes
# when it publishes. dbt_project.yml's defaults (for Cosmos and dbt by hand) equal these
# (tests/dbt/test_project_vars.py).
PROJECT_VARS: dict[str, str] = {"stic_publication_lock": PUBLICATION_LOCK}


class DbtFailed(RuntimeError):
    pass


def profiles_dir(url: str) -> tuple[Path, dict[str, str]]:
    """A profiles.yml for this warehouse (written once per server/user/database) and the environment it needs.

    dbt reads no STIC_PG_* variables: its profile comes from the URL here, as Cosmos makes it from the
    `stic_warehouse` Airflow connection. The password stays out of the file (DBT_ENV_SECRET_*, see dbt_profile).
    """
    import hashlib

    text, env = db.dbt_profile(url)
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    folder = settings().data_dir / "dbt-profiles" / key
    target = folder / "profiles.yml"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".profiles.{os.getpid()}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)  # a dbt started meanwhile reads the old file or the new one, never half of one
    return folder, env


def env_for(url: str | None = None) -> dict[str, str]:
    """Environment dbt needs: the profile's folder and secret; telemetry off."""
    folder, env = profiles_dir(url or db.warehouse_url())
    return {**env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_PROFILES_DIR": str(folder)}


def cli_args(args: list[str], url: str | None = None, quiet: bool = False) -> tuple[list[str], dict[str, str]]:
    """The arguments (after `dbt`) and the environment of `dbt <args>` on the project and the warehouse at url:
    what `run` invokes, and what a `dbt` command line would need."""
    project = settings().dbt_project_dir
    needs_db = args[0] not in ("parse", "deps", "clean", "ls", "list")
    # parse/ls need a profile but no server: no embedded server is started for them.
    env = env_for(url or db.warehouse_url(start=needs_db))
    full = [*with_project_vars(args), "--project-dir", str(project), "--profiles-dir", env["DBT_PROFILES_DIR"]]
    if args[0] not in ("deps", "clean"):
        # As Cosmos names them (build_warehouse): dbt's partial-parse state includes the CLI vars, --profile and
        # --target, so with the same ones the DAG's `dbt build` reuses the partial parse a `stic` run leaves in
        # the project's target/ instead of parsing the whole project again (a minute on a busy two-core machine).
        full += ["--profile", "stic_warehouse", "--target", "warehouse"]
    if quiet:
        full = ["--quiet", *full]
    return full, env


def run(args: list[str], url: str | None = None, quiet: bool = False) -> object:
    """`dbt <args>` in this process; raises DbtFailed naming what failed."""
    switch_off_telemetry()
    from dbt.cli.main import dbtRunner

    full, env = cli_args(args, url, quiet)
    with environ(env):
        res = dbtRunner(callbacks=[_on_event]).invoke(full)
    if not res.success:
        failed = []
        if res.result is not None and hasattr(res.result, "results"):
            failed = [f"{r.node.name}: {r.status} {r.message or ''}".strip()
                      for r in res.result.results if str(r.status) in ("error", "fail", "runtime error")]
        detail = "; ".join(failed) or (str(res.exception) if res.exception else "see dbt_project/logs/dbt.log")
        raise DbtFailed(f"dbt {' '.join(args)} failed: {detail}")
    return res.result


def with_project_vars(args: list[str]) -> list[str]:
    """args with one `--vars` holding the caller's vars (`--vars X` or `--vars=X`, YAML) and PROJECT_VARS.

    dbt keeps only the last `--vars` given, so the caller's are merged rather than appended to; PROJECT_VARS
    win over a caller's value for the same name.
    """
    import yaml

    rest: list[str] = []
    given: dict = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--vars" and i + 1 < len(args):
            text, i = args[i + 1], i + 2
        elif arg.startswith("--vars="):
            text, i = arg.removeprefix("--vars="), i + 1
        else:
            rest.append(arg)
            i += 1
            continue
        parsed = yaml.safe_load(text) or {}
        if not isinstance(parsed, dict):
            raise ValueError(f"dbt --vars must be a YAML mapping, got {text!r}")
        given.update(parsed)
    # YAML, not JSON: a caller's value keeps its type (an unquoted date stays a date).
    merged = yaml.safe_dump({**given, **PROJECT_VARS}, default_flow_style=True, sort_keys=False, width=10**6)
    return [*rest, "--vars", merged.strip()]


def _on_event(event) -> None:
    if event.info.name == "NodeFinished":
        from stic import faults

        faults.point("dbt.node")


def target_dir() -> Path:
    return Path(os.environ.get("DBT_TARGET_PATH") or settings().dbt_project_dir / "target")


def manifest_path() -> Path:
    """The manifest the build DAG's Cosmos task group reads. A copy, kept where no dbt run writes: a dbt task
    running in parallel rewrites target/manifest.json, and a DAG parsed meanwhile would read half a file."""
    return Path(os.environ.get("STIC_DBT_MANIFEST") or settings().data_dir / "cosmos" / "manifest.json")


def parse() -> Path:
    """`dbt parse`, then publish the manifest (atomically) for Cosmos, which reads it instead of `dbt ls`."""
    import shutil

    run(["parse"], quiet=True)
    dest = manifest_path()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".json.tmp")
    shutil.copyfile(target_dir() / "manifest.json", tmp)
    os.replace(tmp, dest)
    return dest


def docs(url: str | None = None) -> Path:
    """`dbt docs generate --static`: one self-contained HTML page (opens from disk) in reports/dbt-docs."""
    import shutil

    run(["docs", "generate", "--static"], url=url, quiet=True)
    target = target_dir()
    out = settings().reports_dir / "dbt-docs"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(target / "static_index.html", out / "index.html")
    return out / "index.html"
