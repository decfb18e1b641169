"""What a certificate costs beside the cell it certifies, per cell, on the quick preset.

    python benchmarks/bench_certify.py [--budget 64] [--repeats 2] [--cache DIR]

For one batch of the quick grid (one budget, every bucket and seed), measured in one run
(after compilation, best of ``--repeats``): fine-tuning the batch, measuring each cell (its
errors on the held-out sets and its training set, as the sweep does) and certifying each
cell (``pacbound.run.certify``: pilot, certificate and validity draws, target disagreement).
Prints, first, what measuring and certifying a cell cost beside fine-tuning it,
(measure + certify) / fine-tune, then each one's seconds per cell. The base comes from the
cache (pretrained once if absent, which takes a few minutes).
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

import jax
from jax.flatten_util import ravel_pytree

from pacbound import config
from pacbound.run.sweep import LanguageRunner, batches
from pacbound.tasks.base import cell_seed
from timing import best_time  # benchmarks/timing.py, beside this script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path("pacbound-results") / "cache")
    args = parser.parse_args()
    experiment = config.preset("quick")
    runner = LanguageRunner(experiment, args.cache, lambda phase: None)
    batch = next(b for b in batches(experiment) if b[0][1] == args.budget)
    state = {}

    def finetune():
        state["trained"] = runner.finetune_batch(batch)
        jax.block_until_ready(state["trained"][0])

    def measure():
        params, _, data, _ = state["trained"]
        for m in range(len(batch)):
            member = jax.tree.map(lambda x, m=m: x[m], params)
            runner.level_errors(member)
            runner.train_error(member, data["tokens"][m], data["loss_mask"][m], batch[m][1])

    def certify():
        params, _, data, means = state["trained"]
        for m, cell in enumerate(batch):
            member = jax.tree.map(lambda x, m=m: x[m], params)
            runner.certifier.certify(
                ravel_pytree(member)[0],
                means[m],
                cell[1],
                data["tokens"][m],
                data["loss_mask"][m],
                cell[0],
                cell_seed(*cell),
            )

    cells = len(batch)
    seconds = {
        name: best_time(fn, args.repeats) / cells
        for name, fn in (("fine-tune", finetune), ("measure", measure), ("certify", certify))
    }
    c = experiment.certify
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"jax {jax.__version__} on {jax.devices()[0].platform}"
    )
    print(
        f"quick preset, budget {args.budget}, {cells} cells per batch; certificate: "
        f"{c.pilot_draws} pilot draws per candidate tried, {c.draws} certificate draws, "
        f"{c.validity_draws} bucket validity draws, {c.validity_draws} target pairs of two "
        f"draws at the chosen σ (the first draw's errors are the target validity) and "
        f"{c.validity_draws} at the smallest σ"
    )
    ratio = (seconds["measure"] + seconds["certify"]) / seconds["fine-tune"]
    print(f"(measure + certify) / fine-tune = {ratio:.2f} per cell")
    for name, value in seconds.items():
        print(f"  {name:>9}: {value:.3f} s per cell")


if __name__ == "__main__":
    main()
