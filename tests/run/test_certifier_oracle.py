"""The JAX ``Certifier`` end to end against oracles written out here: a KL computed by hand
for a fine-tuning that moved exactly two weights, the kl-bound certificate evaluated with
mpmath (bisection on the binary kl divergence, the Langford–Caruana step, the δ split and the
union bound over the choices as ``pacbound.run.certify`` states them), and the independence
of the pilot's draws from the certificate's, read from the draws the network is evaluated on.

One certification is run (module fixture) on a tiny transformer at initialisation and a
synthetic sample S whose rows carry their own index in their first tokens; a spy around the
compiled per-pair function records every (θ noise, example) pair and its 0-1 loss.
"""

from dataclasses import replace
from functools import partial

import jax
import mpmath as mp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from pacbound import config
from pacbound.config import CertifyConfig
from pacbound.model import init_params
from pacbound.run.certify import Certifier

# Exactly representable in float32, so the hand KL needs no rounding allowance: the two
# moved weights start at 0.25 and −0.5 and end at 0.75 and −0.25; ε = 2⁻¹⁰.
MOVED = {3: (0.25, 0.75), 2001: (-0.5, -0.25)}
EPSILON = 2.0**-10
SIGMAS = (0.05, 0.2)
FAMILIES = ("isotropic", "magnitude")
DELTA, SHARE, CELLS = 0.1, 0.3, 4  # simultaneous: each cell spends δ / 4
PILOT, DRAWS, VALIDITY = 8, 32, 8
N = 2**16  # |S|: two independent draws of 8 and 32 indices meet with probability < 0.4%
DIGITS = 4  # a row's index in base 16 in its first four tokens (16⁴ = N)


def _sample(rows, rng, vocab, length, first=0):
    """Synthetic examples: tokens whose first DIGITS positions spell the row's index (plus
    ``first``) in base 16; odd rows score 16 solution positions, even rows none (their loss is
    0 under every θ), so the Monte-Carlo risk lies strictly inside (0, 1)."""
    index = np.arange(first, first + rows)
    tokens = rng.integers(0, vocab, (rows, length)).astype(np.int32)
    for j in range(DIGITS):
        tokens[:, j] = index // 16 ** (DIGITS - 1 - j) % 16
    mask = np.zeros((rows, length), np.float32)
    mask[index % 2 == 1, 8:24] = 1.0
    return tokens, mask


def _index(tokens_CxL):
    return sum(
        np.asarray(tokens_CxL[:, j]).astype(np.int64) * 16 ** (DIGITS - 1 - j)
        for j in range(DIGITS)
    )


@pytest.fixture(scope="module")
def certified(tiny_certify):
    experiment = next(
        e for e in config.load_all(tiny_certify) if e.name == "tinycert-full"
    )  # full fine-tuning: θ itself is the posterior's mean
    experiment = replace(
        experiment,
        certify=CertifyConfig(
            enabled=True,
            sigmas=SIGMAS,
            families=FAMILIES,
            epsilon=EPSILON,
            delta=DELTA,
            mc_share=SHARE,
            pilot_draws=PILOT,
            draws=DRAWS,
            validity_draws=VALIDITY,
            simultaneous=True,
            chunk=8,
            seed=3,
        ),
    )
    model = experiment.model
    base, unravel = ravel_pytree(init_params(jax.random.PRNGKey(0), model))
    center = base
    for i, (before, after) in MOVED.items():
        base = base.at[i].set(before)
        center = center.at[i].set(after)
    rng = np.random.default_rng(0)
    vocab, length = model.vocab_size, model.length
    pools = {
        name: _sample(VALIDITY, rng, vocab, length, first)
        for name, first in (("easy", 0), ("target", 100))
    }
    certifier = Certifier(experiment, model, base, unravel, None, pools, CELLS)

    # The spy: every call of the compiled per-pair functions, with the part it served (the
    # target's pairs of the nearest σ reuse the certified posterior's draws: not recorded).
    calls, part = [], {}
    wrong, errors = certifier._wrong, certifier._errors
    pair, target_pairs = certifier._pair, certifier._target_pairs

    def log_call(scale_D, bank_RxD, rows_C, tokens_CxL, wrong_C):
        calls.append(
            {
                "part": part["now"],
                "scale": np.asarray(scale_D),
                "noise": np.asarray(bank_RxD)[np.asarray(rows_C)],
                "example": _index(tokens_CxL),
                "wrong": np.asarray(wrong_C),
            }
        )

    def spy_wrong(center_D, scale_D, bank_RxD, rows_C, tokens_CxL, mask_CxL):
        out = wrong(center_D, scale_D, bank_RxD, rows_C, tokens_CxL, mask_CxL)
        log_call(scale_D, bank_RxD, rows_C, tokens_CxL, out)
        return out

    def spy_pair(center_D, scale_D, bank_RxD, rows_C, *rest):
        out = pair(center_D, scale_D, bank_RxD, rows_C, *rest)
        if part["now"] == "target":
            log_call(scale_D, bank_RxD, rows_C, rest[-2], np.asarray(out)[:, 0])
        return out

    def spy_errors(center_D, scale_D, which, *rest):
        part["now"] = which
        return errors(center_D, scale_D, which, *rest)

    def spy_target_pairs(*args):
        part["now"] = "near" if part["now"] == "target" else "target"
        return target_pairs(*args)

    certifier._wrong, certifier._errors = spy_wrong, spy_errors
    certifier._pair, certifier._target_pairs = spy_pair, spy_target_pairs
    tokens, mask = _sample(N, rng, vocab, length)
    record = certifier.certify(center, center, N, tokens, mask, "easy", seed=7, pilot_all=True)
    return record, calls, np.asarray(base)


