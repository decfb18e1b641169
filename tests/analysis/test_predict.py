"""Predictors, metrics and assumption checks on hand-made tables with answers computed by hand,
and the two-gap fit on the exact skill ladder."""

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import kendalltau

from pacbound.analysis import assumptions, exact, predict
from pacbound.analysis.predictors import SCALING_EXPONENTS
from pacbound.numeric.bounds import generalization_bound
from pacbound.report.predictions import label, validation_size_matching
from pacbound.tasks.skills import SkillLadder


def _table(mean_BxN, budgets, seeds=2, buckets=None, **extra):
    """A RunTable whose every seed equals the given mean (tolerance 0)."""
    mean = np.asarray(mean_BxN, float)
    buckets = buckets or tuple(f"b{i}" for i in range(mean.shape[0]))
    error = np.repeat(mean[..., None], seeds, axis=-1)
    return predict.RunTable(buckets, np.asarray(budgets), error, **extra)


def _predictor(name, table=None):
    pool = predict.predictors_for(table) if table is not None else predict.BASELINES
    return next(p for p in pool if p.name == name)


def _choice(name, table, pilots, n, at=None):
    scores = _predictor(name, table).scores(table, np.asarray(pilots), float(n), at)
    return None if scores is None else np.flatnonzero(predict.choice(scores, table.tolerance))


def test_constant_random_and_bucket_blind_predictors():
    table = _table([[0.3, 0.2], [0.4, 0.1], [0.5, 0.0]], [1, 2])
    assert _choice("easiest", table, [0], 2).tolist() == [0]
    assert _choice("middle", table, [0], 2).tolist() == [1]
    assert _choice("hardest", table, [0], 2).tolist() == [2]
    # A uniform pick and 1/n choose nothing in particular: all three tied.
    assert _choice("random", table, [0], 2).tolist() == [0, 1, 2]
    assert _choice("1/n", table, [0], 2).tolist() == [0, 1, 2]


def test_nearest_pilot_takes_the_larger_budget_on_a_tie_in_log_n():
    # n = 8 is as far from 4 as from 16 in log n; the larger (16) decides.
    table = _table([[0.1, 0.2, 0.5, 0.3], [0.2, 0.1, 0.4, 0.2]], [1, 4, 8, 16])
    assert _choice("nearest pilot", table, [0, 1, 3], 8).tolist() == [1]
    assert _choice("nearest pilot", table, [0, 1], 8).tolist() == [1]  # 4 is nearest: b1


def test_curve_fit_extrapolates_a_line_in_log_n_to_the_crossing_computed_by_hand():
    # easy: 0.4 flat; hard: 0.8 − 0.1·log2 n. They cross at log2 n = 4, n = 16.
    budgets = [2, 4, 8, 16, 32, 64]
    hard = [0.8 - 0.1 * math.log2(n) for n in budgets]
    table = _table([[0.4] * 6, hard], budgets)
    scores = _predictor("curve fit").scores(table, np.array([0, 1]), 64.0, None)
    assert scores == pytest.approx([0.4, 0.8 - 0.6])
    assert _choice("curve fit", table, [0, 1], 8).tolist() == [0]
    assert _choice("curve fit", table, [0, 1], 32).tolist() == [1]
    assert _choice("curve fit", table, [0], 32) is None  # a line needs two pilot budgets


