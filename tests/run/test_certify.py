"""Certificates of trained networks: the formula, its union bound, its coverage of a known
risk, test-set bounds, the subspace learner and the prior's independence of the sample."""

import math
from dataclasses import replace
from pathlib import Path

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import sympy as sp
from jax.flatten_util import ravel_pytree

from pacbound import config
from pacbound.certify import CertifyConfig, first_budget_below, pick_posterior
from pacbound.cli import main
from pacbound.model import ModelConfig, init_params
from pacbound.numeric.bounds import certificate_bound, certificate_floor
from pacbound.numeric.kl import kl_inv_upper
from pacbound.numeric.testset import binomial_test_bound, clopper_pearson
from pacbound.store import Store, flat_rows
from pacbound.sweep import cell_seed
from pacbound.symbolic.bounds import binomial_tail
from pacbound.tasks.base import (
    finetuning_half,
    held_out_sets,
    mixture_dataset,
    mixture_sample,
    pretraining_half,
)
from pacbound.tasks.igsm import IGSMChain
from pacbound.train import (
    OptimizerConfig,
    language_data,
    language_trainer,
    make_subspace_trainer,
    minibatch_loss,
    pretraining_chunks,
)


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


def test_the_posterior_chosen_is_the_lowest_forecast():
    floors = {("isotropic", 0.1): 0.2, ("magnitude", 0.1): 0.1}
    assert pick_posterior(floors, {("isotropic", 0.1): 0.3, ("magnitude", 0.1): 0.4}) == (
        "isotropic",
        0.1,
    )
    # A tie goes to the smaller floor (less KL).
    assert pick_posterior(floors, dict.fromkeys(floors, 0.3)) == ("magnitude", 0.1)


def test_certify_config_counts_its_choices_and_rejects_bad_values():
    c = CertifyConfig(sigmas=(0.1, 1.0, 3.0))
    assert c.choices(0) == 6  # 3 σ × 2 families
    assert c.choices(32) == 3  # on w only the isotropic family
    assert CertifyConfig(simultaneous=True).cell_delta(50) == pytest.approx(0.05 / 50)
    with pytest.raises(ValueError, match="families"):
        CertifyConfig(families=("laplace",))
    with pytest.raises(ValueError, match="sigmas"):
        CertifyConfig(sigmas=(0.0,))


TASK = IGSMChain(modulus=5, max_level=4, min_level=2)
MODEL = ModelConfig(vocab_size=TASK.vocab_size, length=TASK.length, layers=1, width=8, heads=2)


def test_subspace_fine_tuning_with_the_identity_projection_is_full_fine_tuning():
    optimizer = OptimizerConfig(steps=5, batch=4, learning_rate=1e-2, warmup_steps=1)
    optimizer = OptimizerConfig(**{**optimizer.__dict__, "weight_decay": 0.0})
    base = init_params(jax.random.PRNGKey(0), MODEL)
    flat, unravel = ravel_pytree(base)
    datasets = [mixture_dataset(TASK, i, {3: 1}, n) for i, n in enumerate((3, 6))]
    data = language_data(datasets, 6)
    keys = jnp.stack([jax.random.PRNGKey(i) for i in range(2)])
    budgets = np.array([3, 6], np.int32)
    full, full_losses = language_trainer(MODEL, optimizer)(base, keys, data, budgets)
    train = make_subspace_trainer(minibatch_loss(MODEL, optimizer.batch), optimizer, unravel)
    w, losses = train(flat, jnp.eye(flat.shape[0]), keys, data, budgets)
    full_flat = jax.vmap(lambda p: ravel_pytree(p)[0])(full)
    np.testing.assert_allclose(np.asarray(flat + w), np.asarray(full_flat), atol=1e-6)
    np.testing.assert_allclose(np.asarray(losses), np.asarray(full_losses), rtol=1e-5)
    assert float(jnp.abs(w).max()) > 1e-3  # it did train


def test_a_disjoint_base_never_sees_a_fine_tuning_test_or_validity_problem():
    quick = config.preset("quick")
    assert quick.pretrain.disjoint
    task = quick.task
    chunks = pretraining_chunks(task, quick.pretrain)
    pretraining = {e.problem_hash() for _ in range(2) for e in next(chunks)}
    assert all(pretraining_half(h) for h in pretraining)
    tests = held_out_sets(task, 10_007, 16, finetuning_half)
    exclude = frozenset(h for d in tests.values() for h in d.hashes)
    seen = set(exclude)
    for bucket in quick.grid.buckets:
        cell = (bucket.name, 256, 0)
        sample = mixture_dataset(
            task, cell_seed(*cell), bucket.weights(), 256, exclude, finetuning_half
        )
        seen |= set(sample.hashes)
        seen |= set(mixture_sample(task, 1, bucket.weights(), 64, finetuning_half).hashes)
    assert seen and not seen & pretraining
    # Without the split the two streams do meet, by chance: the easy levels hold few problems.
    mixed = pretraining_chunks(task, replace(quick.pretrain, disjoint=False))
    unsplit = {e.problem_hash() for _ in range(2) for e in next(mixed)}
    easy = quick.grid.buckets[0]
    sample = mixture_dataset(task, cell_seed(easy.name, 256, 0), easy.weights(), 256)
    assert set(sample.hashes) & unsplit


