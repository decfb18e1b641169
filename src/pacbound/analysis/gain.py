"""The gain over the base, certified: bounds on R_d(Q) − R_d(B) against the exact gain
(theory/bounds.md, "The gain over the base"), their extension to the target's gain under a
stated shift, and whether any constant shift could make such a bound track d*(n)
(theory/optimal_difficulty.md).

Data in (the exact grid's empirical damage and improvement, KL, empirical risk, the exact
per-level risks of every draw and of the base), plain dicts out; the exact report renders them.
"""

from __future__ import annotations

import itertools

import numpy as np

from pacbound.numeric.bounds import certificate_bound
from pacbound.numeric.lower import lower_to_numpy
from pacbound.numeric.testset import clopper_pearson
from pacbound.symbolic import gain

_split_kl = lower_to_numpy(gain.gain_certificate, ("damage", "improvement", "kl_div", "n", "delta"))
_base_lower_bound = lower_to_numpy(
    gain.base_lower_bound, ("base_emp_risk", "delta", "held_out_trials")
)
_difference = lower_to_numpy(
    gain.difference_certificate, ("emp_risk", "base_emp_risk", "kl_div", "n", "delta")
)


_no_harm = lower_to_numpy(gain.no_harm_target_gain, ("inside_mass", "bucket_gain"))
_transfer = lower_to_numpy(
    gain.transfer_target_gain, ("bucket_gain", "transfer_constant", "transfer_spread")
)


def inside_mass(bucket_weights_BxK: np.ndarray, target_weights_K: np.ndarray) -> np.ndarray:
    """B: the target's mass on each bucket's levels."""
    return (target_weights_K * (bucket_weights_BxK > 0)).sum(axis=1)


def no_harm_gain(certificate_Bx, bucket_weights, target_weights) -> np.ndarray:
    """The certified target gain under "no harm" from bucket gain certificates whose first
    axis is the bucket: m_d·C_d (``pacbound.symbolic.gain.no_harm_target_gain``)."""
    mass = inside_mass(bucket_weights, target_weights)
    expand = (slice(None),) + (None,) * (np.ndim(certificate_Bx) - 1)
    return np.asarray(_no_harm(mass[expand], certificate_Bx), float)


def certificates(damage, improvement, train_error, kl, n, delta) -> dict[str, np.ndarray]:
    """{"split-kl": …, "difference": …}: the two upper bounds on R_d(Q) − R_d(B), over
    the shape of the inputs. The base's empirical risk is R̂_S(Q) − (damage − improvement)."""
    base_train = train_error - (damage - improvement)
    return {
        "split-kl": np.asarray(_split_kl(damage, improvement, kl, n, delta), float),
        "difference": np.asarray(_difference(train_error, base_train, kl, n, delta), float),
    }


def risk_certificate_at_half_delta(mc_risk, kl, n, delta, choices, certify) -> np.ndarray:
    """A stored transformer certificate's risk bound again at δ/2 (its Monte-Carlo risk,
    KL, budget, δ and number of choices as stored; ``certify``: the ``[certify]`` table),
    the first half of ``held_out_gain_certificate``."""
    half = np.asarray(delta, float) / 2
    return certificate_bound(mc_risk, certify.draws, kl, n, half, choices, certify.mc_share)


def held_out_gain_certificate(risk_certificate_half_delta, base_error, trials, delta):
    """R_d(Q) − R_d(B) ≤ [a risk certificate at δ/2] − kl⁻¹₋(base's held-out error,
    ln(2/δ)/trials): with probability ≥ 1 − δ, for certificates stored without the base's
    loss on their Monte-Carlo pairs (the transformer cells)."""
    lower = np.asarray(_base_lower_bound(base_error, delta, trials), float)
    return np.minimum(1.0, risk_certificate_half_delta) - lower


