"""The reliability tests run the pipeline as subprocesses, each against a database and folders of its own."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def rel_admin_url() -> str:
    """The admin URL on which the tests create and drop their stic_rel_<hex> databases.

    WAREHOUSE_TEST_URL (CI: the machine's PostgreSQL); without it, the embedded test server the suite uses.
    """
    url = os.environ.get("WAREHOUSE_TEST_URL")
    if url:
        return url
    from stic.warehouse import db

    from .harness import ROOT

    return db.embedded_start(ROOT / ".stic" / "test-pgdata")
