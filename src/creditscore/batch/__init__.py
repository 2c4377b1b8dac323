"""Batch scoring: whole portfolios from files, on one machine (pandas) or on Spark.

    from creditscore.batch import score_file, score_frame

    run = score_file("book.parquet", "scored.parquet", model="models:/german-credit@champion",
                     reasons=4, id_column="account_id")
    run.tally.scored, run.tally.rejected, run.rejects_path

    result = score_frame(frame, model="artifacts/bundles/german-credit-...", reasons=4)
    result.scored, result.rejects

Both take the same options as ``creditscore score``; the rows a model's schema refuses are
returned (or written) as rejects with the field and the Scorer's reason, never raised.
Nothing heavy is imported here: PySpark only when the Spark engine runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from creditscore.batch.chunks import ChunkScorer, needed_columns
from creditscore.batch.engine import score_file
from creditscore.batch.model import BatchModel, ModelRef, load_model
from creditscore.batch.result import FrameResult, ScoringOptions, ScoringRun, Tally
from creditscore.batch.validation import RowProblem, RowValidator
from creditscore.bundle import ModelBundle
from creditscore.data.names import same_words
from creditscore.exceptions import DataError

__all__ = [
    "BatchModel",
    "FrameResult",
    "ModelRef",
    "ScoringOptions",
    "ScoringRun",
    "Tally",
    "find_runs",
    "load_model",
    "score_file",
    "score_frame",
]


def score_frame(
    frame: pd.DataFrame,
    model: str | Path | ModelBundle | BatchModel | None = None,
    *,
    reasons: int = 0,
    explain: bool | None = None,
    id_column: str | None = None,
    keep: Sequence[str] = (),
    chunk_rows: int = 100_000,
    tracking_uri: str | None = None,
) -> FrameResult:
    """Score a pandas frame with the same options and output columns as :func:`score_file`.

    Values are checked as the API checks them (the frame is not a CSV file: the text
    ``"NA"`` in a numeric column is refused, not missing). ``scored`` keeps the frame's
    index labels of the rows it scored; ``rejects`` has one line per refused value, its
    ``row`` the 1-based position in ``frame``. Pass a :class:`BatchModel` (from
    :func:`load_model`) to score many frames without loading the model again.
    """
    loaded = load_model(model, reasons=reasons > 0, tracking_uri=tracking_uri)
    options = ScoringOptions(reasons, explain, id_column or None, tuple(keep), int(chunk_rows))
    from creditscore.batch.engine import check_options

    check_options(options)
    columns = needed_columns(loaded, options)
    renamed = same_words(columns, list(frame.columns), loaded.bundle.schema.names)
    if renamed:  # as score_file reads a file: CREDIT AMOUNT for credit_amount
        back = {source: name for name, source in renamed.items()}
        frame = frame[[renamed.get(c, c) for c in columns]].rename(columns=back)
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise DataError(f"the frame has no column {absent[0]!r} (needed: {columns})")
    validator = RowValidator(loaded.scorer, text=False)
    cleaned, known = validator.clean_objects(frame[columns])
    passthrough = [c for c in columns if c not in set(loaded.bundle.schema.names)]
    for name in passthrough:  # ids mixing numbers and text: kept as text
        try:
            pa.array(cleaned[name], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            text = cleaned[name].map(lambda v: v if v is None else str(v))
            cleaned = cleaned.assign(**{name: text})
    table = pa.Table.from_pandas(cleaned, preserve_index=False)
    chunker = ChunkScorer(loaded, options, table.schema, text=False)
    scored, rejects, index = [], [], []
    tally = Tally()
    for start in range(0, max(len(frame), 1), options.chunk_rows):
        part = table.slice(start, options.chunk_rows)
        end = start + part.num_rows
        mine = [
            RowProblem(p.position - start, p.field, p.value, p.reason)
            for p in known
            if start <= p.position < end
        ]
        result = chunker.score(part, start, "<frame>", known=mine)
        scored.append(result.table)
        rejects.append(result.rejects)
        tally.add(result.tally)
        bad = set(result.rejects.column("row").to_pylist())
        index.append(np.asarray([i for i in range(start, end) if i + 1 not in bad], int))
    out = pa.concat_tables(scored).to_pandas()
    positions = np.concatenate(index) if index else np.zeros(0, int)
    out.index = frame.index[positions]
    if not options.id_column:
        out = out.drop(columns=["row"])
    refused = pa.concat_tables(rejects).to_pandas().drop(columns=["file"])
    return FrameResult(out, refused, tally, renamed)


def __getattr__(name: str) -> object:
    """``find_runs`` is imported on first use: it needs SQLAlchemy, which scoring without a
    run record does not."""
    if name == "find_runs":
        from creditscore.batch.runs import find_runs

        return find_runs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
