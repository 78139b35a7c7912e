"""`python -m mlsys.registry` prints sentences and tables for people, JSON with --json."""

from __future__ import annotations

import pytest

from mlsys.registry.__main__ import _render

pytestmark = pytest.mark.unit

ROW = {
    "version": "3",
    "aliases": ["champion"],
    "run_id": "abc123",
    "roc_auc": "0.81234",
    "pr_auc": None,
    "gate": "beat champion 2 on roc_auc",
    "manual": "",
}


def test_list_is_a_table_and_an_empty_registry_says_so() -> None:
    table = _render("list", {"name": "leads", "versions": [ROW]}).splitlines()
    assert table[0].split()[:4] == ["version", "aliases", "roc_auc", "pr_auc"]
    assert table[1].split()[:4] == ["3", "champion", "0.8123", "-"]
    assert _render("list", {"name": "leads", "versions": []}) == "no versions of 'leads' yet"
    long = {**ROW, "gate": "REFUSED: holdout differs from champion v1's " + "x" * 300}
    line = _render("list", {"name": "leads", "versions": [long]}).splitlines()[1]
    assert line.endswith("...")
    assert len(line) < 140
    assert "x" * 300 in _render("champion", {"name": "leads", "champion": long})


def test_champion_promote_rollback_and_offer_are_sentences() -> None:
    champion = _render("champion", {"name": "leads", "champion": ROW})
    assert champion.startswith("champion of 'leads': version 3 (run abc123), roc_auc 0.8123")
    assert "beat champion 2" in champion
    promoted = _render("promote", {"promoted": "2", "replaced": None, "reason": "audit"})
    assert promoted == "version 2 is now champion (replaced: none); reason: audit"
    rolled = _render("rollback", {"champion": "1", "rolled_back": "2", "reason": "incident"})
    assert rolled == "version 1 is champion again (rolled back: 2); reason: incident"
    decision = {
        "promoted": False,
        "reason": "no better than champion 3",
        "version": "4",
        "previous_champion": None,
        "primary_metric": "roc_auc",
        "candidate_scores": {"roc_auc": 0.8},
        "champion_scores": {"roc_auc": 0.81},
        "decided_at": "2026-11-26T10:00:00+00:00",
    }
    offered = _render("offer", {"offered": "outputs/run", "decision": decision})
    assert offered.startswith("outputs/run: Registry: version 4 NOT promoted")
    assert "not offered" in _render("offer", {"offered": "outputs/run", "decision": None})


def test_compare_is_a_metric_by_version_table() -> None:
    output = {
        "data": "holdout.csv",
        "rows": 1200,
        "versions": {"1": {"roc_auc": 0.7, "pr_auc": None}, "2": {"roc_auc": 0.75, "pr_auc": 0.3}},
    }
    lines = _render("compare", output).splitlines()
    assert lines[0] == "1,200 rows of holdout.csv"
    assert lines[1].split() == ["metric", "v1", "v2"]
    assert lines[2].split() == ["roc_auc", "0.7000", "0.7500"]
    assert lines[3].split() == ["pr_auc", "-", "0.3000"]


def test_show_prints_the_card_itself() -> None:
    card = "# Model card: leads, version 3\n\n## Data\n"
    assert _render("show", {"name": "leads", **ROW, "card": card}) == card.rstrip("\n")
