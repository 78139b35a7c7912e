"""Response bodies of the serving API and the OpenAPI document of the served model.

The bodies are msgspec structs, so Litestar writes their JSON Schema into ``/schema`` and a
schema-driven client (or fuzzer) can check every answer, errors included, against it. The
request schema is the served model's own: :func:`document_model` rewrites it on every load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
)
from litestar.openapi.spec.enums import OpenAPIType

from mlsys.serving._validation import LARGEST_NUMBER

if TYPE_CHECKING:
    from litestar.openapi.spec import OpenAPI

    from mlsys.data import FeatureSchema

__all__ = [
    "ADMIN_SECURITY",
    "BatchPrediction",
    "ErrorBody",
    "FieldProblem",
    "Prediction",
    "Readiness",
    "ReloadResult",
    "admin_security",
    "document_model",
    "errors",
]

#: The security scheme of the admin endpoints (a bearer token).
ADMIN_SECURITY = "admin_token"

Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]


class Prediction(msgspec.Struct):
    """The score of one lead."""

    probability: Probability
    decision: bool
    model_version: str


class BatchPrediction(msgspec.Struct):
    """The scores of a batch, in request order."""

    predictions: list[Prediction]
    model_version: str


class FieldProblem(msgspec.Struct, omit_defaults=True):
    """One problem of a request: the field (``$`` for the whole body) and what is wrong."""

    field: str
    message: str
    record: int | None = None


class ErrorBody(msgspec.Struct, omit_defaults=True):
    """Every 4xx/5xx answer.

    ``errors`` lists the first field problems of a 422 and ``error_count`` counts them all.
    """

    status_code: int
    detail: str
    errors: list[FieldProblem] | None = None
    error_count: int | None = None


class Readiness(msgspec.Struct, omit_defaults=True):
    """``GET /ready``: ``model_version`` when ready, ``reason`` when not."""

    ready: bool
    model_version: str | None = None
    reason: str | None = None


class ReloadResult(msgspec.Struct):
    """``POST /model/reload``: the version served before and the one served now."""

    reloaded: bool
    previous_version: str | None
    model_version: str


_WHY = {
    400: "Bad query parameters (the reload version).",
    401: "Missing or wrong bearer token.",
    403: "Admin endpoints are disabled: no admin token is configured.",
    409: "The reload was rejected (the model failed to load or its probe); the old model serves.",
    413: "The body exceeds max_body_bytes, or the batch exceeds max_batch.",
    422: "Invalid request: the first field problems and their total count.",
    503: "No model is being served yet (see GET /ready for the reason).",
}


def errors(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI responses for error statuses, each with the :class:`ErrorBody` schema."""
    return {
        status: ResponseSpec(
            data_container=ErrorBody, generate_examples=False, description=_WHY[status]
        )
        for status in statuses
    }


def _record_schema(schema: FeatureSchema) -> Schema:
    """One lead: every feature column, typed as the validator checks it."""
    # A JSON number too large for a float is refused as not finite; say so in the schema.
    number = Schema(type=OpenAPIType.NUMBER, minimum=-LARGEST_NUMBER, maximum=LARGEST_NUMBER)
    types = {
        "numeric": number,
        "boolean": Schema(type=OpenAPIType.BOOLEAN),
        "categorical": Schema(type=OpenAPIType.STRING),
    }
    return Schema(
        type=OpenAPIType.OBJECT,
        description="One lead: every feature of the served model (null if unknown).",
        properties={
            column: Schema(one_of=[types[kind], Schema(type=OpenAPIType.NULL)])
            for column, kind in zip(schema.columns, schema.kinds, strict=True)
        },
        required=list(schema.columns),
        additional_properties=False,
    )


def document_model(spec: OpenAPI, schema: FeatureSchema, max_batch: int) -> None:
    """Put the served model's input schema into the OpenAPI document ``spec`` (in place)."""
    ref = Reference(ref="#/components/schemas/LeadRecord")
    records = Schema(type=OpenAPIType.ARRAY, items=ref, min_items=1, max_items=max_batch)
    wrapped = Schema(
        type=OpenAPIType.OBJECT,
        properties={"records": records},
        required=["records"],
        additional_properties=False,
    )
    components = spec.components or Components()
    components.schemas = {**(components.schemas or {}), "LeadRecord": _record_schema(schema)}
    spec.components = components
    bodies: dict[str, Reference | Schema] = {
        "/predict": ref,
        "/predict/batch": Schema(one_of=[records, wrapped]),
    }
    for path, body in bodies.items():
        item = spec.paths.get(path) if spec.paths else None
        if item is not None and item.post is not None:
            item.post.request_body = RequestBody(
                required=True, content={"application/json": OpenAPIMediaType(schema=body)}
            )


def admin_security() -> dict[str, SecurityScheme | Reference]:
    """The security scheme of the bearer token that guards the admin endpoints."""
    return {
        ADMIN_SECURITY: SecurityScheme(
            type="http",
            scheme="bearer",
            description="MLSYS_ADMIN_TOKEN (serve.admin_token); unset disables admin endpoints.",
        )
    }
