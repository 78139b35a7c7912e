"""The champion gate: a new model becomes champion only when it beats the current one fairly.

Fair means the same rows: the champion is re-scored on the candidate's own untouched test split,
at the champion's own threshold, with the same evaluator, and the two are compared on a
configured primary metric with a minimum improvement and optional guard rails. The champion
must never have seen those rows: either both runs share the holdout (same data file, same test
indices), or the candidate's test rows are all dated after the last row the champion was fitted
on (time splits on refreshed data). A candidate trained on another schema (columns, kinds or
target) is never compared: the gate refuses. Nor is one that ranks no better than chance, even
when there is no champion yet.

Crash safety: the decision is recorded (version and run tags, the champion's note, ``gate.json``)
before any alias moves, and the ``champion`` alias moves last, so a process killed at any point
leaves either the previous champion or a new one whose decision is fully recorded.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from pydantic import Field

from mlsys.errors import ConfigError
from mlsys.evaluation import Evaluator
from mlsys.files import write_json
from mlsys.models import ModelBundle
from mlsys.registry._card import write_model_card
from mlsys.registry._registry import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION, ModelRegistry

__all__ = [
    "LOWER_IS_BETTER",
    "Candidate",
    "ChampionGate",
    "GateDecision",
    "NoPromotion",
    "Promoter",
    "promote_version",
    "rollback",
    "schema_fingerprint",
]

log = logging.getLogger(__name__)

#: Metrics where smaller is better; every other metric is "higher is better".
LOWER_IS_BETTER = frozenset({"log_loss", "brier", "ece"})


def schema_fingerprint(bundle: ModelBundle) -> str:
    """sha256 of the feature schema and target: equal fingerprints mean comparable models."""
    data = bundle.metadata.get("data", {})
    payload = {
        "features": bundle.schema.to_dict(),
        "target": data.get("target"),
        "positive_label": data.get("positive_label"),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Candidate:
    """A freshly trained model offered to the gate, with its frozen holdout.

    ``metrics`` are the test split's (the holdout), ``validation_metrics`` the validation
    split's; ``decision_path`` is where the gate writes its decision (``gate.json`` in the run
    directory) before it acts on it.
    """

    run_id: str
    bundle_path: Path
    bundle: ModelBundle
    holdout_features: pd.DataFrame
    holdout_labels: np.ndarray[Any, Any]
    metrics: dict[str, Any]
    evaluator: Evaluator
    data_sha256: str = ""
    test_split_sha256: str = ""
    trained_until: str = ""
    holdout_from: str = ""
    validation_metrics: dict[str, Any] = field(default_factory=dict)
    decision_path: Path | None = None

    def holdout_key(self) -> str:
        """Identifies the holdout rows: same key, same rows of the same file."""
        return f"{self.data_sha256}:{self.test_split_sha256}"

    def period_tags(self) -> dict[str, str]:
        """Time bounds of a time-split run (empty otherwise), kept on its registry version."""
        if not (self.trained_until and self.holdout_from):
            return {}
        return {"mlsys.trained_until": self.trained_until, "mlsys.holdout_from": self.holdout_from}


@dataclass(frozen=True)
class GateDecision:
    """What the gate decided, and on which numbers."""

    promoted: bool
    reason: str
    version: str | None
    previous_champion: str | None
    primary_metric: str
    candidate_scores: dict[str, float | None] = field(default_factory=dict)
    champion_scores: dict[str, float | None] = field(default_factory=dict)
    decided_at: str = ""
    #: The run was registered before (as ``version``): nothing was registered or decided now.
    already_registered: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (written as ``gate.json`` in the run dir)."""
        return asdict(self)

    def summary(self) -> str:
        """One line for the console."""
        if self.already_registered:
            return f"Registry: version {self.version} not registered again ({self.reason})"
        verdict = "PROMOTED to champion" if self.promoted else "NOT promoted"
        metric = self.primary_metric
        cand, champ = self.candidate_scores.get(metric), self.champion_scores.get(metric)
        scores = f"{metric}: candidate {_fmt(cand)} vs champion {_fmt(champ)}"
        return f"Registry: version {self.version} {verdict} ({self.reason}; {scores})"