def test_the_two_gap_fit_extrapolates_the_switch_to_hard_data_on_the_exact_ladder():
    """Oracle: the exact skill ladder (``pacbound.analysis.exact``), Bayesian linear regression
    with exact risks, not the two-gap formula. Two skills, the base right on skill 1 and
    blind on skill 2 (its level-2 error is 0.70); bucket 1-1 (level-1 problems, nearly
    noiseless, use skill 1 only) and bucket 2-2 (level-2 problems, noise σ = 3, use both
    skills); target uniform on both levels. Easy data never teaches skill 2, so the easy
    bucket's target error stays near ½·R_base(2) at every n; hard data teaches it, but its
    noise costs a variance ∝ 1/n: the hard bucket loses at small n and wins at large n (the
    switch, near n ≈ 256 here, is derived by hand in tests/analysis/test_exact.py).

    Fitted on pilots at n = 8 … 64, where the easy bucket wins at every budget, the two-gap
    fit must still choose hard at the held-out n = 1024 … 4096: its model keeps the base's
    error on target levels outside a bucket (the easy bucket's floor) and shrinks the
    in-bucket gap with n (the hard bucket's), so a closing gap can only be extrapolated to a
    switch. The nearest-pilot winner, which carries the pilots' verdict forward, gets it wrong
    (the check can fail); and the fit's choice never moves back to easier data as n grows."""
    task = SkillLadder(levels=2, known=1, noise_max=3.0, noise_power=4.0, loss_scale=1.0)
    budgets = (8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
    ladder = exact.ExactConfig(
        name="switch", task=task, width=1, budgets=budgets, draws=64, target=(1, 2)
    )
    table = exact.exact_runs(ladder, exact.compute(ladder), {}, None)
    assert table.buckets == ("1-1", "2-2")
    pilots, held_out = np.arange(4), np.arange(7, 10)  # n = 8 … 64; n = 1024 … 4096
    # The measured optimum, beyond the tie tolerance: easy at every pilot, hard held out.
    hard_minus_easy = table.mean[1] - table.mean[0]
    assert np.all(hard_minus_easy[pilots] > table.tolerance)
    assert np.all(hard_minus_easy[held_out] < -table.tolerance)
    for i in held_out:
        n = float(budgets[i])
        assert _choice("two-gap fit", table, pilots, n).tolist() == [1], n
        assert _choice("nearest pilot", table, pilots, n).tolist() == [0], n
    # Its choice direction: along n it only ever moves to harder data, easy at the smallest.
    chosen = [_choice("two-gap fit", table, pilots, float(n)) for n in budgets]
    assert chosen[0].tolist() == [0]
    hardest = [int(c.max()) for c in chosen]
    assert hardest == sorted(hardest)
    two_gap = _predictor("two-gap fit", table)
    assert two_gap.scores(table, np.arange(1), 4096.0, None) is None  # one pilot: no fit


def test_a_certified_bound_switches_where_the_textbook_formula_says():
    # McAllester: R̂ + sqrt((KL + ln(2√n/δ))/(2n)) + shift, KL rising with the bucket, the
    # shift falling. easy: KL 1, shift 0.3; hard: KL 60, shift 0. Switch: the n where
    # sqrt((60 + L)/(2n)) − sqrt((1 + L)/(2n)) = 0.3, L = ln(2√n/δ), found by bisection.
    delta = 0.05

    def gap(kl, n):
        return math.sqrt((kl + math.log(2 * math.sqrt(n) / delta)) / (2 * n))

    low, high = 1.0, 1e6
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if gap(60, middle) - gap(1, middle) > 0.3 else (low, middle)
    switch = math.ceil(low)
    budgets = np.array([switch // 4, switch - 1, switch, 4 * switch])
    kl = np.array([1.0, 60.0])[:, None, None] * np.ones((2, 4, 2))
    n = np.broadcast_to(budgets[None, :, None], kl.shape).astype(float)
    certificate = np.asarray(generalization_bound("mcallester", 0.0, kl, n, delta)[0])
    bound = certificate + np.array([0.3, 0.0])[:, None, None]
    table = _table(
        np.zeros((2, 4)),
        budgets,
        bound={"tv": bound},
        informative=np.ones((2, 4), bool),
    )
    chosen = [_choice("bound: tv", table, [], budgets[i], at=i).tolist() for i in range(4)]
    assert chosen == [[0], [0], [1], [1]]
    # An uninformative bucket is never chosen; with none informative there is no prediction.
    table = replace(table, informative=np.array([[1, 1, 1, 1], [0] * 4], bool))
    assert _choice("bound: tv", table, [], budgets[3], at=3).tolist() == [0]
    none = replace(table, informative=np.zeros((2, 4), bool))
    assert _choice("bound: tv", none, [], budgets[3], at=3) is None


def test_metrics_by_hand():
    # Measured optimum: b0 at n = 1, b2 at n = 2, b1 and b2 tied at n = 4.
    table = _table([[0.1, 0.5, 0.5], [0.2, 0.4, 0.3], [0.3, 0.3, 0.3]], [1, 2, 4])
    steps = [
        {"index": 0, "scores": np.array([0.0, 1.0, 1.0]), "choice": np.array([1, 0, 0], bool)},
        {"index": 1, "scores": np.array([0.0, 0.0, 0.0]), "choice": np.ones(3, bool)},
        {"index": 2, "scores": None, "choice": None},
    ]
    got = predict.metrics(table, steps)
    # Budget 1: exact; budget 2: a uniform pick, exact with 1/3, within one with 2/3,
    # regret (0.5 + 0.4 + 0.3)/3 − 0.3 = 0.1; budget 4: no prediction, counted as a uniform
    # pick in regret_all: (0.5 + 0.3 + 0.3)/3 − 0.3.
    assert got["exact"] == pytest.approx((1 + 1 / 3) / 2)
    assert got["within_one"] == pytest.approx((1 + 2 / 3) / 2)
    assert got["regret"] == pytest.approx(0.1 / 2)
    assert got["regret_all"] == pytest.approx((0 + 0.1 + (1.1 / 3 - 0.3)) / 3)
    assert got["predicted"] == 2 and got["held_out"] == 3


def test_kendall_tau_b_matches_scipy_and_is_zero_for_a_constant():
    rng = np.random.default_rng(0)
    for _ in range(20):
        x, y = rng.integers(0, 4, 7).astype(float), rng.normal(size=7)
        expected = kendalltau(x, y).statistic
        got = predict.kendall_tau_b(x, y)
        assert got == pytest.approx(0.0 if np.isnan(expected) else expected)
    assert predict.kendall_tau_b([1, 1, 1], [0.1, 0.2, 0.3]) == 0.0


def test_sign_agreement_splits_pairs_within_and_across_budgets():
    # Two buckets × two budgets. Within budget 0 the scores order rightly, within budget 1
    # wrongly; across budgets all four pairs rightly. Tied scores get half credit.
    error = np.array([[0.1, 0.3], [0.2, 0.4]])
    scores = np.array([[1.0, 5.0], [2.0, 4.0]])
    got = predict.sign_agreement(scores, error, 0.0)
    assert got["within"] == pytest.approx(0.5)
    assert got["across"] == pytest.approx(1.0)
    tied = predict.sign_agreement(np.array([[1.0, 1.0], [1.0, 1.0]]), error, 0.0)
    assert tied == {"within": 0.5, "across": 0.5}
    # With noise, a pair's weight is 1 − exp(−Δ²/(2v)).
    v = 0.01
    got = predict.sign_agreement(scores, error, v)
    assert got["within"] == pytest.approx(0.5)  # both within pairs have Δ = 0.1


def test_the_labelled_validation_set_is_exact_when_the_errors_are_certain():
    table = _table([[0.0, 1.0], [1.0, 0.0]], [1, 2])
    for row in predict.validation_set(table, [0, 1], sizes=(1, 4)):
        assert row["exact"] == 1.0 and row["regret"] == 0.0
    # Equal errors: any pick is exact and costs nothing.
    flat = _table([[0.5, 0.5], [0.5, 0.5]], [1, 2])
    assert predict.validation_set(flat, [0], sizes=(8,))[0]["regret"] == 0.0
    assert validation_size_matching([{"m": 1, "regret": 0.2}, {"m": 2, "regret": 0.1}], 0.15) == 2
    assert validation_size_matching([{"m": 1, "regret": 0.2}], 0.1) is None


def test_evaluate_ranks_a_perfect_curve_fit_above_the_constants():
    budgets = [2, 4, 8, 32, 64, 128, 256]
    easy = [0.4] * 7
    hard = [0.8 - 0.1 * math.log2(n) for n in budgets]
    rng = np.random.default_rng(1)
    mean = np.array([easy, hard])
    error = mean[..., None] + rng.normal(0, 1e-4, (2, 7, 3))
    table = predict.RunTable(("easy", "hard"), np.array(budgets), error)
    result = predict.evaluate(table, resamples=20)
    forward = result["protocols"]["forward-chaining"]
    assert forward["held_out_budgets"] == budgets[2:]
    rows = forward["predictors"]
    assert rows["curve fit"]["exact"] == 1.0 and rows["curve fit"]["regret_all"] == 0.0
    # The measured optimum is easy up to n = 8, hard from 32 on (the lines cross at 16).
    assert rows["hardest"]["regret_all"] > 0 and rows["easiest"]["regret_all"] > 0
    assert forward["verdict"]["best"] == "curve fit"
    assert forward["verdict"]["best_theory"] is None  # no theory predictor has its input
    lo, hi = rows["curve fit"]["interval"]["exact"]
    assert lo <= 1.0 <= hi


def test_resampling_keeps_the_tolerance_and_draws_only_present_seeds():
    error = np.array([[[0.1, 0.2, np.nan], [0.3, 0.3, 0.3]]])
    table = predict.RunTable(("a",), np.array([1, 2]), error)
    tolerance = table.tolerance
    rng = np.random.default_rng(0)
    for _ in range(20):
        resample = table.resampled(rng)
        assert resample.tolerance == tolerance
        assert not np.isnan(resample.target_error).any()
        assert set(resample.target_error[0, 0]) <= {0.1, 0.2}
    with pytest.raises(ValueError, match="no run of bucket 'a' at n = 2"):
        predict.RunTable(("a",), np.array([1, 2]), np.array([[[0.1], [np.nan]]]))


def _level_table(level_error_BxNxK, base):
    level = np.asarray(level_error_BxNxK, float)[:, :, None, :]
    count = level.shape[-1]
    return predict.RunTable(
        ("a",),
        np.arange(1, level.shape[1] + 1),
        np.zeros(level.shape[:3]),
        levels=tuple(range(1, count + 1)),
        level_error=level,
        base_level_error=np.asarray(base, float),
        target_weights=np.full(count, 1 / count),
        bucket_weights=np.eye(count)[:1],
        pretrain_weights=np.eye(count)[0],
    )


def test_assumptions_hold_on_smooth_rising_risks_and_fail_on_jumps_and_drops():
    # Four levels: 1-Lipschitz in unit coordinates means steps of at most 1/3.
    smooth = _level_table([[[0.0, 0.2, 0.4, 0.6]]], [0.1, 0.3, 0.5, 0.7])
    checks = assumptions.check(smooth)
    assert {t: c["status"] for t, c in checks.items()} == {
        "tv": "valid",
        "coverage": "valid",
        "w1": "valid",
        "upward": "valid",
    }
    # A jump of 0.8 between levels 2 and 3 (constant 2.4) and a drop of 0.3 at level 4.
    rough = _level_table([[[0.0, 0.1, 0.9, 0.6]]], [0.1, 0.3, 0.5, 0.7])
    checks = assumptions.check(rough)
    assert checks["w1"]["status"] == "violated" and checks["w1"]["violations"] == 1
    assert checks["w1"]["worst"]["lipschitz"] == pytest.approx(2.4)
    assert checks["upward"]["status"] == "violated"
    assert "largest drop 0.30" in checks["upward"]["detail"]
    # Within the per-level noise a drop is not a violation.
    noisy = replace(rough, level_tolerance=0.35)
    assert assumptions.check(noisy)["upward"]["status"] == "valid"
    bare = predict.RunTable(("a",), np.array([1, 2]), np.zeros((1, 2, 1)))
    assert assumptions.check(bare)["w1"]["status"] == "untestable"


def test_a_violated_term_is_labelled_in_the_report():
    checks = {"w1": {"status": "violated"}, "tv": {"status": "valid"}}
    assert label("bound: w1", checks) == "bound: w1 (assumption violated)"
    assert label("bound: tv", checks) == "bound: tv"
    assert label("curve fit", checks) == "curve fit"


def test_a_table_of_base_draws_resamples_draws_then_runs_within_them():
    from pacbound.analysis.runs import RunTable

    # Two buckets, one budget, two draws of three runs: draw 0's runs all 0.2, draw 1's all
    # 0.6 in both buckets. Drawing two draws with replacement gives a cell mean of 0.2, 0.4 or
    # 0.6 (chances 1/4, 1/2, 1/4), and both cells always the same (one set of draws).
    errors = np.array([[[0.2, 0.2, 0.2, 0.6, 0.6, 0.6]], [[0.2, 0.2, 0.2, 0.6, 0.6, 0.6]]])
    table = RunTable(buckets=("a", "b"), budgets=np.array([4]), target_error=errors, draws=2)
    rng = np.random.default_rng(0)
    means = np.array([table.resampled(rng).mean[:, 0] for _ in range(4000)])
    assert np.array_equal(means[:, 0], means[:, 1])
    values, counts = np.unique(np.round(means[:, 0], 9), return_counts=True)
    assert values.tolist() == [0.2, 0.4, 0.6]
    assert counts / 4000 == pytest.approx([0.25, 0.5, 0.25], abs=0.03)


def test_a_table_with_outcomes_resamples_the_held_out_problems_once_for_every_run():
    from pacbound.analysis.runs import RunTable

    # One level of four problems. Bucket a's run and bucket b's run are wrong on problem 0
    # only; the base on problems 0 and 1. A resample draws the four problems with replacement
    # (counts c0…c3, multinomial), so a's error is c0/4 with c0 ~ Binomial(4, 1/4): 0, ¼, ½,
    # ¾, 1 with chances 81, 108, 54, 12, 1 over 256. One draw for every model: a and b agree
    # in every resample, and the base is a's error plus c1/4, never below it.
    wrong = np.zeros((2, 1, 1, 1, 4), bool)
    wrong[..., 0] = True
    base_wrong = np.array([[[True, True, False, False]]])
    table = RunTable(
        buckets=("a", "b"),
        budgets=np.array([4]),
        target_error=np.full((2, 1, 1), 0.25),
        levels=(2,),
        level_error=np.full((2, 1, 1, 1), 0.25),
        base_level_error=np.array([0.5]),
        target_weights=np.array([1.0]),
        wrong=wrong,
        base_wrong=base_wrong,
    )
    rng = np.random.default_rng(0)
    resamples = [table.resampled(rng) for _ in range(4000)]
    errors = np.array([r.target_error[:, 0, 0] for r in resamples])
    assert np.array_equal(errors[:, 0], errors[:, 1])
    for r in resamples:  # the target error is the resampled levels' mixture
        np.testing.assert_array_equal(r.target_error, r.level_error @ r.target_weights)
    base = np.array([r.base_level_error[0] for r in resamples])
    assert np.all(base >= errors[:, 0]) and base.mean() == pytest.approx(0.5, abs=0.02)
    values, counts = np.unique(errors[:, 0], return_counts=True)
    assert values.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert counts / 4000 == pytest.approx(np.array([81, 108, 54, 12, 1]) / 256, abs=0.03)
    with pytest.raises(ValueError, match="outcomes are given for the runs and the base"):
        RunTable(("a",), np.array([4]), np.zeros((1, 1, 1)), wrong=wrong[:1])


def test_the_far_protocols_hold_out_every_budget_beyond_the_smallest_half_or_third():
    def split(protocol, count):
        steps = predict.held_out(protocol, count)
        return steps[0][1].tolist(), [i for i, _ in steps]

    assert split("far-half", 6) == ([0, 1, 2], [3, 4, 5])
    assert split("far-third", 6) == ([0, 1], [2, 3, 4, 5])
    assert split("far-half", 10) == ([0, 1, 2, 3, 4], [5, 6, 7, 8, 9])
    assert split("far-third", 10) == ([0, 1, 2, 3], [4, 5, 6, 7, 8, 9])
    assert predict.held_out("far-third", 2) == []  # two pilots at least: nothing left
    assert predict.PROTOCOLS[0] == predict.HEADLINE == "far-half"


def test_the_largest_pilot_and_the_scaling_law_read_the_pilots_as_a_practitioner_would():
    # easy: 0.30 + 0.2·n^(−α); hard: 0.05 + 0.9·n^(−α), α on the fitted grid. Hard is worse
    # at every pilot n ≤ 8 and better from n* = (0.7/0.25)^(1/α) on, beyond the pilots.
    alpha = float(SCALING_EXPONENTS[60])
    budgets = np.array([1, 2, 4, 8, 64, 4096])
    easy, hard = 0.30 + 0.2 * budgets**-alpha, 0.05 + 0.9 * budgets**-alpha
    crossing = (0.7 / 0.25) ** (1 / alpha)
    assert 8 < crossing < 4096
    table = _table([easy, hard], budgets)
    pilots = [0, 1, 2, 3]
    assert _choice("largest pilot", table, pilots, 4096).tolist() == [0]
    scores = _predictor("scaling law").scores(table, np.array(pilots), 4096.0, None)
    assert scores == pytest.approx([easy[-1], hard[-1]], abs=1e-9)
    assert _choice("scaling law", table, pilots, 4096).tolist() == [1]
    assert _predictor("scaling law").scores(table, np.array([0, 1]), 64.0, None) is None


def test_learned_and_transferred_by_hand():
    """Two levels, easy = {1}, hard = {2}, target uniform. Pilots n = 1, 4: each bucket's own
    level falls as A·n^(−2) (easy: 0.5, hard: 0.8); the other level reads 0.6 (easy's level
    2) and 0.3 (hard's level 1) at the largest pilot. At n = 16 the learned levels are at
    A/256 and the transferred ones stay: easy ½(0.5/256 + 0.6), hard ½(0.3 + 0.8/256)."""
    budgets = np.array([1, 4, 16])
    level = np.zeros((2, 3, 1, 2))  # BxNxSxK
    level[0, :, 0, 0] = 0.5 * budgets**-2.0
    level[0, :, 0, 1] = [0.7, 0.6, 0.1]  # the held-out budget's errors are never read
    level[1, :, 0, 1] = 0.8 * budgets**-2.0
    level[1, :, 0, 0] = [0.2, 0.3, 0.9]
    weights = np.array([0.5, 0.5])
    table = predict.RunTable(
        ("easy", "hard"),
        budgets,
        level @ weights,
        levels=(1, 2),
        level_error=level,
        base_level_error=np.array([0.5, 0.9]),
        target_weights=weights,
        bucket_weights=np.eye(2),
    )
    scores = _predictor("learned + transferred", table).scores(table, np.array([0, 1]), 16.0, 2)
    assert scores == pytest.approx([0.5 * (0.5 / 256 + 0.6), 0.5 * (0.3 + 0.8 / 256)], abs=1e-12)
    # Levels that have not begun to fall on the pilots stay nearly flat (the smallest α).
    flat = replace(table, level_error=np.full_like(level, 0.4))
    scores = _predictor("learned + transferred", flat).scores(flat, np.array([0, 1]), 16.0, 2)
    assert scores == pytest.approx([0.4, 0.4], abs=0.01)


def test_a_predictors_ties_come_from_the_pilots_noise_not_the_held_out_budgets():
    # Pilots n = 1, 2: a at 0.30, b at 0.35, seeds within ±0.002. The held-out n = 4 is wild
    # (seeds 0 and 1), which inflates the table's pooled tolerance beyond the 0.05 gap; the
    # nearest pilot must still choose a alone there, by the pilots' own noise.
    quiet = np.array([-0.002, 0.002, -0.002, 0.002])
    errors = np.array(
        [
            [0.30 + quiet, 0.30 + quiet, [0.0, 1.0, 0.0, 1.0]],
            [0.35 + quiet, 0.35 + quiet, [1.0, 0.0, 1.0, 0.0]],
        ]
    )
    table = predict.RunTable(("a", "b"), np.array([1, 2, 4]), errors)
    assert table.tolerance > 0.05 > table.tolerance_over(np.array([0, 1]))
    steps = predict.run_protocol(table, _predictor("nearest pilot"), "leave-one-budget-out")
    assert steps[2]["choice"].tolist() == [True, False]


def test_the_verdict_picks_the_best_again_in_every_resample():
    # Two baselines whose resampled regrets alternate (one of them is 0 in every resample),
    # one theory predictor at 0.05 throughout. Picking the best baseline once (b1, point 0.0)
    # would pair 0.05 with b1's 0.0 and 0.2 and give an interval reaching below 0; picked
    # again per resample the best baseline is 0 every time, and theory loses by 0.05.
    def row(kind, point, draws):
        return {"kind": kind, "regret_all": point, "regret_draws": draws}

    rows = {
        "b1": row("baseline", 0.0, [0.0, 0.2] * 50),
        "b2": row("baseline", 0.1, [0.2, 0.0] * 50),
        "t": row("theory", 0.05, [0.05] * 100),
    }
    result = predict.verdict(rows, units=3)
    assert result["best_baseline"] == "b1" and result["best_theory"] == "t"
    assert result["difference_interval"] == pytest.approx([0.05, 0.05])
    assert result["theory_beats_baseline"] is False


def test_a_resample_decides_which_certificates_are_informative_from_its_own_seeds():
    # Bucket a at n = 1: certificates 0.2 and 0.9 (mean 0.55) against a base error of 0.5:
    # not informative as measured; a resample of both seeds at 0.2 (chance 1/4) is.
    certificate = np.array([[[0.2, 0.9], [0.2, 0.9]], [[0.8, 0.8], [0.8, 0.8]]])
    table = predict.RunTable(
        ("a", "b"),
        np.array([1, 2]),
        np.full((2, 2, 2), 0.5),
        certificate=certificate,
        base_bucket_error=np.array([0.5, 0.5]),
        informative=np.zeros((2, 2), bool),
    )
    rng = np.random.default_rng(0)
    masks = np.array([table.resampled(rng).informative for _ in range(4000)])
    assert masks[:, 0, 0].mean() == pytest.approx(0.25, abs=0.03)
    assert not masks[:, 1].any()  # b's certificates are above its base error in every resample


def test_the_coverage_bound_is_a_labelled_predictor_outside_the_theory_verdict():
    """Its bound adds the network's labelled error on target levels: not label-free."""
    kinds = {p.name: p.kind for p in predict.certified_predictors(("tv", "coverage"))}
    assert kinds == {"bound: tv": "theory", "bound: coverage": "labelled"}
    rows = {
        "b": {"kind": "baseline", "regret_all": 0.1, "regret_draws": [0.1] * 10},
        "t": {"kind": "theory", "regret_all": 0.2, "regret_draws": [0.2] * 10},
        "bound: coverage": {"kind": "labelled", "regret_all": 0.0, "regret_draws": [0.0] * 10},
    }
    result = predict.verdict(rows, units=3)
    assert result["best_theory"] == "t" and result["theory_beats_baseline"] is False
