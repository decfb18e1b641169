"""Run an experiment's grid (base draw × bucket × budget × seed) into the store, resumably.

Each base draw (``[pretrain] seeds``) is pretrained, scored and stored, then fine-tuned
over the whole grid. Cells are split into batches of at most ``grid.ensemble`` members of
one budget each (in the config's fixed order), so the members of a batch take the same
number of steps under a budget-aware schedule; a batch is one compiled fine-tuning program
(a short batch padded by repeating a member, so every batch has one shape and the grid
compiles once). A batch is
measured and written in one transaction as soon as it finishes. A rerun skips stored
batches; a batch's data, keys and composition depend only on the config, so a resumed run
stores exactly what an uninterrupted one would.

Per cell the record holds: the error on each level's held-out test set (``level_errors``;
for the language tasks the cell also keeps its outcome on every one of those problems),
the gain over the base per level (base error − error, positive is better), the training
error on its own n examples, the in-distribution error (its bucket's mixture of level
errors; base-loss buckets, ``pacbound.run.base_loss``: its error on the held-out problems
its base ranks into its bucket) and the target error (the target's mixture), the squared
distance to the base weights, and for the solvable task the exact KL of its posterior to
the prior. With a
``[certify]`` table the record also holds the cell's PAC-Bayes certificate beside the
measured risk of its posterior (``pacbound.run.certify``), written in the same transaction.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from pacbound.config import ExperimentConfig
from pacbound.run.base_loss import rank_pool
from pacbound.run.certify import POOL_SEED, Certifier
from pacbound.run.measure import (
    make_error_counter,
    make_solution_loss,
    solvable_level_risks_mc,
    squared_distance,
)
from pacbound.store import Base, Cell, Outcomes, Store
from pacbound.tasks.base import (
    allocate,
    any_problem,
    cell_seed,
    finetuning_half,
    held_out_sets,
    mixture_dataset,
    mixture_error,
    mixture_sample,
)
from pacbound.train import (
    SOLVABLE_MEMBERS,
    language_data,
    language_trainer,
    make_ensemble_trainer,
    make_subspace_trainer,
    minibatch_loss,
    pretrain,
    random_projection,
    solvable_data,
    solvable_map_loss,
    solvable_posterior_variance,
)

#: progress(phase, cells_done, cells_total); within a batch cells_done grows by fractions as
#: its training advances
Progress = Callable[[str, float, int], None]
TEST_SEED = 10_007  # held-out sets are drawn from a stream no training set uses
MC_SAMPLES = 100_000  # simulation of each solvable cell's per-level risks, beside the exact ones


def _agree_on_work(left: list[bool]) -> list[bool]:
    """Process 0's view of what is left to do (batches, bases to store), on every process:
    the others may not see the store (or see another one), and processes that ran different
    batches would issue different collective programs and hang."""
    if jax.process_count() == 1:
        return left
    from jax.experimental import multihost_utils

    decided = np.asarray(multihost_utils.broadcast_one_to_all(np.array(left, np.int32)))
    return [bool(v) for v in decided]


def batches(config: ExperimentConfig) -> list[list[tuple[str, int, int]]]:
    """The grid's cells in batches of at most ``grid.ensemble``, each of one budget."""
    size, result = config.grid.ensemble, []
    for budget in config.grid.budgets:
        cells = [cell for cell in config.cells if cell[1] == budget]
        result += [cells[i : i + size] for i in range(0, len(cells), size)]
    return result


def draw_batches(config: ExperimentConfig) -> list[tuple[int, list[tuple[str, int, int]]]]:
    """(base seed, batch) of every base draw, draw by draw."""
    return [(base, batch) for base in config.base_seeds for batch in batches(config)]


