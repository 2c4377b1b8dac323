"""Request and response models of the API.

The application model is generated from the bundle's ``InputSchema`` with
``pydantic.create_model``, so the API validates exactly what the model was trained on: numbers
are finite floats (JSON numbers only, no strings or booleans), categories are the levels seen
in training (as text, or as JSON booleans or integers where the training column held
booleans or integer codes), ``null`` is allowed only where training saw missing values, and
unknown fields are refused. Protected attributes and the id column may be sent (for
monitoring) but never reach the model. Response models are static.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Literal

from pydantic import (
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    WithJsonSchema,
    create_model,
)

from creditscore.data.schema import InputSchema
from creditscore.features.spelling import canonical_key

#: Largest magnitude accepted for a number: far beyond any credit quantity in any currency,
#: small enough that no scaler or linear model overflows to infinity on it.
MAX_ABS_NUMBER = 1e15

FiniteNumber = Annotated[
    float, Strict(), AllowInfNan(False), Field(ge=-MAX_ABS_NUMBER, le=MAX_ABS_NUMBER)
]
ApplicationId = Annotated[str, Strict(), StringConstraints(min_length=1, max_length=128)]
OtherValue = Annotated[str, Strict(), StringConstraints(max_length=256)] | FiniteNumber | None


def _range_text(lo: float | None, hi: float | None) -> str:
    if lo is None or hi is None:
        return ""
    return f" Seen in training: {lo:g} to {hi:g}."


def _spelling_folder(
    levels: Iterable[str], literals: dict[Any, str] | None = None
) -> Callable[[Any], Any]:
    """A text's spelling as the level it names by :func:`canonical_key`, and a JSON
    boolean or integer in ``literals`` as its level (else unchanged, so an unknown category
    is still refused, naming the levels)."""
    exact = frozenset(levels)
    by_key = {canonical_key(level): level for level in exact}
    by_literal = literals or {}

    def fold(value: Any) -> Any:
        if isinstance(value, str):
            return value if value in exact else by_key.get(canonical_key(value), value)
        if by_literal and type(value) in (bool, int):  # exactly: True is not the code 1
            return by_literal.get((type(value), value), value)
        return value

    return fold


_INTEGER = re.compile(r"-?[0-9]+")


def _json_literals(levels: tuple[str, ...]) -> tuple[dict[Any, str], str | None]:
    """The JSON values a categorical input also takes, when its training column held
    booleans or integer codes (levels ``True``/``False``, or ``1``, ``2``, ...), keyed by
    (type, value), and their JSON type; as the Scorer reads them, by their spelling."""
    if not levels:
        return {}, None
    keys = {canonical_key(level): level for level in levels}
    if set(keys) <= {"true", "false"}:
        return {(bool, key == "true"): level for key, level in keys.items()}, "boolean"
    codes = {}
    for level in levels:
        if not _INTEGER.fullmatch(level) or str(int(level)) != level:  # '007' stays text
            return {}, None
        codes[(int, int(level))] = level
    return codes, "integer"


def application_model(
    schema: InputSchema, other_fields: Iterable[str] = ()
) -> tuple[type[BaseModel], tuple[tuple[str, str], ...]]:
    """The request model of one application, and its (attribute, field name) pairs.

    Attributes are ``f0, f1, ...`` with the real names as aliases, so no feature name can
    clash with pydantic's own attributes or be an invalid identifier.
    """
    fields: dict[str, Any] = {}
    names: list[tuple[str, str]] = []
    for i, spec in enumerate(schema.fields):
        attr = f"f{i}"
        annotation: Any
        codes = tuple(str(c) for c in spec.special_codes or () if isinstance(c, str))
        if spec.kind == "categorical":
            levels = tuple(dict.fromkeys([*(spec.categories or ()), *codes]))
            annotation = Literal.__getitem__(levels) if levels else Annotated[str, Strict()]
            literals, json_type = _json_literals(tuple(spec.categories or ()))
            # the one spelling rule: "RENT", "rent " and "Rent" are the level "Rent"; a
            # column of booleans or integer codes also takes them as JSON true / 3
            annotation = Annotated[annotation, BeforeValidator(_spelling_folder(levels, literals))]
            text = f"Category; one of the {len(levels)} levels seen in training."
            if json_type is not None:
                either = [
                    {"type": "string", "enum": list(levels)},
                    {"type": json_type, "enum": sorted({v for _, v in literals})},
                ]
                annotation = Annotated[annotation, WithJsonSchema({"anyOf": either})]
                text += f" The JSON {json_type}s of the levels are accepted too."
        elif spec.kind == "date":
            annotation = Annotated[str, Strict(), StringConstraints(max_length=64)]
            text = "ISO 8601 date, e.g. 2024-01-31 (read by derived features)."
        else:
            annotation = FiniteNumber
            if codes:  # text codes of a number ('n/a') are accepted as missing
                annotation = Annotated[
                    FiniteNumber | Literal.__getitem__(codes),
                    BeforeValidator(_spelling_folder(codes)),
                ]
            kind = "whole number" if spec.integer else "number"
            text = f"Finite {kind}.{_range_text(spec.minimum, spec.maximum)}"
        if spec.special_codes:
            shown = ", ".join(repr(c) for c in spec.special_codes)
            text += f" Special codes ({shown}) are scored as missing."
        if spec.nullable:
            annotation = annotation | None
            info = Field(alias=spec.name, default=None, description=text + " May be null.")
        else:
            info = Field(alias=spec.name, description=text)
        fields[attr] = (annotation, info)
        names.append((attr, spec.name))
    fields["application_id"] = (
        ApplicationId | None,
        Field(default=None, description="The caller's reference, echoed in the decision."),
    )
    taken = {*schema.names, "application_id"}
    for j, name in enumerate(dict.fromkeys(other_fields)):
        if name in taken:
            continue
        attr = f"x{j}"
        fields[attr] = (
            OtherValue,
            Field(
                alias=name,
                default=None,
                description="Protected or personal attribute: never used for scoring; "
                "kept in the decision log only as a keyed hash (or not at all).",
            ),
        )
        names.append((attr, name))
    model = create_model(
        "Application",
        __config__=ConfigDict(extra="forbid", title="Application"),
        **fields,
    )
    return model, tuple(names)


# --------------------------------------------------------------------------- responses
class FieldError(BaseModel):
    field: str = Field(description="dotted path of the offending field ('body' for the whole)")
    message: str
    type: str = Field(description="machine-readable error type")


class ErrorOut(BaseModel):
    error: str = Field(description="machine-readable error code")
    message: str
    details: list[FieldError] = Field(default_factory=list)


class ReasonOut(BaseModel):
    code: str
    feature: str
    text: str
    value: Any = None
    contribution: float


class WarningOut(BaseModel):
    field: str = Field(description="the input concerned")
    code: str = Field(description="out_of_range: a number outside the range seen in training")
    message: str
    value: float | None = Field(default=None, description="left out for protected attributes")


class DecisionOut(BaseModel):
    request_id: str
    application_id: str | None = None
    probability_of_default: float = Field(ge=0, le=1)
    score: int = Field(description="score points: higher is safer")
    risk_band: str
    decision: Literal["approve", "refer", "decline"]
    reasons: list[ReasonOut] = Field(default_factory=list, description="up to 4 reason codes")
    model_name: str
    model_version: str
    policy_version: str
    warnings: list[WarningOut] = Field(
        default_factory=list,
        description="scored, but worth a look: e.g. a number outside the training range",
    )


class BatchDecisionOut(DecisionOut):
    index: int = Field(ge=0, description="position of the application in the request")


class RowErrors(BaseModel):
    index: int = Field(ge=0)
    errors: list[FieldError]


class BatchOut(BaseModel):
    decisions: list[BatchDecisionOut]
    errors: list[RowErrors] = Field(description="invalid applications, by index; not scored")
    n_received: int
    n_scored: int
    n_failed: int


class BandOut(BaseModel):
    name: str
    max_pd: float
    min_points: int


class FieldOut(BaseModel):
    name: str
    kind: Literal["numeric", "categorical", "date"]
    nullable: bool
    categories: list[str] | None = None
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False


class ModelOut(BaseModel):
    name: str
    version: str
    aliases: list[str]
    source: str
    run_id: str | None = None
    trained_at: str | None = None
    loaded_at: str
    candidate: str | None = None
    metrics: dict[str, Any]
    threshold: float
    refer_margin: float
    policy_version: str
    bands: list[BandOut]
    scaling: dict[str, float]
    schema_: list[FieldOut] = Field(alias="schema")
    not_model_inputs: list[str] = Field(
        description="accepted for the log only (protected attributes, ids)"
    )

    model_config = ConfigDict(populate_by_name=True)


class HealthOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    status: Literal["ready", "degraded", "not_ready"]
    model: dict[str, Any]
    registry: dict[str, Any]
    decision_log: dict[str, Any]


class ReloadIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        # model_path or alias, not both (the route answers 422 naming `alias`)
        json_schema_extra={
            "not": {
                "required": ["model_path", "alias"],
                "properties": {"model_path": {"type": "string"}, "alias": {"type": "string"}},
            }
        },
    )

    model_path: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="load this bundle folder (on the server)",
    )
    alias: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="load this registry alias of the model",
    )


class ReloadOut(BaseModel):
    reloaded: bool
    previous_version: str | None
    version: str
    source: str
