"""Monitoring on the service: a summary of the decision log, drift of posted rows, gauges.

* ``GET /v1/monitoring/summary?since=&until=&by=``: ``creditscore monitor`` on the decision
  log (with the outcomes loaded so far), as JSON of the same shape;
* ``POST /v1/monitoring/drift``: ``{"rows": [...]}`` of applications (the model's inputs;
  unseen categories and missing values are allowed, that is what drift measures) scored by
  the served model and compared with its training profile: one cohort, ``posted``;
* Prometheus gauges on ``/metrics`` (score PSI, each input's PSI and the worst, approval
  rate, decisions in the window), recomputed by a background thread every
  ``monitoring.gauge_refresh_seconds`` over the last ``monitoring.gauge_window_hours`` of
  the log, never on a request's path. The thread starts with the app (this router's
  lifespan) and stops with it.

The calculators are runtime-safe (numpy, pandas, pyarrow, scipy, SQLAlchemy); the work
runs in the threadpool, off the event loop.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from creditscore.exceptions import CreditScoreError, DataError
from creditscore.monitoring import DecisionLogSource, FrameSource, monitoring_config, run
from creditscore.monitoring.sources import ALL, parse_when
from creditscore.serving.deps import ClientDep, ServingState
from creditscore.serving.responses import (
    BODY_ERRORS,
    CLIENT_ERRORS,
    error_response,
    error_responses,
    invalid,
    json_response,
    problem,
)

log = logging.getLogger("creditscore.serving.monitoring")

MAX_DRIFT_ROWS = 50_000

SUMMARY_ERRORS = error_responses(
    *CLIENT_ERRORS,
    404,
    texts={
        404: "no decisions in the date range (the message says what the log holds)",
        422: "since, until or by is not valid (a date, a period or a column), or an unknown "
        "query parameter",
        503: "no model is loaded, or the decision log cannot be read",
    },
)
DRIFT_ERRORS = error_responses(
    *BODY_ERRORS,
    *CLIENT_ERRORS,
    texts={
        422: "the body is not {rows: [...]}, a row lacks one of the model's inputs or has a "
        "non-number in a numeric input; the message names the row and field",
    },
)


class DriftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_DRIFT_ROWS,
        description="applications with the model's inputs (see GET /v1/model)",
    )


#: How long a summary asked for just after start-up waits for the service's decision log
#: to have made first contact (and so its tables): without it, "no table yet" read as an
#: unavailable log (503) instead of "no decisions yet" (404).
LOG_READY_SECONDS = 5.0


# --------------------------------------------------------------------------- gauges
def refresh_gauges(state: ServingState) -> None:
    """Recompute the monitoring gauges over the rolling window (one pass over the log)."""
    loaded = state.models.current
    if loaded is None or state.log is None:
        return
    config = monitoring_config(loaded.bundle)
    since = datetime.now(UTC) - timedelta(hours=config.gauge_window_hours)
    try:
        source = DecisionLogSource(loaded.bundle, url=state.log.url, by=ALL, since=since)
        report = run(loaded.bundle, source, config, model_version=loaded.version)
    except DataError:  # no decisions in the window (or no table yet)
        state.metrics.set_monitoring(0, None, {}, None, time.time())
        return
    o = report.overall
    state.metrics.set_monitoring(
        o.n,
        o.score.psi,
        {f.feature: f.psi for f in o.features},
        o.decisions.approval_rate,
        time.time(),
    )


def _refresh_forever(app: FastAPI, stop: threading.Event) -> None:
    state: ServingState = app.state.serving
    while not stop.is_set():
        loaded = state.models.current
        interval = monitoring_config(loaded.bundle).gauge_refresh_seconds if loaded else 5.0
        try:
            refresh_gauges(state)
        except Exception:  # the gauges must never take the service down
            log.exception("monitoring gauges: refresh failed")
        stop.wait(interval)


@contextlib.asynccontextmanager
async def _gauges(app: FastAPI) -> AsyncIterator[None]:
    stop = threading.Event()
    thread = threading.Thread(
        target=_refresh_forever, args=(app, stop), name="monitoring-gauges", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


router = APIRouter(tags=["monitoring"], lifespan=_gauges)


# --------------------------------------------------------------------------- routes
def _invalid(state: ServingState, field: str, message: str, kind: str) -> Response:
    return invalid(state.metrics, [problem(field, message, kind)])


@router.get(
    "/v1/monitoring/summary",
    summary="Drift, stability and performance of the decision log",
    description="What `creditscore monitor --current decisions` reports, as JSON: per "
    "cohort (month by default) the PSI of the score and of every input with its status, "
    "effect sizes and p-values, decision mix, latency, and once outcomes are loaded AUC and "
    "backtesting by risk band with traffic lights; a label-free estimate (marked "
    "`estimate`) for cohorts without outcomes; alerts and the overall verdict.",
    responses=SUMMARY_ERRORS,
)
async def summary(
    admitted: ClientDep,
    request: Request,
    since: Annotated[
        datetime | None, Query(description="from this day (YYYY-MM-DD) or ISO date-time on")
    ] = None,
    until: Annotated[
        datetime | None,
        Query(description="up to this day (YYYY-MM-DD: the whole day) or ISO date-time"),
    ] = None,
    by: Annotated[
        str,
        Query(description="cohorts: month, week, all or a column", min_length=1, max_length=128),
    ] = "month",
) -> Response:
    state, loaded = admitted.state, admitted.model
    try:
        # as given, so that a bare date ending the range means the whole of that day
        start = parse_when(request.query_params.get("since"), "since")
        end = parse_when(request.query_params.get("until"), "until", end=True)
    except DataError as exc:
        return _invalid(state, "since" if "since" in str(exc) else "until", str(exc), "date")
    url = state.log.url if state.log is not None else state.settings.decision_log_url()

    def work() -> dict[str, Any]:
        if state.log is not None:  # its writer creates the tables on its first contact
            state.log.first_contact.wait(LOG_READY_SECONDS)
        source = DecisionLogSource(loaded.bundle, url=url, by=by, since=start, until=end)
        return run(loaded.bundle, source, model_version=loaded.version).to_dict()

    try:
        payload = await run_in_threadpool(work)
    except DataError as exc:
        text = str(exc)
        if "no decisions between" in text:
            return error_response(404, "no_data", text)
        if "cohort column" in text:
            return _invalid(state, "by", text, "cohort")
        return error_response(503, "decision_log_unavailable", text)
    except CreditScoreError as exc:
        return error_response(503, "decision_log_unavailable", str(exc))
    return json_response(payload)


@router.post(
    "/v1/monitoring/drift",
    summary="Drift of posted applications against the model's training profile",
    description="Scores the rows with the served model and compares them with its "
    "training profile: PSI of the score and of every input (< 0.1 stable, 0.1-0.25 watch, "
    ">= 0.25 act), effect sizes with KS / chi-square p-values, missing, out-of-range and "
    "unseen-category rates, decision mix; the same JSON as the summary, one cohort. Unseen "
    f"categories and missing values are allowed. At most {MAX_DRIFT_ROWS:,} rows.",
    responses=DRIFT_ERRORS,
)
async def drift(admitted: ClientDep, body: DriftIn) -> Response:
    state, loaded = admitted.state, admitted.model
    schema = loaded.bundle.schema
    for i, row in enumerate(body.rows):
        for spec in schema.fields:
            if spec.name not in row:
                return _invalid(
                    state, f"rows.{i}.{spec.name}", "required field is missing", "missing"
                )
            value = row[spec.name]
            if spec.kind == "numeric" and value is not None:
                ok = isinstance(value, int | float) and not isinstance(value, bool)
                if not ok or not math.isfinite(float(value)):
                    return _invalid(
                        state,
                        f"rows.{i}.{spec.name}",
                        f"expected a finite number or null; got {value!r}"[:200],
                        "float_type",
                    )

    def work() -> dict[str, Any]:
        frame = pd.DataFrame(body.rows, columns=schema.names)
        source = FrameSource(loaded.bundle, frame=frame, scorer=loaded.scorer)
        return run(loaded.bundle, source, model_version=loaded.version).to_dict()

    return json_response(await run_in_threadpool(work))
