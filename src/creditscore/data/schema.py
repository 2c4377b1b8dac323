"""InputSchema: what an application must look like, learned from the training data.

Saved in the bundle; the Scorer and the API validate every application against it, so a
client's mistake is a clear 4xx naming the field, never a silent wrong score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from creditscore.features.spelling import canonical_key, canonical_spellings


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # "numeric" | "categorical" | "date" (read only by derived features)
    nullable: bool  # missing values were seen in training
    categories: list[str] | None = None  # categorical: levels seen in training
    minimum: float | None = None  # numeric: range seen in training
    maximum: float | None = None
    integer: bool = False  # numeric: every training value was a whole number
    # values that mean "missing" (data.special_codes): accepted, scored as missing, never
    # out of range; for a number its text codes too (e.g. 'n/a')
    special_codes: list[Any] | None = None
    # numeric: the decimal separator of its numbers written as text ('1.234,56': ",")
    decimal: str = "."

    def is_special(self, value: Any) -> bool:
        """Is ``value`` one of this field's special codes (texts by the spelling rule)?"""
        if not self.special_codes:
            return False
        if isinstance(value, str):
            key = canonical_key(value)
            return any(isinstance(c, str) and canonical_key(c) == key for c in self.special_codes)
        if isinstance(value, bool):
            return False
        return any(
            not isinstance(c, str | bool) and float(c) == float(value) for c in self.special_codes
        )


@dataclass(frozen=True)
class InputSchema:
    fields: list[FieldSpec]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def decimals(self) -> dict[str, str]:
        """Numeric fields whose numbers written as text use a decimal comma -> ','."""
        return {f.name: f.decimal for f in self.fields if f.decimal != "."}

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        # ``decimal`` only where it is not the default, so older readers load the schema
        fields = [asdict(f) for f in self.fields]
        for f in fields:
            if f.get("decimal") == ".":
                del f["decimal"]
        return {"fields": fields}

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
        special_codes: Mapping[str, Sequence[Any]] | None = None,
        decimal_comma: Sequence[str] = (),
    ) -> InputSchema:
        """The schema of training inputs ``X``. Categories are the canonical spellings (one
        per spelling rule key, as InputCleaner makes them); a number's range and a column's
        categories leave out its ``special_codes``."""
        codes = {str(k): list(v) for k, v in (special_codes or {}).items()}
        specs: list[FieldSpec] = []
        for col in X.columns:
            s = X[col]
            own = codes.get(col) or None
            probe = FieldSpec(col, "numeric", False, special_codes=own)
            if col in numeric:
                v = pd.to_numeric(s, errors="coerce")
                if own:
                    v = v.mask(v.map(lambda x, p=probe: x == x and p.is_special(x)))
                present = v.dropna()
                specs.append(
                    FieldSpec(
                        col,
                        "numeric",
                        nullable=bool(v.isna().any()),
                        minimum=float(present.min()) if len(present) else None,
                        maximum=float(present.max()) if len(present) else None,
                        integer=bool(len(present) and np.all(np.mod(present, 1) == 0)),
                        special_codes=own,
                        decimal="," if col in decimal_comma else ".",
                    )
                )
            elif col in categorical:
                present = s.dropna()
                if own:
                    present = present[~present.map(lambda x, p=probe: p.is_special(str(x)))]
                cats = sorted(set(canonical_spellings(present).values()))
                nullable = bool(s.isna().any()) or len(present) < int(s.notna().sum())
                specs.append(
                    FieldSpec(col, "categorical", nullable, categories=cats, special_codes=own)
                )
            elif col in (dates or ()):
                specs.append(FieldSpec(col, "date", bool(s.isna().any())))
        return cls(specs)