def run_sweep(
    config: ExperimentConfig,
    store: Store,
    cache_dir: Path,
    progress: Progress | None = None,
    allow_version_change: bool = False,
) -> int:
    """Fill the store with every cell of ``config``; returns how many cells were computed.
    A store whose experiment other code computed is refused unless ``allow_version_change``
    (``Store.register``)."""
    if config.distributed.enabled:
        jax.distributed.initialize(
            coordinator_address=config.distributed.coordinator_address,
            num_processes=config.distributed.num_processes,
            process_id=config.distributed.process_id,
        )
    # Every process runs the same program over the global devices; process 0 alone reads
    # and writes the store, and decides what is left to do for all of them.
    writes = jax.process_index() == 0
    report = progress or (lambda *args: None)
    if writes:
        store.register(config.name, config.hash(), config.raw, allow_version_change)
    grid = draw_batches(config)
    done = store.finished(config.name) if writes else set()
    stored_bases = set(store.bases(config.name)) if writes else set()
    left = _agree_on_work(
        [not all((base, *cell) in done for cell in b) for base, b in grid]
        + [base not in stored_bases for base in config.base_seeds]
    )
    batches_left, bases_left = left[: len(grid)], left[len(grid) :]
    total = config.cell_count
    left_by_draw = {base: [] for base in config.base_seeds}
    for (base, batch), needed in zip(grid, batches_left, strict=True):
        if needed:
            left_by_draw[base].append(batch)
    done_count = total - sum(len(b) for todo in left_by_draw.values() for b in todo)
    report("prepare", done_count, total)
    computed = 0
    for base, base_needed in zip(config.base_seeds, bases_left, strict=True):
        todo = left_by_draw[base]
        if not todo and not base_needed:
            continue
        so_far = done_count + computed
        runner = (SolvableRunner if config.task.exact_risks else LanguageRunner)(
            config, cache_dir, lambda phase, so_far=so_far: report(phase, so_far, total), base
        )
        if writes:
            store.save_base(config.name, runner.stored_base())
        for batch in todo:
            report("fine-tune", done_count + computed, total)
            started = time.perf_counter()
            records, outcomes = runner.run_batch(
                batch, _within_batch(report, done_count + computed, batch, total)
            )
            wall = (time.perf_counter() - started) / len(batch)
            cells = [
                Cell(b, n, s, {**r, "task": config.task_kind, "wall_s": wall}, base, o)
                for (b, n, s), r, o in zip(batch, records, outcomes, strict=True)
            ]
            if writes:
                store.save_cells(config.name, cells)
            computed += len(batch)
            report("fine-tune", done_count + computed, total)
    report("done", total, total)
    return computed


def _within_batch(report, done: int, batch, total: int):
    """progress(phase, fraction) of a batch as the grid's progress: cells done plus the
    batch's share so far, its training steps counting for the first half of the share and
    the measurement of its cells for the second (both take seconds to minutes)."""

    def progress(phase: str, fraction: float) -> None:
        share = fraction / 2 if phase == "fine-tune" else (1 + fraction) / 2
        report(phase, done + share * len(batch), total)

    return progress


def _by_level(values) -> dict[str, float]:
    return {str(k): float(v) for k, v in enumerate(np.asarray(values), start=1)}


