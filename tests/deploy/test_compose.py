"""docker-compose.yml, checked statically (no Docker engine runs on the project's machines): services, pinned
images, the Celery configuration shared by every Airflow service, healthchecks, volumes, start-up order."""

from __future__ import annotations

import json
import os
import re
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"

AIRFLOW_SERVICES = ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                    "airflow-worker-1", "airflow-worker-2")
LONG_RUNNING = (*AIRFLOW_SERVICES, "postgres", "warehouse", "redis")
WORKERS = ("airflow-worker-1", "airflow-worker-2")
COMMON_ENV_KEYS = (
    "AIRFLOW__CORE__EXECUTOR", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__CORE__LOAD_EXAMPLES", "AIRFLOW__CORE__DAGS_FOLDER",
    "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "WAREHOUSE_URL", "STIC_HOME", "STIC_LANDING_DIR", "STIC_REPORTS_DIR",
    "DBT_SEND_ANONYMOUS_USAGE_STATS", "AIRFLOW__COSMOS__ENABLE_TELEMETRY", "DO_NOT_TRACK",
    "GX_ANALYTICS_ENABLED", "SCARF_ANALYTICS",
)
TELEMETRY_OFF = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "false",
                 "DO_NOT_TRACK": "1", "GX_ANALYTICS_ENABLED": "false", "SCARF_ANALYTICS": "false"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def resolve(value) -> str:
    """A compose value with ${VAR:-default} replaced by its default (what runs when VAR is not set)."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}", lambda m: m.group(1) or "", str(value))


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: resolve(v) for k, v in env.items()}


def image_tag(image: str) -> tuple[str, str]:
    name, _, tag = resolve(image).rpartition(":")
    return (name, tag) if name and "/" not in tag else (resolve(image), "")


def mount(spec: str) -> tuple[str, str]:
    """(source, target) of a short volume syntax `source:target[:mode]`."""
    parts = resolve(spec).split(":")
    return parts[0], parts[1]


def test_all_services_present(services):
    expected = {"postgres", "warehouse", "redis", "airflow-init", *AIRFLOW_SERVICES}
    assert expected <= set(services), f"missing: {sorted(expected - set(services))}"


def test_every_image_pinned_to_a_version(services):
    for name, svc in services.items():
        assert "image" in svc, f"{name}: no image"
        repo, tag = image_tag(svc["image"])
        assert tag and tag != "latest", f"{name}: image {svc['image']!r} is not pinned"
        assert re.match(r"^\d+(\.\d+)+", tag), f"{name}: tag {tag!r} is not a version"
    assert re.fullmatch(r"16\.\d+", image_tag(services["postgres"]["image"])[1])
    assert re.fullmatch(r"16\.\d+", image_tag(services["warehouse"]["image"])[1])
    assert re.fullmatch(r"7\.\d+(\.\d+)?", image_tag(services["redis"]["image"])[1])
    assert image_tag(services["postgres"]["image"])[0] == image_tag(services["warehouse"]["image"])[0] == "postgres"


def test_airflow_image_is_the_installed_airflow_version(services):
    installed = version("apache-airflow")
    froms = re.findall(r"^ARG AIRFLOW_IMAGE=(\S+)", DOCKERFILE.read_text(), re.M)
    assert froms, "docker/Dockerfile: no ARG AIRFLOW_IMAGE=apache/airflow:..."
    assert re.search(r"^FROM \$\{AIRFLOW_IMAGE\}", DOCKERFILE.read_text(), re.M)
    for name in ("airflow-init", *AIRFLOW_SERVICES):
        svc = services[name]
        assert svc["build"]["dockerfile"] == "docker/Dockerfile", name
        base = svc["build"]["args"]["AIRFLOW_IMAGE"]
        for ref in (base, froms[0]):
            repo, tag = image_tag(ref)
            assert repo == "apache/airflow", ref
            assert tag.split("-python")[0] == installed, f"{ref}: Airflow {installed} is installed"
            assert tag.endswith("-python3.11"), ref
        assert image_tag(svc["image"])[1].split("-python")[0] == installed, svc["image"]


def test_celery_executor_and_one_common_env_on_every_airflow_service(compose, services):
    common = {k: resolve(v) for k, v in compose["x-airflow-common"]["environment"].items()}
    missing = [k for k in COMMON_ENV_KEYS if k not in common]
    assert not missing, f"x-airflow-common lacks {missing}"
    assert common["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert common["AIRFLOW__CORE__LOAD_EXAMPLES"].lower() == "false"
    assert common["AIRFLOW__API_AUTH__JWT_SECRET"] and common["AIRFLOW__API__SECRET_KEY"]
    assert "${AIRFLOW__API_AUTH__JWT_SECRET" in compose["x-airflow-common"]["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"]
    for k, v in TELEMETRY_OFF.items():
        assert common[k].lower() == v, k
    for name in ("airflow-init", *AIRFLOW_SERVICES):
        env = env_of(services[name])
        differing = {k for k, v in common.items() if env.get(k) != v}
        assert not differing, f"{name}: {sorted(differing)} differ from x-airflow-common"


def test_broker_and_result_backend_point_at_the_services(compose, services):
    env = {k: resolve(v) for k, v in compose["x-airflow-common"]["environment"].items()}
    assert re.match(r"^redis://[^/]*@?redis:6379/\d+$", env["AIRFLOW__CELERY__BROKER_URL"])
    assert re.match(r"^db\+postgresql(\+psycopg2?)?://[^@]+@postgres(:5432)?/", env["AIRFLOW__CELERY__RESULT_BACKEND"])
    assert re.match(r"^postgresql(\+psycopg2?)?://[^@]+@postgres(:5432)?/", env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert re.match(r"^postgresql://[^@]+@warehouse(:5432)?/", env["WAREHOUSE_URL"])
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-api-server:8080/execution/"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/stic/dags" and env["STIC_HOME"] == "/opt/stic"
    # the metadata and warehouse databases are two servers
    assert services["postgres"]["environment"]["POSTGRES_DB"] != services["warehouse"]["environment"]["POSTGRES_DB"]


def test_healthchecks_on_every_long_running_service(services):
    for name in LONG_RUNNING:
        hc = services[name].get("healthcheck")
        assert hc and hc.get("test"), f"{name}: no healthcheck"
        assert services[name].get("restart") in ("always", "unless-stopped"), name
    text = lambda n: " ".join(services[n]["healthcheck"]["test"])  # noqa: E731
    assert "http://localhost:8080/api/v2/version" in text("airflow-api-server")
    assert "http://localhost:8974/health" in text("airflow-scheduler")
    assert services["airflow-scheduler"]["environment"]["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"].lower() == "true"
    assert "pg_isready" in text("postgres") and "pg_isready" in text("warehouse")
    assert "redis-cli ping" in text("redis")
    for n in ("airflow-dag-processor", "airflow-triggerer"):
        assert "airflow jobs check" in text(n), n


def test_two_distinct_workers(services):
    commands, hostnames = [], []
    for i, name in enumerate(WORKERS, start=1):
        cmd = services[name]["command"]
        cmd = cmd if isinstance(cmd, str) else " ".join(cmd)
        assert cmd.startswith("celery worker"), cmd
        m = re.search(r"--celery-hostname (\S+)", cmd)
        assert m and m.group(1) == f"worker-{i}@%h", cmd
        commands.append(cmd)
        hostnames.append(m.group(1))
        assert f'inspect ping -d "worker-{i}@$${{HOSTNAME}}"' in " ".join(services[name]["healthcheck"]["test"])
        assert "celery_executor.app" in " ".join(services[name]["healthcheck"]["test"])
    assert len(set(hostnames)) == 2 and len({services[w].get("hostname") for w in WORKERS}) == 2


def test_volumes_declared_and_mounted(compose, services):
    declared = set(compose["volumes"])
    assert {"stic-landing", "stic-reports", "airflow-logs", "airflow-db", "warehouse-db"} <= declared
    common_env = {k: resolve(v) for k, v in compose["x-airflow-common"]["environment"].items()}
    for name in ("airflow-init", *AIRFLOW_SERVICES):
        targets = {tgt: src for src, tgt in map(mount, services[name]["volumes"])}
        assert targets.get(common_env["STIC_LANDING_DIR"]) == "stic-landing", name
        assert targets.get(common_env["STIC_REPORTS_DIR"]) == "stic-reports", name
        assert targets.get("/opt/airflow/logs") == "airflow-logs", name
        assert targets.get("/opt/stic") == ".", f"{name}: the project is not mounted at /opt/stic"
    for db, vol in (("postgres", "airflow-db"), ("warehouse", "warehouse-db")):
        assert f"{vol}:/var/lib/postgresql/data" in services[db]["volumes"]
    # every named volume a service uses is declared
    for name, svc in services.items():
        for m in svc.get("volumes", []):
            src, _ = mount(m)
            if not src.startswith((".", "/", "$")):
                assert src in declared, f"{name}: volume {src} not declared"


def test_depends_on_conditions(services):
    def deps(name):
        d = services[name].get("depends_on") or {}
        assert isinstance(d, dict), f"{name}: depends_on without conditions"
        return {k: v["condition"] for k, v in d.items()}

    for name in ("airflow-init", *AIRFLOW_SERVICES):
        d = deps(name)
        for svc in ("redis", "postgres", "warehouse"):
            assert d.get(svc) == "service_healthy", f"{name} -> {svc}: {d.get(svc)}"
    for name in AIRFLOW_SERVICES:
        assert deps(name).get("airflow-init") == "service_completed_successfully", name
    for name in WORKERS:
        assert deps(name).get("airflow-api-server") == "service_healthy", name  # the execution API
    for name, svc in services.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            assert cond["condition"] in ("service_healthy", "service_completed_successfully"), (name, dep)
            if cond["condition"] == "service_healthy":
                assert services[dep].get("healthcheck"), f"{name} waits for {dep} to be healthy: no healthcheck"


def test_init_migrates_and_creates_the_admin_user(services):
    init = services["airflow-init"]
    script = init["command"] if isinstance(init["command"], str) else "\n".join(init["command"])
    assert "airflow db migrate" in script
    assert "simple_auth_manager_passwords.json" in script
    assert env_of(init)["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"].endswith("simple_auth_manager_passwords.json")
    assert "dbt_runner.parse()" in script  # the module is stic.warehouse.dbt_runner since the move to subpackages


def test_warehouse_connection_is_the_warehouse_service(compose, services):
    env = {k: resolve(v) for k, v in compose["x-airflow-common"]["environment"].items()}
    conn, url = urlparse(env["AIRFLOW_CONN_STIC_WAREHOUSE"]), urlparse(env["WAREHOUSE_URL"])
    assert conn.scheme in ("postgres", "postgresql")
    assert (conn.hostname, conn.port or 5432, conn.username, conn.password, conn.path) == \
        (url.hostname, url.port or 5432, url.username, url.password, url.path), "two different warehouses"
    wh = services["warehouse"]["environment"]
    assert (conn.hostname, conn.username, conn.path.lstrip("/")) == ("warehouse", wh["POSTGRES_USER"], wh["POSTGRES_DB"])
    assert resolve(wh["POSTGRES_PASSWORD"]) == conn.password
    assert not [k for k in env if k.startswith("STIC_PG_")], "dbt must not need STIC_PG_* variables"


DBT_DEBUG = """
import json, os, sys
from _stic_common import warehouse_profile_config
from dbt.cli.main import dbtRunner