def _fresh_holdout(candidate: Candidate, champion_tags: dict[str, str]) -> str:
    """Why the candidate's holdout is unseen by the champion, or '' when that is not known.

    Only time tells: every test row of the candidate is dated after the last row the champion
    was fitted on (train, validation or calibration). Random or group splits of another file
    prove nothing, since the same leads may sit on the champion's training side.
    """
    champion_until = champion_tags.get("mlsys.trained_until", "")
    if not (champion_until and candidate.holdout_from):
        return ""
    try:
        newer = pd.Timestamp(candidate.holdout_from) > pd.Timestamp(champion_until)
    except (ValueError, TypeError):
        return ""
    if not newer:
        return ""
    return (
        f"fresh holdout: test rows from {candidate.holdout_from}, after the champion's last "
        f"training row ({champion_until})"
    )


def _holdout_refusal(candidate: Candidate, champion: str, champion_tags: dict[str, str]) -> str:
    """Why a candidate on another holdout is not compared, and what would make it comparable."""
    head = (
        f"REFUSED: holdout differs from champion v{champion}'s (another data file or split), so "
        "the champion may have trained on these rows and its scores would be inflated. "
    )
    by_hand = (
        "compare both on data neither trained on (`ml-register compare`) and promote explicitly"
    )
    champion_until = champion_tags.get("mlsys.trained_until", "")
    if not candidate.holdout_from:
        return head + (
            "Retrain on newer data with split=time (the gate then compares on test rows newer "
            f"than anything the champion saw), or {by_hand}"
        )
    if not champion_until:
        return head + (
            f"This run used split=time, but champion v{champion} did not, so nothing shows "
            f"which rows it saw: {by_hand}"
        )
    return head + (
        f"The test rows start at {candidate.holdout_from}, not after the champion's last "
        f"training row ({champion_until}): train on data that extends past it, or {by_hand}"
    )


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


@runtime_checkable
class Promoter(Protocol):
    """Offers a trained candidate to the registry."""

    def offer(self, candidate: Candidate) -> GateDecision | None:
        """Register the candidate and decide whether it becomes champion.

        A decision is written to ``candidate.decision_path`` (when set) before it is acted on.
        """
        ...


class NoPromotion:
    """Register nothing (``registry=none``)."""

    def offer(self, candidate: Candidate) -> GateDecision | None:
        """Do nothing."""
        return None