def summarize(names, budgets, certified: dict, true_gain, delta: float) -> dict:
    """Validity and use of each gain certificate on the exact grid. ``certified``: form ->
    BxNxR bounds; ``true_gain``: BxNxR exact R_d(Q_S) − R_d(B) of every draw."""
    budgets = np.asarray(budgets)
    out = {"delta": delta, "draws": int(true_gain.shape[-1]), "forms": {}}
    helps = true_gain < 0
    for form, bound in certified.items():
        missed = bound < true_gain
        failure = missed.mean(-1)  # BxN: the share of draws not covered
        certified_help = bound < 0
        failures, trials = int(missed.sum()), int(bound.size)
        out["forms"][form] = {
            "failures": failures,
            "trials": trials,
            # Exact 95% interval of the failure rate, the draws of every cell pooled.
            "failure_interval": [float(v) for v in clopper_pearson(failures, trials)],
            "failure_rate_max": float(failure.max()),
            "failure_rate_mean": float(failure.mean()),
            "covers_every_draw": bool(failure.max() == 0),
            "mean": bound.mean(-1).tolist(),
            "certified_help_share": float(certified_help.mean()),
            # Of the cells where fine-tuning truly helps, the share whose help is certified.
            "help_found": float(certified_help[helps].mean()) if helps.any() else None,
            # Per bucket: the smallest budget at which the draw-mean certificate is below 0.
            "first_budget_below_zero": {
                name: next(
                    (int(n) for n, v in zip(budgets, bound[b].mean(-1), strict=True) if v < 0),
                    None,
                )
                for b, name in enumerate(names)
            },
        }
    split, difference = certified["split-kl"], certified["difference"]
    out["split_kl_tighter_share"] = float((split < difference).mean())
    out["split_kl_tighter_by_budget"] = (split < difference).mean(axis=(0, 2)).tolist()
    out["split_kl_tighter_by_bucket"] = (split < difference).mean(axis=(1, 2)).tolist()
    out["true_gain_mean"] = true_gain.mean(-1).tolist()
    out["true_help_share"] = float(helps.mean())
    return out


# --- from the bucket's gain to the target's ------------------------------------------------


def level_distance(bucket_weights_BxK: np.ndarray) -> np.ndarray:
    """BxK: each level's distance in levels to the nearest level of each bucket (0 inside)."""
    levels = np.arange(bucket_weights_BxK.shape[1])
    inside = bucket_weights_BxK > 0
    return np.array([np.abs(levels[:, None] - levels[row][None, :]).min(axis=1) for row in inside])


def target_gain_bounds(
    certificate_BxNxR, level_gain_BxNxRxK, bucket_weights, target_weights, pilots
) -> dict:
    """Certified target gains R_T(Q) − R_T(B) from a bucket's gain certificate and a shift
    on the other levels' gains, each under its stated assumption (theory/bounds.md):

    - "no harm": a level outside the bucket gains at most 0; bound m_d·certificate, m_d the
      target mass inside the bucket;
    - "transfer": a level outside gains at most the bucket's gain plus L per level of
      distance over K − 1, L measured on the pilot budgets (the largest draw-mean excess);
      bound certificate + L·Σ_{k∉d} w_T(k)·dist(k, d)/(K − 1).

    Both need the target's weights inside a bucket proportional to the bucket's. Returns
    {name: {"bound": BxNxR, "assumption_holds": BxNxR, "constant": …}}."""
    inside = bucket_weights > 0
    levels = bucket_weights.shape[1]
    distance = level_distance(bucket_weights)  # BxK
    bucket_gain = np.einsum("bnrk,bk->bnr", level_gain_BxNxRxK, bucket_weights)
    outside = ~inside[:, None, None, :]
    worst_outside = np.where(outside, level_gain_BxNxRxK, -np.inf).max(axis=-1)
    excess = (level_gain_BxNxRxK - bucket_gain[..., None]) * (levels - 1)
    excess = np.where(outside, excess / np.maximum(distance, 1)[:, None, None, :], -np.inf)
    constant = float(excess[:, pilots].mean(axis=2).max())
    spread = (target_weights * distance).sum(axis=1) / (levels - 1)  # B
    return {
        "no harm": {
            "bound": no_harm_gain(certificate_BxNxR, bucket_weights, target_weights),
            "assumption_holds": worst_outside <= 0,
            "constant": None,
        },
        "transfer": {
            "bound": np.asarray(_transfer(certificate_BxNxR, constant, spread[:, None, None])),
            "assumption_holds": excess.max(axis=-1) <= constant,
            "constant": constant,
        },
    }


MAX_BAND_CHOICES = 4096


