"""data/SCHEMA.md states facts the generator and the pipeline can check."""

from __future__ import annotations

import re
import runpy

import pandas as pd
import pytest

from mlsys.data import LEADS_COLUMNS, file_sha256
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration

SCHEMA = (REPO_ROOT / "data" / "SCHEMA.md").read_text()


def test_every_column_is_documented() -> None:
    for column in LEADS_COLUMNS:
        assert f"| `{column}` |" in SCHEMA, column


def test_sha256_matches_the_committed_file() -> None:
    assert file_sha256(REPO_ROOT / "data" / "leads.csv") in SCHEMA


def test_positive_rate_matches() -> None:
    rate = pd.read_csv(REPO_ROOT / "data" / "leads.csv")["converted"].mean()
    assert f"**{100 * rate:.1f} %**" in SCHEMA


def test_bayes_limit_matches_the_generator() -> None:
    script = runpy.run_path(str(REPO_ROOT / "benchmarks" / "leads_bayes_limit.py"))
    limits = script["bayes_limit"]()
    stated = re.search(r"\| test \| \*\*([0-9.]+)\*\* \| ([0-9.]+) \|", SCHEMA)
    assert stated is not None
    assert float(stated.group(1)) == limits["test_roc_auc"]
    assert float(stated.group(2)) == limits["test_pr_auc"]
