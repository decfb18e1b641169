"""The exact experiment on the skill ladder: its certificates against the exact risks, its
expected risks against brute force, its paired draws, and the mechanism's switch against a
budget derived by hand."""

import dataclasses

import mpmath as mp
import numpy as np
import pytest

from pacbound.analysis import exact
from pacbound.tasks.skills import SkillLadder

SMALL = exact.ExactConfig(
    name="small",
    task=SkillLadder(levels=6, known=2, noise_max=2.0),
    width=2,
    budgets=(1, 4, 16, 64, 256),
    draws=32,
    target=(1, 6),
    resamples=10,
)


@pytest.fixture(scope="module")
def small_run():
    arrays = exact.compute(SMALL)
    result, evaluation = exact.analyse(SMALL, arrays)
    return arrays, result, evaluation


def _hand_weights():
    """SMALL's level weights by hand: target uniform on 1 … 6, bucket b on levels b + 1 and
    b + 2, pretraining on the known levels 1 and 2."""
    target = np.full(6, 1 / 6)
    buckets = np.array([[0.5 if b <= k < b + 2 else 0.0 for k in range(6)] for b in range(5)])
    pretrain = np.array([0.5, 0.5, 0, 0, 0, 0])
    return target, buckets, pretrain


def test_every_certificate_and_bound_covers_the_exact_realized_risk_in_every_cell(
    small_run, kl_inverse
):
    """Oracle: the kl certificate of every draw recomputed here (the tests' mpmath kl⁻¹ at
    (KL + ln(2√n/δ))/n from the draw's exact R̂_S and KL), the in-bucket and target risks
    and the shift terms from SMALL's level weights by hand.

    Both sides of every coverage check are exact, so a draw is covered or not with no
    Monte-Carlo slack, and the old allowance of 1 − δ per cell (one miss in 32 draws) is
    the failure rate a valid bound may have over samples, not a tolerance on these draws.
    Here the hand certificate covers every draw with a positive margin, and the TV and
    coverage shift inequalities hold exactly for any loss in [0, 1] (|R_T − R_d| ≤ TV; R_T ≤
    λR_pre + (1 − λ)R_d + TV(T, λ·pre + (1 − λ)·d)), so those bounds exceed the target risk
    by at least (1 − λ)·(certificate − R_d) > 0: their coverage must be exactly 1 in every
    cell. The w1 and upward terms need an assumption on the per-level risks that exactness
    does not give (w1's is violated here), so theirs must equal the share counted by hand."""
    arrays, result, _ = small_run
    target, buckets, pretrain = _hand_weights()
    n = np.asarray(SMALL.budgets, float)[None, :, None]
    budget = (arrays.kl + np.log(2 * np.sqrt(n) / SMALL.delta)) / n
    certificate = np.vectorize(lambda p, b: float(kl_inverse(p, b)))(arrays.train_error, budget)
    in_bucket = np.stack([arrays.level_risk[b][..., b : b + 2].mean(-1) for b in range(5)])
    realized = arrays.level_risk @ target
    margin = certificate - in_bucket
    reported = result["certificates"]
    np.testing.assert_allclose(reported["mean_certificate"], certificate.mean(-1), rtol=1e-9)
    np.testing.assert_allclose(reported["mean_in_bucket_risk"], in_bucket.mean(-1), rtol=1e-12)
    assert reported["smallest_margin"] == pytest.approx(margin.min(), rel=1e-9)
    assert margin.min() > 0
    assert result["coverage"]["certificate"] == {"min": 1.0, "all": True}

    # Shift terms by hand: TV = ½Σ|w_T − w_b| = ½(2·(½ − ⅙) + 4·⅙) = ⅔ for every bucket.
    lam = SMALL.pretrain_share
    tv = 0.5 * np.abs(target - buckets).sum(-1)
    cover = 0.5 * np.abs(target - (lam * pretrain + (1 - lam) * buckets)).sum(-1)
    unit_step = 1 / 5  # levels 1 … 6 rescaled to [0, 1]
    w1 = np.abs(np.cumsum(target) - np.cumsum(buckets, -1))[:, :-1].sum(-1) * unit_step
    above = lambda w: np.cumsum(w[..., ::-1], -1)[..., ::-1]  # noqa: E731  S(j) = P(k ≥ j)
    upward = np.maximum(above(target) - above(buckets), 0).max(-1)
    hand = {"tv": tv, "coverage": cover, "w1": w1, "upward": upward}
    np.testing.assert_allclose(tv, 2 / 3)
    for term, values in hand.items():
        np.testing.assert_allclose(result["shift_terms"][term], values, atol=1e-12, err_msg=term)

    # The two shift inequalities that need no assumption, on the exact risks themselves.
    pretrain_risk = arrays.level_risk @ pretrain
    assert np.all(realized - in_bucket <= tv[:, None, None] + 1e-12)
    mixture = lam * pretrain_risk + (1 - lam) * in_bucket
    assert np.all(realized - mixture <= cover[:, None, None] + 1e-12)
    for term in ("tv", "coverage"):
        assert result["coverage"][term] == {"min": 1.0, "all": True}, term
    for term in ("w1", "upward"):
        covered = certificate + hand[term][:, None, None] >= realized
        got = result["coverage"][term]
        assert got["min"] == covered.mean(-1).min() and got["all"] == covered.all(), term


