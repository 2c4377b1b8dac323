"""InputSchema: what an application must look like, learned from the training data.

Saved in the bundle; the Scorer and the API validate every application against it, so a
client's mistake is a clear 4xx naming the field, never a silent wrong score.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # "numeric" | "categorical" | "date" (read only by derived features)
    nullable: bool  # missing values were seen in training
    categories: list[str] | None = None  # categorical: levels seen in training
    minimum: float | None = None  # numeric: range seen in training
    maximum: float | None = None
    integer: bool = False  # numeric: every training value was a whole number


@dataclass(frozen=True)
class InputSchema:
    fields: list[FieldSpec]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"fields": [asdict(f) for f in self.fields]}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> InputSchema:
        return cls([FieldSpec(**f) for f in raw["fields"]])

    @classmethod
    def from_frame(
        cls,
        X: pd.DataFrame,
        numeric: list[str],
        categorical: list[str],
        dates: list[str] | None = None,
    ) -> InputSchema:
        specs: list[FieldSpec] = []
        for col in X.columns:
            s = X[col]
            if col in numeric:
                v = pd.to_numeric(s, errors="coerce")
                present = v.dropna()
                specs.append(
                    FieldSpec(
                        col,
                        "numeric",
                        nullable=bool(v.isna().any()),
                        minimum=float(present.min()) if len(present) else None,
                        maximum=float(present.max()) if len(present) else None,
                        integer=bool(len(present) and np.all(np.mod(present, 1) == 0)),
                    )
                )
            elif col in categorical:
                cats = sorted({str(x) for x in s.dropna()})
                specs.append(FieldSpec(col, "categorical", bool(s.isna().any()), categories=cats))
            elif col in (dates or ()):
                specs.append(FieldSpec(col, "date", bool(s.isna().any())))
        return cls(specs)
