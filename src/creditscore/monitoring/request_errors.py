"""The service's failed scoring requests per cohort, and their error rate.

The decision log's ``request_errors`` table (written by the service beside its decisions)
is read in chunks of :class:`ErrorChunk` and counted per cohort by :class:`ErrorCounter`:
4xx (the client's: a body that is not JSON, a missing or invalid field, a refused row of a
batch) and 5xx (ours), and how often each kind of problem came up. The error rate of a
cohort is ``errors / (decisions + errors)``, against ``error_rate_watch`` / ``_act``, and
the 5xx share alone against ``server_error_rate_watch`` / ``_act``; a cohort with fewer
than ``min_rows`` requests gets no status.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from creditscore.config import MonitoringConfig
from creditscore.monitoring.results import ErrorKind, RequestErrors
from creditscore.monitoring.thresholds import INSUFFICIENT, size_status, worst_status

#: Most kinds of error listed per cohort.
TOP_KINDS = 5


@dataclass
class ErrorChunk:
    """Failed requests read from the log: cohort label, status code, kind and field of each."""

    cohort: np.ndarray
    status: np.ndarray
    kind: np.ndarray
    field: np.ndarray

    def __len__(self) -> int:
        return len(self.status)


class ErrorCounter:
    """Counts of failed requests per cohort label; ``recorded`` is False for a log that
    predates the table (every count then stays 0)."""

    def __init__(self, recorded: bool) -> None:
        self.recorded = recorded
        self.labels: list[str] = []
        self._kinds: dict[str, Counter[tuple[int, str, str | None]]] = {}

    def add(self, chunk: ErrorChunk) -> None:
        for label, status, kind, field in zip(
            chunk.cohort, chunk.status, chunk.kind, chunk.field, strict=True
        ):
            text = "(none)" if label is None else str(label)
            bucket = self._kinds.get(text)
            if bucket is None:
                bucket = self._kinds[text] = Counter()
                self.labels.append(text)
            bucket[(int(status), str(kind), None if field is None else str(field))] += 1

    def kinds(self, labels: list[str] | None = None) -> Counter[tuple[int, str, str | None]]:
        """The kinds of ``labels`` (every cohort: None) added up."""
        total: Counter[tuple[int, str, str | None]] = Counter()
        for label in self.labels if labels is None else labels:
            total.update(self._kinds.get(label, Counter()))
        return total


def request_errors(
    kinds: Counter[tuple[int, str, str | None]],
    decisions: int,
    config: MonitoringConfig,
    recorded: bool = True,
) -> RequestErrors:
    """The errors of one cohort (or pooled) beside its ``decisions``."""
    client = sum(n for (status, _, _), n in kinds.items() if 400 <= status < 500)
    server = sum(n for (status, _, _), n in kinds.items() if status >= 500)
    total = client + server
    requests = decisions + total
    rate = total / requests if recorded and requests else None
    server_rate = server / requests if recorded and requests else None
    if rate is None or server_rate is None or requests < config.min_rows:
        status = INSUFFICIENT
    else:
        c = config
        status = worst_status(
            [
                size_status(rate, c.error_rate_watch, c.error_rate_act),
                size_status(server_rate, c.server_error_rate_watch, c.server_error_rate_act),
            ]
        )
    top = [
        ErrorKind(status_code=code, kind=kind, field=field, count=n)
        for (code, kind, field), n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0][0]))
    ][:TOP_KINDS]
    return RequestErrors(
        recorded=recorded,
        client=client,
        server=server,
        total=total,
        rate=rate,
        server_rate=server_rate,
        status=status,
        top=top,
    )
