"""Report a tracked training run's champion-gate decision, for people and for the workflow.

    python infra/scripts/gate_report.py outputs/retrain/1234-1

Reads ``gate.json``, ``metrics.json`` and ``metadata.json`` from the run directory. Appends a
Markdown summary to ``$GITHUB_STEP_SUMMARY`` (stdout when unset) and writes ``outcome``
(``promoted`` / ``kept`` / ``refused``), ``promoted``, ``version``, ``previous_champion``,
``model_name`` and ``run_id`` to ``$GITHUB_OUTPUT`` when set. Exits 2 when the run has no
``gate.json``: it was not tracked or not offered to the registry, so nothing was decided.
Standard library only. Used by .github/workflows/retrain.yml.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

#: Test metrics shown in the summary, in this order.
METRICS = (
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier",
    "ece",
    "precision_at_10pct",
    "lift_at_10pct",
    "threshold",
)


def outcome(gate: dict[str, Any]) -> str:
    """``promoted``, ``refused`` (holdout or schema differ: nothing compared) or ``kept``."""
    if gate.get("promoted"):
        return "promoted"
    return "refused" if str(gate.get("reason", "")).startswith("REFUSED") else "kept"


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else ("n/a" if value is None else str(value))


def summary(
    run_dir: Path, gate: dict[str, Any], metrics: dict[str, Any], meta: dict[str, Any]
) -> str:
    """The Markdown job summary."""
    verdict = {
        "promoted": "PROMOTED to champion",
        "kept": "not promoted: the champion stays",
        "refused": "REFUSED by the gate: nothing compared, a person decides",
    }[outcome(gate)]
    lines = [
        f"## Retraining: version {gate.get('version')} {verdict}",
        "",
        f"- model: `{meta.get('name', 'n/a')}`, MLflow run `{meta.get('tracking_run_id', 'n/a')}`",
        f"- data sha256: `{(meta.get('data') or {}).get('sha256', 'n/a')}`",
        f"- gate: {gate.get('reason')} (previous champion: {gate.get('previous_champion')})",
        f"- run directory: `{run_dir}` (uploaded as this run's artifact)",
        "",
        f"| gate metric ({gate.get('primary_metric')} decides) | candidate "
        "| champion on the candidate's holdout |",
        "|---|---|---|",
    ]
    candidate, champion = gate.get("candidate_scores", {}), gate.get("champion_scores", {})
    for name in sorted(candidate):
        lines.append(f"| {name} | {_fmt(candidate[name])} | {_fmt(champion.get(name))} |")
    lines += ["", "| test metric | value |", "|---|---|"]
    lines += [f"| {name} | {_fmt(metrics.get(name))} |" for name in METRICS if name in metrics]
    if outcome(gate) == "refused":
        lines += [
            "",
            "The champion was evaluated on another holdout or schema, and no time split proved "
            "the candidate's test rows new to it, so the gate compared nothing. Compare both "
            "on fresh data (`python -m mlsys.registry compare`) and promote by hand if the "
            "candidate is better (`python -m mlsys.registry promote`).",
        ]
    return "\n".join(lines) + "\n"


def _read(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text())) if path.is_file() else {}


def main(argv: list[str] | None = None) -> int:
    """Read the run directory, write the summary and the step outputs."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: gate_report.py RUN_DIR", file=sys.stderr)
        return 2
    run_dir = Path(args[0])
    if not (run_dir / "gate.json").is_file():
        print(
            f"error: {run_dir / 'gate.json'} is missing: the run was not tracked or not offered "
            "to the registry (tracker=mlflow registry=mlflow, see train.log).",
            file=sys.stderr,
        )
        return 2
    gate = _read(run_dir / "gate.json")
    meta = _read(run_dir / "metadata.json")
    text = summary(run_dir, gate, _read(run_dir / "metrics.json"), meta)
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as out:
            out.write(text)
    else:
        print(text)
    outputs = {
        "outcome": outcome(gate),
        "promoted": str(bool(gate.get("promoted"))).lower(),
        "version": gate.get("version") or "",
        "previous_champion": gate.get("previous_champion") or "",
        "model_name": meta.get("name", ""),
        "run_id": meta.get("tracking_run_id") or "",
    }
    output_file = os.environ.get("GITHUB_OUTPUT")
    if output_file:
        with open(output_file, "a", encoding="utf-8") as out:
            out.writelines(f"{key}={value}\n" for key, value in outputs.items())
    print(f"gate outcome: {outputs['outcome']} (version {outputs['version']})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
