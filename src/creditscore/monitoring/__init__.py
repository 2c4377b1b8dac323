"""Monitoring: drift and stability by cohort, backtesting once outcomes arrive, alerts.

Calculators return typed results (:mod:`~creditscore.monitoring.results`); the HTML page
is drawn by :mod:`creditscore.reporting.monitoring`. Runtime-safe: the service imports this
package (numpy, pandas, pyarrow, scipy, SQLAlchemy; nothing from training or plotting).

    from creditscore.monitoring import FileSource, run
    report = run(bundle, FileSource(bundle, path="new.parquet", by="month"))
    report.verdict, report.alerts, report.to_dict()
"""

from __future__ import annotations

from creditscore.monitoring.monitor import monitoring_config, run
from creditscore.monitoring.results import MonitoringReport
from creditscore.monitoring.sources import DecisionLogSource, FileSource, FrameSource, Source

__all__ = [
    "DecisionLogSource",
    "FileSource",
    "FrameSource",
    "MonitoringReport",
    "Source",
    "monitoring_config",
    "run",
]
