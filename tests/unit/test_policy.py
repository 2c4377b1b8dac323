"""DecisionPolicy: cost-optimal threshold, points, bands, decisions, identity."""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from creditscore.config import CostConfig, PolicyConfig, RiskBand, ScalingConfig
from creditscore.evaluation.metrics import cost_curve
from creditscore.evaluation.threshold import fit_policy, optimal_threshold
from creditscore.policy import DECISIONS, DecisionPolicy

COSTS = CostConfig(false_negative=10.0, false_positive=1.0)
BANDS = (("LOW", 0.05), ("MEDIUM", 0.15), ("HIGH", 0.35), ("CRITICAL", 1.0))


def make(threshold: float = 0.2, refer_margin: float = 0.0, **kw: object) -> DecisionPolicy:
    params: dict[str, object] = {
        "threshold": threshold,
        "refer_margin": refer_margin,
        "bands": BANDS,
        "base_points": 600.0,
        "base_odds": 50.0,
        "pdo": 20.0,
        "cost_fn": 10.0,
        "cost_fp": 1.0,
    }
    params.update(kw)
    return DecisionPolicy(**params)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- threshold
def test_bayes_threshold() -> None:
    assert DecisionPolicy.bayes_threshold(COSTS) == pytest.approx(1 / 11)
    assert DecisionPolicy.bayes_threshold(CostConfig(false_negative=1, false_positive=1)) == 0.5


def test_fit_unique_minimum_hand_example() -> None:
    # y/p as in test_metrics: decline p >= t costs (FN 10, FP 1, per applicant):
    #   t <= .1: 3/6 | (.1,.2]: 2/6 | (.2,.3]: 1/6 | (.3,.4]: 11/6 | (.4,.6]: 10/6 | ...
    # unique optimum (.2, .3]; Bayes 1/11 lies below it, so the cut nearest to it among
    # the cheapest is the midpoint of the gap, 0.25 (not the observed PD 0.3)
    y = [0, 0, 1, 0, 1, 1]
    p = [0.1, 0.2, 0.3, 0.4, 0.6, 0.8]
    pol = fit_policy(y, p, PolicyConfig(), COSTS)
    assert pol.threshold == pytest.approx(0.25)
    # equal costs: (.2,.3] and (.4,.6] both cost 1/6; Bayes 0.5 lies in the second -> 0.5
    even = CostConfig(false_negative=1.0, false_positive=1.0)
    assert fit_policy(y, p, PolicyConfig(), even).threshold == 0.5