TINY = Path(__file__).parent / "data" / "tiny.toml"
TINY_CERTIFY = Path(__file__).parent / "data" / "tiny_certify.toml"


@pytest.fixture(scope="module")
def certified(tmp_path_factory):
    folder = tmp_path_factory.mktemp("certify")
    db, out = folder / "r.sqlite", folder / "figs"
    argv = ["certify", "--config", str(TINY_CERTIFY), "--db", str(db), "--out", str(out)]
    assert main([*argv, "--quiet"]) == 0
    return db, out


def test_every_cell_stores_a_certificate_recomputable_from_its_parts(certified):
    db, _ = certified
    with Store(db) as store:
        for experiment in config.load_all(TINY_CERTIFY):
            c = experiment.certify
            choices = len(c.sigmas) * (1 if experiment.finetune.subspace else 2)
            cells = store.cells(experiment.name)
            assert len(cells) == len(experiment.cells)
            for cell in cells:
                record = cell.record["certificate"]
                assert record["choices"] == choices and record["sigma"] in c.sigmas
                assert record["family"] in c.families_for(experiment.finetune.subspace)
                again = certificate_bound(
                    record["mc_risk"],
                    c.draws,
                    record["kl"],
                    cell.budget,
                    c.delta,
                    choices,
                    c.mc_share,
                )
                assert record["certificate"] == pytest.approx(float(again), rel=1e-12)
                assert record["floor"] <= record["certificate"] <= 1
                for part in ("in_distribution", "target"):
                    measured = record[part]
                    assert measured["low"] <= measured["risk"] <= measured["high"]
                    assert measured["draws"] == c.validity_draws
                assert record["target"]["test_bound"] >= record["target"]["risk"]
                # Disagreement at the label-free leading positions is a part of disagreement
                # anywhere, so never larger.
                split = record["disagreement"]
                assert split["pairs"] == c.validity_draws and split["near_sigma"] == min(c.sigmas)
                for which in ("certified", "near"):
                    part = split[which]
                    assert 0 <= part["label_free"] <= part["teacher_forced"] <= 1


def test_the_certify_command_writes_its_report_and_figures(certified):
    _, out = certified
    for name in ("tinycert-full", "tinycert-k8"):
        report = (out / f"{name}_certificates.md").read_text()
        assert "Valid cells" in report and "| bucket | n | seed |" in report
        for stem in ("certificate_by_budget", "certificate_vs_risk"):
            assert (out / f"{name}_{stem}.png").stat().st_size > 1000
    assert main(["certify", "--config", str(TINY)]) == 2  # no [certify] table


def test_figs_writes_certified_predictions_and_the_learners_report(certified, tmp_path):
    db, _ = certified
    out = tmp_path / "figs"
    assert main(["figs", "--db", str(db), "--out", str(out)]) == 0
    report = (out / "tinycert-full_report.md").read_text()
    assert "## Does a predictor track" in report and "floor (certificate)" in report
    predictions = (out / "tinycert-full_predictions.md").read_text()
    assert "## Assumptions of the shift terms" in predictions
    assert "| bound: tv |" in predictions and "| disagreement (label-free) |" in predictions
    assert (out / "tinycert-full_predictions.png").stat().st_size > 1000
    assert main(["recommend", "--db", str(db), "--name", "tinycert-full", "--budget", "9"]) == 0
    learners = (out / "tinycert_learners.md").read_text()
    assert "Intrinsic dimension" in learners and "| k = 8 |" in learners
    assert (out / "learners_certificate_vs_risk.png").stat().st_size > 1000
    index = (out / "README.md").read_text()
    assert "Certificates: `tinycert-k8`" in index and "Learners: `tinycert`" in index


def test_the_extrapolated_budget_is_the_first_one_below_the_threshold():
    def certificate(risk, kl, n):
        return float(certificate_bound(risk, 192, kl, n, 0.05, 16, 0.5))

    risks, kls = np.array([0.05, 0.0, 0.5]), np.array([40.0, 5000.0, 0.0])
    first = first_budget_below(risks, kls, 192, 0.05, 16, 0.5, 0.3, 8)
    for risk, kl, n in zip(risks[:2], kls[:2], first[:2], strict=True):
        assert certificate(risk, kl, n) < 0.3 <= certificate(risk, kl, n - 1)
    # A risk whose Monte-Carlo correction alone exceeds the threshold never gets there.
    assert np.isinf(first[2])
    # Already below at the start: the start itself.
    assert first_budget_below([0.0], [0.0], 192, 0.05, 16, 0.5, 0.9, 64)[0] == 64


def test_the_export_flattens_every_certificate_field(certified):
    db, _ = certified
    with Store(db) as store:
        rows = flat_rows(store.cells("tinycert-k8"))
    row = rows[0]
    assert 0 < row["certificate_certificate"] <= 1
    assert row["certificate_in_distribution_draws"] == 8
    assert isinstance(row["certificate_candidates"], str)  # a list, as JSON
    assert not any(isinstance(v, dict | list) for v in row.values())
