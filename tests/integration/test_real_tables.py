"""A mortgage-application table as a new user brings it: ``init``, ``train``, the model card,
the real API and the real decision log (SQLite under tmp_path).

The table has one 0/1 column per race group, a Hispanic flag, a ``male`` flag and a date of
birth; an income with 3 % text ('n/a', 'unknown'); years of employment with -999; home
ownership in several spellings; a delinquency count (the past); and ``shoe_size``, a
synthetic proxy that predicts sex with AUC ~0.9. It must come out with every protected
column sensitive and grouped as fairness reads it, none a model input, a reason code, a
counterfactual lever or a raw field of the decision log.
"""

from __future__ import annotations

import json
import sqlite3
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from api.helpers import AUTH, make_settings
from creditscore.config import ProjectConfig
from creditscore.exceptions import DataError
from creditscore.explain.counterfactual import actionable_features
from creditscore.init import init_project
from creditscore.scorer import Scorer
from creditscore.serving.app import create_app
from creditscore.training.train import train
from data.tables import mortgage_table

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PROTECTED = ["white", "black", "asian", "native_american", "hispanic", "male", "date_of_birth"]


def _quick(cfg: ProjectConfig) -> ProjectConfig:
    cfg.candidates = ["logistic"]
    cfg.budget = cfg.budget.model_copy(update={"trials": 2, "seconds": 20, "cv_folds": 3})
    cfg.fairness = cfg.fairness.model_copy(update={"n_boot": 50})
    return cfg


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("mortgage")
    data = folder / "mortgage.csv"
    mortgage_table().to_csv(data, index=False)
    config = folder / "creditscore.yaml"
    inference = init_project(data, "default", None, config)
    cfg = _quick(ProjectConfig.from_yaml(config))
    result = train(cfg)
    return {"folder": folder, "data": data, "config": config, "inf": inference, "result": result}


def test_init_decides_every_column(project: dict[str, Any]) -> None:
    inf = project["inf"]
    assert inf.sensitive == PROTECTED
    assert not set(inf.features) & set(PROTECTED)
    groups = {g.name: g for g in inf.groups}
    assert groups["race"].columns == ("white", "black", "asian", "native_american")
    assert groups["male"].column == "male"
    assert groups["male"].bands is None
    assert groups["date_of_birth"].birth == "date"
    assert groups["date_of_birth"].age_at == "application_date"
    # income: numeric with its text values as special codes, not a 2,000-level category
    assert inf.decision("income").role == "numeric"
    assert inf.special_codes["income"].codes == ("unknown",)  # 'n/a' pandas reads as missing
    assert inf.special_codes["employment_years"].codes == (-999,)
    assert "num_delinquencies" in inf.immutable
    assert "loan_amount" in inf.actionable
    # the synthetic proxy is flagged in the table and the YAML, and stays an input
    strong = {(p.feature, p.attribute) for p in inf.proxies.strong}
    assert ("shoe_size", "male") in strong
    assert "POSSIBLE PROXY of male" in inf.decision("shoe_size").why
    text = project["config"].read_text()
    assert "#   shoe_size -> male (AUC 0." in text
    raw = yaml.safe_load(text)
    assert raw["data"]["special_codes"] == {"income": ["unknown"], "employment_years": [-999]}
    typed = set(raw["data"]["numeric"]) | set(raw["data"]["categorical"])
    assert typed == set(inf.features)  # every input has its type in the YAML
    assert {"name": "race", "columns": ["white", "black", "asian", "native_american"]} in raw[
        "fairness"
    ]["groups"]


def test_training_uses_no_protected_input_and_the_card_says_so(project: dict[str, Any]) -> None:
    from creditscore.reporting.model_card import build_model_card

    result = project["result"]
    bundle = result.bundle
    assert not set(bundle.features) & set(PROTECTED)
    assert "shoe_size" in bundle.features  # flagged, not dropped
    income = bundle.schema.field("income")
    assert income.kind == "numeric"
    assert income.special_codes == ["unknown"]
    years = bundle.schema.field("employment_years")
    assert years.minimum is not None
    assert years.minimum >= 0  # -999 is missing, not the range
    assert bundle.metadata["immutable"] == ["employment_years", "num_delinquencies"]
    assert result.assessment.fairness is not None
    fairness = result.assessment.fairness.report.to_dict()
    race = next(a for a in fairness["attributes"] if a["name"] == "race")
    assert {g["group"] for g in race["groups"]} <= {
        "white",
        "black",
        "asian",
        "native american",
        "none of these",
        "several",
    }
    assert race["how"].startswith("one 0/1 column per group")
    age = next(a for a in fairness["attributes"] if a["name"] == "date_of_birth")
    assert {g["group"] for g in age["groups"]} <= {"<25", "25-34", "35-49", "50+", "missing"}
    assert len(age["groups"]) <= 5  # not 450 one-person birthdays
    male = next(a for a in fairness["attributes"] if a["name"] == "male")
    assert {g["group"] for g in male["groups"]} == {"male", "not male"}
    card = build_model_card(result, project["folder"] / "card")
    html = card["html"].read_text()
    assert "Possible proxies" in html
    assert "shoe_size" in html.split('id="proxies"')[1].split("</section>")[0]
    statement = next(
        line
        for line in card["markdown"].read_text().splitlines()
        if "Protected attributes: " in line
    )
    assert "none is a model input" in statement
    assert "white, black, asian" in statement
    assert "Groups: one 0/1 column per group" in html


