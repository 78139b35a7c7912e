"""Offline checks of infra/ and .github/workflows/: no Docker engine, no network.

What a schema or a linter can check runs here: the workflows against GitHub's schema, the
compose files against the compose spec, Prometheus config and alert rules with promtool (and its
rule unit tests), Terraform formatting. What they cannot check is checked by hand: the Grafana
dashboard and the alerts use only metrics the app exports (scraped from the app itself), the
files that refer to each other agree (ports, service names, mount paths, image targets, event
names), the Dockerfile keeps its promises (uv.lock, non-root, health check), and ci.yml runs
what .ci/run runs. The serving image's CMD and HEALTHCHECK run as a local process and must pass
the same smoke test cd.yml runs against the container.

promtool and terraform are optional: their tests skip without them, and fail instead when
MLSYS_REQUIRE_INFRA_TOOLS=1 (set by .ci/run and ci.yml).
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from tests.conftest import NO_TRACKING, REPO_ROOT

pytestmark = pytest.mark.integration

INFRA = REPO_ROOT / "infra"
WORKFLOWS = REPO_ROOT / ".github" / "workflows"
DOCKERFILE = INFRA / "docker" / "Dockerfile"
COMPOSE = INFRA / "docker-compose.yml"
PROMETHEUS = INFRA / "prometheus"
GRAFANA = INFRA / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "mlsys.json"
EXAMPLE = REPO_ROOT / "docs" / "examples" / "lead.json"
BIN = Path(sys.executable).parent
#: An unreachable proxy for everything but loopback: a tool that reaches for the network fails
#: instead of downloading.
OFFLINE = dict.fromkeys(
    ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"), "http://127.0.0.1:9"
) | dict.fromkeys(("NO_PROXY", "no_proxy"), "127.0.0.1,localhost")
#: Series Prometheus itself adds to every scrape target.
PROMETHEUS_SERIES = frozenset({"up"})


# --- helpers ---------------------------------------------------------------------------------


_INSTALL = {
    "promtool": "apt-get install prometheus",
    "terraform": "see developer.hashicorp.com/terraform/install",
}


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if path is None:
        reason = f"{name} is not installed ({_INSTALL.get(name, 'install it')})"
        if os.environ.get("MLSYS_REQUIRE_INFRA_TOOLS") == "1":
            pytest.fail(f"{reason}, and MLSYS_REQUIRE_INFRA_TOOLS=1")
        pytest.skip(reason)
    return path


def _run(*args: str | Path, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env={**os.environ, **OFFLINE},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _assert_ok(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, f"{shlex.join(done.args)}\n{done.stdout}\n{done.stderr}"


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _workflow(name: str) -> dict[str, Any]:
    doc: dict[Any, Any] = _yaml(WORKFLOWS / name)
    # YAML 1.1 reads the key `on` as True.
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


_PROMQL_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool"}
    | {"and", "or", "unless", "inf", "nan"}
)


def promql_metrics(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (functions, labels, keywords left out)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges, subqueries
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = re.findall(r"(?<![\w$.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", expr)
    return set(names) - _PROMQL_KEYWORDS


def _promql_for_promtool(expr: str) -> str:
    """Dashboard PromQL with Grafana's variables replaced by what they expand to."""
    return expr.replace("$__rate_interval", "5m").replace("$instance", ".*")