def test_fit_perfectly_separable() -> None:
    y = [0, 0, 1, 1]
    # any cut in (0.2, 0.7] costs 0; Bayes (1/11) is below: the nearest cheapest cut
    # that is not on an observed PD is the gap's midpoint
    t = optimal_threshold(y, [0.1, 0.2, 0.7, 0.9], COSTS)
    assert 0.2 < t <= 0.7
    assert t == pytest.approx(0.45)
    # Bayes inside the zero-cost gap -> exactly Bayes
    assert optimal_threshold(y, [0.01, 0.02, 0.5, 0.6], COSTS) == pytest.approx(1 / 11)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_threshold_is_cost_minimal(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.round(rng.beta(2, 5, size=800), 3)
    y = (rng.random(800) < p).astype(int)
    pol = fit_policy(y, p, PolicyConfig(refer_margin=0.02), COSTS)
    chosen = cost_curve(y, p, COSTS, thresholds=[pol.threshold])["expected_cost"].iloc[0]
    dense = cost_curve(y, p, COSTS, thresholds=np.linspace(0, 1, 20001))["expected_cost"].min()
    assert chosen <= dense + 1e-12
    assert pol.refer_margin == 0.02
    assert pol.bands == BANDS


def test_fit_single_class_does_not_raise() -> None:
    # all goods: approving everyone is free; the Bayes cut approves everyone here
    assert optimal_threshold([0, 0, 0], [0.01, 0.02, 0.03], COSTS) == pytest.approx(1 / 11)


def test_from_config_copies_everything() -> None:
    policy = PolicyConfig(
        refer_margin=0.03,
        risk_bands=[RiskBand(name="A", max_pd=0.1), RiskBand(name="B", max_pd=1.0)],
        scaling=ScalingConfig(base_points=500, base_odds=20, pdo=40),
    )
    pol = DecisionPolicy.from_config(0.3, policy, CostConfig(false_negative=5, false_positive=2))
    assert pol == DecisionPolicy(0.3, 0.03, (("A", 0.1), ("B", 1.0)), 500, 20, 40, 5, 2)


# --------------------------------------------------------------------------- points
def test_points_anchor_and_pdo() -> None:
    pol = make()
    assert pol.points(1 / 51) == 600  # odds 50:1
    assert pol.points(1 / 101) == 620  # odds 100:1, one PDO better
    assert pol.points(1 / 26) == 580  # odds 25:1
    assert pol.points(0.5) == round(600 - 20 * math.log2(50))  # odds 1:1
    # 0 and 1 are clipped to finite scores, ordered
    assert pol.points(0.0) > pol.points(1e-6) > pol.points(0.5) > pol.points(1.0)


def test_points_are_monotone_decreasing_in_pd() -> None:
    pol = make()
    scores = pol.points_many(np.linspace(0, 1, 1001))
    assert (np.diff(scores) <= 0).all()


def test_points_half_point_rounding_agrees() -> None:
    # base points at x.5: the score of odds 50:1 sits on a rounding boundary
    pol = make(base_points=600.5)
    pds = np.array([1 / 51, np.nextafter(1 / 51, 0), np.nextafter(1 / 51, 1)])
    assert pol.points_many(pds).tolist() == [pol.points(float(q)) for q in pds]


# --------------------------------------------------------------------------- bands / decide
def test_band_edges() -> None:
    pol = make()
    assert pol.band(0.0) == "LOW"
    assert pol.band(0.05) == "LOW"  # max_pd is inclusive
    assert pol.band(np.nextafter(0.05, 1)) == "MEDIUM"
    assert pol.band(0.15) == "MEDIUM"
    assert pol.band(0.35) == "HIGH"
    assert pol.band(0.36) == "CRITICAL"
    assert pol.band(1.0) == "CRITICAL"


def test_decide_without_margin() -> None:
    pol = make(threshold=0.2)
    assert pol.decide(0.2) == "decline"  # at the threshold
    assert pol.decide(np.nextafter(0.2, 0)) == "approve"
    assert pol.decide(0.0) == "approve"
    assert pol.decide(1.0) == "decline"
    assert "refer" not in set(pol.decide_many(np.linspace(0, 1, 101)))


def test_decide_with_margin() -> None:
    pol = make(threshold=0.2, refer_margin=0.05)
    assert pol.decide(0.1499) == "approve"
    assert pol.decide(0.15) == "refer"  # threshold - margin is referred, not approved
    assert pol.decide(0.2) == "refer"
    assert pol.decide(0.2499) == "refer"
    assert pol.decide(0.25) == "decline"
    assert pol.decide_many([0.1499, 0.15, 0.2, 0.25]).tolist() == [
        "approve",
        "refer",
        "refer",
        "decline",
    ]


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_invalid_pd_is_refused(bad: float) -> None:
    pol = make()
    for method in (pol.points, pol.band, pol.decide):
        with pytest.raises(ValueError, match="PD must"):
            method(bad)
    for many in (pol.points_many, pol.band_many, pol.decide_many, pol.band_codes):
        with pytest.raises(ValueError, match=r"1 value\(s\) outside"):
            many([0.1, bad, 0.2])


_unit = st.floats(0.0, 1.0, allow_nan=False)
_special = st.sampled_from([0.0, 1.0, 1e-12, 1 - 1e-12, 0.05, 0.15, 0.35, 0.2, 0.25, 1 / 51])
_policies = st.builds(
    make,
    threshold=st.one_of(_unit, st.sampled_from([0.0, 0.2, 0.5, 1.0])),
    refer_margin=st.one_of(st.just(0.0), st.floats(0.0, 0.49)),
    base_points=st.floats(-1000, 1000),
    base_odds=st.floats(0.01, 1000),
    pdo=st.floats(0.5, 200),
)


@settings(max_examples=200, deadline=None)
@given(
    pol=_policies,
    p=arrays(np.float64, st.integers(0, 60), elements=st.one_of(_unit, _special)),
)
def test_vectorised_equals_scalar(pol: DecisionPolicy, p: np.ndarray) -> None:
    points = pol.points_many(p)
    bands = pol.band_many(p)
    decisions = pol.decide_many(p)
    assert points.dtype == np.int64
    assert points.tolist() == [pol.points(float(q)) for q in p]
    assert bands.tolist() == [pol.band(float(q)) for q in p]
    assert decisions.tolist() == [pol.decide(float(q)) for q in p]
    # the codes batch output is built from name the same bands and decisions
    names = [name for name, _ in pol.bands]
    assert [names[c] for c in pol.band_codes(p)] == bands.tolist()
    assert [DECISIONS[c] for c in pol.decision_codes(p)] == decisions.tolist()


def test_vectorised_keeps_shape() -> None:
    pol = make()
    p = np.array([[0.01, 0.5], [0.2, 0.9]])
    assert pol.points_many(p).shape == (2, 2)
    assert pol.band_many(p)[1, 1] == "CRITICAL"
    assert pol.decide_many(p)[0, 0] == "approve"


# --------------------------------------------------------------------------- identity / I/O
def test_to_dict_from_dict_round_trip_is_exact() -> None:
    pol = make(threshold=0.1234567890123456789, refer_margin=1 / 30, base_odds=1 / 3)
    data = json.loads(json.dumps(pol.to_dict()))
    back = DecisionPolicy.from_dict(data)
    assert back == pol
    assert back.threshold == pol.threshold
    assert back.version == pol.version
    assert back.to_dict() == pol.to_dict()
    assert pickle.loads(pickle.dumps(pol)) == pol
    assert pickle.loads(pickle.dumps(pol)).decide(0.2) == pol.decide(0.2)


def test_from_dict_errors_name_the_key() -> None:
    data = make().to_dict()
    with pytest.raises(ValueError, match=r"unknown policy key.*'thresold'"):
        DecisionPolicy.from_dict({**data, "thresold": 0.3})
    with pytest.raises(ValueError, match=r"missing key.*'pdo'"):
        DecisionPolicy.from_dict({k: v for k, v in data.items() if k != "pdo"})
    with pytest.raises(ValueError, match="does not match its parameters"):
        DecisionPolicy.from_dict({**data, "threshold": 0.3})  # edited, version kept
    assert DecisionPolicy.from_dict({**data, "threshold": 0.3, "version": None}).threshold == 0.3


def test_version_is_stable_and_short() -> None:
    pol = make()
    assert re.fullmatch(r"[0-9a-f]{12}", pol.version)
    # ints vs floats, lists vs tuples: same parameters, same version
    same = DecisionPolicy(
        0.2,
        0,
        [["LOW", 0.05], ["MEDIUM", 0.15], ["HIGH", 0.35], ["CRITICAL", 1]],
        600,
        50,
        20,
        10,
        1,
    )  # type: ignore[arg-type]
    assert same == pol
    assert same.version == pol.version
    # pinned: a change in the hashing scheme re-versions every stored policy and decision
    assert pol.version == make().version == "9b791dbd0f6b"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("threshold", 0.21),
        ("refer_margin", 0.01),
        ("bands", (("LOW", 0.05), ("MEDIUM", 0.15), ("HIGH", 0.36), ("CRITICAL", 1.0))),
        ("bands", (("low", 0.05), ("MEDIUM", 0.15), ("HIGH", 0.35), ("CRITICAL", 1.0))),
        ("base_points", 601.0),
        ("base_odds", 51.0),
        ("pdo", 21.0),
        ("cost_fn", 11.0),
        ("cost_fp", 2.0),
    ],
)
def test_version_changes_with_every_parameter(name: str, value: object) -> None:
    pol = make()
    other = dataclasses.replace(pol, **{name: value})
    assert other != pol
    assert other.version != pol.version


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"threshold": 1.2}, "threshold must lie in"),
        ({"threshold": float("nan")}, "threshold must be finite"),
        ({"refer_margin": -0.1}, "refer_margin"),
        ({"pdo": 0}, "pdo must be positive"),
        ({"base_odds": -1}, "base_odds must be positive"),
        ({"cost_fn": 0}, "cost_fn must be positive"),
        ({"bands": (("A", 0.5), ("B", 0.4), ("C", 1.0))}, "strictly increase"),
        ({"bands": (("A", 0.5), ("B", 0.9))}, "must end at max_pd 1.0"),
        ({"bands": (("A", 0.5), ("A", 1.0))}, "names must be unique"),
        ({"bands": ()}, "at least one risk band"),
        ({"bands": (("A", "x"),)}, "max_pd must be a number"),
        ({"threshold": "0.2x"}, "threshold must be a number"),
    ],
)
def test_invalid_parameters_are_refused(kw: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make(**kw)


def test_frozen() -> None:
    pol = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        pol.threshold = 0.5  # type: ignore[misc]


def test_summary() -> None:
    pol = make(threshold=0.2, refer_margin=0.05)
    s = pol.summary()
    assert s["version"] == pol.version
    assert s["threshold"] == 0.2
    assert s["refer_band"] == (0.15, 0.25)
    assert s["threshold_points"] == pol.points(0.2)
    assert s["bayes_threshold"] == pytest.approx(1 / 11)
    assert [b["name"] for b in s["bands"]] == ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
    assert s["bands"][1]["pd_from"] == 0.05
    assert s["scaling"]["factor"] == pytest.approx(20 / math.log(2))
    assert s["costs"] == {"false_negative": 10.0, "false_positive": 1.0}
    json.dumps(s)  # displayable as JSON
    assert make().summary()["refer_band"] is None
