"""The model card: every fact the issue lists, escaped tables, and its HTML rendering."""

from __future__ import annotations

import re

import pytest

from mlsys.monitoring import (
    CalibrationFacts,
    DataFacts,
    DataProfile,
    FeatureFacts,
    GateFacts,
    MetricFacts,
    ModelCardFacts,
    SegmentFacts,
    ThresholdFacts,
    model_card_html,
    render_model_card,
)

pytestmark = pytest.mark.unit

METRICS = {
    "roc_auc": 0.8361,
    "threshold": 0.1755,
    "precision": 0.4118,
    "recall": 0.4806,
    "confusion_matrix": {"tn": 3283, "fp": 300, "fn": 216, "tp": 201},
}


def _facts(learned: DataProfile, **changes: object) -> ModelCardFacts:
    facts = ModelCardFacts(
        name="conversion",
        version="4",
        model="XGBoostModel (max_depth=6, 312 trees)",
        created_at="2026-11-26T09:46:46+00:00",
        run_id="72a5a88dd57e4eb9b1caa962b2bd0dbd",
        git_sha="ac2f3b6",
        data=DataFacts(
            file="data/leads.csv",
            sha256="0c2466f23ae05773653bd234522c630971691d4c62ce8a56fedc284b7dbf8439",
            rows=20_000,
            positive_rate=0.1042,
            target="converted",
            positive_label="1",
            date_column="created_at",
            date_from="2024-01-01",
            date_to="2025-12-31",
        ),
        profile=learned,
        test_rows=4_000,
        test_positives=417,
        metrics=(
            MetricFacts(name="roc_auc", value=0.8361, low=0.8172, high=0.8548, confidence=0.95),
            MetricFacts(name="pr_auc", value=0.4110, low=0.3741, high=0.4489, confidence=0.95),
            MetricFacts(name="brier", value=0.0781),
        ),
        segments=(
            SegmentFacts(column="region", segment="NAMER", rows=1810, positives=205, roc_auc=0.84),
            SegmentFacts(
                column="region",
                segment="LATAM",
                rows=390,
                positives=12,
                roc_auc=None,
                too_few=True,
            ),
        ),
        threshold=ThresholdFacts.from_metrics(METRICS, objective="f1"),
        calibration=CalibrationFacts(
            method="sigmoid",
            ece=0.0123,
            brier=0.0781,
            mean_probability=0.1021,
            positive_rate=0.1042,
        ),
        top_features=(
            FeatureFacts(name="requested_demo", importance=0.231),
            FeatureFacts(name="trial_days_active | capped", importance=0.187),
        ),
        importance_method="permutation importance of ROC-AUC on the test split",
        gate=GateFacts(
            promoted=True,
            reason="roc_auc gain +0.0030 >= +0.0000",
            primary_metric="roc_auc",
            candidate_score=0.8391,
            champion_version="3",
            champion_score=0.8361,
        ),
        leaky_columns_dropped=("opportunity_amount",),
        known_limits=("Trained on synthetic leads:\nnot real customers.",),
    )
    return facts.model_copy(update=changes)


def test_the_card_holds_every_fact(profile: DataProfile) -> None:
    text = render_model_card(_facts(profile))
    assert text.startswith("# Model card: conversion, version 4\n")
    for fact in (
        "XGBoostModel (max_depth=6, 312 trees), trained 2026-11-26T09:46:46+00:00",
        "(run `72a5a88dd57e4eb9b1caa962b2bd0dbd`), code `ac2f3b6`.",
        "| file | data/leads.csv |",
        "| sha256 | `0c2466f23ae05773653bd234522c630971691d4c62ce8a56fedc284b7dbf8439` |",
        "| rows | 20,000 |",
        "| date range (`created_at`) | 2024-01-01 to 2025-12-31 |",
        "| positive rate | 10.4 % (`converted` = `1`) |",
        "learned from 1,500 training rows (scores: 1,500 validation rows)",
        "On the untouched test split: 4,000 rows, 417 converters.",
        "| roc_auc | 0.8361 | 0.8172 to 0.8548 (95 % bootstrap) |",
        "| brier | 0.0781 | — |",
        "| region | LATAM | 390 | 12 | — |",
        "| requested_demo | 0.2310 |",
        "Importance: permutation importance of ROC-AUC on the test split.",
        "Promoted to champion: it beat version 3 (roc_auc 0.8391 against 0.8361 on the same "
        "holdout); roc_auc gain +0.0030 >= +0.0000.",
        "## Intended use",
        "Rank new leads by their calibrated probability of converting",
    ):
        assert fact in text, fact
    # Each profiled column has a row in the profile table.
    for column in profile.columns:
        assert re.search(rf"^\| {column} \| \w+ \| [\d.]+ % \| ", text, re.M), column