@cache
def _dockerfile() -> dict[str, dict[str, Any]]:
    """Stages by name, in file order: base image and (instruction, arguments) pairs."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: dict[str, dict[str, Any]] = {}
    current: list[tuple[str, str]] = []
    global_args: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        if keyword.upper() == "FROM":
            base, _, name = args.partition(" AS ")
            base = re.sub(r"\$\{(\w+)\}", lambda m: global_args[m.group(1)], base.strip())
            current = []
            stages[name.strip() or base] = {"base": base, "body": current}
        elif stages:
            current.append((keyword.upper(), " ".join(args.split())))
        elif keyword.upper() == "ARG":
            key, _, value = args.partition("=")
            global_args[key.strip()] = value.strip()
    return stages


def _instructions(stage: str, keyword: str) -> list[str]:
    return [args for kw, args in _dockerfile()[stage]["body"] if kw == keyword]


def _effective(stage: str, keyword: str) -> str | None:
    """The last value of an instruction a stage sets or inherits from the stages it is built on."""
    stages = _dockerfile()
    while stage in stages:
        found = _instructions(stage, keyword)
        if found:
            return found[-1]
        stage = stages[stage]["base"]
    return None


def _compose_services() -> dict[str, dict[str, Any]]:
    """Services of infra/docker-compose.yml, including those of the files it includes."""
    doc = _yaml(COMPOSE)
    services = dict(doc["services"])
    for item in doc.get("include", []):
        path = item if isinstance(item, str) else item["path"]
        services.update(_yaml(COMPOSE.parent / path)["services"])
    return services


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- what the app exports ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory, small_leads_csv: Path) -> Path:
    """A logistic-regression bundle on 3,000 synthetic leads (about a second)."""
    from mlsys import compose_config, train_model

    run = tmp_path_factory.mktemp("infra-bundle")
    overrides = [f"data.path={small_leads_csv}", *NO_TRACKING, "model=logreg"]
    quick = ["save_predictions=false", "evaluation.report.enabled=false"]
    train_model(compose_config([*overrides, *quick]), output_dir=run)
    return run / "model.joblib"


@dataclass
class _Server:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="module")
def image_cmd_server(
    tiny_bundle: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[_Server]:
    """The serving image's CMD as a local process, with the image's MLSYS_* environment."""
    port = _free_port()
    cmd = json.loads(_instructions("serve", "CMD")[0])
    cmd[cmd.index("--host") + 1], cmd[cmd.index("--port") + 1] = "127.0.0.1", str(port)
    env = {**os.environ, "MLSYS_SERVE_MODEL_PATH": str(tiny_bundle)}
    for line in _instructions("runtime", "ENV"):
        for key, value in (item.split("=", 1) for item in shlex.split(line)):
            if key.startswith("MLSYS_"):
                env[key] = value.replace("/app", str(REPO_ROOT), 1)
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(BIN / cmd[0]), *cmd[1:]], cwd=REPO_ROOT, env=env, stdout=out, stderr=out
        )
    yield _Server(f"http://127.0.0.1:{port}", port, process, log)
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def exported_metrics(tiny_bundle: Path, image_cmd_server: _Server) -> frozenset[str]:
    """Every sample name on the in-process app's /metrics after each kind of request.

    Asks for ``image_cmd_server`` only to start it early: it boots (several seconds of imports)
    while the rest of the module runs, and the last test uses it.
    """
    from litestar.testing import TestClient
    from prometheus_client.parser import text_string_to_metric_families

    from mlsys.serving import ServeSettings, create_app

    record = json.loads(EXAMPLE.read_text())
    # The bundle shadows itself: the shadow challenger's metrics are exported too.
    settings = ServeSettings(model_path=str(tiny_bundle), challenger_path=str(tiny_bundle))
    with TestClient(app=create_app(settings)) as client:
        assert client.post("/predict", json=record).status_code == 200
        assert client.post("/predict/batch", json=[record, record]).status_code == 200
        assert client.post("/predict", json={"nope": 1}).status_code == 422
        client.app.state.runtime.monitor.flush()
        text = client.get("/metrics").text
    return frozenset(
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    )


@pytest.fixture(scope="module")
def drift_metrics(small_leads_csv: Path) -> frozenset[str]:
    """Every sample name ``mlsys.monitoring.DriftCollector`` exports for a full live window.

    The alerts and the dashboard's drift panels query these. The server registers the
    collector next to its own metrics, but its window holds too few rows in ``exported_metrics``
    for a PSI: a full window of the collector itself shows the samples with values.
    """
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from mlsys.data import CsvSource
    from mlsys.monitoring import DataProfile, DriftCollector, RollingDrift

    leads = CsvSource(path=small_leads_csv, target="converted", positive_label="1").load()
    scores = np.linspace(0.0, 1.0, len(leads))
    profile = DataProfile.learn(leads.features, leads.schema, scores=scores)
    drift = RollingDrift(profile, window=len(leads))
    drift.observe(dict(leads.features.items()), scores)
    registry = CollectorRegistry()
    registry.register(DriftCollector(lambda: drift))
    text = generate_latest(registry).decode()
    return frozenset(
        sample.name
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not np.isnan(sample.value)
    )


def test_promql_metric_extraction_finds_names_and_ignores_the_rest() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le) (rate(mlsys_request_seconds_bucket{route=~"/p",'
        ' instance=~"$instance"}[$__rate_interval]))) / on (job) group_left up offset 5m'
    )
    assert promql_metrics(expr) == {"mlsys_request_seconds_bucket", "up"}
    assert promql_metrics("sum(rate(mlsys_typo_total[5m])) > bool 0.5") == {"mlsys_typo_total"}


def test_the_app_exports_the_metrics_the_dashboards_are_built_on(
    exported_metrics: frozenset[str],
) -> None:
    expected = {
        "mlsys_requests_total",
        "mlsys_request_seconds_bucket",
        "mlsys_batch_size_bucket",
        "mlsys_batch_size_sum",
        "mlsys_model_info",
    }
    assert expected <= exported_metrics, sorted(exported_metrics)


# --- Grafana -----------------------------------------------------------------------------------


def _dashboard_exprs() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def test_dashboard_is_provisioned_and_wired_to_the_datasource() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    datasource = _yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    (source,) = datasource["datasources"]
    assert dashboard["uid"]
    assert dashboard["title"]
    assert dashboard["schemaVersion"] >= 36
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {ids}"
    for panel in dashboard["panels"]:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]), panel["title"]
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for item in [panel, *panel["targets"]]:
            assert item["datasource"]["uid"] == source["uid"], panel["title"]
    # The datasource URL names the compose service; the provider reads where compose mounts.
    assert source["url"] == "http://prometheus:9090"
    assert "prometheus" in _compose_services()
    provider = _yaml(GRAFANA / "provisioning" / "dashboards" / "mlsys.yml")["providers"][0]
    mounts = _compose_services()["grafana"]["volumes"]
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in mounts


def test_dashboard_queries_only_metrics_the_app_exports(
    exported_metrics: frozenset[str], drift_metrics: frozenset[str]
) -> None:
    known = exported_metrics | drift_metrics | PROMETHEUS_SERIES
    for title, expr in _dashboard_exprs():
        used = promql_metrics(expr)
        assert used, f"panel {title!r}: no metric in {expr!r}"
        assert used <= known, f"panel {title!r} queries {sorted(used - known)}, not exported"
    dashboard = json.loads(DASHBOARD.read_text())
    for variable in dashboard["templating"]["list"]:
        for metric in re.findall(r"label_values\((\w+)", variable["definition"]):
            assert metric in known, f"variable {variable['name']!r} queries {metric}"


def test_dashboard_shows_rate_latency_percentiles_errors_batches_and_version() -> None:
    exprs = " ".join(expr for _, expr in _dashboard_exprs())
    for quantile in ("0.5", "0.95", "0.99"):
        assert f"histogram_quantile({quantile}, sum by (le) (rate(mlsys_request_seconds" in exprs
        assert f"histogram_quantile({quantile}, sum by (le) (rate(mlsys_batch_size" in exprs
    assert "rate(mlsys_requests_total{" in exprs
    assert 'status=~"5.."' in exprs
    assert "(mlsys_model_info{" in exprs


def test_dashboard_shows_drift_with_the_calibrated_thresholds(
    drift_metrics: frozenset[str],
) -> None:
    from mlsys.monitoring import (
        BOOLEAN_PSI_ALERT,
        FEATURE_PSI_ALERT,
        FEATURE_PSI_WARNING,
        SCORE_PSI_ALERT,
        SCORE_PSI_WARNING,
    )

    assert {"mlsys_feature_psi", "mlsys_feature_psi_threshold", "mlsys_score_psi"} <= drift_metrics
    panels = {p["title"]: p for p in json.loads(DASHBOARD.read_text())["panels"]}
    raw = panels["Input drift: PSI per column"]
    relative = panels["Input drift against its alert threshold"]
    scores = panels["Score drift: PSI"]
    assert "by (column) (mlsys_feature_psi{" in raw["targets"][0]["expr"]
    assert "/ mlsys_feature_psi_threshold{" in relative["targets"][0]["expr"]
    assert "(mlsys_score_psi{" in scores["targets"][0]["expr"]

    def lines(panel: dict[str, Any]) -> list[float]:
        return [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"][1:]]

    assert lines(raw) == [FEATURE_PSI_WARNING, FEATURE_PSI_ALERT]
    assert lines(relative) == [1]
    assert lines(scores) == [SCORE_PSI_WARNING, SCORE_PSI_ALERT]
    assert f"alert from {BOOLEAN_PSI_ALERT:g}" in raw["description"]
    assert f"alert threshold ({SCORE_PSI_ALERT:g})" in scores["description"]


# --- Prometheus --------------------------------------------------------------------------------


def test_prometheus_config_and_rules_pass_promtool() -> None:
    promtool = _tool("promtool")
    _assert_ok(_run(promtool, "check", "config", PROMETHEUS / "prometheus.yml"))
    _assert_ok(_run(promtool, "check", "rules", PROMETHEUS / "alerts.yml"))


def test_every_alert_fires_in_promtool_unit_tests() -> None:
    promtool = _tool("promtool")
    _assert_ok(_run(promtool, "test", "rules", PROMETHEUS / "alerts_test.yml"))
    alerts = {r["alert"] for g in _yaml(PROMETHEUS / "alerts.yml")["groups"] for r in g["rules"]}
    tested = {
        case["alertname"]
        for test in _yaml(PROMETHEUS / "alerts_test.yml")["tests"]
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    assert alerts == tested, f"alerts without a firing test: {sorted(alerts - tested)}"


def test_alerts_use_only_metrics_the_app_exports(
    exported_metrics: frozenset[str], drift_metrics: frozenset[str]
) -> None:
    known = exported_metrics | drift_metrics | PROMETHEUS_SERIES
    for group in _yaml(PROMETHEUS / "alerts.yml")["groups"]:
        for rule in group["rules"]:
            used = promql_metrics(rule["expr"])
            assert used, f"{rule['alert']}: no metric in {rule['expr']!r}"
            assert used <= known, f"{rule['alert']}: {sorted(used - known)} not exported"
            assert {"summary", "description", "runbook"} <= set(rule["annotations"])


def test_drift_alerts_compare_with_the_exported_thresholds() -> None:
    """The rules take each threshold from the server; their text states the calibrated ones."""
    from mlsys.monitoring import BOOLEAN_PSI_ALERT, FEATURE_PSI_ALERT, SCORE_PSI_ALERT

    rules = {r["alert"]: r for g in _yaml(PROMETHEUS / "alerts.yml")["groups"] for r in g["rules"]}
    feature, score = rules["MlsysFeatureDrift"], rules["MlsysScoreDrift"]
    assert feature["expr"] == "mlsys_feature_psi >= mlsys_feature_psi_threshold"
    assert score["expr"] == "mlsys_score_psi >= mlsys_score_psi_threshold"
    assert (
        f"({FEATURE_PSI_ALERT:g} for numeric and categorical columns, {BOOLEAN_PSI_ALERT:g} for "
        "boolean ones, higher while" in feature["annotations"]["description"]
    )
    assert f"at or above {SCORE_PSI_ALERT:g} " in score["annotations"]["description"]
    for rule in (feature, score):
        assert rule["annotations"]["runbook"] == "docs/MONITORING.md#when-a-drift-alert-fires"


def test_dashboard_promql_parses(tmp_path: Path) -> None:
    promtool = _tool("promtool")
    rules = [
        {"record": f"dashboard:panel_{i}", "expr": _promql_for_promtool(expr)}
        for i, (_, expr) in enumerate(_dashboard_exprs())
    ]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    _assert_ok(_run(promtool, "check", "rules", path))


def test_prometheus_scrapes_the_api_service_on_its_port() -> None:
    config = _yaml(PROMETHEUS / "prometheus.yml")
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "mlsys-api"]
    (target,) = job["static_configs"][0]["targets"]
    host, port = target.split(":")
    assert host in _compose_services()
    assert _instructions("serve", "EXPOSE") == [port]
    mounts = _compose_services()["prometheus"]["volumes"]
    assert "./prometheus:/etc/prometheus:ro" in mounts


# --- compose -----------------------------------------------------------------------------------


def test_compose_files_match_the_compose_spec() -> None:
    files = [COMPOSE, INFRA / "mlflow" / "docker-compose.yml"]
    checker = BIN / "check-jsonschema"
    _assert_ok(_run(checker, "--builtin-schema", "vendor.compose-spec", *files))


def test_compose_stack_is_wired_together() -> None:
    services = _compose_services()
    assert {"api", "mlflow", "postgres", "prometheus", "grafana"} <= set(services)
    stages = _dockerfile()
    for name in ("api", "train"):
        build = services[name]["build"]
        assert (COMPOSE.parent / build["context"]).resolve() == REPO_ROOT
        assert (REPO_ROOT / build["dockerfile"]).resolve() == DOCKERFILE
        assert build["target"] in stages
        assert services[name]["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    # Overrides given to `compose run train ...` are appended to the image's entry point.
    (entrypoint,) = _instructions("train", "ENTRYPOINT")
    assert services["train"]["entrypoint"][:3] == json.loads(entrypoint)
    assert "tracker.required=true" in services["train"]["entrypoint"]
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE.parent / source).exists(), f"bind mount {source} is missing"


def test_mlflow_server_accepts_the_host_name_the_stack_uses() -> None:
    # MLflow 3 answers 403 to Host headers outside --allowed-hosts (localhost and private IPs
    # by default): `mlflow:5000` must be allowed or every call from the API fails.
    command = " ".join(_compose_services()["mlflow"]["command"].split())
    allowed = re.search(r"--allowed-hosts \$\{MLFLOW_ALLOWED_HOSTS:-([^}]+)\}", command)
    assert allowed, command
    assert any(fnmatch.fnmatch("mlflow:5000", p) for p in allowed.group(1).split(","))


# --- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_builds_from_the_lock_as_a_non_root_user() -> None:
    stages = _dockerfile()
    assert {"builder", "runtime", "train", "serve"} <= set(stages)
    assert list(stages)[-1] == "serve", "the default target (last stage) must be serving"
    runs = _instructions("builder", "RUN")
    syncs = [run for run in runs if "uv sync" in run]
    assert syncs, "the builder never runs uv sync"
    for sync in syncs:
        assert "uv sync --locked --no-dev" in sync, f"install exactly uv.lock: {sync}"
        assert "--mount=type=cache,target=/root/.cache/uv" in sync, sync
    assert "--from=builder /app/.venv /app/.venv" in " ".join(_instructions("runtime", "COPY"))
    for stage in ("train", "serve"):
        user = _effective(stage, "USER")
        assert user, f"stage {stage} sets no USER: it would run as root"
        assert user.split(":")[0] not in {"root", "0"}, f"{stage} runs as {user}"
    env = " ".join(_instructions("runtime", "ENV"))
    assert "MLSYS_PROJECT_ROOT=/app" in env
    assert "MLSYS_CONFIG_DIR=/app/conf" in env
    assert "OMP_WAIT_POLICY=PASSIVE" in env  # mlsys sets no variable: the image does
    assert "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false" in env
    assert any(c.startswith("conf/ /app/conf") for c in _instructions("runtime", "COPY"))
    for name, stage in stages.items():
        base = stage["base"]
        assert base in stages or ":" in base, f"stage {name}: base image {base} has no tag"
        assert not base.endswith(":latest"), f"stage {name}: {base}"


def test_dockerfile_serve_and_train_entry_points() -> None:
    (healthcheck,) = _instructions("serve", "HEALTHCHECK")
    assert "'http://127.0.0.1:8000/health'" in healthcheck, healthcheck
    (cmd,) = _instructions("serve", "CMD")
    assert json.loads(cmd)[:2] == ["uvicorn", "serving.asgi:app"]
    (entrypoint,) = _instructions("train", "ENTRYPOINT")
    assert json.loads(entrypoint) == ["python", "-m", "mlsys.train"]


def test_dockerignore_lets_in_exactly_what_the_dockerfile_copies() -> None:
    patterns = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "an allowlist keeps .git, .venv and outputs/ out of the context"
    allowed = [p[1:].rstrip("/") for p in patterns if p.startswith("!")]
    sources = []
    for stage in _dockerfile().values():
        for keyword, args in stage["body"]:
            if keyword == "COPY" and "--from=" not in args:
                sources += args.split()[:-1]
            sources += re.findall(r"type=bind,source=([^,\s]+)", args)
    assert sources
    for source in sources:
        path = source.rstrip("/")
        assert (REPO_ROOT / path).exists(), f"COPY {source}: no such file"
        assert any(path == a or path.startswith(f"{a}/") for a in allowed), (
            f"{source} is copied but .dockerignore keeps it out of the build context"
        )
    assert not {".git", ".venv", "outputs", ".env"} & set(allowed)


# --- Terraform ---------------------------------------------------------------------------------


def test_terraform_sketch_is_formatted() -> None:
    terraform = _tool("terraform")
    _assert_ok(_run(terraform, "fmt", "-check", "-recursive", "-diff", INFRA / "terraform"))


def test_terraform_sketch_says_it_is_a_sketch_and_its_files_exist() -> None:
    folder = INFRA / "terraform"
    assert "**This is a sketch, not a tested deployment.**" in (folder / "README.md").read_text()
    for tf in folder.glob("*.tf"):
        text = tf.read_text()
        assert text.startswith("# SKETCH"), f"{tf.name} does not open with '# SKETCH'"
        for ref in re.findall(r'file\("\$\{path\.module\}/([^"]+)"\)', text):
            assert (folder / ref).is_file(), f"{tf.name}: file({ref}) is missing"


# --- GitHub workflows --------------------------------------------------------------------------

WORKFLOW_FILES = sorted(p.name for p in WORKFLOWS.glob("*.yml"))


def test_workflows_match_the_github_schema() -> None:
    assert {"ci.yml", "retrain.yml", "cd.yml"} <= set(WORKFLOW_FILES)
    checker = BIN / "check-jsonschema"
    files = [WORKFLOWS / name for name in WORKFLOW_FILES]
    _assert_ok(_run(checker, "--builtin-schema", "vendor.github-workflows", *files))


@pytest.mark.parametrize("name", WORKFLOW_FILES)
def test_workflow_hygiene(name: str) -> None:
    workflow = _workflow(name)
    assert "permissions" in workflow, "set least-privilege permissions at the top"
    assert "concurrency" in workflow
    for job_name, job in workflow["jobs"].items():
        assert job.get("timeout-minutes"), f"job {job_name} has no timeout-minutes"
        for step in job.get("steps", []):
            uses = step.get("uses")
            if uses:
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", uses), f"pin {uses} to a major"
            # Untrusted event data goes through env:, never into a script's text.
            assert not re.search(r"\$\{\{\s*(github\.event|inputs)\.", step.get("run", "")), step
    text = (WORKFLOWS / name).read_text()
    for ref in re.findall(r"\b((?:infra|docs|src|conf)/[\w./-]+\.\w+)", text):
        assert (REPO_ROOT / ref).exists(), f"{name} refers to {ref}, which does not exist"


def _make_targets(makefile: str, target: str) -> set[str]:
    """A make target's prerequisites, expanded; the target itself when it has a recipe only."""
    match = re.search(rf"^{re.escape(target)}:([^#\n]*)", makefile, re.M)
    assert match, f"no make target {target}"
    prerequisites = [p for p in match.group(1).split() if not p.startswith("$(")]
    if not prerequisites:
        return {target}
    return set().union(*(_make_targets(makefile, p) for p in prerequisites))