class _Runner:
    """What both task kinds share: bucket weights, target weights and the record, for the
    cells of one base draw (``base``: its pretraining seed)."""

    def __init__(self, config: ExperimentConfig, base: int):
        self.config = config
        self.base_seed = base
        self.buckets = {b.name: b.weights() for b in config.grid.buckets}
        self.target = config.grid.target_weights()
        self.base_errors: dict[int, float] = {}
        self.rows = max(config.grid.budgets)  # training sets share one padded length
        self.base_outcomes: Outcomes | None = None

    def stored_base(self) -> Base:
        """The base draw as the store keeps it."""
        errors = {str(k): v for k, v in self.base_errors.items()}
        return Base(self.base_seed, errors, self.base_outcomes)

    def seed_of(self, cell) -> int:
        """``cell_seed`` of a (bucket, budget, seed) of this runner's base draw."""
        return cell_seed(*cell, self.base_seed)

    def _padded_batch(self, batch):
        """The batch padded to the ensemble size by repeating its last cell."""
        return batch + [batch[-1]] * (self.config.grid.ensemble - len(batch))

    def _keys_and_budgets(self, padded):
        """Each cell's own PRNG key and its budget n, stacked over the ensemble."""
        keys = jnp.stack([jax.random.PRNGKey(self.seed_of(cell)) for cell in padded])
        return keys, np.array([cell[1] for cell in padded], dtype=np.int32)

    def _record(self, bucket, n, level_errors, train_error, sq_distance, **extra) -> dict:
        return {
            "level_errors": {str(k): v for k, v in level_errors.items()},
            "gain": {str(k): self.base_errors[k] - v for k, v in level_errors.items()},
            "train_error": float(train_error),
            "in_distribution_error": mixture_error(level_errors, self.buckets[bucket]),
            "target_error": mixture_error(level_errors, self.target),
            "sq_distance": float(sq_distance),
            "schedule": self.config.finetune.schedule,
            "steps": int(self.config.finetune.steps_for(n)),
            **extra,
        }


