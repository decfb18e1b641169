"""Base-loss buckets: the pool ranked and cut into the op-count buckets' shares, samples drawn
from a bucket's own part, held-out problems assigned by the same cut points; and the
per-example loss they rank by, against a hand sum over the solution tokens."""

import jax
import numpy as np
import pytest

from pacbound import config as configs
from pacbound.model import ModelConfig, apply, init_params
from pacbound.run.base_loss import rank_pool
from pacbound.run.measure import make_solution_loss
from pacbound.tasks.base import any_problem, mixture_dataset
from pacbound.tasks.igsm import IGSMChain

RAW = {
    "name": "rel",
    "task": {"kind": "igsm-chain", "modulus": 5, "min_level": 2, "max_level": 6},
    "model": {"layers": 1, "width": 16, "heads": 2},
    "pretrain": {"levels": [2, 3], "steps": 2, "warmup_steps": 0, "chunk": 1, "disjoint": True},
    "finetune": {"steps": 2, "warmup_steps": 0},
    "grid": {
        "difficulty": "base-loss",
        "pool": 8,
        "buckets": {"easy": [2, 2], "hard": [3, 6]},
        "budgets": [1, 8],
        "seeds": [0],
        "target": [2, 6],
    },
}


def _hashed_loss(tokens, loss_mask):
    """A loss that does not follow the level: a number from each row's content."""
    del loss_mask
    return np.array([(hash(row.tobytes()) % 1000) / 7.0 for row in np.asarray(tokens)])


@pytest.fixture(scope="module")
def ranked():
    return rank_pool(configs.from_dict(RAW), _hashed_loss, frozenset(), any_problem)


def test_the_pool_is_cut_into_the_op_count_shares_by_loss(ranked):
    assert ranked.names == ("easy", "hard")
    assert len(ranked.pool) == 8 * 5  # pool problems per level × levels 2–6
    sizes = [len(m) for m in ranked.members]
    assert sizes == [8, 32]  # one level of five, then four
    every = np.sort(np.concatenate(ranked.members))
    np.testing.assert_array_equal(every, np.arange(40))  # a partition of the pool
    easy, hard = (ranked.loss[m] for m in ranked.members)
    assert easy.max() <= hard.min() and [c[0] for c in ranked.cuts] == [easy.max()]
    for shares in ranked.composition().values():
        assert sum(shares.values()) == pytest.approx(1.0)
    # The cut points assign every pool problem to its own bucket.
    hashes = np.asarray(ranked.pool.hashes)
    for index, rows in enumerate(ranked.members):
        assert np.all(ranked.bucket_of(ranked.loss[rows], hashes[rows]) == index)
    assert ranked.loss_range("easy") == (float(easy.min()), float(easy.max()))


def test_equal_losses_are_cut_by_problem_hash_not_by_level():
    """Every loss equal: the pool is ordered by problem hash alone, so the easy share is the
    problems with the smallest hashes whatever their level, and a held-out problem tied with
    the cut goes by its hash too."""
    flat = rank_pool(
        configs.from_dict(RAW), lambda t, m: np.zeros(len(t)), frozenset(), any_problem
    )
    hashes = np.asarray(flat.pool.hashes)
    easy = set(hashes[flat.members[0]])
    assert easy == set(np.sort(hashes)[:8])
    assert len({int(k) for k in flat.pool.levels[flat.members[0]]}) > 1  # not one level
    _, cut_hash = flat.cuts[0]
    assert flat.bucket_of([0.0, 0.0], [cut_hash, cut_hash + "0"]).tolist() == [0, 1]


def test_a_cell_draws_distinct_problems_of_its_bucket_by_its_seed(ranked):
    hard_hashes = {ranked.pool.hashes[i] for i in ranked.members[1]}
    sample = ranked.sample("hard", 8, seed=3)
    assert len(sample) == 8 and set(sample.hashes) <= hard_hashes
    assert len(set(zip(sample.hashes, map(bytes, sample.tokens), strict=True))) == 8
    again = ranked.sample("hard", 8, seed=3)
    np.testing.assert_array_equal(again.tokens, sample.tokens)
    other = ranked.sample("hard", 8, seed=4)
    assert not np.array_equal(other.tokens, sample.tokens)
    with pytest.raises(ValueError):
        ranked.sample("easy", 9, seed=0)  # more than the bucket holds


def test_the_solution_loss_is_the_hand_sum_of_minus_log_p_over_solution_tokens():
    task = IGSMChain(modulus=5, max_level=4, min_level=2)
    model = ModelConfig(vocab_size=task.vocab_size, length=task.length, layers=1, width=16)
    params = jax.jit(init_params, static_argnums=1)(jax.random.PRNGKey(0), model)
    data = mixture_dataset(task, 1, {2: 0.5, 4: 0.5}, 5)
    got = np.asarray(make_solution_loss(model, chunk=2)(params, data.tokens, data.loss_mask))
    logits = np.asarray(jax.jit(apply, static_argnums=2)(params, data.tokens, model), np.float64)
    logits -= logits.max(-1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    targets = np.roll(data.tokens, -1, axis=1)
    nll = -np.take_along_axis(log_p, targets[..., None], -1)[..., 0]
    np.testing.assert_allclose(got, (nll * data.loss_mask).sum(axis=1), rtol=1e-5)
    assert got.shape == (5,) and np.all(got > 0)
