"""ProjectConfig: what to train on and how, read from a YAML file.

Unknown keys are errors that name the key, so a typo never silently falls back to a
default. Paths in the YAML are relative to the YAML file's folder.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from creditscore.exceptions import ConfigError
from creditscore.outcome import Outcome

Scalar = str | int | float | bool

DEFAULT_CANDIDATES = [
    "logistic",
    "scorecard",
    "random_forest",
    "xgboost",
    "lightgbm",
    "catboost",
    "mlp",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Strict):
    """Where the data is and how to read it."""

    path: str | None = Field(
        default=None,
        description="CSV, Parquet or Excel (.xlsx) file; empty means the bundled German data",
    )
    target: str = Field(description="column holding the good/bad outcome")
    positive: Scalar | list[Scalar] = Field(
        description="value of the target column that marks a bad (default), or a list of them"
    )
    negative: list[Scalar] = Field(
        default_factory=list,
        description="values of the target that mark a good; a row whose target is in neither "
        "list is indeterminate and left out of training; empty: the target's other value",
    )
    id_column: str | None = Field(
        default=None, description="unique application id, never a feature"
    )
    date_column: str | None = Field(
        default=None, description="application date; enables the out-of-time split"
    )
    features: list[str] | None = Field(
        default=None, description="explicit model inputs; empty means every column not excluded"
    )
    exclude: list[str] = Field(default_factory=list, description="columns never used as inputs")
    categorical: list[str] = Field(
        default_factory=list,
        description="categorical inputs (init lists every one): train checks them and never "
        "re-guesses",
    )
    numeric: list[str] = Field(
        default_factory=list,
        description="numeric inputs (init lists every one): a value that is not a number (nor a "
        "special code) is an error naming the column",
    )
    special_codes: dict[str, list[Scalar]] = Field(
        default_factory=dict,
        description="per column, values that mean 'missing': numbers such as -999 or, in a "
        "numeric column, texts such as 'n/a'",
    )
    max_categories: int = Field(
        default=200,
        ge=2,
        description="a categorical input with more levels (or over half its values unique) is "
        "refused",
    )
    monotone: dict[str, Literal["increasing", "decreasing"]] = Field(
        default_factory=dict,
        description="numeric columns whose PD must only rise (increasing) or fall with the value",
    )
    min_bads: int = Field(default=20, ge=1, description="fewest bads accepted for training")
    decimal_comma: list[str] = Field(
        default_factory=list,
        description="numeric columns written with a decimal comma ('1.234,56'); other columns' "
        "texts use a decimal point ('1,234.56', '13.95%')",
    )

    @model_validator(mode="after")
    def _no_overlap(self) -> DataConfig:
        both = sorted(set(self.categorical) & set(self.numeric))
        if both:
            raise ValueError(f"columns listed as both categorical and numeric: {both}")
        cat_mono = sorted(set(self.monotone) & set(self.categorical))
        if cat_mono:
            raise ValueError(
                f"monotone constraints need numeric columns, not categorical {cat_mono}"
            )
        if isinstance(self.positive, list) and not self.positive:
            raise ValueError("data.positive is an empty list: name the value(s) that mark a bad")
        twice = self.outcome.overlap()
        if twice:
            raise ValueError(
                f"data.positive and data.negative both list {twice}: a value is bad or good"
            )
        return self

    def decimal(self, column: str) -> str:
        """The decimal separator of ``column``'s numbers written as text."""
        return "," if column in self.decimal_comma else "."

    @property
    def outcome(self) -> Outcome:
        """The target's bad and good values."""
        return Outcome.of(self.positive, self.negative)


class SplitConfig(_Strict):
    valid: float = Field(default=0.15, gt=0, lt=0.5)
    test: float = Field(default=0.15, gt=0, lt=0.5)
    seed: int = 42
    out_of_time: bool = Field(
        default=True,
        description="with a date column, test on the latest applications, not a random draw",
    )


class BudgetConfig(_Strict):
    """Tuning budget per candidate: stops at whichever limit comes first."""

    trials: int | None = Field(default=20, ge=1)
    seconds: float | None = Field(default=15.0, gt=0)
    cv_folds: int = Field(default=5, ge=2, le=20)
    seed: int = 42
    blend: bool = Field(default=True, description="try a blend of the best candidates")
    prefer_transparent: bool = Field(
        default=False,
        description=(
            "a logistic regression or scorecard stays champion unless a more complex "
            "candidate beats it by more than one standard error of the paired part differences"
        ),
    )

    @model_validator(mode="after")
    def _some_limit(self) -> BudgetConfig:
        if self.trials is None and self.seconds is None:
            raise ValueError("set budget.trials or budget.seconds (or both)")
        return self