class LanguageRunner(_Runner):
    """iGSM-lite (either structure) with the transformer, fine-tuned in full or in a random
    subspace, and certified when the config has a ``[certify]`` table."""

    def __init__(
        self, config: ExperimentConfig, cache_dir: Path, phase: Callable[[str], None], base=0
    ):
        super().__init__(config, base)
        task, model = config.task, config.model
        self.task, self.model = task, model
        # A disjoint base pretrains on one half of the problems; everything else uses the other.
        self.accept = finetuning_half if config.pretrain.disjoint else any_problem
        phase("test sets")
        self.tests = held_out_sets(task, TEST_SEED, config.grid.test_size, self.accept)
        self.exclude = frozenset(h for d in self.tests.values() for h in d.hashes)
        self.test_tokens = np.concatenate([self.tests[k].tokens for k in task.levels])
        self.test_mask = np.concatenate([self.tests[k].loss_mask for k in task.levels])
        # One name for the held-out problems, in order: outcomes scored on them line up.
        every_problem_hash = [h for k in task.levels for h in self.tests[k].hashes]
        every_hash = "".join(every_problem_hash)
        self.problems = hashlib.sha256(every_hash.encode()).hexdigest()[:32]
        phase("pretrain")
        steps = config.pretrain.optimizer.steps
        self.base, _ = pretrain(
            task,
            model,
            config.pretrain_for(base),
            self.exclude,
            cache_dir,
            progress=lambda done, loss: phase(f"pretrain step {done}/{steps}, loss {loss:.4f}"),
        )
        self.counter = make_error_counter(model)
        self.base_errors, self.base_outcomes = self.level_outcomes(self.base)
        self.ranked = self.test_bucket = self.shares = None
        if config.grid.relative:
            phase("rank the pool by the base's loss")
            loss = make_solution_loss(model)
            self.ranked = rank_pool(
                config, lambda t, m: loss(self.base, t, m), self.exclude, self.accept
            )
            self.shares = self.ranked.composition()
            # Held-out problems of the pool's levels fall in the bucket of their base loss;
            # the others in none (−1).
            test_loss = loss(self.base, self.test_tokens, self.test_mask)
            bucket = self.ranked.bucket_of(test_loss, every_problem_hash)
            levels = np.concatenate([self.tests[k].levels for k in task.levels])
            low, high = config.grid.buckets[0].low, config.grid.buckets[-1].high
            self.test_bucket = np.where((levels >= low) & (levels <= high), bucket, -1)
        self.base_flat, self.unravel = ravel_pytree(self.base)
        k = config.finetune.subspace
        self.projection = None
        if k:
            self.projection = random_projection(
                config.finetune.projection_seed, self.base_flat.shape[0], k
            )
            self.trainer = make_subspace_trainer(
                minibatch_loss(model, config.finetune.batch, config.finetune.objective),
                config.finetune,
                self.unravel,
            )
        else:
            self.trainer = language_trainer(model, config.finetune)
        self.certifier = None
        if config.certify.enabled:
            phase("certificate pools")
            count = config.certify.validity_draws
            weights = {**self.buckets, "target": self.target}
            pools = {
                name: mixture_sample(task, POOL_SEED + i, w, count, self.accept)
                for i, (name, w) in enumerate(weights.items())
            }
            self.certifier = Certifier(
                config,
                model,
                self.base_flat,
                self.unravel,
                self.projection,
                {name: (d.tokens, d.loss_mask) for name, d in pools.items()},
                config.cell_count,
            )

    def level_outcomes(self, params) -> tuple[dict[int, float], Outcomes]:
        """The error on each level's held-out set, and the outcome on every problem."""
        wrong = np.asarray(self.counter(params, self.test_tokens, self.test_mask), bool)
        per_level = wrong.reshape(len(self.task.levels), -1).mean(axis=1)
        errors = {k: float(e) for k, e in zip(self.task.levels, per_level, strict=True)}
        return errors, Outcomes(wrong, self.problems)

    def level_errors(self, params) -> dict[int, float]:
        return self.level_outcomes(params)[0]

    def train_error(self, params, tokens, loss_mask, n: int) -> float:
        """The error on the cell's own sample: the first n rows of its padded training set
        (the counter pads them to whole chunks, so the grid has a few shapes, not one per n)."""
        return float(np.asarray(self.counter(params, tokens[:n], loss_mask[:n])).mean())

    def dataset_of(self, cell):
        """The cell's n training examples: its bucket's mixture of levels, or (base-loss
        buckets) n problems of its bucket's part of the ranked pool."""
        bucket, n, _ = cell
        if self.ranked is not None:
            return self.ranked.sample(bucket, n, self.seed_of(cell))
        weights = self.buckets[bucket]
        return mixture_dataset(self.task, self.seed_of(cell), weights, n, self.exclude, self.accept)

    def relative_fields(self, bucket: str, wrong) -> dict:
        """What a base-loss cell records beyond an op-count one: its error on the held-out
        problems of its own bucket (its in-distribution error), the bucket's levels and its
        range of base loss."""
        if self.ranked is None:
            return {}
        own = wrong[self.test_bucket == self.ranked.names.index(bucket)]
        return {  # no held-out problem in the bucket (a tiny test set): no error, not NaN
            "in_distribution_error": float(np.mean(own)) if own.size else None,
            "held_out_in_bucket": int(own.size),
            "bucket_level_shares": self.shares[bucket],
            "base_loss_range": list(self.ranked.loss_range(bucket)),
        }

    def finetune_batch(self, batch, progress=None):
        """(params_M, losses_MxS, data, means_M): the batch's cells fine-tuned from the base,
        each on its own data and key (as the sweep trains them, whichever batch holds them);
        means_M are the trained vectors in the learner's own space (θ, or w in a subspace)."""
        padded = self._padded_batch(batch)
        data = language_data([self.dataset_of(cell) for cell in padded], self.rows)
        keys, budgets = self._keys_and_budgets(padded)
        if self.projection is None:
            params_M, losses_MxS = self.trainer(self.base, keys, data, budgets, progress)
            means_M = jax.vmap(lambda p: ravel_pytree(p)[0])(params_M)
            return params_M, losses_MxS, data, means_M
        w_M, losses_MxS = self.trainer(
            self.base_flat, self.projection, keys, data, budgets, progress
        )
        flat_M = self.base_flat[None] + w_M @ self.projection.T
        return jax.vmap(self.unravel)(flat_M), losses_MxS, data, w_M

    def run_batch(self, batch, progress=None):
        """The records of a batch's cells and their outcomes on the held-out problems;
        ``progress(phase, fraction)`` as its training steps and then its cells'
        measurements advance."""
        progress = progress or (lambda phase, fraction: None)
        params_M, losses_MxS, data, means_M = self.finetune_batch(
            batch, lambda fraction: progress("fine-tune", fraction)
        )
        records, outcomes = [], []
        for m, cell in enumerate(batch):
            progress("measure", m / len(batch))
            bucket, n, _ = cell
            member = jax.tree.map(lambda x, m=m: x[m], params_M)
            extra = {}
            if self.certifier is not None:
                extra["certificate"] = self.certifier.certify(
                    ravel_pytree(member)[0],
                    means_M[m],
                    n,
                    data["tokens"][m],
                    data["loss_mask"][m],
                    bucket,
                    self.seed_of(cell),
                    pilot_all=n == max(self.config.grid.budgets),
                )
            level_errors, outcome = self.level_outcomes(member)
            outcomes.append(outcome)
            records.append(
                self._record(
                    bucket,
                    n,
                    level_errors,
                    self.train_error(member, data["tokens"][m], data["loss_mask"][m], n),
                    squared_distance(member, self.base),
                    final_loss=float(losses_MxS[m, self.config.finetune.steps_for(n) - 1]),
                    **extra,
                    # base-loss buckets: their own in-distribution error replaces the mixture's
                    **self.relative_fields(bucket, outcome.wrong),
                )
            )
        return records, outcomes


