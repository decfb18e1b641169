"""The certificate of a trained network as a formula: its union bound, its input checks, its
coverage of the exact risk of the solvable posterior, and the test-set bounds beside it."""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from pacbound import config
from pacbound.numeric.bounds import certificate_bound, certificate_floor
from pacbound.numeric.kl import kl_inv_upper
from pacbound.numeric.testset import binomial_test_bound, clopper_pearson
from pacbound.symbolic.bounds import binomial_tail


def test_the_union_bound_costs_ln_m_over_n_in_the_kl_budget():
    """By hand: the certificate is kl⁻¹(kl⁻¹(r̂, ln(2/(sδ))/M), (KL + ln(2√n·m/((1−s)δ)))/n)."""
    r, draws, kl, n, delta, m, share = 0.05, 400, 3.0, 100, 0.05, 16, 0.5
    ln = math.log
    corrected = float(kl_inv_upper(r, ln(2 / (share * delta)) / draws))
    budget = (kl + ln(2 * math.sqrt(n) * m / ((1 - share) * delta))) / n
    by_hand = float(kl_inv_upper(corrected, budget))
    value = float(certificate_bound(r, draws, kl, n, delta, m, share))
    assert value == pytest.approx(by_hand, rel=1e-12)
    # The union bound over m = 16 choices adds exactly ln(16)/n to the kl budget.
    single = float(kl_inv_upper(corrected, budget - ln(16) / n))
    assert single == pytest.approx(float(certificate_bound(r, draws, kl, n, delta, 1, share)))
    assert value > single
    # The floor is the certificate at KL = 0 and zero Monte-Carlo risk.
    floor = float(certificate_floor(draws, n, delta, m, share))
    assert floor == pytest.approx(float(certificate_bound(0.0, draws, 0.0, n, delta, m, share)))
    assert floor < value


@pytest.mark.parametrize(
    "argument, values, message",
    [
        ("mc_risk", (1.5, 10, 0.0, 5, 0.05, 1, 0.5), "mc_risk = 1.5"),
        ("choices", (0.1, 10, 0.0, 5, 0.05, 0, 0.5), "choices = 0"),
        ("mc_share", (0.1, 10, 0.0, 5, 0.05, 1, 1.0), "mc_share = 1"),
    ],
)
def test_bad_certificate_inputs_name_the_argument(argument, values, message):
    with pytest.raises(ValueError, match=message):
        certificate_bound(*values)


def _solvable_certificate_trial(task, rng, levels, n, draws, delta, share):
    """(certificate, Monte-Carlo estimate, exact R_d(Q)) for one fresh sample and fresh
    Monte-Carlo draws."""
    counts = _split(n, levels)
    parts = [task.sample(rng, level, count) for level, count in zip(levels, counts, strict=True)]
    j, s, y = (np.concatenate(p) for p in zip(*parts, strict=True))
    mean, variance = task.posterior(j, s, y)
    exact = float(np.mean([task.level_risk(mean, variance, k) for k in levels]))
    # Pairs (θ ~ Q, an example of S uniformly): the loss in [0, 1) made a Bernoulli draw.
    rows = rng.integers(0, n, draws)
    theta = mean[j[rows]] + np.sqrt(variance[j[rows]]) * rng.normal(size=draws)
    residual = y[rows] - theta * s[rows]
    loss = 1 - np.exp(-(residual**2) / (2 * task.loss_scale**2))
    mc_risk = float(np.mean(rng.uniform(size=draws) < loss))
    kl = task.kl_to_prior(mean, variance)
    return float(certificate_bound(mc_risk, draws, kl, n, delta, 1, share)), mc_risk, exact


def _split(n, levels):
    return [n // len(levels) + (i < n % len(levels)) for i in range(len(levels))]


def test_the_certificate_covers_the_exact_risk_of_the_solvable_posterior():
    """Over many fresh samples, a certificate at δ fails (falls below the exact risk of its
    posterior) at most δ of the time, up to the binomial noise of the repetitions; the same
    check rejects the Monte-Carlo estimate itself, which is no certificate."""
    task = config.preset("solvable").task
    rng = np.random.default_rng(0)
    delta, repetitions = 0.2, 200
    trials = [
        _solvable_certificate_trial(task, rng, (4, 5, 6), 1000, 2000, delta, 0.5)
        for _ in range(repetitions)
    ]
    certificates, estimates, exact = np.array(trials).T
    # P(Binomial(200, 0.2) > 55) < 0.02: a valid certificate passes this.
    assert int(np.sum(certificates < exact)) <= 55
    # The estimate of the empirical risk falls below the true risk about half of the time
    # (the posterior fits its sample): the check has the power to catch a non-certificate.
    assert int(np.sum(estimates < exact)) > 55
    assert np.all((0 <= exact) & (exact <= 1))
    # Informative at this budget, not trivially valid: within 0.25 of the risk it covers.
    assert np.all(certificates - exact < 0.25)


def test_the_test_set_bound_inverts_the_symbolic_binomial_tail():
    for errors, trials, delta in [(0, 20, 0.05), (3, 50, 0.05), (17, 40, 0.01), (40, 40, 0.1)]:
        bound = float(binomial_test_bound(errors, trials, delta))
        if errors == trials:
            assert bound == 1.0
            continue
        tail = sp.lambdify(
            [sp.Symbol("p", positive=True)],
            binomial_tail.subs({sp.Symbol("trials", integer=True, nonnegative=True): trials})
            .subs({sp.Symbol("errors", integer=True, nonnegative=True): errors})
            .doit(),
            "mpmath",
        )
        with mpmath.workdps(40):
            assert float(tail(mpmath.mpf(bound))) == pytest.approx(delta, rel=1e-8)
            assert float(tail(mpmath.mpf(bound) * (1 - 1e-6))) > delta


def test_clopper_pearson_brackets_the_rate_and_rejects_bad_counts():
    low, high = clopper_pearson(5, 100)
    assert low < 0.05 < high
    assert float(clopper_pearson(0, 10)[0]) == 0.0
    assert float(clopper_pearson(10, 10)[1]) == 1.0
    with pytest.raises(ValueError, match="errors"):
        binomial_test_bound(11, 10, 0.05)