class ChampionGate:
    """Registers each run's model and promotes it only when it beats the champion.

    Args:
        registry: Where versions and aliases live.
        primary_metric: Metric compared on the candidate's holdout (``roc_auc``, ``pr_auc``,
            ``log_loss``, ...; lower-is-better metrics are handled).
        min_improvement: How much better the candidate must be on the primary metric.
        max_drop: Guard rails: metric -> how much worse than the champion the candidate may be
            (e.g. ``{pr_auc: 0.0}``: PR-AUC may not drop).
        max_value: Guard rails: metric -> absolute upper bound for the candidate
            (e.g. ``{ece: 0.05}``: calibration error may not rise past 0.05).
        min_roc_auc: A candidate whose validation ROC-AUC is not above this is never promoted,
            not even as the first model; 0.5 is what a model that ranks at random scores.

    A guard rail on a metric the run does not have, or that is undefined on the holdout,
    refuses the candidate: a check that cannot be made is not passed.
    """

    def __init__(
        self,
        registry: ModelRegistry,
        primary_metric: Annotated[str, Field(min_length=1)] = "roc_auc",
        min_improvement: Annotated[float, Field(ge=0)] = 0.0,
        max_drop: dict[str, Annotated[float, Field(ge=0)]] | None = None,
        max_value: dict[str, float] | None = None,
        min_roc_auc: float = 0.5,
    ) -> None:
        self.registry = registry
        self.primary_metric = primary_metric
        self.min_improvement = min_improvement
        self.max_drop = dict(max_drop or {})
        self.max_value = dict(max_value or {})
        self.min_roc_auc = min_roc_auc

    def offer(self, candidate: Candidate) -> GateDecision:
        """Register, compare on the same holdout, record the decision, then promote on a win.

        All under the lock, in this order: the version (with its tags), the decision (tags on
        the version, its run and the champion, ``gate.json``, the log line), the model card
        (``model_card.md`` in the run directory, attached to the version), and only then the
        aliases, ``champion`` last.
        """
        if self.primary_metric not in candidate.metrics:
            raise ConfigError(
                f"registry.primary_metric: '{self.primary_metric}' is not a metric. Fix: use one "
                f"of {sorted(k for k, v in candidate.metrics.items() if isinstance(v, float))}."
            )
        fingerprint = schema_fingerprint(candidate.bundle)
        with self.registry.lock():
            # Under the lock, so two offers of one run (a sweep's processes) register it once.
            if (existing := self.registry.version_of_run(candidate.run_id)) is not None:
                return self._already_registered(candidate, existing)
            version = self.registry.register(
                candidate.run_id,
                candidate.bundle_path,
                tags={
                    "mlsys.schema": fingerprint,
                    "mlsys.holdout": candidate.holdout_key(),
                    **candidate.period_tags(),
                    **_metric_tags(candidate.metrics),
                },
            )
            self.registry.set_alias(CHALLENGER, version)
            decision = self._decide(candidate, version, fingerprint)
            self._record(decision, candidate.decision_path)
            # Every registered version gets its card, before an alias can make it serve.
            card = write_model_card(candidate, decision, name=self.registry.name)
            self.registry.attach_card(version, card)
            if decision.promoted:
                self._promote(version, decision.previous_champion)
        return decision

    def _record(self, decision: GateDecision, path: Path | None) -> None:
        """Everything that says what was decided, before anything acts on it."""
        assert decision.version is not None
        self.registry.tag_version(decision.version, _decision_tags(decision))
        if decision.previous_champion is not None:
            self.registry.tag_version(
                decision.previous_champion,
                {
                    f"mlsys.gate.challenged_by.v{decision.version}": (
                        f"{'lost' if decision.promoted else 'kept'}: {decision.summary()}"
                    )[:500]
                },
            )
        if path is not None:
            write_json(path, decision.to_dict())
        log.info("%s", decision.summary())

    def _already_registered(self, candidate: Candidate, version: str) -> GateDecision:
        champion = self.registry.get_alias(CHAMPION)
        status = "it is the champion" if champion == version else f"the champion is v{champion}"
        tags = next((v.tags for v in self.registry.versions() if v.version == version), {})
        if "mlsys.gate.promoted" not in tags:
            # Decision tags are written after the lock: an offer in flight, or one that died.
            status += (
                "; it has no recorded gate decision yet. If none appears, promote it by hand "
                "(ml-register promote) if it should serve"
            )
        decision = GateDecision(
            promoted=False,
            reason=f"run {candidate.run_id} is already version {version}; {status}",
            version=version,
            previous_champion=champion,
            primary_metric=self.primary_metric,
            candidate_scores=_pick(candidate.metrics, self._watched()),
            decided_at=datetime.now(UTC).isoformat(timespec="seconds"),
            already_registered=True,
        )
        log.info("%s", decision.summary())
        return decision

    def _decide(self, candidate: Candidate, version: str, fingerprint: str) -> GateDecision:
        champion = self.registry.get_alias(CHAMPION)
        scores = _pick(candidate.metrics, self._watched())

        def decision(
            promoted: bool, reason: str, champion_scores: dict[str, float | None] | None = None
        ) -> GateDecision:
            return GateDecision(
                promoted=promoted,
                reason=reason,
                version=version,
                previous_champion=champion,
                primary_metric=self.primary_metric,
                candidate_scores=scores,
                champion_scores=champion_scores or {},
                decided_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )

        refusal = self._chance_refusal(candidate) or self._missing_guard_rail(candidate)
        if refusal:
            return decision(False, refusal)
        if champion is None:
            return decision(True, "first model: no champion yet")
        champion_tags = next(
            (v.tags for v in self.registry.versions() if v.version == champion), {}
        )
        schema_refusal = decision(
            False,
            f"REFUSED: schema differs from champion v{champion} (columns, kinds or target "
            "changed), so the two are never compared. A different use case (another data set) "
            "belongs under its own registered model: train it with name=<use case>. A new "
            "version of this one: promote it explicitly with `ml-register promote`",
        )
        if champion_tags.get("mlsys.schema", fingerprint) != fingerprint:
            return schema_refusal
        fresh = ""
        if champion_tags.get("mlsys.holdout") != candidate.holdout_key():
            fresh = _fresh_holdout(candidate, champion_tags)
            if not fresh:
                return decision(False, _holdout_refusal(candidate, champion, champion_tags))
        champion_bundle = self.registry.load_bundle(champion)
        if schema_fingerprint(champion_bundle) != fingerprint:
            return schema_refusal
        rescored = candidate.evaluator.evaluate(
            candidate.holdout_labels,
            champion_bundle.predict_proba(candidate.holdout_features),
            champion_bundle.threshold,
        ).metrics
        champion_scores = _pick(rescored, self._watched())
        promoted, reason = self._compare(scores, champion_scores)
        return decision(promoted, f"{fresh}; {reason}" if fresh else reason, champion_scores)

    def _chance_refusal(self, candidate: Candidate) -> str:
        """Why the candidate ranks no better than chance, or '' when it does better."""
        scores = candidate.validation_metrics or candidate.metrics  # old runs: test only
        split = "validation" if candidate.validation_metrics else "test"
        value = scores.get("roc_auc")
        if isinstance(value, (int, float)) and value > self.min_roc_auc:
            return ""
        shown = f"{value:.4f}" if isinstance(value, (int, float)) else "undefined"
        return (
            f"REFUSED: {split} roc_auc {shown} is no better than chance (registry.min_roc_auc="
            f"{self.min_roc_auc:g}), so this model is never promoted, not even as the first "
            "one. Fix: check the target and its positive label (data.target, "
            "data.positive_label) and that the features carry signal"
        )

    def _missing_guard_rail(self, candidate: Candidate) -> str:
        """Why a configured guard rail cannot be checked on this run, or ''."""
        for setting, rails in (("max_drop", self.max_drop), ("max_value", self.max_value)):
            for name in rails:
                if name not in candidate.metrics:
                    known = sorted(
                        k for k, v in candidate.metrics.items() if isinstance(v, (int, float))
                    )
                    return (
                        f"REFUSED: guard rail registry.{setting}.{name} names a metric this run "
                        f"does not have, so it cannot be checked (a check that cannot be made "
                        f"is not passed). Fix: use one of {known}"
                    )
        return ""

    def _watched(self) -> list[str]:
        return sorted({self.primary_metric, *self.max_drop, *self.max_value})

    def _compare(
        self, candidate: dict[str, float | None], champion: dict[str, float | None]
    ) -> tuple[bool, str]:
        metric = self.primary_metric
        cand, champ = candidate.get(metric), champion.get(metric)
        if cand is None or champ is None:
            return False, f"{metric} undefined on the holdout"
        gain = (champ - cand) if metric in LOWER_IS_BETTER else (cand - champ)
        if gain <= 0 or gain < self.min_improvement:
            return False, f"{metric} gain {gain:+.4f} below required {self.min_improvement:+.4f}"
        failed = self._guard_rail_failure(candidate, champion)
        if failed:
            return False, failed
        return True, f"{metric} gain {gain:+.4f} >= {self.min_improvement:+.4f}"

    def _guard_rail_failure(
        self, candidate: dict[str, float | None], champion: dict[str, float | None]
    ) -> str:
        """The first guard rail the candidate breaks or that cannot be checked, or ''."""
        for name, allowed in self.max_drop.items():
            c, h = candidate.get(name), champion.get(name)
            if c is None or h is None:
                return f"guard rail: {name} undefined on the holdout, so max_drop cannot hold"
            drop = (c - h) if name in LOWER_IS_BETTER else (h - c)
            if drop > allowed:
                return f"guard rail: {name} worsens by {drop:.4f} (> {allowed})"
        for name, bound in self.max_value.items():
            value = candidate.get(name)
            if value is None:
                return f"guard rail: {name} undefined on the holdout, so max_value cannot hold"
            if value > bound:
                return f"guard rail: {name} {value:.4f} above bound {bound}"
        return ""

    def _promote(self, version: str, previous: str | None) -> None:
        # Order matters for crash safety: the champion alias moves last, in one write.
        if previous is not None:
            self.registry.set_alias(PREVIOUS_CHAMPION, previous)
        self.registry.set_alias(CHAMPION, version)