def test_every_gain_certificate_covers_the_exact_gain_of_every_draw(small_run):
    """The gain over the base (the prior) of every draw is exact: R_d(Q_S) − R_d(P) from the
    level risks; both gain certificates lie above it in every draw of every cell."""
    arrays, result, _ = small_run
    _, buckets, _ = _hand_weights()
    true = (
        np.einsum("bnrk,bk->bnr", arrays.level_risk, buckets)
        - (buckets @ arrays.base_level_risk)[:, None, None]
    )
    np.testing.assert_allclose(result["gain"]["true_gain_mean"], true.mean(-1), atol=1e-12)
    for form in ("split-kl", "difference"):
        assert result["gain"]["forms"][form]["covers_every_draw"], form


def test_expected_risk_over_training_sets_against_brute_force(small_run):
    """Oracle: a simulation written out here. One cell (bucket 3-4, n = 16): fresh training
    sets (levels uniform on {3, 4}, inputs and noisy answers drawn afresh), the Bayesian
    posterior N(μ, Σ) by hand (Σ⁻¹ = I/σ_p² + XᵀX/σ_a², μ = Σ(θ_pre/σ_p² + Xᵀy/σ_a²)), fresh
    target problems (levels uniform on 1 … 6), and for each the loss averaged over θ ~ Q and
    the answer's noise in closed form: r ~ N(x·(w* − μ), xᵀΣx + σ_k²), so E[e^{−r²/2τ²}] =
    τ/√(τ² + v)·exp(−m²/(2(τ² + v))). The grid's reported mean target risk must agree within
    four standard errors of the difference (the simulation's, over its training sets, and
    the grid's own, over its 32 draws); the same tolerance tells the neighbouring budgets
    and the next harder bucket apart, so an off-by-one cell would fail."""
    arrays, result, _ = small_run
    task, b, i, n = SMALL.task, 2, 2, 16
    levels, known, sigma_p, sigma_a, tau = 6, 2, 0.5, 0.1, 1.0
    assert (task.levels, task.known, task.prior_std, task.assumed_noise) == (
        levels,
        known,
        sigma_p,
        sigma_a,
    )
    skill = np.arange(1, levels + 1)
    theta_pre = 1 - np.clip((skill - known) / (levels - known), 0, 1)  # right on skills 1, 2
    noise_std = 2.0 * (skill / levels) ** 2  # σ_k = noise_max·(k/K)^2
    rng = np.random.default_rng(11)
    sets, problems = 20_000, 16

    def draw(level):
        x = rng.normal(size=(*level.shape, levels)) * (skill <= level[..., None])
        return x, x.sum(-1) + noise_std[level - 1] * rng.normal(size=level.shape)

    x, y = draw(rng.integers(3, 5, (sets, n)))
    precision = np.eye(levels) / sigma_p**2 + np.swapaxes(x, 1, 2) @ x / sigma_a**2
    covariance = np.linalg.inv(precision)
    pull = theta_pre / sigma_p**2 + np.einsum("rnk,rn->rk", x, y) / sigma_a**2
    mean = np.einsum("rjk,rk->rj", covariance, pull)
    level = rng.integers(1, levels + 1, (sets, problems))
    xt = rng.normal(size=(sets, problems, levels)) * (skill <= level[..., None])
    m = np.einsum("rpk,rk->rp", xt, 1 - mean)
    v = np.einsum("rpj,rjk,rpk->rp", xt, covariance, xt) + noise_std[level - 1] ** 2
    loss = 1 - tau / np.sqrt(tau**2 + v) * np.exp(-(m**2) / (2 * (tau**2 + v)))
    per_set = loss.mean(-1)  # the problems of one training set share its posterior
    simulated, se_simulation = per_set.mean(), per_set.std(ddof=1) / np.sqrt(sets)
    grid_draws = arrays.noise_averaged_level_risk[b, i] @ np.full(levels, 1 / levels)
    se_grid = grid_draws.std(ddof=1) / np.sqrt(len(grid_draws))
    tolerance = 4 * np.hypot(se_simulation, se_grid)
    mean_grid = np.asarray(result["truth"]["mean"])
    assert abs(mean_grid[b, i] - simulated) < tolerance
    for wrong_cell in ((b, i - 1), (b, i + 1), (b + 1, i)):
        assert abs(mean_grid[wrong_cell] - simulated) > tolerance, wrong_cell


def test_paired_draws_resample_together(small_run):
    arrays, _, _ = small_run
    table = exact.exact_runs(SMALL, arrays, {}, None)
    resample = table.resampled(np.random.default_rng(0))
    # One set of draw indices for every cell: the differences between buckets keep their pairs.
    first = np.argmin(np.abs(table.target_error[0, 2][:, None] - resample.target_error[0, 2]), 0)
    np.testing.assert_allclose(resample.target_error[1, 2], table.target_error[1, 2][first])