# --- the oracle: the certificate's statement on the tests' kl⁻¹ (conftest) ----------------


def _certificate(kl_inverse, mc_risk, kl, n, delta, choices, share, draws):
    """R_d(Q) ≤ kl⁻¹(r̄, (KL + ln(2√n·m/((1−s)δ)))/n) with r̄ = kl⁻¹(r̂, ln(2/(s·δ))/M):
    the Langford–Caruana step spends s·δ, the kl bound (1 − s)·δ split over the m choices."""
    with mp.workdps(50):
        corrected = kl_inverse(mc_risk, mp.log(2 / (mp.mpf(share) * delta)) / draws)
        budget = (kl + mp.log(2 * mp.sqrt(n) * choices / ((1 - mp.mpf(share)) * delta))) / n
        return float(kl_inverse(corrected, budget))


def _hand_kl(family, sigma):
    """Σ over the two moved weights of Δ_i²/(2σ²g_i²); every other weight has Δ = 0 and the
    same variance under Q and P, so contributes nothing."""
    with mp.workdps(50):
        total = mp.mpf(0)
        for before, after in MOVED.values():
            g = 1 if family == "isotropic" else abs(mp.mpf(before)) + mp.mpf(EPSILON)
            total += (mp.mpf(after) - mp.mpf(before)) ** 2 / (2 * mp.mpf(sigma) ** 2 * g**2)
        return float(total)


def test_the_kl_of_every_candidate_is_the_hand_sum_over_the_two_moved_weights(certified):
    """Oracle: KL(N(θ_ft, σ²g²) ‖ N(θ_pre, σ²g²)) = Σ_i Δ_i²/(2σ²g_i²) over the two moved
    coordinates, written out here (g = 1, or |θ_pre,i| + ε), for all 2 × 2 candidates."""
    record, _, base = certified
    assert base[3] == 0.25 and base[2001] == -0.5
    hand = {(f, s): _hand_kl(f, s) for f in FAMILIES for s in SIGMAS}
    assert hand[("isotropic", 0.2)] == pytest.approx((0.25 + 0.0625) / 0.08)  # 3.90625
    got = {(c["family"], c["sigma"]): c["kl"] for c in record["candidates"]}
    assert set(got) == set(hand)
    for key, value in hand.items():
        assert got[key] == pytest.approx(value, rel=1e-12), key
    assert record["kl"] == pytest.approx(hand[(record["family"], record["sigma"])], rel=1e-12)


def test_the_certificate_is_the_kl_bound_evaluated_independently(certified, kl_inverse):
    """Oracle: the tests' mpmath kl⁻¹ (conftest.py), with the certificate's δ split
    (s·δ for Langford–Caruana over M draws, (1 − s)·δ/m for the kl bound, δ = δ_config/cells
    under ``simultaneous``); the Monte-Carlo risk is the share of the spied certificate pairs
    the network got wrong, and the chosen posterior is the lowest forecast of the pilot."""
    record, calls, _ = certified
    certificate = partial(_certificate, kl_inverse)
    delta, choices = DELTA / CELLS, len(SIGMAS) * len(FAMILIES)
    assert record["delta"] == pytest.approx(delta) and record["choices"] == choices
    certify = [c for c in calls if c["part"] == "certify"]
    wrong = np.concatenate([c["wrong"] for c in certify])
    assert wrong.size == DRAWS == record["draws"]
    assert record["mc_risk"] == wrong.mean()
    assert 0 < record["mc_risk"] < 1  # both kl inversions are non-trivial
    kl = _hand_kl(record["family"], record["sigma"])
    expected = certificate(record["mc_risk"], kl, N, delta, choices, SHARE, DRAWS)
    assert record["certificate"] == pytest.approx(expected, rel=1e-9)
    assert record["floor"] == pytest.approx(
        certificate(0.0, 0.0, N, delta, choices, SHARE, DRAWS), rel=1e-9
    )
    # The oracle tells the union bound and the split apart at this tolerance.
    for wrong_statement in (
        certificate(record["mc_risk"], kl, N, delta, 1, SHARE, DRAWS),  # no union bound
        certificate(record["mc_risk"], kl, N, DELTA, choices, SHARE, DRAWS),  # δ not split
        certificate(record["mc_risk"], kl, N, delta, choices, 0.5, DRAWS),  # default share
    ):
        assert abs(wrong_statement - expected) > 1e-6 * expected
    # The pilot: every candidate's risk is its share of wrong pilot pairs, and the choice is
    # the lowest forecast (the certificate at the pilot's risk), ties to the smaller KL.
    forecast = {}
    for c in record["candidates"]:
        g = 1.0 if c["family"] == "isotropic" else 0.25 + EPSILON  # at the moved weight 3
        mine = [
            d for d in calls if d["part"] == "pilot" and np.isclose(d["scale"][3], c["sigma"] * g)
        ]
        pilot_wrong = np.concatenate([d["wrong"] for d in mine])
        assert pilot_wrong.size == PILOT and c["pilot_risk"] == pilot_wrong.mean()
        key = (c["family"], c["sigma"])
        kl_c = _hand_kl(*key)
        forecast[key] = (
            certificate(c["pilot_risk"], kl_c, N, delta, choices, SHARE, DRAWS),
            kl_c,
        )
    assert (record["family"], record["sigma"]) == min(forecast, key=forecast.get)


