"""``python -m mlsys.registry`` (``ml-register``): inspect and steer the model registry.

    python -m mlsys.registry list                      # versions, aliases, metrics, gate results
    python -m mlsys.registry champion                  # the version serving would load
    python -m mlsys.registry show 4                    # version 4's model card
    python -m mlsys.registry promote 4 --reason "..."  # make version 4 champion by hand
    python -m mlsys.registry rollback --reason "..."   # back to the previous champion
    python -m mlsys.registry compare 3 4 --data holdout.csv
    python -m mlsys.registry compare 3 4 --data holdout.csv --metrics-url http://host:8000/metrics

``--name`` picks the registered model (default: ``conversion``, the ``name`` key of
conf/train.yaml); ``--uri`` the store (default: ``MLFLOW_TRACKING_URI`` or the embedded
``outputs/mlflow.db``). A store that is down fails in seconds with one ``error:`` line (exit 2).
Every command first marks runs of the experiment ``--name`` that killed processes left
``RUNNING`` as ``KILLED``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mlsys._locks import DEFAULT_TIMEOUT_S
from mlsys.data import CsvSource
from mlsys.errors import MlsysError, TrackingError
from mlsys.evaluation import HEADLINE_METRICS, Evaluator
from mlsys.files import to_json
from mlsys.logs import configure_logging
from mlsys.registry._gate import GateDecision, promote_version, rollback
from mlsys.registry._live import read_live_figures, render_live_figures
from mlsys.registry._registry import CHAMPION, MlflowRegistry, VersionInfo
from mlsys.tracking import check_store, mark_killed_runs

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlsys.registry", description="Inspect and steer the model registry."
    )
    parser.add_argument("--name", default="conversion", help="registered model name")
    parser.add_argument("--uri", default=None, help="tracking/registry URI")
    parser.add_argument(
        "--lock-uri",
        default=None,
        help="where the promotion lock lives with an HTTP tracking server (a PostgreSQL DSN)",
    )
    parser.add_argument(
        "--lock-timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help="how long promote/rollback wait for another promotion (default: %(default)g)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    # --json is accepted before or after the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="versions with aliases and metrics", parents=[common])
    commands.add_parser("champion", help="the current champion", parents=[common])
    show = commands.add_parser("show", help="a version's model card", parents=[common])
    show.add_argument("version")
    promote = commands.add_parser(
        "promote", help="make a version champion by hand", parents=[common]
    )
    promote.add_argument("version")
    promote.add_argument("--reason", required=True)
    rollback = commands.add_parser(
        "rollback", help="swap champion and previous champion", parents=[common]
    )
    rollback.add_argument("--reason", required=True)
    offer = commands.add_parser(
        "offer", help="offer a tracked run directory to the champion gate", parents=[common]
    )
    offer.add_argument("run_dir", type=Path)
    compare = commands.add_parser(
        "compare", help="score two versions on a data file", parents=[common]
    )
    compare.add_argument("version_a")
    compare.add_argument("version_b")
    compare.add_argument("--data", required=True, type=Path, help="CSV with the model's columns")
    compare.add_argument("--target", default=None, help="label column (default: the model's)")
    compare.add_argument("--positive-label", default=None)
    compare.add_argument("--sep", default=",")
    compare.add_argument(
        "--metrics-url",
        default=None,
        help="a server's /metrics: also print its shadow agreement and score distributions",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one registry command; returns the exit code."""
    args = _parser().parse_args(argv)
    configure_logging("WARNING")  # results go to stdout; warnings and errors to stderr
    try:
        registry = MlflowRegistry(
            name=args.name, uri=args.uri, lock_uri=args.lock_uri, lock_timeout_s=args.lock_timeout
        )
        check_store(registry.tracking_uri, "--uri")
        _mark_killed_runs(registry)
        output = _run(args, registry)
    except MlsysError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:  # the text the artifact files hold: strict JSON, an undefined metric is null
        sys.stdout.write(to_json(output))
    else:
        print(_render(args.command, output))
    return 0


