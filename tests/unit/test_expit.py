"""``compiled.base.expit``: the compiled models' logistic function, without scipy."""

from __future__ import annotations

import numpy as np
from scipy.special import expit as scipy_expit

from creditscore.compiled.base import expit, expit_one

Z = np.concatenate(
    [
        np.linspace(-40.0, 40.0, 20_001),
        [0.0, -0.0, 1e-300, -1e-300, 709.0, -709.0, 745.0, -745.0, 800.0, -800.0],
        [np.finfo(np.float64).max, -np.finfo(np.float64).max, np.inf, -np.inf],
    ]
)


def test_expit_equals_scipys_to_float_rounding_and_never_overflows() -> None:
    # no overflow or invalid operation anywhere, infinities included (underflow to 0 is
    # the right answer far in the tails)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        ours = expit(Z)
    theirs = scipy_expit(Z)
    assert np.all(np.isfinite(ours))
    assert np.all((ours >= 0.0) & (ours <= 1.0))
    big = theirs > 0
    assert float(np.max(np.abs(ours[big] - theirs[big]) / theirs[big])) <= 1e-15
    assert np.all(ours[~big] < 1e-307)  # where scipy rounds to 0: 0 or a subnormal
    assert expit(np.asarray([0.0]))[0] == 0.5
    assert expit(np.asarray([np.inf]))[0] == 1.0
    assert expit(np.asarray([-np.inf]))[0] == 0.0


def test_one_number_has_the_same_bits_as_in_an_array() -> None:
    many = expit(Z)
    one = np.asarray([expit_one(float(z)) for z in Z])
    assert np.array_equal(one.view(np.int64), many.view(np.int64))


def test_nan_stays_nan() -> None:
    assert np.isnan(expit(np.asarray([np.nan]))[0])
