"""Apache Superset over the marts, provisioned by one command (`stic bi setup`, `make bi`).

Superset pins SQLAlchemy < 2, the project's venv has 2: it gets a virtualenv of its own, `.venv-superset` at the
repository root, installed once from bi/superset/constraints.txt (a stamp of that file skips the install next time).
Its state lives under the data dir (STIC_DATA_DIR/superset): a SQLite metadata database, superset_config.py
(written on every setup), the SECRET_KEY (generated once, kept), the admin's and the BI reader's generated
passwords (mode 600), the server's pid file and log.

The datasets, charts and three dashboards are code: the import bundle in bi/superset/ (Superset's own YAML
format). The bundle's database is the warehouse as the read-only role `stic_bi_reader` (stic.warehouse.roles:
the marts only, never raw, staging or audit); its URI and password are filled in at import time, in a temporary
copy, and never written to the repository. The server listens on 127.0.0.1:8088 (STIC_BI_HOST, STIC_BI_PORT).
Telemetry is off: no example data, no thumbnails or reports, a content security policy that lets the browser
load nothing from outside (Superset's page carries a tracking pixel, which it blocks).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

from stic.config import settings

SUPERSET_VERSION = "6.1.0"
# rich and cachetools: superset 6.1.0 imports them (CLI, database engine specs) without declaring them.
PACKAGES = (f"apache-superset=={SUPERSET_VERSION}", "psycopg2-binary", "rich", "cachetools")
BUNDLE_PARTS = ("metadata.yaml", "databases", "datasets", "charts", "dashboards")
DATABASE_YAML = "databases/stic_warehouse.yaml"
URI_PLACEHOLDER = "postgresql+psycopg2://stic_bi_reader@warehouse:5432/stic"
DEFAULT_PORT = 8088


class BIError(RuntimeError):
    pass


# ---------------------------------------------------------------- places


def bundle_dir() -> Path:
    return settings().root / "bi" / "superset"


def constraints_file() -> Path:
    return bundle_dir() / "constraints.txt"


def venv_dir() -> Path:
    return Path(os.environ.get("STIC_BI_VENV") or settings().root / ".venv-superset")


def home() -> Path:
    return settings().data_dir / "superset"


def host() -> str:
    return os.environ.get("STIC_BI_HOST") or "127.0.0.1"


def port() -> int:
    return int(os.environ.get("STIC_BI_PORT") or DEFAULT_PORT)


def base_url() -> str:
    return f"http://{host()}:{port()}"


def admin_user() -> str:
    return os.environ.get("STIC_BI_ADMIN_USER") or "admin"


def _pid_file() -> Path:
    return home() / "superset.pid"


def log_file() -> Path:
    return home() / "superset.log"


# ---------------------------------------------------------------- secrets kept in files


def _secret_file(name: str, env_var: str | None = None) -> tuple[str, bool]:
    """The secret in env_var if set, else the one kept in home()/name (generated, mode 600, on first use).
    Returns (secret, newly generated)."""
    if env_var and os.environ.get(env_var):
        return os.environ[env_var], False
    path = home() / name
    if path.exists():
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32 if name == "secret-key" else 18)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value, True


def admin_password() -> tuple[str, bool]:
    return _secret_file("admin-password", "STIC_BI_ADMIN_PASSWORD")


def reader_password() -> str:
    from stic.warehouse.roles import BI_READER

    return _secret_file("reader-password", f"STIC_ROLE_PASSWORD_{BI_READER.upper()}")[0]


# ---------------------------------------------------------------- the virtualenv


def _stamp() -> str:
    h = hashlib.sha256(constraints_file().read_bytes())
    h.update(" ".join(PACKAGES).encode())
    return h.hexdigest()


def superset_bin(name: str = "superset") -> Path:
    return venv_dir() / "bin" / name


def venv_ready() -> bool:
    stamp = venv_dir() / ".stic-stamp"
    return superset_bin().exists() and stamp.exists() and stamp.read_text().strip() == _stamp()


def ensure_venv(log=print) -> bool:
    """Create .venv-superset and install Superset into it, unless it is there with the same pins. True if installed now."""
    import fcntl

    venv = venv_dir()
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two setups at once (tests, make bi) install once
        if venv_ready():
            return False
        t = time.monotonic()
        log(f"installing apache-superset {SUPERSET_VERSION} into {venv} (once; a few minutes) …")
        shutil.rmtree(venv, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(venv)], "create the Superset virtualenv")  # this Python (3.11)
        _run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
              "-c", str(constraints_file()), *PACKAGES], "pip install apache-superset", timeout=1800)
        (venv / ".stic-stamp").write_text(_stamp() + "\n")
        log(f"  installed in {time.monotonic() - t:.0f}s")
        return True


# ---------------------------------------------------------------- configuration and the superset command


CONFIG = '''\
# Written by `stic bi setup` (include/stic/ops/bi.py) on every run: edit that, not this file.
SECRET_KEY = {secret_key!r}
SQLALCHEMY_DATABASE_URI = {metadata_uri!r}
DATA_DIR = {data_dir!r}
SUPERSET_WEBSERVER_ADDRESS = {host!r}
SUPERSET_WEBSERVER_PORT = {port!r}
SUPERSET_WEBSERVER_TIMEOUT = 120
# Telemetry and everything fetched from the internet: off.
FEATURE_FLAGS = {{"THUMBNAILS": False, "ALERT_REPORTS": False, "PLAYWRIGHT_REPORTS_AND_THUMBNAILS": False,
                 "EMBEDDED_SUPERSET": False, "ENABLE_TEMPLATE_PROCESSING": False}}
MAPBOX_API_KEY = ""
SLACK_ENABLE_AVATARS = False
PREVENT_UNSAFE_DB_CONNECTIONS = True
RATELIMIT_STORAGE_URI = "memory://"
# A content security policy that allows this server only: the tracking pixel in Superset's menu, map tiles and
# web fonts are not loaded. Plain HTTP on 127.0.0.1 (put a TLS proxy in front to serve it further).
TALISMAN_ENABLED = True
CONTENT_SECURITY_POLICY_WARNING = False
TALISMAN_CONFIG = {{
    "content_security_policy": {{
        "base-uri": ["'self'"], "default-src": ["'self'"], "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"], "connect-src": ["'self'"], "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"], "font-src": ["'self'", "data:"],
        "script-src": ["'self'", "'strict-dynamic'"],
    }},
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}}
'''


def config_path() -> Path:
    return home() / "superset_config.py"


def write_config() -> Path:
    home().mkdir(parents=True, exist_ok=True)
    secret_key, _ = _secret_file("secret-key", "STIC_BI_SECRET_KEY")
    text = CONFIG.format(secret_key=secret_key, metadata_uri=f"sqlite:///{home() / 'superset.db'}",
                         data_dir=str(home()), host=host(), port=port())
    path = config_path()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the SECRET_KEY
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    e.update({"SUPERSET_CONFIG_PATH": str(config_path()), "SUPERSET_HOME": str(home()),
              "FLASK_APP": "superset.app:create_app()", "SUPERSET_LOAD_EXAMPLES": "no",
              "SCARF_ANALYTICS": "false", "DO_NOT_TRACK": "1",
              "PATH": f"{venv_dir() / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"})
    return e


def _run(cmd: list[str], what: str, timeout: int = 900, env_: dict | None = None) -> str:
    proc = subprocess.run(cmd, env=env_, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise BIError(f"{what} failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")
    return proc.stdout + proc.stderr


def superset(*args: str, what: str | None = None, timeout: int = 900) -> str:
    return _run([str(superset_bin()), *args], what or f"superset {' '.join(args[:2])}", timeout, env())


# ---------------------------------------------------------------- the warehouse as stic_bi_reader


def reader_uri(warehouse_url: str, password: str) -> str:
    """The warehouse for Superset (psycopg2), logged in as stic_bi_reader; a socket directory stays in the query."""
    from stic.warehouse import db
    from stic.warehouse.roles import BI_READER

    p = db.url_parts(warehouse_url)
    return "postgresql+psycopg2://" + db.url_from_parts(p["host"], p["port"], BI_READER, password,
                                                        p["dbname"]).split("://", 1)[1]


def grant_reader(warehouse_url: str, password: str) -> None:
    """stic_bi_reader exists, with this password, and reads the marts (stic.warehouse.roles.apply, idempotent)."""
    from stic.warehouse import db, roles

    var = f"STIC_ROLE_PASSWORD_{roles.BI_READER.upper()}"
    old = os.environ.get(var)
    os.environ[var] = password
    try:
        with db.connect(warehouse_url, autocommit=True) as conn:
            db.init_schema(conn)
            roles.apply(conn)
    finally:
        if old is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = old


def write_bundle(out: Path, uri: str) -> Path:
    """A zip of bi/superset's bundle with the database's real URI in it (a temporary file: it holds a password)."""
    src = bundle_dir()
    placeholder = f"sqlalchemy_uri: {URI_PLACEHOLDER}"
    with zipfile.ZipFile(out, "w") as z:
        for part in BUNDLE_PARTS:
            p = src / part
            files = [p] if p.is_file() else sorted(f for f in p.rglob("*.yaml"))
            for f in files:
                rel = f.relative_to(src).as_posix()
                text = f.read_text()
                if rel == DATABASE_YAML:
                    if placeholder not in text:
                        raise BIError(f"{f}: no `{placeholder}` line to fill in")
                    import json

                    text = text.replace(placeholder, f"sqlalchemy_uri: {json.dumps(uri)}")
                z.writestr(f"stic_bi/{rel}", text)
    os.chmod(out, 0o600)
    return out


def import_bundle(uri: str) -> None:
    """Import bi/superset into Superset, overwriting what an earlier import left (the database's URI included):
    `python -m stic.ops.bi import` in Superset's own python, the URI passed in its environment."""
    include = str(Path(__file__).resolve().parents[2])
    e = env() | {"PYTHONPATH": include, "STIC_BI_WAREHOUSE_URI": uri}
    _run([str(superset_bin("python")), "-m", "stic.ops.bi", "import"], "import of bi/superset", env_=e)


def import_in_superset(uri: str, user: str) -> int:
    """Runs inside Superset's python (local venv or the compose service's image): the bundle with `uri` filled in,
    imported as `user` by Superset's assets import, which overwrites databases, datasets, charts and dashboards
    (`superset import-dashboards` keeps existing charts and connections as they were). Returns the files imported."""
    from flask import g
    from superset.app import create_app

    app = create_app()
    with app.app_context(), tempfile.TemporaryDirectory(prefix="stic-bi-") as tmp:
        from superset import security_manager
        from superset.commands.importers.v1.assets import ImportAssetsCommand
        from superset.commands.importers.v1.utils import get_contents_from_bundle

        g.user = security_manager.find_user(username=user)
        if g.user is None:
            raise BIError(f"no Superset user {user!r} (superset fab create-admin first)")
        with zipfile.ZipFile(write_bundle(Path(tmp) / "bundle.zip", uri)) as z:
            contents = get_contents_from_bundle(z)
        ImportAssetsCommand(contents).run()
        return len(contents)


# ---------------------------------------------------------------- the server


def running_pid() -> int | None:
    try:
        pid = int(_pid_file().read_text().strip())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


def healthy(timeout: float = 3) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url()}/health", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


