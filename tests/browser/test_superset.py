"""Apache Superset, provisioned by `stic bi setup` over a small warehouse, in a real browser: log in, open each of
the three dashboards of bi/superset, and a figure each shows equals the same figure queried from the marts.

`stic bi setup` runs for real (its own data dir and port under tmp); the Superset virtualenv is the repository's
.venv-superset, installed once (a few minutes) and reused by later runs. Needs /usr/bin/chromium (as
test_site_browser.py). The bundle checks at the end need neither.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import yaml

from stic import pipeline
from stic.config import settings
from stic.dev.sample import generate
from stic.warehouse import dbt_runner as dbt
from stic.warehouse import roles
from tests.browser.test_site_browser import ARGS, CHROMIUM
from tests.conftest import reset_warehouse

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "bi" / "superset"
SCALE = 0.05
ADMIN_PASSWORD = "stic-test-admin"
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install chromium)")

# (dashboard slug, chart name, the same figure from the marts)
FIGURES = [
    ("stic-innovation-indicators", "Projects started",
     "select sum(projects_started) from marts.rpt_innovation_indicators"),
    ("stic-platform-funding", "Platform funding (yuan)", "select sum(amount_yuan) from marts.fct_platform_funding"),
    ("stic-platform-funding", "Platform funding findings", "select count(*) from marts.rpt_platform_funding_findings"),
    ("stic-ip-and-exports", "Technology exports to the Yangtze River Delta",
     "select count(*) from marts.fct_technology_exports where is_yangtze_delta_buyer"),
    ("stic-ip-and-exports", "IP transactions", "select count(*) from marts.fct_ip_transactions"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def marts(warehouse_url, tmp_path_factory):
    """The generated sample through ingestion and dbt, the roles and grants applied: what `make demo` leaves."""
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        reset_warehouse(conn)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STIC_LANDING_DIR", str(tmp_path_factory.mktemp("bi-landing")))
        generate(settings().incoming_dir, scale=SCALE, seed=42)
        assert not pipeline.ingest_landing(warehouse_url).unfinished
        dbt.run(["build"], quiet=True)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        roles.apply(conn)
    return warehouse_url


@pytest.fixture(scope="module")
def superset(marts, tmp_path_factory):
    """`stic bi setup` for real, in a data dir and on a port of its own; stopped at the end."""
    from stic.ops import bi

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STIC_DATA_DIR", str(tmp_path_factory.mktemp("bi-data")))
        mp.setenv("STIC_BI_PORT", str(_free_port()))
        mp.setenv("STIC_BI_ADMIN_PASSWORD", ADMIN_PASSWORD)
        mp.setenv("STIC_BI_WORKERS", "1")
        stic = Path(sys.executable).parent / "stic"
        try:
            proc = subprocess.run([str(stic), "bi", "setup"], capture_output=True, text=True, timeout=2400,
                                  env=dict(os.environ))
            assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
            assert bi.healthy(), proc.stdout
            yield bi.base_url(), proc.stdout
        finally:
            bi.stop()
            assert not bi.running_pid() and not bi.healthy()


@pytest.fixture(scope="module")
def page(superset):
    sync_api = pytest.importorskip("playwright.sync_api")
    base, _ = superset
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            pg = browser.new_page(viewport={"width": 1600, "height": 1200})
            pg.set_default_timeout(120_000)
            pg.requests, pg.failed = [], set()
            pg.on("request", lambda r: pg.requests.append(r.url))
            pg.on("requestfailed", lambda r: pg.failed.add(r.url))
            pg.goto(f"{base}/login/")
            pg.fill("input[name=username], #username", "admin")
            pg.fill("input[name=password], #password", ADMIN_PASSWORD)
            pg.keyboard.press("Enter")
            pg.wait_for_url(lambda url: "/login" not in url)
            yield pg
        finally:
            browser.close()


def _number(text: str) -> Decimal:
    return Decimal(text.strip().replace(",", ""))


@needs_chromium
@pytest.mark.slow
@pytest.mark.parametrize("slug", sorted({f[0] for f in FIGURES}))
def test_each_dashboard_shows_the_figures_of_the_marts(superset, page, marts, slug, tmp_path):
    base, _ = superset
    page.goto(f"{base}/superset/dashboard/{slug}/")
    with psycopg.connect(marts) as conn:
        for _, chart, query in (f for f in FIGURES if f[0] == slug):
            expected = conn.execute(query).fetchone()[0] or 0
            assert expected > 0, f"{chart}: the sample has no rows for it ({query})"
            value = page.locator(f'[data-test-chart-name="{chart}"] .header-line')
            value.wait_for(state="visible")
            assert _number(value.inner_text()) == Decimal(expected), f"{slug}: {chart}"
    page.wait_for_load_state("networkidle")
    assert page.locator(".chart-container .alert, [data-test=chart-error]").count() == 0, f"{slug}: a chart failed"
    out = ROOT / "test-output"
    out.mkdir(exist_ok=True)
    for folder in (out, tmp_path):
        page.screenshot(path=str(folder / f"superset-{slug}.png"), full_page=True)
    # Superset's menu carries a tracking pixel: the content security policy of stic.ops.bi blocks it, and anything
    # else from outside this server.
    outside = {u for u in page.requests if not u.startswith((base, "data:", "blob:"))}
    assert outside <= page.failed, f"the browser fetched from outside: {sorted(outside - page.failed)[:5]}"


@needs_chromium
@pytest.mark.slow
def test_setup_connects_as_the_bi_reader_and_keeps_no_password_in_the_repo(superset):
    from stic.ops import bi

    _, out = superset
    assert "stic_bi_reader" in out and ADMIN_PASSWORD not in out
    cfg = bi.config_path()
    assert oct(cfg.stat().st_mode & 0o777) == "0o600"
    assert "SECRET_KEY" in cfg.read_text() and "scarf" not in cfg.read_text()
    csp = urllib.request.urlopen(f"{bi.base_url()}/login/", timeout=30).headers["Content-Security-Policy"]
    assert "img-src 'self' blob: data:" in csp and "http" not in csp, csp
    assert oct((bi.home() / "reader-password").stat().st_mode & 0o777) == "0o600"


def test_the_bundle_has_three_dashboards_over_the_marts_and_no_password():
    db = yaml.safe_load((BUNDLE / "databases" / "stic_warehouse.yaml").read_text())
    from stic.ops import bi

    assert db["sqlalchemy_uri"] == bi.URI_PLACEHOLDER and "password" not in db
    assert not db["allow_dml"] and not db["allow_file_upload"]
    datasets = {yaml.safe_load(p.read_text())["uuid"]: yaml.safe_load(p.read_text())
                for p in (BUNDLE / "datasets").rglob("*.yaml")}
    for d in datasets.values():
        assert d["schema"] == "marts" and d["database_uuid"] == db["uuid"]
        assert d["sql"] is None or all(t.startswith("marts.") for t in d["sql"].split()
                                       if "." in t and t[0].isalpha() and t.split(".")[0] in roles.SCHEMAS)
    charts = {c["uuid"]: c for c in (yaml.safe_load(p.read_text()) for p in (BUNDLE / "charts").glob("*.yaml"))}
    assert all(c["dataset_uuid"] in datasets for c in charts.values())
    dashboards = {d["slug"]: d for d in (yaml.safe_load(p.read_text()) for p in (BUNDLE / "dashboards").glob("*.yaml"))}
    assert {f[0] for f in FIGURES} <= set(dashboards) and len(dashboards) >= 3
    for slug, chart, _ in FIGURES:
        in_dashboard = {v["meta"]["sliceName"] for v in dashboards[slug]["position"].values()
                        if isinstance(v, dict) and v.get("type") == "CHART"}
        assert chart in in_dashboard, (slug, chart)
        assert all(v["meta"]["uuid"] in charts for v in dashboards[slug]["position"].values()
                   if isinstance(v, dict) and v.get("type") == "CHART")
    pins = (BUNDLE / "constraints.txt").read_text().splitlines()
    assert f"apache_superset=={bi.SUPERSET_VERSION}" in pins and any(p.startswith("SQLAlchemy==1.") for p in pins)
