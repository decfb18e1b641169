"""Each shift term's assumption, checked on the measured per-level risks.

The two-gap bound R_T(Q) ≤ R_d(Q) + shift holds for a shift term only under its assumption
(theory/optimal_difficulty.md). Measured per-level errors of every run (and of the base) say
whether that assumption holds on this task:

- ``tv``: none beyond a loss in [0, 1]: valid.
- ``coverage``: R_T ≤ λ·R_pre(Q) + (1 − λ)·R_d(Q) + coverage TV needs R_pre(Q), the risk on
  the pretraining levels. It is measured (the fine-tuned network's errors on those levels)
  and added to the bound, as the theorem states; valid when measured, untestable otherwise.
- ``w1``: per-level risk 1-Lipschitz in the level rescaled to [0, 1], i.e. adjacent levels
  differ by at most 1/(K − 1). The empirical constant of a run is max_k |r_{k+1} − r_k|·(K − 1).
- ``upward``: per-level risk non-decreasing in the level.

A difference within the per-level noise (``RunTable.level_tolerance``: two standard deviations
of a difference of two per-level seed means under the worst-case binomial variance) is not
counted as a violation.
"""

from __future__ import annotations

import numpy as np

from pacbound.analysis.predict import RunTable

ASSUMPTIONS = {
    "tv": "loss in [0, 1]",
    "coverage": "a bound on R_pre(Q), the risk on the pretraining levels (measured and added)",
    "w1": "per-level risk 1-Lipschitz in the level rescaled to [0, 1]",
    "upward": "per-level risk non-decreasing in the level",
    "gain (no harm)": "no level outside the bucket loses to the base (its gain ≤ 0)",
}


def _arms(table: RunTable) -> list[tuple[str, np.ndarray]]:
    """(name, per-level errors) of the base and of every run's seed mean."""
    arms = [("base", table.base_level_error)] if table.base_level_error is not None else []
    mean = np.nanmean(table.level_error, axis=2)  # BxNxK
    for b, bucket in enumerate(table.buckets):
        for i, n in enumerate(table.budgets):
            arms.append((f"{bucket} at n = {n}", mean[b, i]))
    return arms


def check(table: RunTable) -> dict[str, dict]:
    """{term: {assumption, status (valid / violated / untestable), detail, ...}}."""
    result = {"tv": {"assumption": ASSUMPTIONS["tv"], "status": "valid", "detail": "always holds"}}
    if table.level_error is None or len(table.levels) < 2:
        for term in ("coverage", "w1", "upward"):
            result[term] = {
                "assumption": ASSUMPTIONS[term],
                "status": "untestable",
                "detail": "no per-level errors",
            }
        return result
    arms = _arms(table)
    tolerance = table.level_tolerance
    steps = len(table.levels) - 1
    pretrain = table.pretrain_weights
    if pretrain is not None and pretrain.sum() > 0:
        r_pre = np.nanmean(table.level_error, axis=2) @ (pretrain / pretrain.sum())
        result["coverage"] = {
            "assumption": ASSUMPTIONS["coverage"],
            "status": "valid",
            "detail": f"measured R_pre from {r_pre.min():.3f} to {r_pre.max():.3f}",
        }
    else:
        result["coverage"] = {
            "assumption": ASSUMPTIONS["coverage"],
            "status": "untestable",
            "detail": "no pretraining levels",
        }
    lipschitz = [(name, np.abs(np.diff(r)).max() * steps, r) for name, r in arms]
    violated = [item for item in lipschitz if item[1] > 1 + tolerance * steps]
    worst = max(lipschitz, key=lambda item: item[1])
    jump = int(np.argmax(np.abs(np.diff(worst[2]))))
    result["w1"] = {
        "assumption": ASSUMPTIONS["w1"],
        "status": "violated" if violated else "valid",
        "violations": len(violated),
        "arms": len(arms),
        "worst": {"arm": worst[0], "lipschitz": float(worst[1])},
        "detail": (
            f"{len(violated)} of {len(arms)} arms; largest empirical constant "
            f"{worst[1]:.2f} ({worst[0]}, levels {table.levels[jump]}→{table.levels[jump + 1]})"
        ),
    }
    drops = [(name, np.diff(r)) for name, r in arms]
    broken = [(name, d) for name, d in drops if (-d).max() > tolerance]
    if broken:
        name, d = max(broken, key=lambda item: (-item[1]).max())
        k = int(np.argmax(-d))
        detail = (
            f"{len(broken)} of {len(arms)} arms; largest drop {(-d).max():.2f} ({name}, "
            f"levels {table.levels[k]}→{table.levels[k + 1]})"
        )
    else:
        detail = f"0 of {len(arms)} arms"
    result["upward"] = {
        "assumption": ASSUMPTIONS["upward"],
        "status": "violated" if broken else "valid",
        "violations": len(broken),
        "arms": len(arms),
        "detail": detail,
    }
    if "gain (no harm)" in table.bound and table.bucket_weights is not None:
        result["gain (no harm)"] = _no_harm(table, tolerance)
    for term in result.values():
        term["tolerance"] = tolerance
    return result


def _no_harm(table: RunTable, tolerance: float) -> dict:
    """Runs (seed means) in which a level outside their bucket has lost to the base by more
    than the noise of a per-level difference."""
    loss = np.nanmean(table.level_error, axis=2) - table.base_level_error  # BxNxK
    outside = table.bucket_weights[:, None, :] == 0
    worst = np.where(outside, loss, -np.inf).max(axis=-1)  # BxN
    broken = worst > tolerance
    b, i = np.unravel_index(np.argmax(worst), worst.shape)
    return {
        "assumption": ASSUMPTIONS["gain (no harm)"],
        "status": "violated" if broken.any() else "valid",
        "violations": int(broken.sum()),
        "arms": int(broken.size),
        "detail": f"{int(broken.sum())} of {broken.size} runs; largest loss {worst[b, i]:+.2f} "
        f"({table.buckets[b]} at n = {table.budgets[i]})",
    }
