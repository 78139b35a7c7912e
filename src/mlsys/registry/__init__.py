"""Model registry and champion gate: which model serves, decided by a fair comparison."""

from __future__ import annotations

from mlsys._locks import registry_lock
from mlsys.registry._gate import (
    LOWER_IS_BETTER,
    Candidate,
    ChampionGate,
    GateDecision,
    NoPromotion,
    Promoter,
    promote_version,
    rollback,
    schema_fingerprint,
)
from mlsys.registry._offer import offer_run
from mlsys.registry._registry import (
    CHALLENGER,
    CHAMPION,
    PREVIOUS_CHAMPION,
    InMemoryRegistry,
    MlflowRegistry,
    ModelRegistry,
    VersionInfo,
    download_bundle,
)

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "LOWER_IS_BETTER",
    "PREVIOUS_CHAMPION",
    "Candidate",
    "ChampionGate",
    "GateDecision",
    "InMemoryRegistry",
    "MlflowRegistry",
    "ModelRegistry",
    "NoPromotion",
    "Promoter",
    "VersionInfo",
    "download_bundle",
    "offer_run",
    "promote_version",
    "registry_lock",
    "rollback",
    "schema_fingerprint",
]
