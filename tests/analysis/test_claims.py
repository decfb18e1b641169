"""Each claim's rule on hand-made tables whose verdicts follow from the rule by hand.

Tables without noise (every seed alike, exact risks) give intervals of width 0, so each
contrast's sign decides; tables with one wildly noisy cell give "undecided"."""

import numpy as np
import pytest

from pacbound.analysis.claims import FAILS, HOLDS, UNDECIDED, judge
from pacbound.analysis.hierarchy import Measured, resample
from pacbound.analysis.inference import TOO_FEW_DRAWS


def table(target_BxN, *, levels_BxNxK=None, base_K=None, train_BxN=None, seeds=3, draws=1):
    """A one-level (or K-level) table: every seed and draw alike unless the caller varies
    them. ``target_BxN``: errors with one level; ``levels_BxNxK``: errors per level
    (target and buckets weigh levels uniformly)."""
    if levels_BxNxK is None:
        levels_BxNxK = np.asarray(target_BxN, float)[..., None]
    levels_BxNxK = np.asarray(levels_BxNxK, float)
    b, n, k = levels_BxNxK.shape
    level_error = np.broadcast_to(levels_BxNxK[None, :, :, None, :], (draws, b, n, seeds, k))
    train = np.zeros((b, n)) if train_BxN is None else np.asarray(train_BxN, float)
    return Measured(
        buckets=tuple(f"b{i}" for i in range(b)),
        budgets=tuple(2**i for i in range(n)),
        draws=tuple(range(draws)),
        levels=tuple(range(1, k + 1)),
        level_error=level_error.copy(),
        base_level_error=np.broadcast_to(
            np.full(k, 0.5) if base_K is None else np.asarray(base_K, float), (draws, k)
        ).copy(),
        train_error=np.broadcast_to(train[None, :, :, None], (draws, b, n, seeds)).copy(),
        target_weights=np.full(k, 1 / k),
        bucket_weights=np.full((b, k), 1 / k),
    )


def verdicts(measured, easy_high_level=1, resamples=300):
    replicates = resample(measured, np.random.default_rng(0), resamples)
    return {v.claim: v for v in judge(measured, replicates, easy_high_level)}


def noisy(measured, bucket, budget):
    """One cell's seeds spread over [0, 1]: its contrasts become undecided."""
    errors = measured.level_error.copy()
    errors[:, bucket, budget, :, :] = np.linspace(0, 1, errors.shape[3])[None, :, None]
    return Measured(**{**measured.__dict__, "level_error": errors})


def test_c1_a_reversal_holds_a_dominant_bucket_fails():
    assert verdicts(table([[0.2, 0.6], [0.5, 0.3]]))["C1"].verdict == HOLDS
    dominant = verdicts(table([[0.2, 0.2], [0.5, 0.5]]))["C1"]
    assert dominant.verdict == FAILS and "index 0 best at every budget" in dominant.detail
    undecided = verdicts(noisy(table([[0.45, 0.6], [0.5, 0.5]], seeds=6), 0, 1))["C1"]
    assert undecided.verdict == UNDECIDED


def test_c2_an_interior_optimum_holds_interior_always_worst_fails():
    interior = table([[0.5, 0.5], [0.3, 0.6], [0.6, 0.4]])
    assert verdicts(interior)["C2"].verdict == HOLDS
    assert verdicts(interior)["C2"].statistic == pytest.approx(0.2)
    worst = table([[0.3, 0.3], [0.6, 0.6], [0.4, 0.4]])
    assert verdicts(worst)["C2"].verdict == FAILS
    assert verdicts(table([[0.2], [0.3]]))["C2"].verdict == UNDECIDED  # two buckets


def test_c3_an_optimum_moving_harder_holds_and_moving_easier_fails():
    # Optimum 0 0 1 1 2 2 over six budgets: ρ = 0.956 (scipy.stats.spearmanr), and 1 of the
    # 90 orderings of these optima reaches it (p = 1/90).
    best = [0, 0, 1, 1, 2, 2]
    harder = table([[0.1 if b == o else 0.5 for o in best] for b in range(3)])
    verdict = verdicts(harder)["C3"]
    assert verdict.verdict == HOLDS and verdict.statistic == pytest.approx(0.956182887467515)
    assert "0→1→2 (monotone); permutation p = 0.011" in verdict.detail
    # The same move over four budgets, 0 0 1 2: the path is 1 of 12 orderings, p = 0.083:
    # no sampling noise, but too few budgets to tell a trend from chance.
    few = table([[0.1, 0.1, 0.5, 0.5], [0.3, 0.3, 0.2, 0.4], [0.5, 0.5, 0.4, 0.1]])
    assert verdicts(few)["C3"].verdict == UNDECIDED
    easier = table([[0.5, 0.5, 0.1], [0.1, 0.1, 0.5]])
    assert verdicts(easier)["C3"].verdict == FAILS


