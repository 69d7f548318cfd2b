"""Request and response models built from a model card's input schema.

A card records, per input column, its type, range (for numbers) or allowed
values (for categories) and whether it may be missing; the request model
enforces exactly that, so a wrong type, a missing field, an out-of-range number
or an unknown category is a 422 naming the field, before the model is called.
"""

from __future__ import annotations

import keyword
import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model


def _field(column: str, spec: dict[str, Any]) -> tuple[Any, Any]:
    """(annotation, Field) for one column; the JSON key is the column name (an alias)."""
    kind = spec["type"]
    options: dict[str, Any] = {"alias": column}
    if kind == "integer":
        annotation: Any = int
        low, high = spec.get("min"), spec.get("max")
        options["ge"] = None if low is None else math.floor(low)
        options["le"] = None if high is None else math.ceil(high)
    elif kind == "number":
        annotation = float
        options.update(ge=spec.get("min"), le=spec.get("max"), allow_inf_nan=False)
    elif kind == "category":
        annotation = Literal[tuple(spec["categories"])]
    else:
        annotation = str
        options["max_length"] = 500
    if spec.get("nullable"):
        annotation = annotation | None
        options["default"] = None
    return annotation, Field(**options)


def python_name(column: str) -> str:
    """A valid attribute name for a column ("1stFlrSF" -> "c_1stFlrSF")."""
    if column.isidentifier() and not keyword.iskeyword(column) and not column.startswith("_"):
        return column
    return "c_" + re.sub(r"\W", "_", column)


def request_model(name: str, schema: dict[str, dict[str, Any]]) -> type[BaseModel]:
    """A strict pydantic model with one field per input column (unknown fields refused).

    ``model_dump(by_alias=True)`` gives the record keyed by the original column names.
    """
    fields = {python_name(column): _field(column, spec) for column, spec in schema.items()}
    model = create_model(  # type: ignore[call-overload]
        f"{name.capitalize()}Record",
        __config__=ConfigDict(extra="forbid"),
        **fields,
    )
    return model  # type: ignore[no-any-return]


def batch_model(name: str, record: type[BaseModel], max_batch: int) -> type[BaseModel]:
    return create_model(  # type: ignore[call-overload,no-any-return]
        f"{name.capitalize()}Batch",
        __config__=ConfigDict(extra="forbid"),
        records=(list[record], Field(min_length=1, max_length=max_batch)),  # type: ignore[valid-type]
    )


class Prediction(BaseModel):
    prediction: float
    probability: float | None = Field(
        default=None, description="Probability of the positive class (classifiers only)."
    )


class PredictResponse(Prediction):
    model: str
    version: str
    latency_ms: float


class BatchResponse(BaseModel):
    predictions: list[Prediction]
    model: str
    version: str
    latency_ms: float


class ModelInfo(BaseModel):
    name: str
    milestone: str
    version: str
    task: str
    target: str
    sha256: str
    metrics: dict[str, float]
    inputs: list[str]


class Health(BaseModel):
    status: str
    models: list[str] = []


class ErrorResponse(BaseModel):
    detail: str