def test_api_decision_log_and_spellings(project: dict[str, Any], tmp_path: Path) -> None:
    bundle = project["result"].bundle
    frame = pd.read_csv(project["data"])
    row = frame.iloc[5].to_dict()
    app = {f: row[f] for f in bundle.features}
    app["income"] = 41343.5  # an income never seen in training
    app["home_ownership"] = "Rent"
    protected = {c: row[c] for c in PROTECTED}
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings, bundle, model_version="1")) as client:
        answers = []
        for spelling in ("rent", "RENT", "rent ", " Rent"):
            r = client.post(
                "/v1/decisions?explain=true",
                json={**app, "home_ownership": spelling, **protected},
                headers=AUTH,
            )
            assert r.status_code == 200, r.text
            answers.append(r.json())
        pds = {a["probability_of_default"] for a in answers}
        assert len(pds) == 1  # one spelling rule for clients and training
        assert {a["decision"] for a in answers} == {answers[0]["decision"]}
        for a in answers:
            assert not {x["feature"] for x in a["reasons"]} & set(PROTECTED)
            for x in a["reasons"]:
                if x["feature"] == "home_ownership":
                    assert x["value"] == "Rent"  # the canonical spelling, no trailing space
        # a text special code of a number is accepted as missing
        r = client.post("/v1/decisions", json={**app, "income": "unknown"}, headers=AUTH)
        assert r.status_code == 200, r.text
        # out of range: scored, flagged, counted
        r = client.post(
            "/v1/decisions", json={**app, "income": 1e12, "loan_amount": -5000.0}, headers=AUTH
        )
        assert r.status_code == 200, r.text
        flagged = {w["field"]: w for w in r.json()["warnings"]}
        assert set(flagged) == {"income", "loan_amount"}
        assert flagged["income"]["code"] == "out_of_range"
        assert "outside the range seen in training" in flagged["income"]["message"]
        metrics = client.get("/metrics").text
        assert 'creditscore_input_warnings_total{code="out_of_range",field="income"} 1.0' in metrics
        assert client.app.state.serving.log.flush(10)  # type: ignore[attr-defined]
        # counterfactuals never move a protected or an immutable input; an empty answer says why
        r = client.post("/v1/counterfactuals", json=app, headers=AUTH)
        assert r.status_code == 200, r.text
        body = r.json()
        assert not set(body["actionable"]) & {*PROTECTED, "num_delinquencies", "employment_years"}
        if not body["options"]:
            assert body["why"]
    con = sqlite3.connect(tmp_path / "decisions.db")
    try:
        rows = [json.loads(r[0]) for r in con.execute("SELECT inputs FROM decisions")]
        reasons = [json.loads(r[0]) for r in con.execute("SELECT reasons FROM decisions")]
    finally:
        con.close()
    assert len(rows) == 6
    sent = [inputs for inputs in rows if inputs.get("white") is not None]
    assert len(sent) == 4  # the four spellings were sent with the protected attributes
    for inputs in sent:
        for col in PROTECTED:
            assert str(inputs[col]).startswith("hmac-sha256:"), (col, inputs[col])
    for inputs in rows:
        assert str(protected["date_of_birth"]) not in json.dumps(inputs)
    assert not {x["feature"] for rs in reasons for x in rs} & set(PROTECTED)


def test_refuse_out_of_range_when_configured(project: dict[str, Any]) -> None:
    bundle = project["result"].bundle
    frame = pd.read_csv(project["data"])
    app = {f: frame.iloc[3][f] for f in bundle.features}
    app["income"] = 1e12
    scorer = Scorer(bundle, out_of_range="refuse")
    from creditscore.exceptions import ScoringInputError

    with pytest.raises(ScoringInputError, match=r"field 'income': 1e\+12 is outside the range"):
        scorer.decide(app)
    assert Scorer(bundle).decide(app).warnings[0].field == "income"


