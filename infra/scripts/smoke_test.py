"""Smoke-test a running mlsys API: liveness, readiness, one prediction, the error contract, metrics.

    python infra/scripts/smoke_test.py --url http://127.0.0.1:8000 --expect-version 7

Standard library only, so it runs on a bare CI runner against a container. Exits 0 when every
check passes, 1 with the failing check otherwise. Used by .github/workflows/cd.yml, and by
tests/integration/test_infra.py against the serving command run as a local process.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "lead.json"


class SmokeError(Exception):
    """A check failed; the message says which and what was seen."""


def _call(url: str, body: bytes | None = None, timeout: float = 10) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _json(url: str, body: Any = None) -> tuple[int, Any]:
    status, raw = _call(url, None if body is None else json.dumps(body).encode())
    try:
        return status, json.loads(raw)
    except ValueError as exc:
        raise SmokeError(f"{url}: answered {status} with a non-JSON body: {raw[:200]!r}") from exc


def _wait_for(url: str, wanted: int, deadline: float) -> Any:
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            status, body = _json(url)
            if status == wanted:
                return body
            last = f"{status} {body}"
        except (OSError, SmokeError) as exc:
            last = str(exc)
        time.sleep(1)
    raise SmokeError(f"{url}: no {wanted} before the deadline (last: {last})")


def _metric(text: str, name: str, labels: dict[str, str]) -> float | None:
    """The value of the first sample of ``name`` whose labels include ``labels``."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)", line.strip())
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(3) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(4))
    return None


def run(url: str, example: Path, expect_version: str | None, wait_s: float) -> list[str]:
    """Run every check in order; return one line per passed check, raise on the first failure."""
    url = url.rstrip("/")
    deadline = time.monotonic() + wait_s
    passed = []
    _wait_for(f"{url}/health", 200, deadline)
    passed.append("GET /health: 200")
    ready = _wait_for(f"{url}/ready", 200, deadline)
    passed.append(f"GET /ready: 200 (model version {ready.get('model_version')})")

    status, info = _json(f"{url}/model/info")
    if status != 200:
        raise SmokeError(f"GET /model/info: {status} {info}")
    version = str(info.get("version"))
    if expect_version and version != expect_version:
        raise SmokeError(f"serving model version {version}, expected {expect_version}")
    passed.append(f"GET /model/info: {info.get('name')} version {version}")

    status, body = _json(f"{url}/predict", json.loads(example.read_text()))
    if status != 200:
        raise SmokeError(f"POST /predict {example.name}: {status} {body}")
    probability = body.get("probability")
    if not isinstance(probability, float) or not 0.0 <= probability <= 1.0:
        raise SmokeError(f"POST /predict: probability {probability!r} is not in [0, 1]")
    if not isinstance(body.get("decision"), bool) or str(body.get("model_version")) != version:
        raise SmokeError(f"POST /predict: unexpected body {body}")
    passed.append(f"POST /predict: probability {probability:.4f}, decision {body['decision']}")

    status, body = _json(f"{url}/predict", {"not_a_field": 1})
    if status != 422 or not body.get("errors"):
        raise SmokeError(
            f"POST /predict with a bad record: expected a 422 with errors, got {status}"
        )
    passed.append("POST /predict with a bad record: 422")

    status, raw = _call(f"{url}/metrics")
    text = raw.decode()
    scored = _metric(text, "mlsys_requests_total", {"route": "/predict", "status": "200"})
    served = _metric(text, "mlsys_model_info", {"version": version})
    if status != 200 or scored is None or scored < 1 or served != 1:
        raise SmokeError(
            f"GET /metrics: expected /predict 200s counted and mlsys_model_info for version "
            f"{version} (status {status}, predict 200s {scored}, model_info {served})"
        )
    passed.append(f"GET /metrics: {scored:.0f} scored request(s), version {version} exported")
    return passed


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the checks, print the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--example", type=Path, default=EXAMPLE, help="one record to score")
    parser.add_argument("--expect-version", default="", help="fail unless this version serves")
    parser.add_argument("--wait", type=float, default=120, help="seconds to wait for readiness")
    args = parser.parse_args(argv)
    try:
        for line in run(args.url, args.example, args.expect_version or None, args.wait):
            print(f"ok  {line}")
    except SmokeError as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