def test_ci_workflow_runs_what_ci_run_runs() -> None:
    ci_run = (REPO_ROOT / ".ci" / "run").read_text()
    makefile = (REPO_ROOT / "Makefile").read_text()
    wanted = set().union(
        *(_make_targets(makefile, t) for t in re.findall(r"^make (\S+)", ci_run, re.M))
    )
    assert wanted >= {"lint", "format-check", "typecheck", "pytest"}
    workflow = _workflow("ci.yml")
    run = "\n".join(step.get("run", "") for step in _steps(workflow))
    ran = set(re.findall(r"^make (\S+)", run, re.M)) - {"setup"}
    assert ran == wanted, f"ci.yml runs {sorted(ran)}, .ci/run runs {sorted(wanted)}"
    # The same switches, for the whole job: a test whose service, tool or data is missing
    # fails in both, never skips.
    switches = dict(re.findall(r"^export (MLSYS_REQUIRE_\w+)=(\S+)", ci_run, re.M))
    assert {"MLSYS_REQUIRE_INFRA_TOOLS", "MLSYS_REQUIRE_SHARED_DATA"} <= set(switches)
    for key, value in switches.items():
        assert str(workflow["env"].get(key)) == value, key
    assert "MLSYS_REQUIRE" not in run, "a switch set by a step holds only if the step succeeds"
    # No step may fail without failing the job: the data download above all, since the
    # real-data tests would then skip and the run still go green.
    lenient = [s.get("name", s.get("uses")) for s in _steps(workflow) if "continue-on-error" in s]
    assert not lenient, f"steps that may fail without failing the job: {lenient}"
    (fetch,) = [s for s in _steps(workflow) if "sha256sum --check" in s.get("run", "")]
    assert "set -euo pipefail" in fetch["run"]
    assert "if" not in fetch, "the data sets are fetched and checked on every run"
    (postgres,) = [job["services"]["postgres"] for job in workflow["jobs"].values()]
    assert postgres["env"]["POSTGRES_HOST_AUTH_METHOD"] == "trust"
    assert "5432:5432" in postgres["ports"]
    (setup_uv,) = [s for s in _steps(workflow) if s.get("uses", "").startswith("astral-sh/")]
    assert setup_uv["with"]["enable-cache"] is True
    assert setup_uv["with"]["cache-dependency-glob"] == "uv.lock"
    # The image's uv is the one CI uses.
    assert f"ARG UV_VERSION={setup_uv['with']['version']}" in DOCKERFILE.read_text()