def _mark_killed_runs(registry: MlflowRegistry) -> None:
    """Runs of the experiment named like the model that killed processes left ``RUNNING``."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=registry.tracking_uri)
    experiment = client.get_experiment_by_name(registry.name)
    if experiment is not None:
        mark_killed_runs(client, experiment.experiment_id)


def _run(args: argparse.Namespace, registry: MlflowRegistry) -> dict[str, object]:
    if args.command in ("list", "champion", "show"):
        return _read(args, registry)
    if args.command == "promote":
        previous = promote_version(registry, args.version, args.reason)
        return {"promoted": args.version, "replaced": previous, "reason": args.reason}
    if args.command == "offer":
        from mlsys._rebuild import offer_run_dir

        decision = offer_run_dir(args.run_dir)
        return {"offered": str(args.run_dir), "decision": decision.to_dict() if decision else None}
    if args.command == "rollback":
        champion, rolled_back = rollback(registry, args.reason)
        return {"champion": champion, "rolled_back": rolled_back, "reason": args.reason}
    return _compare(args, registry)


def _read(args: argparse.Namespace, registry: MlflowRegistry) -> dict[str, object]:
    """The commands that only read: ``list``, ``champion``, ``show``."""
    if args.command == "list":
        return {"name": registry.name, "versions": [_version_row(v) for v in registry.versions()]}
    if args.command == "show":
        return _show(registry, args.version)
    version = registry.get_alias(CHAMPION)
    if version is None:
        raise _no_champion(registry.name)
    row = next(_version_row(v) for v in registry.versions() if v.version == version)
    return {"name": registry.name, "champion": row}


def _compare(args: argparse.Namespace, registry: MlflowRegistry) -> dict[str, object]:
    bundles = {v: registry.load_bundle(v) for v in (args.version_a, args.version_b)}
    first = bundles[args.version_a]
    meta = first.metadata.get("data", {})
    source = CsvSource(
        path=str(args.data),
        target=args.target or meta.get("target", "converted"),
        positive_label=args.positive_label or meta.get("positive_label", "1"),
        sep=args.sep,
    )
    dataset = source.load()
    evaluator = Evaluator()
    rows: dict[str, object] = {}
    for version, bundle in bundles.items():
        frame = pd.DataFrame(dataset.frame)
        metrics = evaluator.evaluate(
            dataset.target, bundle.predict_proba(frame), bundle.threshold
        ).metrics
        rows[version] = {k: metrics[k] for k in HEADLINE_METRICS}
    output: dict[str, object] = {"data": str(args.data), "rows": len(dataset), "versions": rows}
    if args.metrics_url:
        output["live"] = read_live_figures(args.metrics_url)
    return output


def _show(registry: MlflowRegistry, version: str) -> dict[str, object]:
    found = next((v for v in registry.versions() if v.version == version), None)
    if found is None:
        known = ", ".join(v.version for v in registry.versions()) or "none yet"
        raise TrackingError(
            f"registry: '{registry.name}' has no version {version!r} (versions: {known}). "
            "Fix: pick one from `ml-register list`."
        )
    card = registry.model_card(version)
    if card is None:
        raise TrackingError(
            f"registry: version {version} of '{registry.name}' has no model card (registered "
            "before cards existed). Fix: read its run's artifacts, or offer its run directory "
            "again under a new version (`ml-register offer <run dir>`)."
        )
    return {"name": registry.name, **_version_row(found), "card": card}


def _no_champion(name: str) -> MlsysError:
    return TrackingError(
        f"registry: '{name}' has no champion yet. Fix: train a model with tracker=mlflow "
        "registry=mlflow (the first one becomes champion), or promote a version."
    )


def _version_row(version: VersionInfo) -> dict[str, object]:
    tags = version.tags
    return {
        "version": version.version,
        "aliases": list(version.aliases),
        "run_id": version.run_id,
        "roc_auc": tags.get("metric.roc_auc"),
        "pr_auc": tags.get("metric.pr_auc"),
        "gate": tags.get("mlsys.gate.reason", ""),
        "manual": tags.get("mlsys.manual.reason", ""),
    }


def _render(command: str, output: dict[str, Any]) -> str:
    """What a person reads; ``--json`` prints ``output`` itself."""
    return _RENDERERS.get(command, _render_comparison)(output)


def _render_champion(output: dict[str, Any]) -> str:
    row = output["champion"]
    note = row["manual"] or row["gate"]
    return (
        f"champion of '{output['name']}': version {row['version']} (run {row['run_id']}), "
        f"roc_auc {_short(row['roc_auc'])}, pr_auc {_short(row['pr_auc'])}"
        + (f"\n  {note}" if note else "")
    )


def _render_card(output: dict[str, Any]) -> str:
    return str(output["card"]).rstrip("\n")


def _render_promotion(output: dict[str, Any]) -> str:
    return (
        f"version {output['promoted']} is now champion (replaced: {output['replaced'] or 'none'})"
        f"; reason: {output['reason']}"
    )


def _render_rollback(output: dict[str, Any]) -> str:
    return (
        f"version {output['champion']} is champion again (rolled back: {output['rolled_back']})"
        f"; reason: {output['reason']}"
    )


def _render_offer(output: dict[str, Any]) -> str:
    decision = output["decision"]
    if decision is None:
        return f"{output['offered']}: not offered (the run's config has registry=none)"
    return f"{output['offered']}: {GateDecision(**decision).summary()}"


def _render_versions(output: dict[str, Any]) -> str:
    name, versions = output["name"], output["versions"]
    if not versions:
        return f"no versions of '{name}' yet"
    lines = [f"{'version':>7}  {'aliases':<28} {'roc_auc':>8} {'pr_auc':>8}  gate / note"]
    for row in versions:
        note = _clip(row["manual"] or row["gate"])
        lines.append(
            f"{row['version']:>7}  {','.join(row['aliases']) or '-':<28} "
            f"{_short(row['roc_auc']):>8} {_short(row['pr_auc']):>8}  {note}"
        )
    return "\n".join(lines)


def _clip(note: str, width: int = 72) -> str:
    """A gate note cut to one table line; `champion` and --json give it whole."""
    return note if len(note) <= width else note[: width - 3].rstrip() + "..."


def _render_comparison(output: dict[str, Any]) -> str:
    versions: dict[str, dict[str, Any]] = output["versions"]
    metrics = list(next(iter(versions.values())))
    lines = [
        f"{output['rows']:,} rows of {output['data']}",
        f"{'metric':<20}" + "".join(f"{'v' + v:>10}" for v in versions),
    ]
    lines += [
        f"{metric:<20}" + "".join(f"{_short(row[metric]):>10}" for row in versions.values())
        for metric in metrics
    ]
    if "live" in output:
        lines += ["", *render_live_figures(output["live"])]
    return "\n".join(lines)


_RENDERERS = {
    "list": _render_versions,
    "champion": _render_champion,
    "show": _render_card,
    "promote": _render_promotion,
    "rollback": _render_rollback,
    "offer": _render_offer,
}


def _short(value: object) -> str:
    return "-" if value is None else f"{float(str(value)):.4f}"


if __name__ == "__main__":
    raise SystemExit(main())
