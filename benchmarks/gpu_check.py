"""One short check of the engine on an accelerator: the paper preset's first batch, then the
training benchmark, with steps/s and peak device memory.

    python benchmarks/gpu_check.py [--preset paper] [--pretrain-steps 200] [--members 64]

1. The device JAX sees, and whether it is an accelerator.
2. The first compiled batch of the preset's grid, exactly as the sweep runs it, from a base
   pretrained for only ``--pretrain-steps`` steps (the full pretraining is the sweep's
   business; this times the fine-tuning engine): the batch once to compile, once timed;
   model-steps/s (the sum over its cells of the steps each takes, over the wall time) and
   cells/s.
3. ``bench_train.py`` with ``--members`` members and ``--steps`` steps (the ensemble, its
   members batched and in sequence, against per-model loops), in this process.
Peak device memory (``memory_stats``, where the backend reports it) after each part.
On a CPU it runs too (``--preset quick --pretrain-steps 20`` takes about a minute), which is
how it is tested before an accelerator is at hand.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import jax

import bench_train  # benchmarks/bench_train.py, beside this script
from pacbound import config
from pacbound.run.sweep import LanguageRunner, batches
from pacbound.train import member_strategy

STRATEGY_WORDS = {"vmap": "batched (vmap)", "map": "in sequence (lax.map)"}


def peak_memory() -> str:
    stats = jax.devices()[0].memory_stats() or {}
    peak = stats.get("peak_bytes_in_use")
    return "not reported by this backend" if peak is None else f"{peak / 2**30:.2f} GiB"


def first_batch(preset: str, pretrain_steps: int) -> None:
    experiment = config.preset(preset)
    optimizer = experiment.pretrain.optimizer
    optimizer = replace(
        optimizer,
        steps=pretrain_steps,
        warmup_steps=min(optimizer.warmup_steps, pretrain_steps // 10),
    )
    pretrain = replace(experiment.pretrain, optimizer=optimizer, chunk=pretrain_steps)
    experiment = replace(experiment, pretrain=pretrain)
    batch = batches(experiment)[0]
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        runner = LanguageRunner(experiment, Path(cache), lambda phase: None)
        prepared = time.perf_counter() - started
        started = time.perf_counter()
        runner.run_batch(batch)  # compiles
        first = time.perf_counter() - started
        started = time.perf_counter()
        runner.run_batch(batch)
        seconds = time.perf_counter() - started
    steps = sum(int(experiment.finetune.steps_for(n)) for _, n, _ in batch)
    print(f"{preset}: first batch of {len(batch)} cells (n = {batch[0][1]}), {steps} model-steps")
    print(f"  prepare (test sets, {pretrain_steps}-step base, pools): {prepared:.1f} s")
    print(f"  first call (with compilation): {first:.1f} s; timed call: {seconds:.2f} s")
    print(
        f"  {steps / seconds:,.0f} model-steps/s and {len(batch) / seconds:.2f} cells/s over "
        "the whole batch (fine-tuning, measuring and, with [certify], certifying)"
    )
    print(f"  peak device memory: {peak_memory()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--pretrain-steps", type=int, default=200)
    parser.add_argument("--members", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    device = jax.devices()[0]
    accelerator = device.platform != "cpu"
    print(f"jax {jax.__version__}: {len(jax.devices())} × {device.device_kind} ({device.platform})")
    if not accelerator:
        print("  no accelerator: running on the CPU")
    print(f"  a full-weight ensemble's members run {STRATEGY_WORDS[member_strategy()]}")
    first_batch(args.preset, args.pretrain_steps)
    print()
    sys.argv = ["bench_train.py", "--members", str(args.members), "--steps", str(args.steps)]
    bench_train.main()
    print(f"\npeak device memory after the benchmark: {peak_memory()}")


if __name__ == "__main__":
    main()