def test_retrain_is_scheduled_tracked_gated_and_announces_a_champion() -> None:
    retrain = _workflow("retrain.yml")
    assert retrain["on"]["schedule"][0]["cron"]
    assert "workflow_dispatch" in retrain["on"]
    run = "\n".join(step.get("run", "") for step in _steps(retrain))
    for override in ("tracker=mlflow", "registry=mlflow", "tracker.required=true"):
        assert override in run
    assert "python -m mlsys.train" in run
    assert 'infra/scripts/gate_report.py "$RUN_DIR"' in run
    assert "hydra.run.dir=$RUN_DIR" in run
    (upload,) = [s for s in _steps(retrain) if s.get("uses", "").startswith("actions/upload-")]
    assert upload["with"]["path"] == "${{ env.RUN_DIR }}"
    assert upload["if"] == "always()"
    dispatched = re.search(r'event_type: "([\w-]+)"', run)
    cd = _workflow("cd.yml")
    assert dispatched
    assert cd["on"]["repository_dispatch"]["types"] == [dispatched.group(1)]
    assert retrain["jobs"]["announce"]["if"] == "needs.train.outputs.outcome == 'promoted'"


def test_cd_builds_the_dockerfile_targets_and_smoke_tests_before_tagging() -> None:
    cd = _workflow("cd.yml")
    assert "workflow_dispatch" in cd["on"]
    builds = [s for s in _steps(cd) if s.get("uses", "").startswith("docker/build-push-action")]
    assert {b["with"]["target"] for b in builds} == {"serve", "train"}
    for build in builds:
        assert build["with"]["file"] == "infra/docker/Dockerfile"
        assert build["with"]["push"]
    run = "\n".join(step.get("run", "") for step in cd["jobs"]["smoke"]["steps"])
    assert "infra/scripts/smoke_test.py" in run
    assert "docs/examples/lead.json" in run
    assert cd["jobs"]["release"]["needs"] == ["build", "smoke"]
    writers = {n for n, j in cd["jobs"].items() if j["permissions"].get("packages") == "write"}
    assert writers == {"build", "release"}
    assert cd["permissions"] == {"contents": "read"}