def test_threshold_in_leads_per_100(profile: DataProfile) -> None:
    text = render_model_card(_facts(profile))
    # 501 of 4,000 leads called (12.5 per 100), of whom 41.18 % convert (5.15 per 100).
    assert (
        "At threshold 0.1755 (chosen on validation: f1), 13 of every 100 leads are called, of "
        "whom 5 convert (precision 41.2 %, recall 48.1 % of all converters)."
    ) in text
    rare = ThresholdFacts(value=0.9, objective="precision>=0.8", called_rate=0.004, precision=0.75)
    assert rare.per_100() == "0.4 of every 100 leads are called, of whom 0.3 convert"


def test_calibration_and_known_limits(profile: DataProfile) -> None:
    text = render_model_card(_facts(profile))
    assert (
        "calibrated with `sigmoid`: the mean predicted probability on the test split is 10.2 %"
        in text
    )
    assert "expected calibration error 0.0123, Brier score 0.0781." in text
    limits = text.split("## Known limits\n\n")[1]
    assert (
        "- Dropped before training because they leak the outcome: `opportunity_amount`." in limits
    )
    assert "- Segments with too few converters to trust their metrics: region=LATAM (12" in limits
    assert "- Trained on synthetic leads: not real customers." in limits


def test_table_cells_are_escaped(profile: DataProfile) -> None:
    text = render_model_card(_facts(profile))
    assert "| trial_days_active \\| capped | 0.1870 |" in text
    facts = _facts(profile, data=_facts(profile).data.model_copy(update={"file": "a|b\nc.csv"}))
    assert "| file | a\\|b c.csv |" in render_model_card(facts)


def test_optional_sections_are_left_out(profile: DataProfile) -> None:
    text = render_model_card(
        _facts(profile, segments=(), top_features=(), profile=None, gate=None, version=None)
    )
    assert text.startswith("# Model card: conversion\n")
    for absent in ("## Segments", "## Top features", "## Training profile"):
        assert absent not in text
    assert "Not offered to the champion gate (no registry)." in text


@pytest.mark.parametrize(
    ("gate", "sentence"),
    [
        (
            GateFacts(
                promoted=True, reason="first model: no champion yet", primary_metric="roc_auc"
            ),
            "Promoted to champion: first model: no champion yet (no champion to compare with).",
        ),
        (
            GateFacts(
                promoted=False,
                reason="roc_auc gain -0.0151 below required +0.0000",
                primary_metric="roc_auc",
                candidate_score=0.8210,
                champion_version="3",
                champion_score=0.8361,
            ),
            "Not promoted: version 3 stays champion (roc_auc 0.8210 against 0.8361 on the same "
            "holdout); roc_auc gain -0.0151 below required +0.0000.",
        ),
    ],
)
def test_gate_sentences(profile: DataProfile, gate: GateFacts, sentence: str) -> None:
    assert sentence in render_model_card(_facts(profile, gate=gate))


def test_html_fragment_has_tables_and_escapes_raw_html(profile: DataProfile) -> None:
    facts = _facts(profile, known_limits=("<script>alert(1)</script> in a note",))
    html = model_card_html(facts)
    assert html.startswith("<h1>Model card: conversion, version 4</h1>")
    assert "<table>" in html
    assert "<td>trial_days_active | capped</td>" in html
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_facts_round_trip_through_json(profile: DataProfile) -> None:
    facts = _facts(profile)
    assert ModelCardFacts.model_validate_json(facts.model_dump_json()) == facts
