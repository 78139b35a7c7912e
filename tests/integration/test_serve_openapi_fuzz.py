"""Schemathesis against a live `python -m mlsys.serve`: the OpenAPI document is the contract.

Requests generated from ``/schema/openapi.json`` (bodies, query parameters and headers that fit
the document, and ones that break it) go to every route, with and without the admin token.
Every answer must pass every schemathesis check: no 5xx, a documented status, content type,
headers and body, valid data accepted, invalid data refused.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mlsys import compose_config, train_model
from tests.conftest import FAST_REPORT, NO_TRACKING
from tests.integration.server_process import serve

pytestmark = pytest.mark.integration

#: Generated requests per operation, generation mode and auth variant (deterministic seed).
EXAMPLES = 100
ROUTES = {
    "POST /predict",
    "POST /predict/batch",
    "GET /health",
    "GET /ready",
    "GET /model/info",
    "GET /models",
    "POST /model/reload",
    "GET /metrics",
}


@pytest.fixture(scope="module")
def bundle(small_leads_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("fuzz-bundle")
    overrides = [f"data.path={small_leads_csv}", "model=logreg", *NO_TRACKING, *FAST_REPORT]
    train_model(compose_config(overrides), output_dir=run)
    return run / "model.joblib"


@pytest.mark.slow  # about 1,200 requests, a fifth of them model reloads
def test_schemathesis_finds_no_5xx_and_no_schema_mismatch(bundle: Path, tmp_path: Path) -> None:
    import schemathesis
    from schemathesis import GenerationMode

    env = {**os.environ, "MLSYS_ADMIN_TOKEN": "tok"}
    overrides = [f"model_path={bundle}", f"hydra.run.dir={tmp_path / 'serve'}", "max_batch=50"]
    # 413 (a batch over max_batch) is how this API refuses a batch too long for the schema.
    refusals = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
    config = schemathesis.Config.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": refusals}}}
    )
    sent: Counter[str] = Counter()
    with serve(overrides, env, tmp_path / "serve.log") as url:
        schema = schemathesis.openapi.from_url(f"{url}/schema/openapi.json", config=config)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {operation.label for operation in operations} == ROUTES
        for operation in operations:
            has_input = bool(list(operation.iter_parameters()) or list(operation.body))
            # An operation without parameters or body has no invalid request to generate.
            for mode in [GenerationMode.POSITIVE, GenerationMode.NEGATIVE][: 1 + has_input]:
                for headers in ({"Authorization": "Bearer tok"}, {}):
                    _fuzz(operation, mode, url, headers, sent)
    assert set(sent) == ROUTES
    assert sum(sent.values()) >= 1_000, sent


def _fuzz(operation: Any, mode: Any, url: str, headers: dict[str, str], sent: Counter[str]) -> None:
    """Up to EXAMPLES generated requests to ``operation``; raise on the first failed check."""
    from hypothesis import HealthCheck, Phase, given, settings

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def exchange(case: Any) -> None:
        sent[case.operation.label] += 1
        case.call_and_validate(base_url=url, headers=headers, timeout=60)

    exchange()