def test_c4_hard_data_at_the_smallest_budget_losing_on_every_level_holds():
    # Base 0.5 on both levels; the hard bucket (last) at n = 1 scores 0.6 and 0.7.
    levels = np.array([[[0.3, 0.6], [0.2, 0.5]], [[0.6, 0.7], [0.2, 0.3]]])
    assert verdicts(table(None, levels_BxNxK=levels))["C4"].verdict == HOLDS
    levels[1, 0, 0] = 0.4  # it gains on level 1
    assert verdicts(table(None, levels_BxNxK=levels))["C4"].verdict == FAILS


def test_c5_easy_data_helps_easy_levels_only_holds_helping_a_harder_level_fails():
    # Level 1 is the easy bucket's; base 0.5 on both levels.
    levels = np.array([[[0.3, 0.5], [0.2, 0.5]], [[0.6, 0.7], [0.2, 0.3]]])
    assert verdicts(table(None, levels_BxNxK=levels))["C5"].verdict == HOLDS
    levels[0, 1, 1] = 0.4  # the easy bucket at the second budget gains on level 2
    assert verdicts(table(None, levels_BxNxK=levels))["C5"].verdict == FAILS


def test_c6_weaker_bases_with_easier_optima_hold():
    # Three draws; base target errors 0.2, 0.4, 0.6 and optima 2, 1, 0 (hard for the
    # strongest base): collinear, slope −5 in every replicate that draws two bases or more.
    errors = np.array(
        [
            [[0.5], [0.5], [0.1]],  # draw 0: hardest bucket best
            [[0.5], [0.1], [0.5]],
            [[0.1], [0.5], [0.5]],
        ]
    )  # DxBxN
    measured = table(errors[0], draws=3)
    level = np.broadcast_to(errors[:, :, :, None, None], measured.level_error.shape).copy()
    base = np.array([[0.2], [0.4], [0.6]])
    measured = Measured(**{**measured.__dict__, "level_error": level, "base_level_error": base})
    verdict = verdicts(measured)["C6"]
    assert verdict.verdict == HOLDS and verdict.statistic == pytest.approx(-5)
    assert verdict.low == pytest.approx(-5) and verdict.high == pytest.approx(-5)
    assert verdicts(table([[0.2], [0.3]]))["C6"].verdict == UNDECIDED  # one draw


def test_m1_and_m2_gaps_as_the_paper_says_hold_and_the_other_way_fail():
    # One level: in-bucket error = target error, so the extrapolation gap is 0 everywhere
    # (M2's difficulty contrast is 0: not below, not above: undecided).
    target = [[0.3, 0.2], [0.6, 0.4]]
    train = [[0.1, 0.1], [0.1, 0.2]]  # gaps: easy 0.2, 0.1; hard 0.5, 0.2
    result = verdicts(table(target, train_BxN=train))
    assert result["M1"].verdict == HOLDS
    assert result["M1"].statistic == pytest.approx(((0.5 - 0.2) + (0.2 - 0.1)) / 2)
    assert result["M2"].verdict == UNDECIDED
    reversed_gap = verdicts(table(target, train_BxN=[[0.1, 0.1], [0.5, 0.4]]))["M1"]
    assert reversed_gap.verdict == FAILS
    # Two levels, buckets on one level each: the target (both levels) minus the bucket's.
    levels = np.array([[[0.2, 0.8], [0.2, 0.8]], [[0.5, 0.5], [0.5, 0.5]]])
    measured = table(None, levels_BxNxK=levels)
    weights = np.array([[1.0, 0.0], [0.0, 1.0]])
    measured = Measured(**{**measured.__dict__, "bucket_weights": weights})
    m2 = verdicts(measured)["M2"]  # extrapolation: easy 0.5 − 0.2 = 0.3, hard 0.5 − 0.5 = 0
    assert m2.verdict == HOLDS and m2.statistic == pytest.approx(-0.3)


def test_a_swept_store_gives_every_claim_pooled_and_per_draw(tiny, tiny_store):
    from pacbound import config
    from pacbound.analysis.claims import CLAIMS, claims_document
    from pacbound.analysis.hierarchy import LEVELS, from_store
    from pacbound.store import Store

    experiment = config.load(tiny)
    with Store(tiny_store) as store:
        measured = from_store(
            experiment, store.bases("tiny", problems=24), store.cells("tiny", problems=24)
        )
    assert measured.wrong.shape == (1, 2, 2, 3, 3, 8)
    # The outcomes count what the stored level errors say.
    assert np.allclose(measured.wrong.mean(axis=-1), measured.level_error)
    document = claims_document("tiny", measured, 3, np.random.default_rng(0), resamples=50)
    assert [v["claim"] for v in document["pooled"]] == list(CLAIMS)
    assert document["resampled"] == list(LEVELS[1:])  # one draw: seeds, then problems
    # One base draw: the pooled verdicts do not speak for base draws in general.
    assert {v["verdict"] for v in document["pooled"]} <= {UNDECIDED, TOO_FEW_DRAWS}
    alone = document["per_draw"]["0"]
    for pooled, own in zip(document["pooled"], alone, strict=True):
        if own["verdict"] != UNDECIDED:
            assert pooled["verdict"] == TOO_FEW_DRAWS
            assert pooled["detail"].startswith(f"this base alone: {own['verdict']}")
    assert document["holds_in_draws"]["C6"] is None
    assert set(document["per_draw"]) == {"0"}