def test_pilot_and_certificate_pairs_share_no_draw(certified):
    """Oracle: the draws themselves, as the network received them. The pilot's θ noise rows
    and the certificate's are different vectors (none equal, none shared), each certificate
    pair has its own θ, and the certificate's examples are not the pilot's: at |S| = 2¹⁶
    independent uniform draws of 8 and 32 indices share one with probability < 0.4%, while
    reusing the pilot's indices (or its generator state) would share them all."""
    _, calls, base = certified
    noise = {p: [] for p in ("pilot", "certify", "bucket", "target")}
    examples = {p: [] for p in noise}
    pilot_rounds = {}
    for c in calls:
        if c["part"] == "pilot":
            # The pilot evaluates every candidate on the same pairs; keep one candidate's.
            key = float(c["scale"][3])
            pilot_rounds.setdefault(key, []).append(c)
            continue
        noise[c["part"]].append(c["noise"])
        examples[c["part"]].append(c["example"])
    rounds = list(pilot_rounds.values())
    assert len(rounds) == len(SIGMAS) * len(FAMILIES)
    for other in rounds[1:]:  # the candidates share the pilot's pairs
        np.testing.assert_array_equal(
            np.concatenate([c["noise"] for c in other]),
            np.concatenate([c["noise"] for c in rounds[0]]),
        )
    noise["pilot"] = [c["noise"] for c in rounds[0]]
    examples["pilot"] = [c["example"] for c in rounds[0]]
    noise = {p: np.concatenate(v) for p, v in noise.items()}
    examples = {p: np.concatenate(v) for p, v in examples.items()}
    assert len(noise["pilot"]) == PILOT and len(noise["certify"]) == DRAWS
    # θ noise: standard normal vectors of the weights' dimension, all different rows.
    every = np.concatenate(list(noise.values()))
    assert every.shape == (PILOT + DRAWS + 2 * VALIDITY, base.size)
    assert abs(float(every.std()) - 1) < 0.01
    distinct = np.unique(every, axis=0)
    assert len(distinct) == len(every)  # no part reuses another's (or its own) θ draw
    # Nearest pilot row to any certificate row: far apart (independent N(0, I) vectors in
    # d = 3376 weights are about √(2d) ≈ 82 apart), not a copy.
    gap = np.linalg.norm(noise["certify"][:, None] - noise["pilot"][None], axis=-1)
    assert gap.min() > 50
    # Examples: within S, the pilot's and the certificate's indices share none.
    assert examples["pilot"].max() < N and examples["certify"].max() < N
    assert not set(examples["pilot"]) & set(examples["certify"])
    assert len(set(examples["certify"])) == DRAWS  # each pair its own example (at 2¹⁶)
    # The validity pairs come from their own pools (indices 0… and 100… of those pools).
    assert set(examples["bucket"]) == set(range(VALIDITY))
    assert set(examples["target"]) == set(range(100, 100 + VALIDITY))


def test_validity_risks_are_the_wrong_answers_of_their_own_pairs(certified):
    """The target pairs serve both the target risk and the disagreement: the risk is still
    the mean error of the certified posterior's θ draws on the target pool, and the bucket's
    of its own."""
    record, calls, _ = certified
    for part, key in (("bucket", "in_distribution"), ("target", "target")):
        wrong = np.concatenate([c["wrong"] for c in calls if c["part"] == part])[:VALIDITY]
        assert record[key]["risk"] == wrong.sum() / VALIDITY
