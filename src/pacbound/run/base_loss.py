"""Buckets by the base's own loss: difficulty relative to the model.

One pool holds ``pool`` problems of every level the op-count buckets cover (drawn from the
fine-tuning half, none in the held-out sets), ranked by the base's loss on each, −ln p of
its solution given its problem. The ranked pool is cut into the op-count buckets' shares
(a bucket of three levels out of nine takes a third): the easiest base-loss bucket is the
third of the pool the base finds most likely, whatever their levels. A cell's n examples
are drawn without replacement from its bucket's part of the pool, by the cell's own seed.
The held-out problems are assigned to buckets by the same cut points, so a cell's
in-distribution error is its error on the held-out problems of its own bucket. Equal
losses are ordered by problem hash (not by level, which would leak the op-count order).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from pacbound.config import ExperimentConfig, uniform_weights
from pacbound.tasks.base import Dataset, mixture_dataset

RANKED_POOL_SEED = 30_011  # the ranked pool's own stream (cells' seeds are CRC-32 of names)


@dataclass(frozen=True)
class BaseLossBuckets:
    """The ranked pool of one base draw, cut into buckets (difficulty order)."""

    names: tuple[str, ...]
    pool: Dataset
    loss: np.ndarray  # the base's loss on each pool problem
    members: tuple[np.ndarray, ...]  # pool rows of each bucket
    # B − 1 cut points (loss, problem hash): bucket b holds cut[b−1] < (loss, hash) ≤ cut[b]
    cuts: tuple[tuple[float, str], ...]

    def sample(self, bucket: str, n: int, seed: int) -> Dataset:
        """n rows of ``bucket``'s part of the pool, drawn without replacement by ``seed`` (a
        problem the pool holds twice, as an i.i.d. pool may, can come twice)."""
        rows = self.members[self.names.index(bucket)]
        chosen = np.sort(np.random.default_rng(seed).choice(rows, size=n, replace=False))
        return Dataset(
            tokens=self.pool.tokens[chosen],
            loss_mask=self.pool.loss_mask[chosen],
            levels=self.pool.levels[chosen],
            hashes=tuple(self.pool.hashes[i] for i in chosen),
        )

    def bucket_of(self, loss, hashes) -> np.ndarray:
        """The bucket index of each (loss, problem hash) under the pool's cut points."""
        loss, hashes = np.asarray(loss, np.float64), np.asarray(hashes)
        index = np.zeros(loss.shape, int)
        for cut_loss, cut_hash in self.cuts:
            index += (loss > cut_loss) | ((loss == cut_loss) & (hashes > cut_hash))
        return index

    def composition(self) -> dict[str, dict[str, float]]:
        """{bucket: {level: share of its pool problems}}: where a base-loss bucket sits on
        the op-count scale."""
        levels = sorted(set(int(k) for k in self.pool.levels))
        return {
            name: {str(k): float(np.mean(self.pool.levels[rows] == k)) for k in levels}
            for name, rows in zip(self.names, self.members, strict=True)
        }

    def loss_range(self, bucket: str) -> tuple[float, float]:
        """(lowest, highest) base loss of the bucket's pool problems."""
        values = self.loss[self.members[self.names.index(bucket)]]
        return float(values.min()), float(values.max())


def rank_pool(
    config: ExperimentConfig, loss_of, exclude: frozenset[str], accept
) -> BaseLossBuckets:
    """The pool of ``config``'s base-loss buckets, ranked by ``loss_of(tokens, loss_mask)``
    (the base's −ln p of each row's solution)."""
    buckets = config.grid.buckets
    low, high = buckets[0].low, buckets[-1].high
    per_level = config.grid.pool
    pool = mixture_dataset(
        config.task,
        RANKED_POOL_SEED,
        uniform_weights(low, high),
        per_level * (high - low + 1),
        exclude,
        accept,
    )
    loss = np.asarray(loss_of(pool.tokens, pool.loss_mask), np.float64)
    order = np.lexsort((np.asarray(pool.hashes), loss))  # by loss, then by problem hash
    total = len(order)
    shares = [Fraction(b.high - b.low + 1, high - low + 1) for b in buckets]
    ends = [int(sum(shares[: i + 1]) * total) for i in range(len(buckets))]
    starts = [0, *ends[:-1]]
    members = tuple(np.sort(order[a:b]) for a, b in zip(starts, ends, strict=True))
    cuts = tuple((float(loss[order[end - 1]]), pool.hashes[order[end - 1]]) for end in ends[:-1])
    return BaseLossBuckets(tuple(b.name for b in buckets), pool, loss, members, cuts)