def start(wait: float = 180) -> int:
    """Start Superset (gunicorn) in the background, wait until /health answers; return its pid."""
    pid = running_pid()
    if pid and healthy():
        return pid
    if pid:
        stop()
    if not superset_bin().exists():
        raise BIError(f"no Superset in {venv_dir()}: run `stic bi setup` first")
    write_config()
    log = open(log_file(), "ab")
    workers = os.environ.get("STIC_BI_WORKERS") or "2"
    proc = subprocess.Popen(
        [str(superset_bin("gunicorn")), "--workers", workers, "--worker-class", "gthread", "--threads", "4",
         "--timeout", "120", "--bind", f"{host()}:{port()}", "--limit-request-line", "0",
         "--limit-request-field_size", "0", "superset.app:create_app()"],
        env=env(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    _pid_file().write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _pid_file().unlink(missing_ok=True)
            tail = log_file().read_text(errors="replace")[-3000:]
            raise BIError(f"Superset exited (code {proc.returncode}); log {log_file()}:\n{tail}")
        if healthy():
            return proc.pid
        time.sleep(1)
    stop()
    raise BIError(f"Superset did not answer on {base_url()}/health within {wait:.0f}s; log {log_file()}")


def stop() -> bool:
    pid = running_pid()
    if pid is None:
        _pid_file().unlink(missing_ok=True)
        return False
    try:
        os.killpg(pid, signal.SIGTERM)  # gunicorn and its workers: a session of their own
    except ProcessLookupError:
        pass
    for _ in range(60):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.5)
    else:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _pid_file().unlink(missing_ok=True)
    return True


def status() -> dict:
    pid = running_pid()
    return {"running": bool(pid), "pid": pid, "healthy": bool(pid) and healthy(), "url": base_url(),
            "home": str(home()), "venv": str(venv_dir()), "installed": venv_ready()}


# ---------------------------------------------------------------- everything


def setup(warehouse_url: str | None = None, start_server: bool = True, log=print) -> dict:
    """Install (once), configure, migrate, create the admin, connect as stic_bi_reader, import the dashboards, start."""
    from stic.warehouse import db

    url = warehouse_url or db.warehouse_url()
    t0 = time.monotonic()
    ensure_venv(log)
    write_config()
    superset("db", "upgrade", what="superset db upgrade")
    password, new = admin_password()
    out = superset("fab", "create-admin", "--username", admin_user(), "--firstname", "STIC", "--lastname", "Admin",
                   "--email", f"{admin_user()}@localhost", "--password", password, what="superset fab create-admin")
    if "already exists" in out:  # the password is the one in the environment or the file, whichever was changed
        superset("fab", "reset-password", "--username", admin_user(), "--password", password)
    superset("init", what="superset init")
    rpw = reader_password()
    grant_reader(url, rpw)
    import_bundle(reader_uri(url, rpw))
    log(f"superset: metadata, admin and the dashboards of bi/superset ready in {home()} "
        f"({time.monotonic() - t0:.0f}s); warehouse {db.redact(reader_uri(url, '***'))}")
    if new:
        log(f"superset admin: user {admin_user()!r}, password {password} (kept in {home() / 'admin-password'}, "
            "mode 600; set STIC_BI_ADMIN_PASSWORD to choose it)")
    pid = start() if start_server else None
    if pid:
        log(f"superset running on {base_url()} (pid {pid}; `stic bi stop` stops it; log {log_file()})")
    return {"url": base_url(), "pid": pid, "admin_user": admin_user(), "home": str(home())}


def main(argv: list[str] | None = None) -> int:
    """`python -m stic.ops.bi config|import`: the steps `stic bi setup` and the compose service (the official
    Superset image, where `stic` is not installed, only on PYTHONPATH) share. config: write superset_config.py
    under STIC_DATA_DIR/superset. import (in Superset's python): import bi/superset with STIC_BI_WAREHOUSE_URI,
    the warehouse as stic_bi_reader, as the database's URI."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m stic.ops.bi", description=main.__doc__)
    p.add_argument("what", choices=["config", "import"])
    a = p.parse_args(argv)
    if a.what == "config":
        print(write_config())
        return 0
    uri = os.environ.get("STIC_BI_WAREHOUSE_URI")
    if not uri:
        p.error("import needs STIC_BI_WAREHOUSE_URI (the warehouse as stic_bi_reader)")
    print(f"imported {import_in_superset(uri, admin_user())} files of {bundle_dir()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