def tracking_shift(values_BxN: np.ndarray, band_BxN: np.ndarray, budgets) -> dict:
    """Whether some shift c_d, one constant per bucket for every budget, puts the argmin of
    values + c inside the true band at every budget (theory/optimal_difficulty.md,
    "No constant shift tracks"). With one optimum d at n₁ and d' at n₂ that needs
    v_{d'}(n₁) − v_d(n₁) ≥ v_{d'}(n₂) − v_d(n₂); in general, no negative cycle in the graph
    of those difference constraints. Bands of several buckets are tried in every
    combination (beyond MAX_BAND_CHOICES, the easiest of each). Returns {"feasible": bool,
    "pair": the first violated pair of budgets or None}."""
    budgets = np.asarray(budgets)
    options = [np.flatnonzero(band_BxN[:, i]) for i in range(band_BxN.shape[1])]
    if np.prod([len(o) for o in options], dtype=float) > MAX_BAND_CHOICES:
        options = [o[:1] for o in options]  # too many: the band's easiest bucket only
    for choice in itertools.product(*options):
        if _difference_constraints_hold(values_BxN, choice):
            return {"feasible": True, "pair": None}
    choice = [o[0] for o in options]
    for i, j in itertools.combinations(range(len(choice)), 2):
        d, e = choice[i], choice[j]
        before, after = values_BxN[e, i] - values_BxN[d, i], values_BxN[e, j] - values_BxN[d, j]
        if d != e and before < after:
            return {
                "feasible": False,
                "pair": {
                    "budgets": [int(budgets[i]), int(budgets[j])],
                    "optima": [int(d), int(e)],
                    "difference": [float(before), float(after)],
                },
            }
    return {"feasible": False, "pair": None}


def _difference_constraints_hold(values_BxN, choice) -> bool:
    """x_d − x_e ≤ v_e(n) − v_d(n) for the chosen d at each n and every e: feasible iff the
    constraint graph has no negative cycle (Floyd–Warshall on B nodes)."""
    buckets = values_BxN.shape[0]
    weight = np.full((buckets, buckets), np.inf)
    np.fill_diagonal(weight, 0.0)
    for i, d in enumerate(choice):
        edge = values_BxN[:, i] - values_BxN[d, i]  # from e to d
        weight[:, d] = np.minimum(weight[:, d], np.where(np.arange(buckets) == d, 0.0, edge))
    for k in range(buckets):
        weight = np.minimum(weight, weight[:, k : k + 1] + weight[k : k + 1, :])
    return bool(np.all(np.diag(weight) >= -1e-12))  # a zero cycle is a tie, not a conflict


def target_summary(names, budgets, certified: dict, level_gain, weights: dict, band, pilots):
    """Per gain certificate and shift: the certified target gain's coverage of the exact
    target gain, its assumption's validity, and its argmin against the true band at every
    budget; per certificate (the risk certificate included, as ``certified["risk"]``),
    whether a constant shift could track at all, and from which budget on."""
    budgets = np.asarray(budgets)
    true_target = level_gain @ weights["target"]  # BxNxR
    out = {
        "pilot_budgets": budgets[pilots].tolist(),
        "true_mean": true_target.mean(-1).tolist(),
        "bounds": {},
        "tracking": {},
    }
    for form, certificate in certified.items():
        if form != "risk":
            bounds = target_gain_bounds(
                certificate, level_gain, weights["buckets"], weights["target"], pilots
            )
            for shift, data in bounds.items():
                chosen = np.argmin(data["bound"].mean(-1), axis=0)  # ties: the easiest
                in_band = band[chosen, np.arange(len(budgets))]
                out["bounds"][f"{form} + {shift}"] = {
                    "constant": data["constant"],
                    "covers": float((data["bound"] >= true_target).mean()),
                    "assumption_holds": float(data["assumption_holds"].mean()),
                    "d_star": [names[b] for b in chosen],
                    "in_band": in_band.tolist(),
                    "in_band_count": int(in_band.sum()),
                    "certified_help_share": float((data["bound"] < 0).mean()),
                    "mean": data["bound"].mean(-1).tolist(),
                }
        mean = certificate.mean(-1)
        start = next(
            (
                int(budgets[i])
                for i in range(len(budgets))
                if tracking_shift(mean[:, i:], band[:, i:], budgets[i:])["feasible"]
            ),
            None,
        )
        out["tracking"][form] = tracking_shift(mean, band, budgets) | {"from_budget": start}
    return out
