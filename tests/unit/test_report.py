"""The model card: every section, plots embedded, self-contained, extras when present."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from creditscore.evaluation import card
from creditscore.evaluation.importance import permutation_importance_batched
from creditscore.evaluation.plots import PLOT_NAMES
from creditscore.reporting import model_card
from creditscore.training.assess import Assessment
from creditscore.training.train import TrainingResult

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def context(trained: TrainingResult) -> dict[str, Any]:
    """Card facts of the shared training with nothing assessed (no explanations, fairness
    or proxies; computed once: the permutation importance is the slow part)."""
    return card.card_context(replace(trained, assessment=Assessment()))


@pytest.fixture(scope="module")
def old_card(context: dict[str, Any], trained: TrainingResult) -> dict[str, Any]:
    """The same facts as a card saved by an older version, whose fairness section was saved
    ready-made (HTML, Markdown and plots) instead of as a report."""
    png = base64.b64encode(trained.plots["roc"].read_bytes()).decode("ascii")
    fairness = {
        "html": '<p id="fairness-fragment">Approval-rate gap between groups: 0.031</p>',
        "markdown": "Approval-rate gap between groups: 0.031\n",
        "plots": {"approval_by_group": png},
    }
    return {**context, "extras": {"fairness": fairness, "explanations": None}}


@pytest.fixture(scope="module")
def plain(context: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("card")
    return model_card.render_model_card(context, out)


def _images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


@pytest.mark.slow
def test_every_section_is_present_in_order(plain: dict[str, Path]) -> None:
    html = plain["html"].read_text(encoding="utf-8")
    md = plain["markdown"].read_text(encoding="utf-8")
    titles = [t for _, t in model_card.SECTIONS]
    h2 = re.findall(r"<h2>(.*?)</h2>", html)
    assert h2 == titles
    assert re.findall(r"^## (.*)$", md, flags=re.MULTILINE) == titles
    # Fairness and explanations were not computed for this training, and the card says so.
    assert html.count("Not computed") == 3  # fairness, possible proxies, explanations
    assert md.count("Not computed") == 3
    assert "not yet registered" in html


@pytest.mark.slow
def test_html_is_self_contained_with_every_plot_embedded(
    plain: dict[str, Path], trained: TrainingResult
) -> None:
    html = plain["html"].read_text(encoding="utf-8")
    images = _images(html)
    # six evaluation plots + feature importance (+ interactions of a tree champion)
    assert len(images) == len(PLOT_NAMES) + 1 + ("interactions" in trained.plots)
    assert all(img.startswith(PNG) for img in images)
    embedded = set(images)
    assert {p.read_bytes() for p in trained.plots.values()} <= embedded
    for external in ('src="http', 'href="http', "<link", "<script", "@import", "url("):
        assert external not in html
    assert "@media print" in html
    assert "<style>" in html
    # The Markdown twin points at image files written next to it.
    md = plain["markdown"].read_text(encoding="utf-8")
    for rel in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md):
        assert (plain["markdown"].parent / rel).read_bytes().startswith(PNG)


@pytest.mark.slow
def test_card_shows_the_numbers_a_validator_checks(
    plain: dict[str, Path], context: dict[str, Any], trained: TrainingResult
) -> None:
    html = plain["html"].read_text(encoding="utf-8")
    m = trained.test_metrics
    for key in ("roc_auc", "gini", "ks", "brier", "log_loss", "expected_cost"):
        assert f"{m[key]:.4f}" in html, key
    assert trained.dataset.data_hash in html
    assert f"{trained.policy.threshold:.4f}" in html
    assert trained.policy.version in html
    for cand in trained.candidates:
        assert cand.label in html
        assert f"{cand.cv_auc_mean:.4f}" in html
    for band, _ in trained.policy.bands:
        assert f"<td>{band}</td>" in html
    assert trained.calibration.method in html
    assert len(context["calibration"]["table"]) == len(trained.calibration_table)
    # Permutation importance covers every input; the checking account leads on German.
    rows = context["importance"]["rows"]
    assert {r["feature"] for r in rows} == set(trained.bundle.features)
    assert "status_of_existing_checking_account" in [r["feature"] for r in rows[:3]]
    # Stability baseline: the score deciles of the bundle's Profile.
    deciles = context["stability"]["score_deciles"]
    assert [d["share"] for d in deciles] == pytest.approx(trained.bundle.profile.score.shares)
    lo, hi = context["test_auc_interval"]
    assert lo < m["roc_auc"] < hi


@pytest.mark.slow
def test_old_cards_sections_and_promotion_are_rendered(
    old_card: dict[str, Any], tmp_path: Path
) -> None:
    promotion = {
        "decision": "champion",
        "reason": "better AUC on the same rows",
        "by": "alice",
        "at": "2026-01-01T00:00:00+00:00",
        "compared_with": "3",
        "comparison": {
            "rows": 150.0,
            "auc_new": 0.8,
            "auc_champion": 0.78,
            "brier_new": 0.16,
            "brier_champion": 0.17,
        },
    }
    context = old_card
    paths = model_card.render_model_card(context, tmp_path, version="4", promotion=promotion)
    html = paths["html"].read_text(encoding="utf-8")
    md = paths["markdown"].read_text(encoding="utf-8")
    assert 'id="fairness-fragment"' in html
    assert "Approval-rate gap" in md
    interactions = context.get("interactions") is not None
    assert len(_images(html)) == len(PLOT_NAMES) + 2 + interactions  # plus the fairness plot
    assert html.count("Not computed") == 2  # explanations and proxies (not in this context)
    assert "Model card: german-credit version 4" in html
    assert "better AUC on the same rows" in html
    assert "alice" in html
    assert "champion version 3" in html
    assert (tmp_path / "images" / "fairness_approval_by_group.png").is_file()


@pytest.mark.slow
def test_context_round_trips_through_json(
    context: dict[str, Any], plain: dict[str, Path], tmp_path: Path
) -> None:
    saved = card.load_card_context(plain["context"])
    assert saved == json.loads(json.dumps(context))
    again = model_card.render_model_card(saved, tmp_path)
    assert again["html"].read_text(encoding="utf-8") == plain["html"].read_text(encoding="utf-8")


def test_batched_permutation_importance_equals_scikit_learns(german) -> None:  # type: ignore[no-untyped-def]
    from sklearn.inspection import permutation_importance
    from sklearn.linear_model import LogisticRegression

    X = german.select_dtypes("number").iloc[:300]
    y = (german["creditability"] == "bad").to_numpy()[:300].astype(int)
    model = LogisticRegression(max_iter=2000).fit(X, y)
    ours = permutation_importance_batched(model, X, y, n_repeats=4, random_state=7, max_rows=2000)
    theirs = permutation_importance(
        model, X, y, scoring="roc_auc", n_repeats=4, random_state=7
    ).importances
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_real_fairness_and_explanations_show_each_plot_once(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    paths = model_card.build_model_card(trained, tmp_path)
    html = paths["html"].read_text()
    extra = list(trained.assessment.explanations.plots)
    assert "shap_beeswarm" in extra
    attributes = trained.assessment.fairness.report.attributes
    # + the importance plot, one fairness figure per attribute (drawn by the card) and the
    # interactions of a tree champion
    interactions = "interactions" in trained.plots
    assert len(_images(html)) == len(PLOT_NAMES) + 1 + len(extra) + len(attributes) + interactions
    md = paths["markdown"].read_text()
    assert "Fairness gate (warn)" in md
    assert "<25" in md
    assert "&lt;25" not in md  # Markdown is not HTML-escaped
    for name in extra:
        assert md.count(f"{name}.png") == 1, name


@pytest.mark.slow
def test_a_policy_that_approves_nobody_is_a_stated_limitation(
    context: dict[str, Any], tmp_path: Path
) -> None:
    """causaldata's credit_cards (22.7 % bad, weak inputs) at the default costs: every PD is
    above the 9.1 % break-even, so the cost-optimal policy declines everybody."""
    for rate, said in ((0.0, "approves no applicant"), (1.0, "approves every applicant")):
        facts = {**context, "test_metrics": {**context["test_metrics"], "approval_rate": rate}}
        md = model_card.render_model_card(facts, tmp_path / str(rate))["markdown"]
        text = md.read_text(encoding="utf-8")
        limits = text.split("## Intended use and limitations", 1)[1].split("\n## ", 1)[0]
        assert said in limits
        assert "Review the costs" in limits
    md = model_card.render_model_card(context, tmp_path / "as-is")["markdown"]
    assert "Review the costs" not in md.read_text(encoding="utf-8")
