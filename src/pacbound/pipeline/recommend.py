"""``pacbound recommend``: the bucket to fine-tune on at a budget, from pilot runs.

Pilot runs come from a pilot file of any training stack, or from an experiment of a
pacbound store; only the second needs the store.
"""

from __future__ import annotations

from pathlib import Path

# The module, not its functions: looked up at each call, so that a patched one is the one used.
from pacbound.analysis import recommend as pilot_runs


def recommendation(pilots: Path | None, db: Path | None, name: str | None, budget: int) -> dict:
    """The recommendation at ``budget`` from the pilot file ``pilots``, or (without one) from
    the experiment ``name`` of the store at ``db``."""
    if pilots is not None:
        table = pilot_runs.read_pilots(pilots)
    else:
        from pacbound.pipeline.steps import stored_runs

        table = stored_runs(db, name)
    return pilot_runs.recommend(table, budget)