class CostConfig(_Strict):
    false_negative: float = Field(default=10.0, gt=0, description="cost of approving a bad")
    false_positive: float = Field(default=1.0, gt=0, description="cost of declining a good")


class RiskBand(_Strict):
    name: str
    max_pd: float = Field(gt=0, le=1)


def _default_bands() -> list[RiskBand]:
    return [
        RiskBand(name="LOW", max_pd=0.05),
        RiskBand(name="MEDIUM", max_pd=0.15),
        RiskBand(name="HIGH", max_pd=0.35),
        RiskBand(name="CRITICAL", max_pd=1.0),
    ]


class ScalingConfig(_Strict):
    """Score points: ``base_points`` at good:bad odds ``base_odds``:1; ``pdo`` more doubles them."""

    base_points: float = 600.0
    base_odds: float = Field(default=50.0, gt=0)
    pdo: float = Field(default=20.0, gt=0)


class PolicyConfig(_Strict):
    refer_margin: float = Field(
        default=0.0,
        ge=0,
        lt=0.5,
        description="applications whose PD is within this distance of the threshold are referred",
    )
    risk_bands: list[RiskBand] = Field(default_factory=_default_bands)
    scaling: ScalingConfig = Field(default_factory=ScalingConfig)
    calibration: Literal["auto", "isotonic", "sigmoid", "none"] = "auto"

    @field_validator("risk_bands")
    @classmethod
    def _bands_increase(cls, bands: list[RiskBand]) -> list[RiskBand]:
        if not bands:
            raise ValueError("policy.risk_bands needs at least one band")
        cuts = [b.max_pd for b in bands]
        if cuts != sorted(cuts) or len(set(cuts)) != len(cuts):
            raise ValueError(f"risk band max_pd must strictly increase, got {cuts}")
        if cuts[-1] != 1.0:
            raise ValueError(f"the last risk band must end at max_pd 1.0, got {cuts[-1]}")
        names = [b.name for b in bands]
        if len(set(names)) != len(names):
            raise ValueError(f"risk band names must be unique, got {names}")
        return bands


class FairnessGroup(_Strict):
    """One protected attribute as fairness reads it: a column (banded, pattern-matched, a
    0/1 flag, a date or year of birth) or a family of 0/1 columns, one per group."""

    name: str = Field(description="the group's name in reports, e.g. age_group")
    column: str | None = Field(default=None, description="the column (default: name)")
    columns: list[str] | None = Field(
        default=None,
        description="one 0/1 column per group (e.g. [black, white, asian]): one attribute "
        "whose group is the column that is 1",
    )
    birth: Literal["date", "year"] | None = Field(
        default=None,
        description="the column is a date (or year) of birth: grouped by the age it gives",
    )
    age_at: str | None = Field(
        default=None,
        description="with birth: the date column the age is taken at (default: the training date)",
    )
    bands: list[float] | None = Field(
        default=None, description="band edges for a number, e.g. [25, 35, 50] for ages"
    )
    pattern: str | None = Field(
        default=None,
        description="regular expression; its first capture group is the group, "
        "e.g. '^\\s*(male|female)\\b'",
    )

    @field_validator("bands")
    @classmethod
    def _increasing(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and (not value or sorted(set(value)) != value):
            raise ValueError(f"bands must be strictly increasing edges, got {value}")
        return value

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _one_reading(self) -> FairnessGroup:
        if self.bands is not None and self.pattern is not None:
            raise ValueError(f"group {self.name!r}: give bands or pattern, not both")
        if self.columns is not None:
            if self.column is not None:
                raise ValueError(f"group {self.name!r}: give column or columns, not both")
            if len(self.columns) < 1 or len(set(self.columns)) != len(self.columns):
                raise ValueError(f"group {self.name!r}: columns must be distinct and not empty")
            if self.bands is not None or self.pattern is not None or self.birth is not None:
                raise ValueError(
                    f"group {self.name!r}: columns (one 0/1 column per group) takes no bands, "
                    "pattern or birth"
                )
        if self.age_at is not None and self.birth is None:
            raise ValueError(f"group {self.name!r}: age_at needs birth: date or birth: year")
        if self.birth is not None and self.pattern is not None:
            raise ValueError(f"group {self.name!r}: a date of birth takes bands, not a pattern")
        return self

    @property
    def source_columns(self) -> list[str]:
        """Every column the group reads."""
        if self.columns:
            return list(self.columns)
        return [self.column or self.name]


class FairnessConfig(_Strict):
    """Group fairness at the policy threshold and the gate the registry applies."""

    enabled: bool = Field(default=True, description="compute the fairness report at training")
    groups: list[FairnessGroup] = Field(
        default_factory=list,
        description="the attributes to assess (default: one per sensitive column)",
    )
    intersections: list[tuple[str, str]] = Field(
        default_factory=list, description="pairs of group names also assessed together"
    )
    mode: Literal["warn", "block"] = Field(
        default="warn", description="warn: report violations; block: they stop promotion"
    )
    min_disparate_impact: float = Field(
        default=0.8, gt=0, le=1, description="the four-fifths rule's limit"
    )
    max_equal_opportunity_difference: float | None = Field(
        default=None, gt=0, le=1, description="largest gap in approval of goods (optional)"
    )
    require_significance: bool = Field(
        default=False, description="a violation counts only when its whole 95% CI is past the limit"
    )
    min_group_size: int = Field(default=20, ge=1, description="smaller groups are not compared")
    n_boot: int = Field(default=500, ge=0, description="bootstrap resamples for the intervals")
    proxy_min_auc: float = Field(
        default=0.8,
        gt=0.5,
        le=1,
        description="an input predicting a protected attribute with at least this AUC on its "
        "own is listed as a possible proxy (init, model card); flagged, never dropped",
    )

    @model_validator(mode="after")
    def _known_intersections(self) -> FairnessConfig:
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names):
            raise ValueError(f"fairness group names must be unique, got {names}")
        if names:
            for pair in self.intersections:
                unknown = [p for p in pair if p not in names]
                if unknown:
                    raise ValueError(f"intersection {list(pair)} names unknown groups {unknown}")
        return self