def promote_version(registry: ModelRegistry, version: str, reason: str) -> str | None:
    """Make ``version`` champion by hand; return the version it replaced."""
    if not reason.strip():
        raise ConfigError("promote: a --reason is required; it is recorded on the version.")
    schemas = {v.version: v.tags.get("mlsys.schema") for v in registry.versions()}
    if version not in schemas:
        raise ConfigError(
            f"promote: version {version} of '{registry.name}' does not exist "
            f"(versions: {sorted(schemas, key=int)})."
        )
    with registry.lock():
        previous = registry.get_alias(CHAMPION)
        if previous is not None and previous != version:
            registry.set_alias(PREVIOUS_CHAMPION, previous)
        registry.set_alias(CHAMPION, version)
    registry.tag_version(version, _manual_tags("promoted", reason))
    before, after = schemas.get(previous or ""), schemas[version]
    if before and after and before != after:
        log.warning(
            "promote: version %s takes other input columns than version %s did (another schema):"
            " clients that send version %s's columns will be refused. Undo with "
            "`ml-register rollback`; a different use case belongs under its own name=.",
            version,
            previous,
            previous,
        )
    return previous


def rollback(registry: ModelRegistry, reason: str) -> tuple[str, str]:
    """Swap ``champion`` and ``previous_champion``; return (new champion, rolled-back version)."""
    with registry.lock():
        current = registry.get_alias(CHAMPION)
        previous = registry.get_alias(PREVIOUS_CHAMPION)
        if current is None or previous is None:
            raise ConfigError(
                f"rollback: '{registry.name}' has no previous champion to roll back to."
            )
        registry.set_alias(PREVIOUS_CHAMPION, current)
        registry.set_alias(CHAMPION, previous)
    registry.tag_version(previous, _manual_tags("rolled back to", reason))
    return previous, current


def _manual_tags(action: str, reason: str) -> dict[str, str]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return {
        "mlsys.manual.action": action,
        "mlsys.manual.reason": reason,
        "mlsys.manual.by": user,
        "mlsys.manual.at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _pick(metrics: dict[str, Any], names: list[str]) -> dict[str, float | None]:
    return {
        n: (float(metrics[n]) if isinstance(metrics.get(n), (int, float)) else None) for n in names
    }


def _metric_tags(metrics: dict[str, Any]) -> dict[str, str]:
    keys = ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "precision_at_10pct")
    return {f"metric.{k}": f"{metrics[k]:.6f}" for k in keys if isinstance(metrics.get(k), float)}


def _decision_tags(decision: GateDecision) -> dict[str, str]:
    tags = {
        "mlsys.gate.promoted": str(decision.promoted).lower(),
        "mlsys.gate.reason": decision.reason[:500],
        "mlsys.gate.against": str(decision.previous_champion),
    }
    for name, value in decision.candidate_scores.items():
        tags[f"mlsys.gate.candidate.{name}"] = _fmt(value)
    for name, value in decision.champion_scores.items():
        tags[f"mlsys.gate.champion.{name}"] = _fmt(value)
    return tags
