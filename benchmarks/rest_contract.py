"""The REST contract's cost: msgspec against pydantic, decoding and validating the same bodies.

Issue 13 asks for pydantic where typed contracts are declared, and, for the REST contract, to
measure both and keep the faster. This times, in process (no HTTP, no model), one request body
of 1 record and one of 1,000 records of the leads' 15 feature fields, three ways:

* ``server``: what ``mlsys.serving`` does today: msgspec decodes the body into plain JSON
  values (depth-bounded, as ``/predict`` does) and ``RecordValidator`` applies the value rules
  of ``mlsys.data`` (the rules training and batch scoring share) to every field;
* ``msgspec``: a ``msgspec.Struct`` per record (``forbid_unknown_fields``), typed decode;
* ``pydantic``: a ``BaseModel`` per record (``extra="forbid"``, strict, no inf/NaN) through a
  ``TypeAdapter(list[Model]).validate_json``.

Each side decodes the body ``--calls`` times per measurement; sides run in alternated rounds
(``_paired.rounds``), and the ratios pydantic / msgspec and pydantic / server are paired per
round: median and range. Printed only, no page (DESIGN_DECISIONS.md quotes the result).

    uv run python benchmarks/rest_contract.py --repeats 7
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import msgspec
import numpy as np
from _paired import add_arguments, paired, parse, rounds
from pydantic import BaseModel, ConfigDict, TypeAdapter, create_model

from mlsys.data import FeatureSchema
from mlsys.serving import MAX_JSON_DEPTH, RecordValidator

CATEGORICAL = [
    "industry",
    "company_size_band",
    "region",
    "lead_source",
    "seniority",
    "utm_campaign",
]
NUMERIC = [
    "employees",
    "web_visits_30d",
    "email_opens_30d",
    "pages_per_visit",
    "trial_days_active",
    "days_since_last_touch",
    "annual_revenue_musd",
]
BOOLEAN = ["is_free_email", "requested_demo"]
SCHEMA = FeatureSchema(
    columns=(*CATEGORICAL, *NUMERIC, *BOOLEAN),
    kinds=(
        *(["categorical"] * len(CATEGORICAL)),
        *(["numeric"] * len(NUMERIC)),
        *(["boolean"] * len(BOOLEAN)),
    ),  # type: ignore[arg-type]
)


def _records(n: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        record: dict[str, Any] = {c: f"level_{rng.integers(8)}" for c in CATEGORICAL}
        record |= {c: round(float(rng.gamma(2.0, 10.0)), 2) for c in NUMERIC}
        record |= {c: bool(rng.integers(2)) for c in BOOLEAN}
        record["employees"] = int(rng.integers(1, 10_000))  # an integer field, as clients send
        record["region"] = None  # an unknown value, which the model imputes
        out.append(record)
    return out


def _json_value(depth: int) -> Any:
    kind: Any = str | int | float | bool | None
    for _ in range(depth):
        kind = str | int | float | bool | None | list[kind] | dict[str, kind]
    return kind


def _server() -> Callable[[bytes], object]:
    decoder = msgspec.json.Decoder(_json_value(MAX_JSON_DEPTH))
    validator = RecordValidator(SCHEMA)
    return lambda body: validator.validate(decoder.decode(body))


def _msgspec() -> Callable[[bytes], object]:
    fields: list[tuple[str, Any]] = [(c, str | None) for c in CATEGORICAL]
    fields += [(c, float | None) for c in NUMERIC] + [(c, bool | None) for c in BOOLEAN]
    record = msgspec.defstruct("Record", fields, forbid_unknown_fields=True)
    decoder = msgspec.json.Decoder(list[record])  # type: ignore[valid-type]
    return decoder.decode


def _pydantic() -> Callable[[bytes], object]:
    fields: dict[str, Any] = dict.fromkeys(CATEGORICAL, (str | None, ...))
    fields |= dict.fromkeys(NUMERIC, (float | None, ...))
    fields |= dict.fromkeys(BOOLEAN, (bool | None, ...))
    config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    record = create_model("Record", __config__=config, **fields)
    adapter: TypeAdapter[list[BaseModel]] = TypeAdapter(list[record])  # type: ignore[valid-type]
    return adapter.validate_json


def _timed(decode: Callable[[bytes], object], body: bytes, calls: int) -> Callable[[int], float]:
    def run(_: int) -> float:
        started = time.perf_counter()
        for _ in range(calls):
            decode(body)
        return calls / (time.perf_counter() - started)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, repeats=7)
    parser.add_argument("--calls", type=int, default=0, help="decodes per measurement (0: auto)")
    args = parse(parser)
    repeats = 2 if args.smoke else args.repeats
    sides = {"server": _server(), "msgspec": _msgspec(), "pydantic": _pydantic()}
    for size in (1, 1000):
        body = json.dumps(_records(size)).encode()
        for decode in sides.values():  # same result type everywhere, and first-call costs paid
            assert len(decode(body)) == size  # type: ignore[arg-type]
        calls = args.calls or (20 if args.smoke else (20_000 if size == 1 else 200))
        print(f"== {size:,} record(s), {len(body):,} bytes, {calls:,} decodes per measurement")
        runners = {name: _timed(decode, body, calls) for name, decode in sides.items()}
        per_second = rounds(runners, repeats)
        for name, values in per_second.items():
            print(f"{name:>9}: median {np.median(values):,.0f} bodies/s")
        for base in ("msgspec", "server"):
            pairs = list(zip(per_second[base], per_second["pydantic"], strict=True))
            ratio = paired(pairs, lambda a, b: b / a)
            print(f"pydantic / {base} throughput: {ratio}")


if __name__ == "__main__":
    main()