class ScoringConfig(_Strict):
    """How the scorer treats applications unlike the training data."""

    out_of_range: Literal["warn", "refuse"] = Field(
        default="warn",
        description="a number outside the range seen in training: warn (score it, flag it in "
        "the decision's warnings and /metrics) or refuse (an error naming the field)",
    )


class FeaturesConfig(_Strict):
    """Features computed from the inputs inside the model's first pipeline step."""

    derived: dict[str, str] = Field(
        default_factory=dict,
        description="name -> expression over input columns, e.g. "
        "'credit_amount / income' (grammar: README, Derived features)",
    )

    @field_validator("derived", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        from creditscore.features.derived import parse_derived

        if value is None:
            return {}
        if not isinstance(value, dict):
            raise PydanticCustomError(
                "derived",
                "expected a mapping of name -> expression, got {kind}",
                {"kind": type(value).__name__},
            )
        try:
            parse_derived({str(k): v for k, v in value.items()})
        except ConfigError as exc:
            raise PydanticCustomError("derived", "{msg}", {"msg": str(exc)}) from None
        return {str(k): str(v).strip() for k, v in value.items()}


class MonitoringConfig(_Strict):
    """Thresholds of ``creditscore monitor`` and the service's monitoring gauges.

    Every item gets a status: *stable* (green), *watch* (yellow) or *act* (red); the run's
    verdict is the worst of them and ``monitor`` exits 1 on red. Drift needs both a size
    (PSI, effect size, rate change) past its threshold and a test p-value below
    ``drift_alpha``: a p-value alone never flags (at large n every feature would be
    "significant"), and a large size on a handful of rows is noise. Statistical tests of
    performance (Jeffreys, binomial, Hosmer-Lemeshow, AUC change) are traffic lights on
    their confidence level ``1 - p``: green below ``yellow_confidence``, yellow up to
    ``red_confidence``, red at or above it (ECB / OeNB practice).
    """

    psi_watch: float = Field(default=0.10, gt=0, description="PSI from which to watch")
    psi_act: float = Field(default=0.25, gt=0, description="PSI from which to act")
    effect_watch: float = Field(
        default=0.10,
        gt=0,
        description="effect size (normed Wasserstein for numbers, Jensen-Shannon distance "
        "for categories) from which to watch",
    )
    effect_act: float = Field(default=0.20, gt=0, description="effect size from which to act")
    drift_alpha: float = Field(
        default=0.05,
        gt=0,
        lt=1,
        description="KS / chi-square p-value below which a large enough change counts",
    )
    missing_watch: float = Field(
        default=0.05, gt=0, le=1, description="change in the missing share (absolute) to watch"
    )
    missing_act: float = Field(default=0.20, gt=0, le=1, description="... and to act")
    out_of_range_watch: float = Field(
        default=0.01, gt=0, le=1, description="share of numbers outside the training range"
    )
    out_of_range_act: float = Field(default=0.05, gt=0, le=1)
    unseen_watch: float = Field(
        default=0.01, gt=0, le=1, description="share of categories never seen in training"
    )
    unseen_act: float = Field(default=0.05, gt=0, le=1)
    approval_watch: float = Field(
        default=0.05, gt=0, le=1, description="change in the approval rate (absolute) to watch"
    )
    approval_act: float = Field(default=0.10, gt=0, le=1)
    error_rate_watch: float = Field(
        default=0.01,
        gt=0,
        le=1,
        description="share of scoring requests that failed (4xx and 5xx, of decisions plus "
        "errors in the decision log) to watch",
    )
    error_rate_act: float = Field(default=0.05, gt=0, le=1)
    server_error_rate_watch: float = Field(
        default=0.001, gt=0, le=1, description="share of scoring requests that failed with a 5xx"
    )
    server_error_rate_act: float = Field(default=0.01, gt=0, le=1)
    yellow_confidence: float = Field(
        default=0.95, gt=0.5, lt=1, description="test confidence (1 - p) from which yellow"
    )
    red_confidence: float = Field(
        default=0.999, gt=0.5, lt=1, description="test confidence (1 - p) from which red"
    )
    min_rows: int = Field(
        default=100, ge=1, description="smaller cohorts are shown without a drift status"
    )
    min_labelled_share: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="a cohort with fewer outcomes is immature: its performance is estimated",
    )
    chunk_rows: int = Field(
        default=100_000, ge=1000, description="rows read at a time (memory stays flat)"
    )
    gauge_window_hours: float = Field(
        default=24.0, gt=0, description="the service's gauges cover decisions this recent"
    )
    gauge_refresh_seconds: float = Field(
        default=60.0, gt=0, description="how often the service recomputes its gauges"
    )

    @model_validator(mode="after")
    def _watch_below_act(self) -> MonitoringConfig:
        for name in (
            "psi", "effect", "missing", "out_of_range", "unseen", "approval", "error_rate",
            "server_error_rate",
        ):  # fmt: skip
            watch, act = getattr(self, f"{name}_watch"), getattr(self, f"{name}_act")
            if act < watch:
                raise ValueError(f"monitoring.{name}_act ({act}) is below {name}_watch ({watch})")
        if self.red_confidence <= self.yellow_confidence:
            raise ValueError("monitoring.red_confidence must be above yellow_confidence")
        return self