# --- the retrain summary -----------------------------------------------------------------------


def _script(name: str) -> Any:
    """A module of infra/scripts/, imported from its file (it is not a package)."""
    spec = importlib.util.spec_from_file_location(name, INFRA / "scripts" / f"{name}.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("promoted", "reason", "outcome"),
    [
        (True, "first model: no champion yet", "promoted"),
        (False, "roc_auc gain -0.0151 below required +0.0000", "kept"),
        (
            False,
            "REFUSED: holdout differs from champion v3's (another data file or split)",
            "refused",
        ),
    ],
)
def test_gate_report_reads_the_gates_decision(
    promoted: bool,
    reason: str,
    outcome: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mlsys.registry import GateDecision

    decision = GateDecision(
        promoted=promoted,
        reason=reason,
        version="4",
        previous_champion="3",
        primary_metric="roc_auc",
        candidate_scores={"roc_auc": 0.84, "pr_auc": 0.42},
        champion_scores={"roc_auc": 0.83, "pr_auc": 0.41},
    )
    run = tmp_path / "run"
    run.mkdir()
    (run / "gate.json").write_text(json.dumps(decision.to_dict()))
    (run / "metrics.json").write_text(json.dumps({"roc_auc": 0.84, "threshold": 0.18}))
    (run / "metadata.json").write_text(json.dumps({"name": "conversion", "tracking_run_id": "r1"}))
    outputs, summary = tmp_path / "out", tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    report = _script("gate_report")
    assert report.main([str(run)]) == 0
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert values["outcome"] == outcome
    assert values["version"] == "4"
    assert values["promoted"] == str(promoted).lower()
    assert values["run_id"] == "r1"
    assert "| roc_auc | 0.8400 | 0.8300 |" in summary.read_text()
    assert report.main([str(tmp_path)]) == 2
    assert "gate.json is missing" in capsys.readouterr().err


# --- the serving image's command, last: its server booted while the tests above ran ----------


def test_the_serving_command_passes_the_healthcheck_and_the_smoke_test(
    image_cmd_server: _Server,
) -> None:
    server = image_cmd_server
    healthcheck = json.loads(re.sub(r".*CMD ", "", _instructions("serve", "HEALTHCHECK")[0]))
    probe = [sys.executable, *healthcheck[1:]]
    probe[-1] = probe[-1].replace("127.0.0.1:8000", f"127.0.0.1:{server.port}")
    deadline = time.monotonic() + 90
    while _run(*probe).returncode != 0:
        assert server.process.poll() is None, server.log.read_text()[-3000:]
        assert time.monotonic() < deadline, "the HEALTHCHECK never passed"
        time.sleep(0.3)
    smoke = INFRA / "scripts" / "smoke_test.py"
    done = _run(sys.executable, smoke, "--url", server.url, "--example", EXAMPLE, "--wait", "30")
    _assert_ok(done)
    # ... and it can fail: a version that is not served.
    wrong = _run(sys.executable, smoke, "--url", server.url, "--expect-version", "999")
    assert wrong.returncode == 1
    assert "expected 999" in wrong.stderr
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=5) as response:
        assert b'mlsys_requests_total{route="/predict",status="422"}' in response.read()