def test_allowed_sensitive_input_is_still_never_a_reason_or_lever(project: dict[str, Any]) -> None:
    """Defence in depth: a sensitive column the config allows as an input is still never a
    reason code, a counterfactual lever or a raw log field, and the card names it with its
    reason."""
    from creditscore.reporting.model_card import build_model_card
    from creditscore.serving.decisions import build_record

    cfg = _quick(ProjectConfig.from_yaml(project["config"]))
    cfg.allow_sensitive_as_features = {"male": "tested: the regulator asked for it"}
    result = train(cfg)
    bundle = result.bundle
    assert "male" in bundle.features
    scorer = Scorer(bundle)
    frame = pd.read_csv(project["data"]).head(200)
    apps = [{f: r[f] for f in bundle.features} for r in frame.to_dict(orient="records")]
    for d in scorer.decide_many(apps, explain=True):
        assert "male" not in {r.feature for r in d.reasons}
    assert "male" not in actionable_features(
        bundle.schema.names, bundle.metadata["sensitive"], None
    )
    private = frozenset(bundle.metadata["sensitive"])
    record = build_record(
        {**scorer.decide(apps[0]).to_dict(), "reasons": [{"feature": "male"}]},
        apps[0],
        private,
        b"key",
        "single",
        1.0,
    )
    assert str(record["inputs"]["male"]).startswith("hmac-sha256:")
    assert record["reasons"] == []
    card = build_model_card(result, project["folder"] / "card-allowed")
    text = card["markdown"].read_text()
    assert "male is an input, allowed because: tested: the regulator asked for it" in text


def test_a_numeric_column_gone_all_text_stops_training(project: dict[str, Any]) -> None:
    folder = project["folder"]
    df = pd.read_csv(project["data"])
    df["loan_term_months"] = "high"
    bad = folder / "mortgage_text.csv"
    df.to_csv(bad, index=False)
    cfg = _quick(ProjectConfig.from_yaml(project["config"]))
    cfg.data.path = str(bad)
    with pytest.raises(DataError) as err:
        train(cfg)
    message = str(err.value)
    assert "column 'loan_term_months' is listed under data.numeric" in message
    assert "3000 non-numeric values (all of them), e.g. 'high' (row 1)" in message


def test_boolean_and_integer_code_categories_log_to_mlflow(tmp_path: Path) -> None:
    """causaldata's credit_cards has True/False columns; a bureau export has integer codes
    declared categorical. Training read them, and then saving the MLflow model failed
    ("Can not safely convert bool to <U0"): its signature declared categories as strings.
    The model's signature, input example and predictions must take them as the table has
    them."""
    import mlflow.pyfunc

    from creditscore.pyfunc import save_pyfunc
    from creditscore.tracking import signature_for

    rng = np.random.default_rng(5)
    n = 1200
    late = rng.random(n) < 0.3
    region = rng.integers(1, 5, n)
    bill = rng.gamma(2.0, 10.0, n)
    logit = -2.0 + 1.5 * late + 0.3 * (region == 4) + 0.02 * bill
    df = pd.DataFrame({"late_april": late, "region": region, "bill": bill,
                       "default": rng.random(n) < 1 / (1 + np.exp(-logit))})  # fmt: skip
    data = tmp_path / "cards.csv"
    df.to_csv(data, index=False)
    config = tmp_path / "creditscore.yaml"
    init_project(data, "default", None, config)
    cfg = _quick(ProjectConfig.from_yaml(config))
    numeric = [c for c in cfg.data.numeric or [] if c != "region"]  # declared: codes
    categorical = [*(cfg.data.categorical or []), "region"]
    cfg.data = cfg.data.model_copy(update={"numeric": numeric, "categorical": categorical})
    result = train(cfg)
    bundle = result.bundle
    kinds = {f.name: f.kind for f in bundle.schema.fields}
    assert kinds["late_april"] == kinds["region"] == "categorical"
    X = pd.read_csv(data)[bundle.features]  # as pandas reads it: bools and int64 codes
    model_dir = save_pyfunc(
        result.bundle_path,
        tmp_path / "pyfunc",
        signature=signature_for(result),
        input_example=X.head(5),
    )
    served = mlflow.pyfunc.load_model(str(model_dir)).predict(X)
    np.testing.assert_allclose(
        served["probability_of_default"], Scorer(bundle).probabilities(X), rtol=0, atol=1e-12
    )
