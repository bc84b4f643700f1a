"""dbt_project.yml agrees with the Python side: the vars' defaults, and the dbt version it requires."""

from __future__ import annotations

from pathlib import Path

import yaml

from stic.ledger import PUBLICATION_LOCK
from stic.warehouse import dbt_runner

PROJECT = yaml.safe_load((Path(__file__).resolve().parents[2] / "dbt_project" / "dbt_project.yml").read_text("utf-8"))


def test_publication_lock_default_is_the_ledgers():
    # Cosmos and dbt by hand take the default; a drift would let an incremental fact miss a publication.
    assert PROJECT["vars"]["stic_publication_lock"] == PUBLICATION_LOCK


def test_every_project_var_has_the_same_default():
    assert {name: PROJECT["vars"].get(name) for name in dbt_runner.PROJECT_VARS} == dbt_runner.PROJECT_VARS


def test_project_vars_join_the_callers_vars():
    assert dbt_runner.with_project_vars(["build"]) == ["build", "--vars", "{stic_publication_lock: stic.ledger.publication}"]
    args = dbt_runner.with_project_vars(["build", "--vars", "{calendar_as_of_date: '2019-03-01'}", "--select", "x"])
    assert args[:3] == ["build", "--select", "x"] and args.count("--vars") == 1
    assert yaml.safe_load(args[-1]) == {"calendar_as_of_date": "2019-03-01", "stic_publication_lock": PUBLICATION_LOCK}
    # The lock's name is not the caller's to choose.
    args = dbt_runner.with_project_vars(["run", "--vars=stic_publication_lock: other"])
    assert yaml.safe_load(args[-1]) == {"stic_publication_lock": PUBLICATION_LOCK}


def test_installed_dbt_is_in_the_required_range():
    from dbt.version import __version__
    from packaging.specifiers import SpecifierSet

    assert __version__ in SpecifierSet(",".join(PROJECT["require-dbt-version"]))
