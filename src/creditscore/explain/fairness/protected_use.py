"""What a model really does with protected attributes, for the model card's statement.

The card must not say "protected attributes are never model inputs" because a template
says so: this looks at the model's actual inputs. It lists the sensitive columns, those
that are inputs all the same (``allow_sensitive_as_features``, each with its reason), and
inputs whose name or values look protected although nobody listed them as sensitive (the
detector of ``init``, run again on what the model uses).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from creditscore.explain.fairness.protected import protected_by_name, protected_by_values

__all__ = ["ProtectedUse", "protected_use"]


@dataclass(frozen=True)
class ProtectedUse:
    """``sensitive``: the columns listed as protected; ``as_inputs``: those the model uses
    anyway, with the configured reason; ``unlisted``: inputs that look protected but are not
    listed (column, why they look so)."""

    sensitive: list[str]
    as_inputs: dict[str, str] = field(default_factory=dict)
    unlisted: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sensitive": list(self.sensitive),
            "as_inputs": dict(self.as_inputs),
            "unlisted": [list(u) for u in self.unlisted],
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ProtectedUse:
        return cls(
            list(raw.get("sensitive") or []),
            {str(k): str(v) for k, v in (raw.get("as_inputs") or {}).items()},
            [(str(c), str(r)) for c, r in raw.get("unlisted") or []],
        )


def protected_use(
    features: Sequence[str],
    sensitive: Sequence[str],
    allowed: Mapping[str, str] | None = None,
    frame: pd.DataFrame | None = None,
) -> ProtectedUse:
    """The protected-attribute facts of a model whose inputs are ``features``. ``frame``
    (the training inputs) lets categorical inputs be checked by their values too."""
    listed = set(sensitive)
    inputs = list(features)
    reasons = dict(allowed or {})
    as_inputs = {f: reasons.get(f, "(no reason recorded)") for f in inputs if f in listed}
    unlisted: list[tuple[str, str]] = []
    for f in inputs:
        if f in listed:
            continue
        found = protected_by_name(f)
        if found is None and frame is not None and f in frame.columns:
            s = frame[f]
            if not pd.api.types.is_numeric_dtype(s.dtype):
                uniques = pd.unique(s.dropna().astype(str))
                if len(uniques) <= 200:
                    found = protected_by_values(uniques)
        if found is not None:
            unlisted.append((f, found.reason()))
    return ProtectedUse(list(sensitive), as_inputs, unlisted)
