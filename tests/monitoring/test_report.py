"""The HTML report: drawn from the typed result only, in a validator's order, self-contained,
escaped; and a realistic Taiwan run opened in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from creditscore.monitoring import FrameSource, run
from creditscore.reporting.monitoring import render_html, write_report

from .helpers import reference_bundle, taiwan_pd, with_pd
from .taiwan_run import taiwan_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(page: Path, png: Path, height: int = 2000) -> None:
    profile = tempfile.mkdtemp()
    subprocess.run(
        [CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", f"--user-data-dir={profile}",
         f"--screenshot={png}", f"--window-size=1280,{height}", page.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    shutil.rmtree(profile, ignore_errors=True)


def test_the_page_comes_in_a_validators_order_and_is_self_contained(
    taiwan_bundle, taiwan_split, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _, current = taiwan_split
    cur = current.sample(3000, random_state=1).reset_index(drop=True)
    cur["PAY_0"] = cur["PAY_0"] + 2
    report = run(taiwan_bundle, FrameSource(taiwan_bundle, frame=with_pd(cur, taiwan_pd(cur))))
    page = render_html(report)
    order = ["Verdict: RED", "Alerts", "Cohorts at a glance", "PSI by input and cohort",
             "Score distributions", "Performance once outcomes arrive",
             "Backtesting by risk band", "Label-free performance estimate", "Inputs in detail",
             "Methods and thresholds"]  # fmt: skip
    positions = [page.index(text) for text in order]
    assert positions == sorted(positions)
    assert not re.search(r"<script|<link|<img|src=\"http|url\(", page)
    assert "<svg" in page
    # every label-free number says so
    assert page.count("ESTIMATE") >= 4
    paths = write_report(report, tmp_path)
    assert json.loads(paths["json"].read_text())["verdict"] == "red"


def test_names_and_values_are_escaped(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"<b>amount</b>": rng.normal(size=500), "kind": rng.choice(["a", "b"], 500)})
    bundle = reference_bundle(X, ["kind"], np.full(500, 0.1) + rng.random(500) * 0.1)
    cur = X.copy()
    cur["kind"] = "<script>alert(1)</script>"
    page = render_html(run(bundle, FrameSource(bundle, frame=with_pd(cur, np.full(500, 0.15)))))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;amount&lt;/b&gt;" in page


@pytest.mark.slow
def test_a_taiwan_run_with_a_drifting_month_and_late_outcomes(
    taiwan: pd.DataFrame, tmp_path: Path
) -> None:
    """Six monthly cohorts of logged decisions; April drifts; outcomes of May are 40 % in and
    June's not at all. The report is opened in headless Chromium and a screenshot taken."""
    _, out = taiwan_report(taiwan, tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    doc = json.loads((tmp_path / "report" / "monitoring.json").read_text())
    cohorts = {c["cohort"]: c for c in doc["cohorts"]}
    assert list(cohorts) == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    for name, c in cohorts.items():
        moved = {f["feature"] for f in c["features"] if f["status"] in ("watch", "act")}
        assert moved == ({"PAY_0", "LIMIT_BAL"} if name == "2024-04" else set()), (name, moved)
    assert cohorts["2024-04"]["score"]["status"] in ("watch", "act")
    assert all(cohorts[m]["performance"]["mature"] for m in ("2024-01", "2024-02", "2024-03"))
    assert cohorts["2024-05"]["performance"]["mature"] is False
    assert cohorts["2024-05"]["performance"]["labelled_share"] == pytest.approx(0.4)
    assert cohorts["2024-06"]["performance"] is None
    assert cohorts["2024-06"]["estimate"]["kind"] == "estimate"
    assert doc["verdict"] == "red"
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium): no screenshot")
    png = tmp_path / "monitoring.png"
    screenshot(tmp_path / "report" / "monitoring.html", png)
    assert png.stat().st_size > 50_000  # a drawn page, not a blank one
    print(f"screenshot: {png}")