class ProjectConfig(_Strict):
    """The whole project configuration (``creditscore.yaml``)."""

    name: str = Field(default="creditscore", description="registered model name")
    data: DataConfig
    sensitive: list[str] = Field(
        default_factory=list,
        description="protected attributes: fairness only; never model inputs (unless allowed), "
        "reason codes or counterfactual levers; hashed or dropped in the decision log",
    )
    allow_sensitive_as_features: dict[str, str] = Field(
        default_factory=dict,
        description="sensitive column -> why it may be a model input (the model card shows it)",
    )
    split: SplitConfig = Field(default_factory=SplitConfig)
    final_fit: Literal["train_valid", "train"] = Field(
        default="train_valid",
        description="rows the shipped model is fitted on: train + valid (calibration and "
        "threshold from cross-fitted out-of-fold PDs) or train only (calibration and "
        "threshold on valid); selection is by CV on train either way",
    )
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    candidates: list[str] = Field(default_factory=lambda: list(DEFAULT_CANDIDATES))
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    costs: CostConfig = Field(default_factory=CostConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    reasons: dict[str, str] = Field(
        default_factory=dict, description="feature -> human text used in reason codes"
    )
    fairness: FairnessConfig = Field(default_factory=FairnessConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    actionable: list[str] | None = Field(
        default=None,
        description="features a counterfactual may change (default: every input that is "
        "neither protected nor immutable)",
    )
    immutable: list[str] = Field(
        default_factory=list,
        description="inputs a counterfactual never changes: the past (delinquencies, defaults), "
        "time-based facts (years employed) and characteristics (age)",
    )
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    output_dir: str = Field(default="artifacts", description="where bundles and plots go")

    # Folder the YAML was read from; relative paths resolve against it. Not a YAML key.
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)

    @field_validator("candidates")
    @classmethod
    def _some_candidates(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("list at least one candidate")
        if len(set(value)) != len(value):
            raise ValueError(f"candidates listed twice: {value}")
        return value

    @field_validator("allow_sensitive_as_features", mode="before")
    @classmethod
    def _reasons_given(cls, value: Any) -> Any:
        if isinstance(value, list):
            if not value:
                return {}
            raise ValueError(
                "give the reason for each column: allow_sensitive_as_features: "
                f"{{{value[0]}: <why it may be a model input>}} (the model card shows it)"
            )
        if isinstance(value, dict):
            blank = [k for k, v in value.items() if not str(v or "").strip()]
            if blank:
                raise ValueError(
                    f"no reason given for {blank}: write why each may be a model input"
                )
        return value

    @model_validator(mode="after")
    def _allowed_are_sensitive(self) -> ProjectConfig:
        extra = sorted(set(self.allow_sensitive_as_features) - set(self.sensitive))
        if extra:
            raise ValueError(f"allow_sensitive_as_features names non-sensitive columns: {extra}")
        self._check_derived()
        protected = sorted(set(self.actionable or ()) & set(self.sensitive))
        if protected:
            raise ValueError(
                f"actionable names protected attributes {protected}: a counterfactual may "
                "never ask an applicant to change them"
            )
        both = sorted(set(self.actionable or ()) & set(self.immutable))
        if both:
            raise ValueError(f"columns listed as both actionable and immutable: {both}")
        return self

    def _check_derived(self) -> None:
        """A derived feature never reads the target, the id or a protected attribute (unless
        that attribute is explicitly allowed as an input), and takes no reserved name."""
        from creditscore.features.derived import parse_derived

        spec = self.data
        protected = set(self.sensitive) - set(self.allow_sensitive_as_features)
        reserved = {spec.target, spec.id_column, spec.date_column, *self.sensitive} - {None}
        for feature in parse_derived(self.features.derived):
            where = f"features.derived.{feature.name}"
            if feature.name in reserved:
                raise ValueError(
                    f"{where}: the name {feature.name!r} is the target, the id, the date "
                    "column or a sensitive column; choose another name"
                )
            for col in feature.columns:
                if col == spec.target:
                    raise ValueError(f"{where} reads the target {col!r}: that is leakage")
                if col == spec.id_column:
                    raise ValueError(f"{where} reads the id column {col!r}, which is no feature")
                if col in protected:
                    raise ValueError(
                        f"{where} reads the protected attribute {col!r}: a derived feature "
                        "of a sensitive column is a sensitive input; list it under "
                        "allow_sensitive_as_features (with a reason) or remove the feature"
                    )

    # ------------------------------------------------------------------ helpers
    def resolve(self, path: str | Path) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)

    @property
    def data_path(self) -> Path | None:
        return None if self.data.path in (None, "") else self.resolve(self.data.path)

    @property
    def output_path(self) -> Path:
        return self.resolve(self.output_dir)

    @property
    def blocked_inputs(self) -> set[str]:
        """Columns that can never be model inputs."""
        blocked = {self.data.target, *self.data.exclude}
        blocked |= set(self.sensitive) - set(self.allow_sensitive_as_features)
        for col in (self.data.id_column, self.data.date_column):
            if col:
                blocked.add(col)
        return blocked

    # ------------------------------------------------------------------ I/O
    @classmethod
    def from_dict(
        cls, raw: dict[str, Any], *, base_dir: Path | None = None, source: str = "config"
    ) -> ProjectConfig:
        if not isinstance(raw, dict):
            raise ConfigError(
                f"{source}: expected a mapping at the top level, got {type(raw).__name__}"
            )
        try:
            cfg = cls.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(_explain(exc, source)) from None
        if base_dir is not None:
            cfg.base_dir = base_dir
        return cfg

    @classmethod
    def from_yaml(cls, path: str | Path) -> ProjectConfig:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(
                f"config file {str(p)!r} not found; create one with `creditscore init`"
            )
        try:
            raw = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p}: not valid YAML: {exc}") from None
        return cls.from_dict(raw or {}, base_dir=p.resolve().parent, source=str(p))

    def to_yaml_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"base_dir"})


def _explain(exc: ValidationError, source: str) -> str:
    """Turn pydantic's report into one readable line per problem, naming the key."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown key {loc!r} (check the spelling; see `creditscore init` output)")
        elif err["type"] == "missing":
            lines.append(f"missing required key {loc!r}")
        elif err["type"] == "derived":  # the message names features.derived.<name> itself
            lines.append(err["msg"])
        else:
            value = err.get("input")
            shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
            where = f"{loc!r}: " if loc else ""
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{where}{msg}{shown}")
    return f"{source}: " + "; ".join(lines)


def german_config() -> ProjectConfig:
    """The configuration of the bundled German credit data (what ``train`` uses by default)."""
    from creditscore.datasets import GERMAN_CONFIG

    return ProjectConfig.from_yaml(GERMAN_CONFIG)