with warehouse_profile_config().ensure_profile() as (path, env):
    os.environ.update(env)
    profile = path.read_text()
    res = dbtRunner().invoke(["debug", "--project-dir", sys.argv[1], "--profiles-dir", str(path.parent)])
print("RESULT" + json.dumps({"success": res.success, "profile": profile}))
"""


@pytest.fixture
def compose_role(admin_url, warehouse_url):
    """The compose warehouse's user (`stic`, its password) on the local PostgreSQL, allowed into the test database."""
    import psycopg
    from psycopg import sql

    dbname = urlparse(warehouse_url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as c:
        if not c.execute("select 1 from pg_roles where rolname = 'stic'").fetchone():
            c.execute("create role stic login password 'stic'")
        c.execute(sql.SQL("grant all on database {} to stic").format(sql.Identifier(dbname)))
    return dbname


@pytest.mark.slow
def test_dbt_reaches_the_warehouse_with_only_the_compose_environment(compose, compose_role, warehouse_url,
                                                                    tmp_path):
    """The compose services' environment, with only the warehouse's address moved to the local PostgreSQL
    (no Docker here): Cosmos maps `stic_warehouse` to a profile and `dbt debug` connects as `stic`."""
    import subprocess
    import sys

    env = {k: resolve(v) for k, v in compose["x-airflow-common"]["environment"].items()}
    local = urlparse(warehouse_url)
    if not local.hostname:
        # compose's connection names a host and port; the embedded PostgreSQL (no WAREHOUSE_TEST_URL) listens on
        # a Unix socket only, which such a connection cannot name
        pytest.skip("the test warehouse is on a Unix socket (embedded PostgreSQL); set WAREHOUSE_TEST_URL to a "
                    "server on host:port")
    conn = urlparse(env["AIRFLOW_CONN_STIC_WAREHOUSE"])
    env["AIRFLOW_CONN_STIC_WAREHOUSE"] = conn._replace(
        netloc=f"{conn.username}:{conn.password}@{local.hostname}:{local.port or 5432}", path=f"/{compose_role}"
    ).geturl()
    # Paths of the image, moved to this checkout and a temp folder, and the metadata database (another
    # service, not read here) to a file; nothing else changes.
    env.update({"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}","STIC_HOME": str(ROOT), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
                "STIC_DATA_DIR": str(tmp_path), "AIRFLOW_HOME": str(tmp_path / "airflow"),
                "DBT_LOG_PATH": str(tmp_path / "dbt-logs"), "DBT_TARGET_PATH": str(tmp_path / "target"),
                "PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(ROOT / "dags")})
    env.pop("WAREHOUSE_URL")  # the connection alone must do
    proc = subprocess.run([sys.executable, "-c", DBT_DEBUG, str(ROOT / "dbt_project")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    res = json.loads(next(ln for ln in out.splitlines() if ln.startswith("RESULT"))[len("RESULT"):])
    assert res["success"], out[-3000:]
    assert "All checks passed" in out
    profile = yaml.safe_load(res["profile"])["stic_warehouse"]["outputs"]["warehouse"]
    assert (profile["host"], profile["user"], profile["dbname"]) == (local.hostname, "stic", compose_role)
    assert profile["schema"] == "marts" and "stic" not in res["profile"].split("password")[1].split("\n")[0]


def test_lineage_goes_to_a_file_in_a_volume(compose, services):
    env = {k: resolve(v) for k, v in compose["x-airflow-common"]["environment"].items()}
    transport = json.loads(env["AIRFLOW__OPENLINEAGE__TRANSPORT"])
    assert transport["type"] == "file" and transport["append"] is True
    targets = {tgt: src for src, tgt in map(mount, services["airflow-worker-1"]["volumes"])}
    assert any(transport["log_file_path"].startswith(t + "/") and not src.startswith(".")
               for t, src in targets.items()), f"{transport['log_file_path']} is not in a named volume"
    assert env["AIRFLOW__OPENLINEAGE__EXTRACTORS"] == "_stic_lineage.SubmissionLineageExtractor"
    assert (ROOT / "dags" / "_stic_lineage.py").exists()
    init = services["airflow-init"]["command"]
    script = init if isinstance(init, str) else "\n".join(init)
    assert str(Path(transport["log_file_path"]).parent) in script, "airflow-init does not create the folder"


def test_superset_service_is_the_pinned_official_image_with_the_bundle_imported(services):
    """Apache Superset (README, Connect a BI tool): the official image at the version `stic bi setup` installs, the
    same config and import code (python -m stic.ops.bi), on 127.0.0.1 only."""
    from stic.ops import bi

    svc = services["superset"]
    assert image_tag(svc["image"])[1] == bi.SUPERSET_VERSION
    froms = re.findall(r"^FROM (\S+)", svc["build"]["dockerfile_inline"], re.M)
    assert froms == [f"apache/superset:{bi.SUPERSET_VERSION}"], froms
    assert "psycopg2-binary==" in svc["build"]["dockerfile_inline"]
    script = svc["command"] if isinstance(svc["command"], str) else "\n".join(svc["command"])
    steps = ["python -m stic.ops.bi config", "superset db upgrade", "superset fab create-admin", "superset init",
             "python -m stic.ops.bi import", "exec gunicorn"]
    at = [script.find(s) for s in steps]
    assert -1 not in at and at == sorted(at), dict(zip(steps, at, strict=True))
    assert "set -euo pipefail" in script and "--bind 0.0.0.0:8088" in script
    env = env_of(svc)
    targets = {tgt: src for src, tgt in map(mount, svc["volumes"])}
    assert targets.get(env["STIC_HOME"]) == "." and resolve(svc["volumes"][0]).endswith(":ro")
    assert env["PYTHONPATH"] == env["STIC_HOME"] + "/include" and env["STIC_ENV_FILE"] == ""
    assert env["SUPERSET_CONFIG_PATH"] == env["STIC_DATA_DIR"] + "/superset/superset_config.py"
    assert any(env["STIC_DATA_DIR"].startswith(t + "/") and not src.startswith((".", "/")) for t, src in targets.items()), \
        "Superset's state (metadata, SECRET_KEY) is not in a named volume"
    assert env["SUPERSET_LOAD_EXAMPLES"] == "no" and env["SCARF_ANALYTICS"] == "false" and env["DO_NOT_TRACK"] == "1"
    assert svc["ports"] == ["127.0.0.1:${SUPERSET_PORT:-8088}:8088"]
    assert "http://localhost:8088/health" in " ".join(svc["healthcheck"]["test"])
    assert svc["depends_on"]["warehouse"]["condition"] == "service_healthy"


def test_superset_reads_the_warehouse_as_the_bi_reader(compose, services):
    """The URI is the warehouse service as stic_bi_reader, whose password build_warehouse sets (roles.apply reads
    STIC_ROLE_PASSWORD_STIC_BI_READER from the Airflow services' environment): one variable for both."""
    env = env_of(services["superset"])
    uri = urlparse(env["STIC_BI_WAREHOUSE_URI"])
    wh = services["warehouse"]["environment"]
    assert uri.scheme == "postgresql+psycopg2"
    assert (uri.username, uri.hostname, uri.port or 5432, uri.path.lstrip("/")) == \
        ("stic_bi_reader", "warehouse", 5432, wh["POSTGRES_DB"])
    common = compose["x-airflow-common"]["environment"]
    raw = services["superset"]["environment"]["STIC_BI_WAREHOUSE_URI"]
    assert "${STIC_BI_READER_PASSWORD" in raw and "${STIC_BI_READER_PASSWORD" in common["STIC_ROLE_PASSWORD_STIC_BI_READER"]
    assert uri.password == resolve(common["STIC_ROLE_PASSWORD_STIC_BI_READER"])
    assert uri.password != resolve(wh["POSTGRES_PASSWORD"]), "Superset must not log in as the warehouse's owner"
