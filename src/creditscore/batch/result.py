"""What a batch run returns and records: typed results, no rendering here (the CLI draws)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["DECISIONS", "FrameResult", "ScoringOptions", "ScoringRun", "Tally"]

#: The decisions a policy makes, in the order summaries list them.
DECISIONS = ("approve", "refer", "decline")


@dataclass(frozen=True)
class ScoringOptions:
    """What to score and what to write, shared by every engine and the Python API.

    ``reasons``: reason codes per row, as columns (0: none); ``explain``: None gives them to
    declines and referrals, True to every row, False to none. ``id_column`` is copied to
    the output (without one, the input row number is); ``keep`` lists other input columns
    to copy. ``chunk_rows`` bounds memory: that many rows are read, checked and scored at a
    time.
    """

    reasons: int = 0
    explain: bool | None = None
    id_column: str | None = None
    keep: tuple[str, ...] = ()
    chunk_rows: int = 100_000

    def to_dict(self) -> dict[str, Any]:
        return {
            "reasons": self.reasons,
            "explain": self.explain,
            "id_column": self.id_column,
            "keep": list(self.keep),
            "chunk_rows": self.chunk_rows,
        }


@dataclass
class Tally:
    """Counts over the rows scored so far (adds up across chunks, segments and tasks)."""

    rows: int = 0  # rows read
    scored: int = 0
    rejected: int = 0  # rows refused (a row with two bad fields counts once)
    problems: int = 0  # lines in the rejects file
    decisions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DECISIONS, 0))
    pd_sum: float = 0.0

    def add(self, other: Tally) -> None:
        self.rows += other.rows
        self.scored += other.scored
        self.rejected += other.rejected
        self.problems += other.problems
        for k, v in other.decisions.items():
            self.decisions[k] = self.decisions.get(k, 0) + v
        self.pd_sum += other.pd_sum

    @property
    def mean_pd(self) -> float | None:
        return self.pd_sum / self.scored if self.scored else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "scored": self.scored,
            "rejected": self.rejected,
            "problems": self.problems,
            "decisions": dict(self.decisions),
            "pd_sum": self.pd_sum,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Tally:
        return cls(
            rows=int(raw["rows"]),
            scored=int(raw["scored"]),
            rejected=int(raw["rejected"]),
            problems=int(raw["problems"]),
            decisions={str(k): int(v) for k, v in raw["decisions"].items()},
            pd_sum=float(raw["pd_sum"]),
        )


@dataclass(frozen=True)
class ScoringRun:
    """One finished run of ``creditscore score`` (what its run record holds)."""

    run_id: str
    engine: str
    input_path: Path
    output_path: Path
    rejects_path: Path
    input_checksum: str
    model_name: str
    model_version: str
    model_source: str
    policy_version: str
    options: ScoringOptions
    tally: Tally
    started_at: str
    finished_at: str
    seconds: float
    resumed: bool = False
    recorded: bool = False  # the run record reached the database
    record_error: str | None = None
    #: model input -> the input's column read for it, where the names differ only in
    #: case, punctuation or camel case (``CREDIT AMOUNT`` for ``credit_amount``)
    renamed: dict[str, str] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.tally.rows / self.seconds if self.seconds > 0 else float("nan")


@dataclass(frozen=True)
class FrameResult:
    """:func:`creditscore.batch.score_frame`: the scored rows and the refused ones."""

    scored: pd.DataFrame
    rejects: pd.DataFrame
    tally: Tally
    #: model input -> the frame's column read for it (as :attr:`ScoringRun.renamed`)
    renamed: dict[str, str] = field(default_factory=dict)