class SolvableRunner(_Runner):
    """The exactly solvable task: the posterior trained in JAX, its risks in closed form."""

    def __init__(
        self, config: ExperimentConfig, cache_dir: Path, phase: Callable[[str], None], base=0
    ):
        super().__init__(config, base)
        self.task = config.task
        self.prior_mean = jnp.asarray(self.task.pretrained_weights)
        prior_variance = np.full(self.task.dim, self.task.prior_std**2)
        self.base_errors = dict(
            enumerate(self.task.level_risks(self.task.pretrained_weights, prior_variance), start=1)
        )
        self.trainer = make_ensemble_trainer(
            solvable_map_loss(self.task), config.finetune, members=SOLVABLE_MEMBERS
        )

    def _sample(self, cell):
        """n examples of the cell's bucket, levels allocated as the mixture weights say."""
        rng = np.random.default_rng(self.seed_of(cell))
        parts = [
            self.task.sample(rng, level, count)
            for level, count in sorted(
                allocate(self.buckets[cell[0]], cell[1], self.seed_of(cell)).items()
            )
            if count
        ]
        return tuple(np.concatenate(p) for p in zip(*parts, strict=True))

    def run_batch(self, batch, progress=None):
        padded = self._padded_batch(batch)
        samples = [self._sample(cell) for cell in padded]
        data = solvable_data(samples, self.rows)
        keys, budgets = self._keys_and_budgets(padded)
        progress = progress or (lambda phase, fraction: None)
        means_M, _ = self.trainer(
            self.prior_mean, keys, data, budgets, lambda f: progress("fine-tune", f)
        )
        records = []
        for m, (bucket, n, _) in enumerate(batch):
            progress("measure", m / len(batch))
            member = {k: jnp.asarray(v[m]) for k, v in data.items()}
            mean = np.asarray(means_M[m])
            variance = np.asarray(solvable_posterior_variance(self.task, means_M[m], member, n))
            risks = self.task.level_risks(mean, variance)
            simulated, standard_errors = solvable_level_risks_mc(
                self.task, means_M[m], jnp.asarray(variance), keys[m], MC_SAMPLES
            )
            j, s, y = samples[m]
            records.append(
                self._record(
                    bucket,
                    n,
                    dict(enumerate((float(r) for r in risks), start=1)),
                    self.task.empirical_risk(mean, variance, j, s, y),
                    squared_distance(means_M[m], self.prior_mean),
                    kl=self.task.kl_to_prior(mean, variance),
                    mc_level_errors=_by_level(simulated),
                    mc_standard_errors=_by_level(standard_errors),
                )
            )
        return records, [None] * len(records)