def _hand_switch_budget(task: SkillLadder) -> float:
    """Two levels, the base right on skill 1 and blind on skill 2; buckets {1} and {2},
    target uniform over both. To first order in the posterior's spread v (E[(a + u²)^{-1/2}]
    ≈ a^{-1/2} − E[u²]/(2a^{3/2})), with s_k = σ_a² + σ_k²:
    - easy: coordinate 1 stays unbiased with spread s_1·E[1/χ²_n] = s_1/(n − 2); coordinate 2
      keeps the prior N(0, σ_p²), so level 2 keeps the risk 1 − E[τ/√(a_2 + u²)], u ~ N(1, σ_p²);
    - hard: both coordinates are learned, with spread s_2·E[(XᵀX)⁻¹] = s_2/(n − 3) each
      (inverse Wishart, 2 × 2).
    Hard wins once ½τ(v_hard − v_easy)/(a_1^{3/2}) + τ·v_hard/a_2^{3/2} (its extra noise on both
    levels) falls below the level-2 gain τ/√a_2 − E[τ/√(a_2 + u²)]; solved for n. The next
    term of the expansion, +3·E[q²]/(8a^{5/2}), lowers the hard bucket's excess, so the exact
    crossing comes a few percent earlier (about 7% here); the test allows 10%."""
    tau, sigma = task.loss_scale, task.noise_std
    a1, a2 = tau**2 + sigma**2
    s1, s2 = task.assumed_noise**2 + sigma**2
    mp.mp.dps = 20
    density = lambda u: mp.npdf(u, 1, task.prior_std)  # noqa: E731
    blind = mp.quad(lambda u: tau / mp.sqrt(a2 + u**2) * density(u), [-mp.inf, 1, mp.inf])
    gain = tau / np.sqrt(a2) - float(blind)

    def excess(n):
        v_easy, v_hard = s1 / (n - 2), s2 / (n - 3)
        return tau * (v_hard - v_easy) / (2 * a1**1.5) + tau * v_hard / a2**1.5 - gain

    return float(mp.findroot(excess, 100.0))


def test_the_switch_to_hard_data_happens_at_the_budget_derived_by_hand():
    task = SkillLadder(levels=2, known=1, noise_max=3.0, noise_power=4.0, loss_scale=1.0)
    hand = _hand_switch_budget(task)
    assert 100 < hand < 1000  # in the regime where the first-order expansion holds
    budgets = tuple(int(n) for n in np.unique(np.geomspace(hand / 2, hand * 2, 13).round()))
    config = exact.ExactConfig(
        name="switch", task=task, width=1, budgets=budgets, draws=400, target=(1, 2)
    )
    arrays = exact.compute(config)
    target = arrays.noise_averaged_level_risk @ config.weights()["target"]
    difference = (target[1] - target[0]).mean(-1)  # hard − easy, per budget
    assert difference[0] > 0 > difference[-1]  # easy first, hard later
    crossing = np.flatnonzero(np.diff(np.sign(difference)))[0]
    low, high = np.log(budgets[crossing]), np.log(budgets[crossing + 1])
    d_low, d_high = difference[crossing], difference[crossing + 1]
    switch = np.exp(low + (high - low) * d_low / (d_low - d_high))
    assert switch == pytest.approx(hand, rel=0.1)


def test_config_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"width = 6 is out of range: allowed \[1, 5\]"):
        dataclasses.replace(SMALL, width=6)
    with pytest.raises(ValueError, match=r"target = \[0, 6\] is out of range"):
        dataclasses.replace(SMALL, target=(0, 6))


@pytest.mark.e2e
def test_reproduce_runs_an_exact_preset_file_and_indexes_it(tmp_path, capsys):
    from pacbound import cli
    from pacbound.config import preset_path

    preset = exact.load(preset_path("exact"))
    assert preset.task == SkillLadder() and len(preset.budgets) >= 20 and len(preset.buckets) >= 8
    config = tmp_path / "tiny.toml"
    config.write_text(
        'name = "tiny"\nkind = "exact"\n[task]\nlevels = 4\nknown = 1\n'
        "[grid]\nwidth = 2\nbudgets = [2, 8, 32]\ndraws = 8\ntarget = [1, 4]\n"
        "[theory]\nresamples = 5\n"
    )
    out = tmp_path / "figs"
    assert cli.main(["reproduce", "--config", str(config), "--out", str(out)]) == 0
    for name in ("tiny_model.md", "tiny_model.json", "tiny_predictions.md", "tiny_optimum.png"):
        assert (out / name).is_file()
    assert "Exact experiment: `tiny`" in (out / "README.md").read_text()
    assert cli.main(["sweep", "--config", str(config), "--db", str(tmp_path / "r.sqlite")]) == 2
    assert "is an exact experiment (no sweep, no store)" in capsys.readouterr().err
