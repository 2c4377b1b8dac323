"""Observed outcomes into the decision log's ``outcomes`` table, linked by application id.

Loading is idempotent and audited: a row whose id and label are already stored changes
nothing; a different label for a stored id replaces it, keeping the old one in
``previous_bad`` with the time in ``corrected_at``; ids the decision log has never seen are
counted and shown (a few examples) and, unless ``allow_unknown``, nothing is written at all,
so a wrong file never half-loads. One transaction per load.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from creditscore.data.ingest import sniff_delimiter
from creditscore.exceptions import DataError, DataFileError
from creditscore.monitoring.counts import level_text
from creditscore.monitoring.sources import outcome_codes
from creditscore.outcome import Outcome

#: ids per IN (...) lookup (well under SQLite's and PostgreSQL's parameter limits)
LOOKUP = 900


@dataclass(frozen=True)
class OutcomeLoad:
    """What a load did."""

    source: str
    rows: int  # rows read from the file
    skipped: int  # rows without an outcome yet (empty label)
    inserted: int
    corrected: int
    unchanged: int
    unknown: int  # ids not in the decision log
    unknown_examples: list[str] = field(default_factory=list)
    written: bool = True


def _read(path: Path, columns: list[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow as pa

    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(path, pre_buffer=False)  # flat memory (see sources.py)
            have = pf.schema_arrow.names
            _check_columns(path, columns, list(have))
            for batch in pf.iter_batches(batch_size=chunk_rows, columns=columns):
                yield batch.to_pandas()
            return
        import pyarrow.csv as pacsv

        delimiter = "\t" if name.endswith((".tsv", ".tsv.gz", ".tab")) else sniff_delimiter(path)
        reader = pacsv.open_csv(
            path,
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in columns}, strings_can_be_null=True
            ),
        )
        _check_columns(path, columns, list(reader.schema.names))
        for batch in reader:
            yield batch.to_pandas()[columns]
    except pa.ArrowException as exc:
        raise DataFileError(f"outcome file '{path}' could not be read: {exc}") from None


def _check_columns(path: Path, wanted: list[str], have: list[str]) -> None:
    missing = [c for c in wanted if c not in have]
    if missing:
        raise DataError(
            f"{path} has no column {', '.join(map(repr, missing))} (columns: "
            f"{', '.join(have[:15])}); name them with --id-column and --target"
        )


def load_outcomes(
    url: str,
    path: str | Path,
    *,
    id_column: str,
    target: str,
    positive: Any,
    negative: Any = None,
    allow_unknown: bool = False,
    chunk_rows: int = 100_000,
) -> OutcomeLoad:
    """Store the outcomes of ``path`` (ids in ``id_column``, labels in ``target``).

    ``positive`` is the bad value (or a list of them, or an :class:`Outcome`); ``negative``
    lists the goods where the target has more than two values (others: no outcome yet)."""
    outcome = positive if isinstance(positive, Outcome) else Outcome.of(positive, negative)
    import sqlalchemy as sa

    from creditscore.store.engine import make_engine, upgrade_schema
    from creditscore.store.tables import decisions_table, outcomes_table

    p = Path(path).expanduser()
    if not p.is_file():
        raise DataFileError(f"outcome file '{p}' not found; check the path")
    engine = make_engine(url)
    now = datetime.now(UTC)
    rows = skipped = inserted = corrected = unchanged = unknown = 0
    examples: list[str] = []
    seen: dict[str, int] = {}
    o, d = outcomes_table, decisions_table
    try:
        with engine.begin() as conn:
            upgrade_schema(conn)
            for frame in _read(p, [id_column, target], chunk_rows):
                rows += len(frame)
                ids = frame[id_column].map(level_text, na_action="ignore")
                if ids.isna().any():
                    row = rows - len(frame) + int(np.flatnonzero(ids.isna().to_numpy())[0]) + 1
                    raise DataError(
                        f"{p}: id column {id_column!r} has {int(ids.isna().sum())} empty values "
                        f"(e.g. data row {row}); every outcome needs an id"
                    )
                bad = outcome_codes(frame[target], outcome, target)
                labels = frame[target].map(level_text, na_action="ignore")
                has = ~np.isnan(bad)
                skipped += int((~has).sum())
                batch: dict[str, tuple[int, str]] = {}
                for i, b, label in zip(ids[has], bad[has], labels[has], strict=True):
                    code = int(b)
                    if seen.get(i, code) != code:
                        raise DataError(
                            f"{p}: application {i!r} appears twice with different outcomes; "
                            "keep one row per application"
                        )
                    seen[i] = code
                    batch[i] = (code, str(label))
                keys = list(batch)
                for start in range(0, len(keys), LOOKUP):
                    part = keys[start : start + LOOKUP]
                    known = set(
                        conn.execute(
                            sa.select(d.c.application_id)
                            .where(d.c.application_id.in_(part))
                            .distinct()
                        ).scalars()
                    )
                    stored = dict(
                        conn.execute(
                            sa.select(o.c.application_id, o.c.bad).where(
                                o.c.application_id.in_(part)
                            )
                        ).all()
                    )
                    new, changed = [], []
                    for i in part:
                        code, label = batch[i]
                        if i not in known:
                            unknown += 1
                            if len(examples) < 5:
                                examples.append(i)
                            continue
                        if i not in stored:
                            new.append(
                                {
                                    "application_id": i,
                                    "bad": code,
                                    "label": label[:128],
                                    "source": str(p)[:500],
                                    "loaded_at": now,
                                    "corrections": 0,
                                }
                            )
                        elif int(stored[i]) != code:
                            changed.append(
                                {"k": i, "b": code, "label": label[:128], "prev": int(stored[i])}
                            )
                        else:
                            unchanged += 1
                    if new:
                        conn.execute(o.insert(), new)
                        inserted += len(new)
                    if changed:
                        conn.execute(
                            o.update()
                            .where(o.c.application_id == sa.bindparam("k"))
                            .values(
                                bad=sa.bindparam("b"),
                                label=sa.bindparam("label"),
                                previous_bad=sa.bindparam("prev"),
                                corrected_at=now,
                                source=str(p)[:500],
                                corrections=o.c.corrections + 1,
                            ),
                            changed,
                        )
                        corrected += len(changed)
            if unknown and not allow_unknown:
                raise _UnknownIdsError(unknown, examples)
    except _UnknownIdsError as exc:
        shown = ", ".join(repr(e) for e in exc.examples)
        raise DataError(
            f"{p}: {exc.count} of {len(seen)} application ids are not in the decision log "
            f"(e.g. {shown}); nothing was loaded. Check --id-column, or load the known ones "
            "with --allow-unknown"
        ) from None
    except sa.exc.SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None) or exc
        raise DataError(
            f"cannot write outcomes to the decision log: {str(orig).splitlines()[0]}"
        ) from None
    finally:
        engine.dispose()
    return OutcomeLoad(str(p), rows, skipped, inserted, corrected, unchanged, unknown, examples)


class _UnknownIdsError(Exception):
    def __init__(self, count: int, examples: list[str]) -> None:
        super().__init__(count)
        self.count, self.examples = count, examples
